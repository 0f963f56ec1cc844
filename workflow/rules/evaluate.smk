rule evaluate:
    """Score a restored image under one protocol. Separate from restore: a metric change never reruns DIP."""
    input:
        obs=lambda wc: f"{R}/{PLAN.observation_path(run_key(wc))}",
        image=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/restored.png",
        record=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/run.json",
    output:
        f"{R}/metrics/{{protocol}}/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.json",
    log:
        f"{R}/logs/metrics/{{protocol}}/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.log",
    shell:
        "dipbench job evaluate --obs {input.obs} --restored {input.image} --record {input.record}"
        " --protocol {wildcards.protocol} --out {output} 2>&1 | tee {log}"
