"""How much of a workflow is left: a manifest of every restore run and its planned steps, written when the
workflow starts, and an estimate of the time left printed by each finished restore job.

The estimate: runs whose ``run.json`` exists are done. For each method label, the seconds per step of its
finished runs (seconds per run for methods without steps) times the steps of its unfinished runs, summed;
labels with nothing finished yet take the mean over all finished work. Wall time divides that by the
number of cores the workflow was started with (``--cores``), an optimistic bound when jobs use several
threads or wait for a GPU.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..atomic import write_json

MANIFEST = "logs/plan.json"


def planned_steps(params: dict[str, Any], task: Any) -> int:
    """The steps a run will take at most: its ``steps`` parameter (``"auto"``, ``"paper"`` or ``"notebook"``
    resolved by DIP's settings for the task and DIP's ``environment``), or 1 for methods that do not iterate."""
    from ..methods.dip.environment import resolve_steps
    from ..methods.dip.settings import paper_settings

    steps = params.get("steps")
    if steps in ("auto", "paper", "notebook"):
        paper_steps = paper_settings(task.name, task.params).get("steps")
        steps = resolve_steps(steps, params.get("environment", "current"), task.name, paper_steps)
    return int(steps) if isinstance(steps, (int, float)) and not isinstance(steps, bool) else 1


def write_manifest(plan: Any, cores: int) -> Path:
    """Write ``<results>/logs/plan.json``: every restore run's folder, label and planned steps, the SHA-256
    of each experiment's resolved configuration (:func:`config_hash` reads it back) and what the report
    needs (its settings and the records it reads: ``dipbench report`` rebuilds from them)."""
    from ..provenance import config_sha256
    from ..tasks import make_task

    runs = []
    for key in plan.runs():
        exp = plan.experiments[key.experiment]
        if key.label in exp["ensembles"]:
            continue
        task = make_task(**plan.observation_spec(key.experiment, key.label).task)
        runs.append({"run_dir": key.run_dir, "label": f"{key.experiment}/{key.label}",
                     "steps": planned_steps(plan.method_params(key.experiment, key.label), task)})
    path = plan.results / MANIFEST
    configs = {name: config_sha256(experiment) for name, experiment in plan.experiments.items()}
    report = {"settings": plan.report_settings(), "metrics": plan.metrics_paths()}
    write_json(path, {"cores": int(cores), "runs": runs, "config_sha256": configs, "report": report})
    return path


def config_hash(results: str | os.PathLike | None, experiment: str | None) -> str | None:
    """The SHA-256 of ``experiment``'s resolved configuration as the workflow that started last planned it
    (from its manifest), or None without a manifest or that experiment."""
    if not results or not experiment:
        return None
    try:
        manifest = json.loads((Path(results) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = (manifest.get("config_sha256") or {}).get(experiment) if isinstance(manifest, dict) else None
    return value if isinstance(value, str) else None


def estimate(results: str | os.PathLike) -> str | None:
    """One line on what is done and what is left, or None without a manifest."""
    results = Path(results)
    try:
        manifest = json.loads((results / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    done_seconds: dict[str, float] = {}
    done_steps: dict[str, int] = {}
    left: list[dict[str, Any]] = []
    for run in manifest["runs"]:
        record = results / run["run_dir"] / "run.json"
        try:
            seconds = float(json.loads(record.read_text(encoding="utf-8"))["runtime_s"])
        except (OSError, ValueError, KeyError, TypeError):
            left.append(run)
            continue
        done_seconds[run["label"]] = done_seconds.get(run["label"], 0.0) + seconds
        done_steps[run["label"]] = done_steps.get(run["label"], 0) + run["steps"]
    total, finished = len(manifest["runs"]), len(manifest["runs"]) - len(left)
    if not done_steps:
        return f"progress: 0 of {total} restore runs done"
    overall = sum(done_seconds.values()) / sum(done_steps.values())
    work = sum(run["steps"] * (done_seconds[run["label"]] / done_steps[run["label"]]
                               if run["label"] in done_steps else overall) for run in left)
    cores = max(1, int(manifest.get("cores") or 1))
    return (f"progress: {finished} of {total} restore runs done; about {_duration(work)} of job time left, "
            f"~{_duration(work / cores)} at {cores} job(s) at once")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
