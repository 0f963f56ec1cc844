import json
import os
import sys

from dipbench.errors import DipbenchError
from dipbench.pipeline.lifeline import mark_workflow
from dipbench.pipeline.plan import RunKey, load_config
from dipbench.yamlio import check_yaml_files

try:
    check_yaml_files(workflow.configfiles)  # Snakemake's own YAML loader keeps the last of two equal keys
    PLAN = load_config(config)
except DipbenchError as error:
    sys.exit(f"dipbench: {error}")

R = str(PLAN.results)
mark_workflow()  # every job started from this process stops once it has ended (dipbench.pipeline.lifeline)
RUNS = list(PLAN.runs())
RUN_BY_PATH = {run.run_dir: run for run in RUNS}


wildcard_constraints:
    experiment=r"[A-Za-z0-9_-]+",
    label=r"[A-Za-z0-9_-]+",
    dataset=r"[A-Za-z0-9_-]+",
    image=r"[A-Za-z0-9_.-]+",
    seed=r"\d+",
    protocol=r"[a-z_]+",
    obs=r"[A-Za-z0-9_.-]+",


# Every value a rule hands to the shell (config, plan, wildcard, path) is rendered with Snakemake's `:q`
# (shlex.quote, element by element for lists); nothing is computed by the shell, e.g. no $(dirname ...).
# Params derived from the config are functions: Snakemake formats plain-string params as wildcard patterns.


def run_key(wildcards):
    return RUN_BY_PATH[
        f"runs/{wildcards.experiment}/{wildcards.label}/{wildcards.dataset}/{wildcards.image}/seed{wildcards.seed}"
    ]


def as_json(value):
    return json.dumps(value, sort_keys=True)


def mirror_option(wildcards=None):
    """``--mirror <value>`` as a list of arguments, or no argument at all: render it with ``{params.mirror:q}``,
    which shell-quotes each element (an empty list renders as nothing). A function, so that Snakemake never
    reads the value as a wildcard pattern."""
    return ["--mirror", PLAN.config["mirror"]] if PLAN.config["mirror"] else []


def plugin_args(wildcards=None):
    """``--plugin <path>`` for every plugin of the config, as a list for `{params.plugins:q}`: every job
    process loads the methods and tasks the planning process loaded."""
    return [arg for plugin in PLAN.config["plugins"] for arg in ("--plugin", plugin)]


def metrics_files():
    return [f"{R}/{path}" for path in PLAN.metrics_paths()]


def report_outputs():
    return [f"{R}/tables/runs.csv", f"{R}/tables/summary.csv", f"{R}/tables/README.md", f"{R}/figures/README.md"]


def final_outputs():
    """What `snakemake` builds by default: the report's files and the HTML report's pages."""
    return report_outputs() + [f"{R}/report_pages"]
