# A run whose record no longer matches its restored image (truncated, overwritten) gets its record set aside
# as run.json.stale, so Snakemake redoes the run instead of failing on the image (dipbench.pipeline.integrity).
if workflow.is_main_process:
    from dipbench.pipeline.integrity import set_aside_stale_records

    for _record in set_aside_stale_records(R, [run.run_dir for run in RUNS]):
        print(f"dipbench: {_record} does not match its restored image: set aside as run.json.stale, "
              "the run is redone", file=sys.stderr)


def method_of(label):
    return PLAN.method_entry(label)["method"]


def method_version(label):
    from dipbench.methods import get_method

    return get_method(method_of(label)).version


def method_code(label):
    """A hash of the plugin file that defines the label's method ("" for dipbench's own): editing a
    plugin reruns its jobs without a version bump."""
    from dipbench.methods import get_method
    from dipbench.plugins import source_hash

    return source_hash(get_method(method_of(label)))


def uses_gpu(label):
    from dipbench.methods import get_method

    return int(getattr(get_method(method_of(label)), "uses_gpu", False))


rule restore:
    """Run one method on one observation. Method version and parameters are params: changing them reruns it."""
    input:
        lambda wc: f"{R}/{PLAN.observation_path(run_key(wc))}",
    output:
        image=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/restored.png",
        curve=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/curve.csv",
        record=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/run.json",
    params:
        method=lambda wc: method_of(wc.label),
        version=lambda wc: method_version(wc.label),
        code=lambda wc: method_code(wc.label),
        plugins=plugin_args,
        method_params=lambda wc: as_json(PLAN.method_params(wc.experiment, wc.label)),
        identity=lambda wc: as_json({"experiment": wc.experiment, "label": wc.label}),
        device=lambda wc: PLAN.config["device"],
        out_dir=lambda wc, output: os.path.dirname(output.record),
    threads: lambda wc: PLAN.threads(wc.label)
    resources:
        gpu=lambda wc: uses_gpu(wc.label),
    log:
        f"{R}/logs/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.log",
    shell:
        "dipbench job restore {params.plugins:q} --obs {input:q} --method {params.method:q} --params {params.method_params:q}"
        " --seed {wildcards.seed:q} --identity {params.identity:q} --device {params.device:q} --threads {threads:q}"
        " --out-dir {params.out_dir:q} --results {R:q} 2>&1 | tee {log:q}"


def fused_restore_rule(experiment):
    """Inputs, outputs and params of the fused restore rule of one experiment: every seed of a label on
    one image in one job (config ``fuse_seeds``). The outputs are the per-seed files of ``restore``."""
    seeds = PLAN.experiments[experiment]["seeds"]
    run_dir = R + "/runs/" + experiment + "/{{label}}/{{dataset}}/{{image}}/seed{seed}/"
    return {
        "observation": lambda wc: f"{R}/{PLAN.observation_path(RunKey(experiment, wc.label, wc.dataset, wc.image, seeds[0]))}",
        "outputs": {name: expand(run_dir + name, seed=seeds) for name in ("restored.png", "curve.csv", "run.json")},
        "seeds": lambda wc: [str(seed) for seed in seeds],
        "method_params": lambda wc: as_json(PLAN.method_params(experiment, wc.label)),
        "identity": lambda wc: as_json({"experiment": experiment, "label": wc.label}),
    }


for _experiment in PLAN.experiments:
    if not PLAN.fused_labels(_experiment):
        continue
    _fused = fused_restore_rule(_experiment)

    rule:
        """All seeds of one DIP-family label on one image as one fused fit (``fuse_seeds: true``)."""
        name:
            f"restore_fused_{_experiment}"
        input:
            _fused["observation"],
        output:
            image=_fused["outputs"]["restored.png"],
            curve=_fused["outputs"]["curve.csv"],
            record=_fused["outputs"]["run.json"],
        wildcard_constraints:
            label="|".join(PLAN.fused_labels(_experiment)),
        params:
            method=lambda wc: method_of(wc.label),
            version=lambda wc: method_version(wc.label),
            code=lambda wc: method_code(wc.label),
            plugins=plugin_args,
            method_params=_fused["method_params"],
            identity=_fused["identity"],
            device=lambda wc: PLAN.config["device"],
            seeds=_fused["seeds"],
            out_dirs=lambda wc, output: [os.path.dirname(path) for path in output.record],
        threads: lambda wc: PLAN.threads(wc.label)
        resources:
            gpu=lambda wc: uses_gpu(wc.label),
            # a cluster's limits for every experiment name (profiles may override): all seeds in one job
            runtime=480,
            mem_mb=16000,
        log:
            f"{R}/logs/runs/{_experiment}/{{label}}/{{dataset}}/{{image}}/fused.log",
        shell:
            "dipbench job restore {params.plugins:q} --obs {input:q} --method {params.method:q} --params {params.method_params:q}"
            " --seed {params.seeds:q} --identity {params.identity:q} --device {params.device:q} --threads {threads:q}"
            " --out-dir {params.out_dirs:q} --results {R:q} 2>&1 | tee {log:q}"

    workflow.ruleorder(f"restore_fused_{_experiment}", "restore")


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
            plugins=plugin_args,
            out_dir=lambda wc, output: os.path.dirname(output.record),
        log:
            f"{R}/logs/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.log",
        shell:
            "dipbench job ensemble {params.plugins:q} --images {input.images:q} --records {input.records:q}"
            " --identity {params.identity:q} --out-dir {params.out_dir:q} 2>&1 | tee {log:q}"
