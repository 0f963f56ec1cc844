def restore_params(wc):
    key = run_key(wc)
    entry = PLAN.method_entry(key.label)
    return as_json(PLAN.method_params(key.experiment, key.label))


def method_of(wc):
    return PLAN.method_entry(run_key(wc).label)["method"]


def method_version(wc):
    from dipbench.methods import get_method

    return get_method(method_of(wc)).version


def uses_gpu(wc):
    from dipbench.methods import get_method

    return int(getattr(get_method(method_of(wc)), "uses_gpu", False))


rule restore:
    """Run one method on one observation. Method version and parameters are params: changing them reruns it."""
    input:
        lambda wc: f"{R}/{PLAN.observation_path(run_key(wc))}",
    output:
        image=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/restored.png",
        curve=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/curve.csv",
        record=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/run.json",
    params:
        method=method_of,
        version=method_version,
        method_params=restore_params,
        identity=lambda wc: as_json({"experiment": wc.experiment, "label": wc.label}),
        device=PLAN.config["device"],
    threads: lambda wc: PLAN.threads(run_key(wc).label)
    resources:
        gpu=uses_gpu,
    log:
        f"{R}/logs/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.log",
    shell:
        "dipbench job restore --obs {input} --method {params.method} --params {params.method_params:q}"
        " --seed {wildcards.seed} --identity {params.identity:q} --device {params.device} --threads {threads}"
        " --out-dir $(dirname {output.record}) 2>&1 | tee {log}"


if PLAN.ensemble_labels:

    ruleorder: ensemble > restore

    rule ensemble:
        """Average another label's restored images over the seeds (the paper's "average of two runs")."""
        input:
            images=lambda wc: [f"{R}/{m.run_dir}/restored.png" for m in PLAN.ensemble_members(run_key(wc))],
            records=lambda wc: [f"{R}/{m.run_dir}/run.json" for m in PLAN.ensemble_members(run_key(wc))],
        output:
            image=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/restored.png",
            curve=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/curve.csv",
            record=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/run.json",
        wildcard_constraints:
            label="|".join(PLAN.ensemble_labels),
        params:
            identity=lambda wc: as_json({"experiment": wc.experiment, "label": wc.label,
                                         "of": PLAN.ensemble_members(run_key(wc))[0].label}),
        log:
            f"{R}/logs/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.log",
        shell:
            "dipbench job ensemble --images {input.images} --records {input.records}"
            " --identity {params.identity:q} --out-dir $(dirname {output.record}) 2>&1 | tee {log}"
