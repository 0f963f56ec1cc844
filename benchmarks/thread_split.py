#!/usr/bin/env python
"""How to split a machine's cores between DIP jobs: many jobs with few threads, or few with many?

For each split ``JOBSxTHREADS`` (default: every split whose product is the core count, e.g. 2x1 and 1x2
on 2 cores), start JOBS processes at once, each fitting DIP on a 256 px image with THREADS torch threads
for ``--steps`` steps after ``--warmup`` untimed ones, and report the machine's throughput: DIP steps per
second summed over the jobs. The workflow's rule (README "Threads"): use the split with the highest
throughput. Prints the CPU model and flags first (benchmarks/hardware.py).

    python benchmarks/thread_split.py                  # every split of this machine's cores
    python benchmarks/thread_split.py --splits 4x2 8x1 --size 256 --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the dipbench checkout, and benchmarks/ for hardware.py
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def child(size: int, steps: int, warmup: int, precision: str) -> None:
    """One job: time ``steps`` DIP steps after ``warmup`` steps; print steps/s as JSON."""
    import numpy as np
    import torch

    from dipbench.methods import RunContext, get_method
    from dipbench.tasks import make_task

    rng = np.random.default_rng(0)
    gt = rng.random((size, size, 3)).astype(np.float32)
    obs = make_task("denoise").degrade(gt, rng)
    dip = get_method("dip")

    def fit(n):
        start = time.perf_counter()
        dip("denoise", steps=n, log_every=n, precision=precision).restore(obs, RunContext(seed=0))
        return time.perf_counter() - start

    fit(warmup)
    one = fit(1)  # the fixed per-run work (network build, final forward), subtracted below
    total = fit(steps + 1)
    print(json.dumps({"steps_per_s": steps / max(total - one, 1e-9), "threads": torch.get_num_threads()}))


def run_split(jobs: int, threads: int, args) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, __file__, "--child", "--size", str(args.size), "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--precision", args.precision]
    start = time.perf_counter()
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(jobs)]
    rates = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"thread_split: a {jobs}x{threads} job failed (exit {proc.returncode})")
        rates.append(json.loads(out.strip().splitlines()[-1])["steps_per_s"])
    return {"split": f"{jobs}x{threads}", "jobs": jobs, "threads": threads, "per_job_steps_per_s": rates,
            "machine_steps_per_s": sum(rates), "wall_s": time.perf_counter() - start}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", nargs="+", help="JOBSxTHREADS, e.g. 2x1 1x2 (default: all of os.cpu_count())")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.size, args.steps, args.warmup, args.precision)
        return 0
    from hardware import describe, hardware_line

    print(hardware_line(describe("cpu", args.precision)))
    cores = os.cpu_count() or 1
    splits = args.splits or [f"{cores // t}x{t}" for t in range(1, cores + 1) if cores % t == 0]
    results = []
    for split in splits:
        jobs, threads = (int(x) for x in split.lower().split("x"))
        result = run_split(jobs, threads, args)
        results.append(result)
        print(f"{result['split']:>6}: {result['machine_steps_per_s']:.3f} steps/s for the machine "
              f"({', '.join(f'{r:.3f}' for r in result['per_job_steps_per_s'])} per job), {result['wall_s']:.0f} s")
    best = max(results, key=lambda r: r["machine_steps_per_s"])
    for result in results:
        print(f"{result['split']:>6}: {result['machine_steps_per_s'] / best['machine_steps_per_s']:.2f}x the best")
    print(f"best split: {best['split']} (jobs x threads) at {args.size} px, precision {args.precision}")
    if args.json:
        Path(args.json).write_text(json.dumps({"size": args.size, "steps": args.steps, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
