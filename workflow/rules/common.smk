import json
import os
import sys

from dipbench.errors import DipbenchError
from dipbench.pipeline.plan import RunKey, load_config

try:
    PLAN = load_config(config)
except DipbenchError as error:
    sys.exit(f"dipbench: {error}")

R = str(PLAN.results)
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


def run_key(wildcards):
    return RUN_BY_PATH[
        f"runs/{wildcards.experiment}/{wildcards.label}/{wildcards.dataset}/{wildcards.image}/seed{wildcards.seed}"
    ]


def as_json(value):
    return json.dumps(value, sort_keys=True)


def mirror_option():
    return f"--mirror {PLAN.config['mirror']!r}" if PLAN.config["mirror"] else ""


def metrics_files():
    return [f"{R}/{run.metrics_path(protocol)}" for run in RUNS for protocol in PLAN.protocols]


def report_outputs():
    return [f"{R}/tables/runs.csv", f"{R}/tables/summary.csv", f"{R}/tables/README.md", f"{R}/figures/README.md"]
