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
        plugins=plugin_args,
        protocols=lambda wc: list(PLAN.protocols),
    log:
        f"{R}/logs/metrics/{{experiment}}/{{label}}/{{dataset}}/{{image}}/seed{{seed}}.log",
    shell:
        "dipbench job evaluate {params.plugins:q} --obs {input.obs:q} --restored {input.image:q} --record {input.record:q}"
        " --protocol {params.protocols:q} --out {output:q} 2>&1 | tee {log:q}"
