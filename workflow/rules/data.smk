rule observation:
    """Degrade one ground truth once per (task, image, seed); every method of every experiment shares it."""
    output:
        f"{R}/observations/{{obs}}/{{dataset}}/{{image}}/seed{{seed}}.npz",
    params:
        spec=lambda wc: as_json(PLAN.observations[wc.obs].__dict__),
        mirror=mirror_option(),
    log:
        f"{R}/logs/observations/{{obs}}/{{dataset}}/{{image}}/seed{{seed}}.log",
    shell:
        "dipbench job prepare --spec {params.spec:q} --dataset {wildcards.dataset} --image {wildcards.image}"
        " --seed {wildcards.seed} --out {output} {params.mirror} 2>&1 | tee {log}"
