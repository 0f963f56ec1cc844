#!/usr/bin/env python
"""How long a whole configuration (default: the paper's, config/config.yaml) would take on this device.

For every experiment x method label of the plan it runs one probe: the label's method on the first image
of the experiment's first dataset, exactly as the workflow makes that observation, for ``--probe-steps``
steps with a logging step every quarter, and reads the steady seconds per step off the run's curve
(``time_s`` between the first and the last logging step, so the first step's primitive selection and any
compiling are left out) and the run's fixed work (all the rest). The projection of each of the label's
runs is then fixed + planned steps (:func:`dipbench.pipeline.eta.planned_steps`, the run's ``steps``)
x seconds per step x (its image's pixels / the probe's), summed over every run of the plan. Methods
without steps count their probe's whole time per run; iterative ones whose curve has no times, the
probe's whole time per probe step. Runs go one after another (no fused seeds, one
job at a time): on a GPU that is what ``profiles/gpu`` runs.

    python benchmarks/paper_projection.py --device cuda [--config config/config.yaml] [--json OUT]

Prints one line per experiment x label (runs, planned steps, measured s/step, projected hours) and the
total; the last line is ``projected_hours=<total>``. Datasets come from $DIPBENCH_MIRROR or a
shared/datasets folder beside the repository, as in dip_speed.py. ``--experiments`` restricts the plan.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from dipbench.datasets import registry as datasets  # noqa: E402
from dipbench.methods import RunContext, get_method, resolve_device  # noqa: E402
from dipbench.pipeline.eta import planned_steps  # noqa: E402
from dipbench.pipeline.jobs import make_observation  # noqa: E402
from dipbench.pipeline.plan import load_config  # noqa: E402
from dipbench.tasks import make_task  # noqa: E402

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from dip_speed import default_mirror  # noqa: E402


def plan_groups(plan, experiments: list[str] | None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(experiment, label) -> its runs, each {dataset, image, steps}; ensembles (no runs of their own) left out."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key in plan.runs():
        exp = plan.experiments[key.experiment]
        if key.label in exp["ensembles"] or (experiments and key.experiment not in experiments):
            continue
        task = make_task(**plan.observation_spec(key.experiment, key.label).task)
        steps = planned_steps(plan.method_params(key.experiment, key.label), task)
        groups.setdefault((key.experiment, key.label), []).append(
            {"dataset": key.dataset, "image": key.image, "steps": steps})
    return groups


def probe(plan, experiment: str, label: str, run: dict[str, Any], probe_steps: int, device: str,
          mirror: str | None) -> dict[str, Any]:
    """One short run of the label's method on ``run``'s image: steady s/step, fixed s, pixels."""
    spec = plan.observation_spec(experiment, label)
    obs = make_observation(spec, run["dataset"], run["image"], 0, mirror=mirror)
    method_name = plan.method_entry(label)["method"]
    params = dict(plan.method_params(experiment, label))
    iterative = run["steps"] > 1 and "steps" in get_method(method_name).defaults
    if iterative:
        params["steps"] = probe_steps
        if "log_every" in get_method(method_name).defaults:
            params["log_every"] = max(1, probe_steps // 4)
        if params.get("early_stopping"):
            params["early_stopping"] = {**params["early_stopping"], "stop": False}
    start = time.perf_counter()
    result = get_method(method_name)(obs.task, **params).restore(obs, RunContext(seed=0, device=device))
    seconds = time.perf_counter() - start
    per_step = None
    if iterative and result.curve is not None and "time_s" in result.curve:
        timed = result.curve.dropna(subset=["time_s"])
        if len(timed) >= 2:
            first, last = timed.iloc[0], timed.iloc[-1]
            per_step = float(last["time_s"] - first["time_s"]) / max(1, int(last["step"] - first["step"]))
    if iterative and per_step is None:  # a curve without times: the whole probe, per probe step
        per_step = seconds / probe_steps
        fixed = 0.0
    else:
        fixed = seconds - per_step * probe_steps if per_step is not None else seconds
    return {"method": method_name, "seconds": seconds, "s_per_step": per_step, "fixed_s": max(0.0, fixed),
            "pixels": int(obs.target.height * obs.target.width), "precision": result.info.get("precision"),
            "compile": result.info.get("compile")}


def image_pixels(plan, experiment: str, label: str, run: dict[str, Any], mirror: str | None) -> int:
    spec = plan.observation_spec(experiment, label)
    if spec.image_size:
        return int(spec.image_size) ** 2
    gt = datasets.load_gt(run["dataset"], run["image"], mirror=mirror)
    return int(gt.shape[0] * gt.shape[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--probe-steps", type=int, default=40)
    parser.add_argument("--experiments", nargs="+")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = str(resolve_device(args.device))
    mirror = default_mirror()
    plan = load_config(args.config)
    rows, total = [], 0.0
    for (experiment, label), runs in plan_groups(plan, args.experiments).items():
        measured = probe(plan, experiment, label, runs[0], args.probe_steps, device, mirror)
        seconds = 0.0
        for run in runs:
            if measured["s_per_step"] is None:
                seconds += measured["seconds"]
                continue
            scale = image_pixels(plan, experiment, label, run, mirror) / measured["pixels"]
            seconds += measured["fixed_s"] + run["steps"] * measured["s_per_step"] * scale
        total += seconds
        row = {"experiment": experiment, "label": label, "runs": len(runs),
               "planned_steps": sum(r["steps"] for r in runs), "projected_s": seconds, **measured}
        rows.append(row)
        rate = "n/a" if measured["s_per_step"] is None else f"{measured['s_per_step'] * 1e3:.1f} ms/step"
        print(f"  {experiment:18s} {label:14s} {len(runs):4d} runs, {row['planned_steps']:8d} steps, probe {rate} "
              f"at {measured['pixels']} px ({measured['precision']}): {seconds / 3600:7.2f} h", flush=True)
    print(f"projected on {device}: {total / 3600:.2f} h for {sum(r['runs'] for r in rows)} runs "
          f"(one job at a time, seeds not fused)")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "config": args.config, "rows": rows,
                                               "projected_s": total}, indent=2, default=str) + "\n")
    print(f"projected_hours={total / 3600:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
