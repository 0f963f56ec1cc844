rule report:
    """Collect every record into pandas: runs/summary CSVs, paper-style tables, plots and learning curves."""
    input:
        metrics_files(),
    output:
        report_outputs(),
    params:
        plugins=plugin_args,
        displays=lambda wc: as_json({label: PLAN.method_entry(label)["display"]
                                     for exp in PLAN.experiments.values() for label in exp["methods"]}),
        protocol=lambda wc: PLAN.protocols,
        exclude=lambda wc: as_json(PLAN.config["exclude_images"]),
        references=lambda wc: as_json({name: PLAN.method_entry(PLAN.reference(name))["display"]
                                       for name in PLAN.experiments if PLAN.reference(name)}),
        sweeps=lambda wc: as_json({name: PLAN.sweeps(name) for name in PLAN.experiments if PLAN.sweeps(name)}),
        check=lambda wc: ["--reference-check", PLAN.config["reference_check"]] if PLAN.config["reference_check"] else [],
        order=lambda wc: as_json({name: [PLAN.method_entry(label)["display"]
                                         for label in [*exp["methods"], *exp["ensembles"]]]
                                  for name, exp in PLAN.experiments.items()}),
    log:
        f"{R}/logs/report.log",
    run:
        from dipbench.atomic import write_text

        listing = f"{R}/tables/.metrics_files.txt"
        write_text(listing, "\n".join(input) + "\n")
        shell(
            "dipbench job report {params.plugins:q} --results {R:q} --metrics-list {listing:q} --protocol {params.protocol:q}"
            " --displays {params.displays:q} --exclude-images {params.exclude:q}"
            " --references {params.references:q} --order {params.order:q} --sweeps {params.sweeps:q} {params.check:q}"
            " 2>&1 | tee {log:q}"
        )


rule report_pages:
    """One HTML page per table and figure, with its caption and settings, for `snakemake --report`, and the
    report's first page (the results overview, included by workflow/report/workflow.rst)."""
    input:
        report_outputs(),
    output:
        report(
            directory(f"{R}/report_pages"),
            patterns=["{experiment}.{dataset}.{order}.{item}.html"],
            caption="../report/page.rst",
            category="{experiment}",
            subcategory="{dataset}",
            labels={"order": "{order}", "item": "{item}"},
        ),
        overview=f"{R}/report_overview.html",
    params:
        plugins=plugin_args,
    log:
        f"{R}/logs/report_pages.log",
    shell:
        "dipbench job report-pages {params.plugins:q} --results {R:q} --out {output[0]:q}"
        " --overview {output.overview:q} 2>&1 | tee {log:q}"
