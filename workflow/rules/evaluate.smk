rule evaluate:
    """Score a restored image under every protocol. Separate from restore: a metric change never reruns DIP."""
    input:
        obs=lambda wc: f"{R}/{PLAN.observation_path(run_key(wc))}",
        image=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/restored.png",
        record=f"{R}/runs/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}/run.json",
    output:
        [f"{R}/metrics/{protocol}/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.json"
         for protocol in PLAN.protocols],
    params:
        protocols=" ".join(PLAN.protocols),
    log:
        f"{R}/logs/metrics/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.log",
    shell:
        "dipbench job evaluate --obs {input.obs} --restored {input.image} --record {input.record}"
        " --protocol {params.protocols} --out {output} 2>&1 | tee {log}"
