rule report:
    """Collect every record into pandas: runs/summary CSVs, paper-style tables, plots and learning curves."""
    input:
        metrics_files(),
    output:
        report_outputs(),
    params:
        plugins=plugin_args,
        settings=lambda wc: as_json(PLAN.report_settings()),
    # It runs last, with the cores free: two forked processes draw the figures, one (experiment, dataset)
    # at a time each (dipbench.report.parallel; the demo's report 87.9 s on one, 45.6 s on two). A fixed
    # number, so that a cluster job and the Snakemake inside it agree on it (Snakemake lowers it to --cores).
    threads: 2
    log:
        f"{R}/logs/report.log",
    run:
        from dipbench.atomic import write_text

        listing = f"{R}/tables/.metrics_files.txt"
        write_text(listing, "\n".join(input) + "\n")
        shell(
            "dipbench job report {params.plugins:q} --results {R:q} --metrics-list {listing:q}"
            " --settings {params.settings:q} --workers {threads:q} 2>&1 | tee {log:q}"
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
