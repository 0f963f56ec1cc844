rule observation:
    """Degrade one ground truth once per (task, image, seed); every method of every experiment shares it."""
    output:
        f"{R}/observations/{{obs}}/{{dataset}}/{{image}}/seed{{seed}}.npz",
    params:
        plugins=plugin_args,
        spec=lambda wc: as_json(PLAN.observations[wc.obs].__dict__),
        mirror=mirror_option,
    log:
        f"{R}/logs/observations/{{obs}}/{{dataset}}/{{image}}/seed{{seed}}.log",
    shell:
        "dipbench job prepare {params.plugins:q} --spec {params.spec:q} --dataset {wildcards.dataset:q} --image {wildcards.image:q}"
        " --seed {wildcards.seed:q} --out {output:q} {params.mirror:q} 2>&1 | tee {log:q}"
