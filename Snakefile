# dipbench: `snakemake --cores 8` re-runs the DIP paper's experiments (config/config.yaml);
# `snakemake --cores 2 --configfile config/demo.yaml` runs the offline demo on built-in images.
# Every rule is a thin call of the `dipbench job ...` command line; the logic lives in the dipbench package.

# The paper's config is the default; a --configfile replaces it (Snakemake would otherwise deep-merge the two).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/restore.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


onstart:
    # every restore job then prints how much is left (dipbench.pipeline.eta)
    from dipbench.pipeline.eta import write_manifest

    # under a cluster executor there is no --cores: the job limit (--jobs) stands in for it
    settings = workflow.resource_settings
    write_manifest(PLAN, settings.cores or settings.nodes or 1)


rule all:
    default_target: True
    input:
        final_outputs(),
