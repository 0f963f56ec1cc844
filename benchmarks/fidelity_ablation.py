"""Seed-matched ablation of the DIP authors' environment: one switch at a time against a baseline.

One image, one task (denoising, sigma 25, the DIP authors' published noisy input where the dataset mirror
has it; else a simulated one), the same seeds for every variant. The baseline is DIP at the paper's
settings in today's environment in true fp32 (``precision: fp32``, ``environment: current``); each
variant changes one switch (docs/protocol.md section 10):

  bf16            precision bf16 (autocast; fp32 weights, Adam state and loss)
  tf32            tf32 true: cuDNN and matmuls in TF32 (CUDA only; "n/a on CPU", skipped there)
  bn_init         BatchNorm weights U(0, 1) (PyTorch <= 1.1)
  align_corners   bilinear upsampling with align_corners=True (PyTorch < 0.4)
  backtrack       the notebooks' backtracking (5 dB drop against the noisy image, every 50 steps)
  steps           the notebook's 3000 steps instead of the paper's 1800 (scaled with ``--steps``)
  authors         all of the authors' environment at once (``environment: authors``, fp32, no TF32)

For each variant it prints the mean PSNR over seeds (dB, RGB, full image, of the 8-bit image as written),
the seed std, and the paired difference to the baseline: the mean over seeds of (variant - baseline) for
the same seed, with the std of those differences; plus the rollbacks and the seconds per run. The first
line is the hardware (benchmarks/hardware.py). The PSNRs are deterministic per seed on one machine and
thread count, so a busy machine changes only the timings.

    python benchmarks/fidelity_ablation.py                                  # the paper's settings (hours on a CPU)
    python benchmarks/fidelity_ablation.py --size 128 --steps 600 --seeds 3 # README's CPU table
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import hardware  # noqa: E402
from dip_speed import default_mirror  # noqa: E402
from dipbench import datasets  # noqa: E402
from dipbench.imaging.io import read_image, to_uint8  # noqa: E402
from dipbench.methods import RunContext, get_method, resolve_device  # noqa: E402
from dipbench.metrics import psnr  # noqa: E402
from dipbench.tasks import Observation, make_task  # noqa: E402

PAPER_STEPS, NOTEBOOK_STEPS = 1800, 3000
BASELINE = {"precision": "fp32", "environment": "current"}
#: name -> parameters changed from the baseline (``steps`` is filled in from ``--steps``).
VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "bf16": {"precision": "bf16"},
    "tf32": {"tf32": True},
    "bn_init": {"bn_init": "uniform"},
    "align_corners": {"align_corners": True},
    "backtrack": {"backtrack": "notebook"},
    "steps": {},
    "authors": {"environment": "authors"},
}


def observation(image: str, size: int | None, sigma: int = 25) -> tuple[Observation, str]:
    """The denoising observation of ``image`` (dip_denoise9), centre-cropped to ``size`` px (None: whole),
    and where its noisy input came from. A crop keeps the published noise as it is (a resize would not)."""
    mirror = default_mirror()
    task = make_task("denoise", sigma=sigma)
    gt = datasets.load_gt("dip_denoise9", image, mirror=mirror)
    path = datasets.input_path("dip_denoise9", image, "noisy_s25", mirror=mirror) if sigma == 25 else None
    noisy = read_image(path, "to_rgb") if path is not None else None
    if size:
        top, left = (gt.shape[0] - size) // 2, (gt.shape[1] - size) // 2
        gt = gt[top : top + size, left : left + size]
        noisy = noisy[top : top + size, left : left + size] if noisy is not None else None
    source = f"the authors' published noisy input ({path.name})" if noisy is not None else "simulated noise"
    obs = task.degrade(task.prepare_gt(gt), np.random.default_rng(0), **({"noisy": noisy} if noisy is not None else {}))
    return obs, source


def run(obs: Observation, params: dict[str, Any], seed: int, device: str) -> dict[str, Any]:
    """One DIP run: PSNR of the 8-bit output against the ground truth, rollbacks, seconds."""
    method = get_method("dip")("denoise", **params)
    start = time.perf_counter()
    result = method.restore_many(obs, [RunContext(seed=seed, device=device)])[0]
    seconds = time.perf_counter() - start
    written = to_uint8(result.image).astype(np.float32) / 255.0
    return {"psnr": psnr(obs.gt, written), "rollbacks": result.info.get("rollbacks", 0), "seconds": seconds,
            "steps": result.info["params_resolved"]["steps"], "flags": result.info["precision_flags"]}


def summarise(name: str, runs: list[dict[str, Any]], base: list[dict[str, Any]]) -> dict[str, Any]:
    values = [r["psnr"] for r in runs]
    diffs = [r["psnr"] - b["psnr"] for r, b in zip(runs, base)]
    spread = statistics.stdev if len(values) > 1 else (lambda _: float("nan"))
    return {"variant": name, "mean_psnr": statistics.mean(values), "seed_std": spread(values),
            "diff_mean": statistics.mean(diffs), "diff_std": spread(diffs), "psnrs": values,
            "rollbacks": sum(r["rollbacks"] for r in runs),
            "seconds_per_run": statistics.mean(r["seconds"] for r in runs),
            "steps": runs[0]["steps"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="house", help="a dip_denoise9 image (default house)")
    parser.add_argument("--size", type=int, default=None, help="centre crop in px (default: the whole image)")
    parser.add_argument("--steps", type=int, default=PAPER_STEPS, help="baseline steps (the paper's 1800)")
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds (0, 1, ...), the same for every variant")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per run (default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, in separate processes (default 1)")
    parser.add_argument("--json", help="write the summary here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    machine = hardware.describe(device, "fp32")
    print(hardware.hardware_line(machine), flush=True)
    obs, source = observation(args.image, args.size)
    notebook_steps = round(args.steps * NOTEBOOK_STEPS / PAPER_STEPS)
    print(f"denoising sigma 25, {args.image} {obs.gt.shape[1]}x{obs.gt.shape[0]} px, {source}; baseline "
          f"{args.steps} steps (the 'steps' and 'authors' variants {notebook_steps}), seeds 0..{args.seeds - 1}",
          flush=True)
    names = ["baseline"] + [n for n in args.variants if n != "baseline"]
    skipped = {"tf32": "n/a on CPU"} if "tf32" in names and device.type != "cuda" else {}
    names = [n for n in names if n not in skipped]
    jobs = []
    for name in names:
        params = {**BASELINE, **VARIANTS[name], "steps": notebook_steps if name in ("steps", "authors") else args.steps}
        if name != "tf32" and device.type == "cuda":
            params.setdefault("tf32", False)  # every other variant in true fp32
        jobs += [(name, params, seed) for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs, initializer=torch.set_num_threads, initargs=(args.threads,)) as pool:
        done = list(pool.map(run, [obs] * len(jobs), [p for _, p, _ in jobs], [s for _, _, s in jobs],
                             [str(device)] * len(jobs)))
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for (name, _, _), result in zip(jobs, done):
        results[name].append(result)
    for name in names:
        print(f"  {name}: " + " ".join(f"{r['psnr']:.3f}" for r in results[name]), flush=True)
    rows = [summarise(name, runs, results["baseline"]) for name, runs in results.items()]
    print(f"\n| variant | steps | mean PSNR (dB) | seed std | paired diff vs baseline | diff std | rollbacks | s/run |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        diff = "-" if row["variant"] == "baseline" else f"{row['diff_mean']:+.3f}"
        dstd = "-" if row["variant"] == "baseline" else f"{row['diff_std']:.3f}"
        print(f"| {row['variant']} | {row['steps']} | {row['mean_psnr']:.3f} | {row['seed_std']:.3f} | {diff} | "
              f"{dstd} | {row['rollbacks']} | {row['seconds_per_run']:.0f} |")
    for name, why in skipped.items():
        print(f"| {name} | | {why} | | | | | |")
    if args.json:
        Path(args.json).write_text(json.dumps({"hardware": machine, "args": vars(args), "source": source,
                                               "rows": rows, "skipped": skipped}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
