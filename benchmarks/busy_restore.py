#!/usr/bin/env python
"""A DIP restore's step time on a quiet and on a busy machine, with torch's own thread count (every core,
what ``dipbench restore`` did before ``--threads``) and with the workflow's rule (``--threads`` default,
dipbench.threads: the cores minus the load average), side by side in one run.

"Busy" is ``--busy`` CPU-bound processes this script starts itself (default: every core but one, so one
core stays free for the fit). The 1-minute load average needs about a minute to see them, so the busy
cases wait ``--settle`` seconds first and print the load and what the rule picked. Each case is one
process fitting DIP on a ``--size`` px image (benchmarks/thread_split.py's child) and printing seconds
per step. Prints the CPU model and flags first (benchmarks/hardware.py).

    python benchmarks/busy_restore.py                      # 96 px, 20 steps after 3 warm-up steps
    python benchmarks/busy_restore.py --size 128 --busy 3 --settle 90
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
for folder in (HERE.parent, HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from dipbench.threads import cores, default_threads, free_cores  # noqa: E402

SPIN = "while True: pass"


def step_time(threads: int, args) -> float:
    """Seconds per DIP step of one fit in a fresh process with ``threads`` torch threads."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, str(HERE / "thread_split.py"), "--child", "--size", str(args.size), "--steps",
               str(args.steps), "--warmup", str(args.warmup), "--precision", args.precision]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return 1.0 / json.loads(out.strip().splitlines()[-1])["steps_per_s"]


def cases(label: str, args) -> list[dict]:
    rule = default_threads()
    load = os.getloadavg()[0]
    rows = []
    for name, threads in (("torch default (every core)", cores()), ("the rule", rule)):
        rows.append({"machine": label, "threads_from": name, "threads": threads, "load": load,
                     "free_cores": free_cores(load), "s_per_step": step_time(threads, args)})
        print(f"{label:>5} | {name:<27} | {threads} thread(s) | load {load:4.2f} | "
              f"{rows[-1]['s_per_step']:.3f} s/step", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--busy", type=int, default=max(1, cores() - 1), help="competing processes to start")
    parser.add_argument("--settle", type=float, default=75.0, help="seconds for the load average to see them")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    from hardware import describe, hardware_line

    print(hardware_line(describe("cpu", args.precision)))
    print(f"{cores()} cores; {args.size} px DIP, {args.steps} timed steps; busy = {args.busy} spinning process(es)")
    rows = cases("quiet", args)
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(args.busy)]
    try:
        time.sleep(args.settle)
        rows += cases("busy", args)
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()
    quiet = min(r["s_per_step"] for r in rows if r["machine"] == "quiet")
    for row in rows:
        if row["machine"] == "busy":
            print(f"busy, {row['threads_from']}: {row['s_per_step'] / quiet:.2f}x the quiet machine's best step time")
    if args.json:
        Path(args.json).write_text(json.dumps({"size": args.size, "steps": args.steps, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
