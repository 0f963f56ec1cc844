#!/usr/bin/env python
"""How fast is dipbench's DIP, and does it keep the numbers? One process, alternating, same seeds.

Modes (``--mode``):
  speed   (default) (a) a reference-equivalent loop -- the original notebooks' loop re-implemented: fp32,
          contiguous tensors, and every step the output copied to the host, three numpy PSNRs (output vs
          the noisy image, vs the ground truth, EMA vs the ground truth) and the loss fetched for printing --
          against (b) dipbench's DIP, on the same denoising image, seeds and step count, alternating a/b.
          Reports steps/s, the speedup, achieved GFLOP/s against the machine's estimated peak, peak memory,
          and the mean final PSNR of both over the seeds (the fast path counts only within 0.1 dB). With two
          or more steps it also measures dipbench's fixed per-run work (building the network, the final
          forward pass, curve assembly) from one extra 1-step run per seed: with T(n) = fixed + n * per_step,
          fixed = T(1) - (T(steps) - T(1)) / (steps - 1), printed as "fixed per-run work: X s = Y% of the
          timed part" and kept under "fixed_work" in the JSON.
  ttq     time to quality on the demo denoising images (64 px, 600 steps, as config/demo.yaml): wall time
          until dipbench's output (the EMA) reaches the reference loop's final PSNR -- without early stopping
          (read off the oracle curve: an oracle bound) and with ES-WMV (the time until it stops, and whether
          its output reached that PSNR).
  es      ES-WMV on the 9 denoising images (dip_denoise9) at demo scale or larger: each run goes on to the
          fixed step count (``stop: false``) so its choice is judged against the whole curve: stop step,
          chosen step, PSNR, oracle peak and gap, and the fixed-count result beside it.
  memory  peak memory per megapixel (fresh subprocess per setting) for fp32 / bf16, with and without
          activation checkpointing, and what that predicts for a 2048x2048 image on this device.
  fused   K separate runs against one fused K-run network (grouped convolutions): run-steps/s and equality.

Every mode first prints one hardware line and puts the same description under ``"hardware"`` in its
``--json`` (:func:`hardware.describe`, benchmarks/hardware.py): the CPU model, logical cores, torch threads
and the flags that decide bf16 (avx512f, avx512_bf16, amx_bf16, amx_tile: present / absent), on CUDA the
GPU name and compute capability, the torch version, and what ``--precision`` resolves to on the device.

``--quick`` is the speed mode at 128 px, 24 steps x 3 seeds (``QUICK_SIZE``, ``QUICK_STEPS``), at the
default ``--precision auto``, so it measures what DIP's default does on the device. 24 steps keep the fixed
per-run work well below 5% of the timed part: on the 2-core Xeon with AMX-BF16 (auto -> bf16,
channels-last), 1 thread, beside two other DIP runs, ``dip_speed.py --quick`` measured 0.16 s = 2.7% of
6.09 s and took 66 s in all; ``--quick --precision fp32 --seeds 0 1`` 0.32 s = 2.6% of 12.1 s. (The former
4 steps at 256 px left the fixed work visible: speedup 0.91 against 0.99 at 20 steps, fp32.) Its last line
is ``speedup=<ratio> psnr_gap_db=<fast minus reference>``.

On a GPU, ``bash benchmarks/gpu_check.sh [OUT]`` runs the speed, fused, memory and ttq modes with
``--device cuda`` and a timed Set5 x4 workflow experiment, in under 10 minutes, and tabulates the figures.

On a CPU, run with one thread (the default ``--threads 1``) unless the machine is otherwise idle: two
OpenMP threads on a busy 2-core machine spin-wait and make every timing meaningless.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dipbench.datasets import registry as datasets  # noqa: E402
from dipbench.datasets.settings import ENV_MIRROR  # noqa: E402
from dipbench.methods import precision as prec  # noqa: E402
from dipbench.methods import RunContext, get_method  # noqa: E402
from dipbench.methods import resolve_device  # noqa: E402
from dipbench.methods.dip import DIP, DIPProblem  # noqa: E402
from dipbench.methods.dip import fit_fused, nnpack  # noqa: E402
from dipbench.metrics import psnr  # noqa: E402
from dipbench.pipeline.plan import ObservationSpec  # noqa: E402
from dipbench.pipeline.jobs import make_observation  # noqa: E402
from dipbench.tasks import Observation  # noqa: E402

if str(Path(__file__).resolve().parent) not in sys.path:  # benchmarks/ (already there when run as a script)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import hardware  # noqa: E402
from peak import estimated_peak_gflops  # noqa: E402

DENOISE = {"name": "denoise", "sigma": 25}
#: ``--quick``: speed mode at 128 px, 24 steps x 3 seeds (see the module docstring for the measurement).
QUICK_SIZE, QUICK_STEPS = 128, 24


# ------------------------------------------------------------------------------------------- inputs


def observation(dataset: str, image: str, size: int | None, mirror: str | None = None) -> Observation:
    """A sigma=25 denoising observation made exactly as the workflow makes it (demo resize if ``size``)."""
    spec = ObservationSpec(task=dict(DENOISE), image_size=size, published_inputs=True)
    return make_observation(spec, dataset, image, 0, mirror=mirror)


def default_mirror() -> str | None:
    """$DIPBENCH_MIRROR, else a ``shared/datasets`` folder beside the repository if there is one."""
    if os.environ.get(ENV_MIRROR):
        return None  # datasets reads it itself
    beside = REPO.parent / "shared" / "datasets"
    return str(beside) if beside.is_dir() else None


# ------------------------------------------------------------------------------- the two loops


def reference_run(obs: Observation, params: dict[str, Any], seed: int, device: torch.device,
                  record: bool = False) -> dict[str, Any]:
    """The reference-equivalent loop (the original notebooks' denoising loop, re-implemented).

    Same network, initialisation, input noise and per-step perturbation draws as dipbench for the same
    seed, so at fp32 the two compute the same trajectory; what differs is what the loop does besides the
    optimisation: every step it copies the output and the EMA to the host and computes three PSNRs there
    with numpy (scikit-image's peak_signal_noise_ratio, the notebooks' compare_psnr), and fetches the
    loss for printing. fp32, contiguous (channels-first) tensors, no autocast.
    """
    from skimage.metrics import peak_signal_noise_ratio

    start, cpu_start = time.perf_counter(), time.process_time()
    method = DIP(obs.task, **params)
    p = method.resolved_params(obs)
    problem = DIPProblem.from_observation(obs, p, device)
    net = method.seeded_network(p, obs.channels, seed).to(device)
    generator = torch.Generator(device=device).manual_seed(seed)
    net.train()
    z = torch.rand((1, int(p["input_depth"]), *problem.size), generator=generator, device=device)
    z = z * float(p["input_scale"])
    noise = torch.empty_like(z)
    sigma_p, ema_weight = float(p["reg_noise_std"]), float(p["ema"])
    optimizer = torch.optim.Adam(net.parameters(), lr=float(p["lr"]))
    noisy_np = np.ascontiguousarray(obs.y.transpose(2, 0, 1))
    gt_np = np.ascontiguousarray(obs.gt.transpose(2, 0, 1)).astype(np.float32)
    out_avg = None
    times, psnr_sm = [], []
    for _ in range(int(p["steps"])):
        optimizer.zero_grad()
        net_input = z + noise.normal_(generator=generator) * sigma_p
        out = net(net_input)
        out_avg = out.detach() if out_avg is None else out_avg * ema_weight + out.detach() * (1 - ema_weight)
        total_loss = F.mse_loss(problem.operator(out), problem.y)
        total_loss.backward()
        out_np = out.detach().cpu().numpy()[0]
        psnr_noisy = peak_signal_noise_ratio(noisy_np, out_np, data_range=1.0)
        psnr_gt = peak_signal_noise_ratio(gt_np, out_np, data_range=1.0)
        psnr_gt_sm = peak_signal_noise_ratio(gt_np, out_avg.detach().cpu().numpy()[0], data_range=1.0)
        _ = (total_loss.item(), psnr_noisy, psnr_gt)  # what the notebooks print every step
        optimizer.step()
        if record:
            times.append(time.perf_counter() - start)
            psnr_sm.append(psnr_gt_sm)
    with torch.no_grad():
        final = out_avg if p["output"] == "ema" else net(net_input)
    image = final[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu_start, "psnr": psnr(obs.gt, image),
            "times": times, "psnr_curve": psnr_sm}


def dipbench_run(obs: Observation, params: dict[str, Any], seed: int, device: torch.device,
                 method: str = "dip") -> dict[str, Any]:
    """dipbench's DIP, through the method interface the workflow uses."""
    start, cpu_start = time.perf_counter(), time.process_time()
    result = get_method(method)(obs.task, **params).restore(obs, RunContext(seed=seed, device=str(device)))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu_start, "psnr": psnr(obs.gt, result.image),
            "info": result.info, "curve": result.curve}


# --------------------------------------------------------------------------- machine figures


def flops_per_step(obs: Observation, params: dict[str, Any]) -> float:
    """Floating-point operations of one forward + backward of the network (convolutions and matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    method = DIP(obs.task, **params)
    p = method.resolved_params(obs)
    height, width = obs.target.height + 2 * int(p["pad_input"]), obs.target.width + 2 * int(p["pad_input"])
    net = method.build_network({**p, "checkpointing": False}, obs.channels)
    z = torch.rand(1, int(p["input_depth"]), height, width)
    with FlopCounterMode(display=False) as counter:
        net(z).square().mean().backward()
    return float(counter.get_total_flops())


class PeakMemory:
    """Peak memory of a block: CUDA allocator peak, or on Linux the peak RSS (reset via clear_refs)."""

    def __init__(self, device: torch.device):
        self.device, self.peak_mb = device, None

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            self.base = _rss_kb("VmRSS")
            try:
                Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS (Linux >= 4.0)
                self.ok = True
            except OSError:
                self.ok = False
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_mb = (torch.cuda.max_memory_allocated(self.device) - self.base) / 2**20
        elif self.ok and self.base is not None:
            peak = _rss_kb("VmHWM")
            self.peak_mb = None if peak is None else (peak - self.base) / 1024
        return False


def _rss_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# ------------------------------------------------------------------------------------------ modes


def fast_params(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    params = {"precision": args.precision, "channels_last": args.channels_last, "compile": args.compile,
              "conv_backend": args.conv_backend}
    params.update(extra)
    return params


def speed_at(args: argparse.Namespace, device: torch.device, size: int, steps: int,
             seeds: list[int]) -> dict[str, Any]:
    """The speed comparison at one size: reference and dipbench alternated over ``seeds``."""
    obs = observation("builtin", args.image, size)
    base = {"steps": steps}
    fast = fast_params(args, steps=steps)
    warm = {"steps": 2}
    reference_run(obs, warm, 10_000, device)
    dipbench_run(obs, {**fast, **warm}, 10_000, device)
    rows = []
    for i, seed in enumerate(seeds):
        order = ("reference", "dipbench") if i % 2 == 0 else ("dipbench", "reference")
        for path in order:
            with PeakMemory(device) as memory:
                run = reference_run(obs, base, seed, device) if path == "reference" else \
                    dipbench_run(obs, fast, seed, device)
            rows.append({"path": path, "seed": seed, "seconds": run["seconds"], "psnr": run["psnr"],
                         "cpu_seconds": run["cpu_seconds"], "peak_mb": memory.peak_mb,
                         "precision": run.get("info", {}).get("precision", "fp32"),
                         "channels_last": run.get("info", {}).get("channels_last", False),
                         "conv_backend": run.get("info", {}).get("conv_backend", "torch")})
            print(f"  {path:9s} seed {seed}: {run['seconds']:7.2f} s  {steps / run['seconds']:6.3f} steps/s  "
                  f"PSNR {run['psnr']:.3f} dB  peak {_fmt_mb(memory.peak_mb)}", flush=True)
    flops = flops_per_step(obs, fast)
    fast_precision = next(r["precision"] for r in rows if r["path"] == "dipbench")
    summary: dict[str, Any] = {"mode": "speed", "image": args.image, "size": size, "steps": steps,
                               "seeds": seeds, "gflop_per_step": flops / 1e9}
    if steps >= 2:
        summary["fixed_work"] = fixed_work(obs, fast, seeds, device,
                                           [r["seconds"] for r in rows if r["path"] == "dipbench"], steps)
    for path in ("reference", "dipbench"):
        mine = [r for r in rows if r["path"] == path]
        seconds = statistics.mean(r["seconds"] for r in mine)
        peak, how = estimated_peak_gflops(device, "fp32" if path == "reference" else fast_precision, args.threads)
        gflops = flops / 1e9 * steps / seconds
        summary[path] = {
            "steps_per_s": steps / seconds, "mean_seconds": seconds,
            "mean_cpu_seconds": statistics.mean(r["cpu_seconds"] for r in mine),
            "psnr_mean": statistics.mean(r["psnr"] for r in mine),
            "psnr_per_seed": [r["psnr"] for r in mine],
            "gflops": gflops, "peak_gflops_est": peak, "peak_note": how,
            "fraction_of_peak": gflops / peak if peak else None,
            "peak_mb": max((r["peak_mb"] for r in mine if r["peak_mb"] is not None), default=None),
            "precision": mine[0]["precision"], "channels_last": mine[0]["channels_last"],
            "conv_backend": mine[0]["conv_backend"],
        }
    summary["speedup"] = summary["reference"]["mean_seconds"] / summary["dipbench"]["mean_seconds"]
    # process CPU time: on a shared machine what the runs computed, without their time waiting for a core
    summary["speedup_cpu_time"] = summary["reference"]["mean_cpu_seconds"] / summary["dipbench"]["mean_cpu_seconds"]
    summary["psnr_gap_db"] = summary["dipbench"]["psnr_mean"] - summary["reference"]["psnr_mean"]
    summary["keeps_numbers"] = abs(summary["psnr_gap_db"]) <= 0.1
    for path in ("reference", "dipbench"):
        s = summary[path]
        frac = f"{100 * s['fraction_of_peak']:.0f}% of est. peak {s['peak_gflops_est']:.0f}" if s["fraction_of_peak"] else "peak unknown"
        print(f"{path:9s}: {s['steps_per_s']:.3f} steps/s, {s['gflops']:.1f} GFLOP/s ({frac}), peak memory "
              f"{_fmt_mb(s['peak_mb'])}, mean final PSNR {s['psnr_mean']:.3f} dB "
              f"[{s['precision']}{', channels_last' if s['channels_last'] else ''}, conv {s['conv_backend']}]")
    for path in ("reference", "dipbench"):
        print(f"peak estimate ({summary[path]['precision']}): {summary[path]['peak_note']}")
    print(f"speedup {summary['speedup']:.3f} in wall time, {summary['speedup_cpu_time']:.3f} in process CPU time "
          "(the two differ when other processes share the cores)")
    if summary["dipbench"]["conv_backend"] == "nnpack":
        print("dipbench's GFLOP/s count a direct convolution's operations: its 3x3 convolutions ran through "
              "NNPACK's Winograd kernels, which do fewer (so its fraction of peak can exceed what a direct "
              "convolution can reach)")
    print(f"{flops / 1e9:.1f} GFLOP per step at {size}x{size}; PSNR gap within 0.1 dB: "
          f"{summary['keeps_numbers']}")
    if "fixed_work" in summary:
        w = summary["fixed_work"]
        print(f"fixed per-run work: {w['fixed_seconds']:.3f} s = {w['percent_of_timed']:.1f}% of the timed part "
              f"({w['timed_seconds']:.2f} s for {steps} steps; 1-step run {w['one_step_seconds']:.3f} s, "
              f"{w['per_step_seconds']:.3f} s per step; below 5%: {w['percent_of_timed'] < 5})")
    summary["last_line"] = f"speedup={summary['speedup']:.3f} psnr_gap_db={summary['psnr_gap_db']:.4f}"
    return summary


def mode_speed(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    if not args.sweep:
        return speed_at(args, device, args.size, args.steps, args.seeds)
    rows = []
    for size in args.sweep_sizes:
        steps = args.sweep_steps or sweep_steps(size)
        print(f"-- {size} px, {steps} steps, seed {args.seeds[0]}", flush=True)
        rows.append(speed_at(args, device, size, steps, args.seeds[:1]))
    print("size sweep (one seed; few steps at large sizes, so the fixed per-run work shows there):")
    print(f"  {'px':>5s} {'steps':>5s} {'ref steps/s':>11s} {'dipbench':>9s} {'speedup':>7s} {'GFLOP/s':>8s} "
          f"{'% of peak':>9s} {'ref % of peak':>13s} {'PSNR gap dB':>11s}")
    for r in rows:
        d, ref = r["dipbench"], r["reference"]
        print(f"  {r['size']:5d} {r['steps']:5d} {ref['steps_per_s']:11.3f} {d['steps_per_s']:9.3f} {r['speedup']:7.2f} "
              f"{d['gflops']:8.1f} {_percent(d['fraction_of_peak']):>9s} {_percent(ref['fraction_of_peak']):>13s} "
              f"{r['psnr_gap_db']:+11.3f}")
    summary = {"mode": "speed", "sweep": rows}
    summary["last_line"] = " ".join(f"{r['size']}px={r['speedup']:.2f}x/{_percent(r['dipbench']['fraction_of_peak'])}"
                                    for r in rows)
    return summary


def sweep_steps(size: int) -> int:
    """Steps per run of the size sweep: QUICK_STEPS at QUICK_SIZE, scaled by the inverse pixel count
    (about the same time per run), 4 to 96."""
    return int(min(96, max(4, round(QUICK_STEPS * (QUICK_SIZE / size) ** 2))))


def _percent(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{100 * fraction:.0f}%"


def fixed_work(obs: Observation, fast: dict[str, Any], seeds: list[int], device: torch.device,
               timed_seconds: list[float], steps: int) -> dict[str, Any]:
    """dipbench's fixed per-run work (network building, the final forward pass, curve assembly) and its
    share of the timed part, from runs of 1 step and of ``steps`` steps: with T(n) = fixed + n * per_step,
    per_step = (T(steps) - T(1)) / (steps - 1) and fixed = T(1) - per_step. ``timed_seconds``: the timed
    ``steps``-step runs; one 1-step run per seed is added here."""
    one = statistics.mean(dipbench_run(obs, {**fast, "steps": 1}, seed, device)["seconds"] for seed in seeds)
    timed = statistics.mean(timed_seconds)
    per_step = (timed - one) / (steps - 1)
    fixed = one - per_step
    return {"one_step_seconds": one, "timed_seconds": timed, "steps": steps, "per_step_seconds": per_step,
            "fixed_seconds": fixed, "percent_of_timed": 100.0 * fixed / timed}


#: ``--mode variants``: name -> loop parameters that differ from dipbench's default (``adam`` and
#: ``compile`` are the loop's switches, :mod:`dipbench.methods.dip.compiled`; ``conv_backend``
#: :mod:`dipbench.methods.dip.nnpack`).
VARIANTS = {"default": {}, "adam-fused": {"adam": "fused"}, "adam-loop": {"adam": "loop"}, "adam-foreach": {"adam": "foreach"},
            "compile": {"compile": True}, "fp32": {"precision": "fp32"},
            "conv-torch": {"conv_backend": "torch"}, "conv-nnpack": {"conv_backend": "nnpack"}}


def variant_run(obs: Observation, params: dict[str, Any], loop: dict[str, Any], seed: int,
                device: torch.device) -> dict[str, Any]:
    """dipbench's DIP as :meth:`DIP.restore` runs it, with the loop parameters ``loop`` on top of the
    resolved ones; the steady step time is read off the curve's logging times (compiling excluded)."""
    from dipbench.methods.dip import loop as dip_loop

    start, cpu_start = time.perf_counter(), time.process_time()
    method = DIP(obs.task, **params)
    p = {**method.resolved_params(obs), **loop}
    problem = DIPProblem.from_observation(obs, p, device)
    net = method.seeded_network(p, obs.channels, seed, problem.input_channels(p)).to(device)
    result = dip_loop.fit(net, problem, p, torch.Generator(device=device).manual_seed(seed), device)
    seconds = time.perf_counter() - start
    timed = result.curve.dropna(subset=["time_s"])
    first, last = timed.iloc[0], timed.iloc[-1]
    steady = (last["time_s"] - first["time_s"]) / max(1, last["step"] - first["step"])
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu_start, "steady_step_s": float(steady),
            "psnr": psnr(obs.gt, result.image), "info": result.info}


def mode_variants(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """dipbench's loop variants side by side, interleaved (the order rotates every seed)."""
    obs = observation("builtin", args.image, args.size)
    names = args.variants
    log_every = max(1, args.steps // 4)
    params = fast_params(args, steps=args.steps, log_every=log_every)
    variant_run(obs, {**params, "steps": 2}, {}, 10_001, device)  # the process's own first-run costs
    first_run = {}
    for name in names:  # warm-up: primitive caches, and for "compile" the compilation itself
        run = variant_run(obs, params, VARIANTS[name], 10_000, device)
        first_run[name] = run
        print(f"  warm-up {name:12s}: {run['seconds']:7.2f} s ({run['info'].get('compile')}, "
              f"adam {run['info'].get('adam')})", flush=True)
    rows = []
    for i, seed in enumerate(args.seeds):
        for name in names[i % len(names):] + names[: i % len(names)]:
            run = variant_run(obs, params, VARIANTS[name], seed, device)
            rows.append({"variant": name, "seed": seed, "seconds": run["seconds"], "psnr": run["psnr"],
                         "cpu_seconds": run["cpu_seconds"],
                         "steady_step_s": run["steady_step_s"], "compile": run["info"].get("compile"),
                         "adam": run["info"].get("adam")})
            print(f"  {name:12s} seed {seed}: {run['seconds']:7.2f} s ({run['cpu_seconds']:7.2f} s CPU), steady "
                  f"{1e3 * run['steady_step_s']:7.1f} ms/step, PSNR {run['psnr']:.3f} dB", flush=True)
    summary: dict[str, Any] = {"mode": "variants", "size": args.size, "steps": args.steps, "seeds": args.seeds,
                               "variants": {}}
    base = None
    for name in names:
        mine = [r for r in rows if r["variant"] == name]
        steady = statistics.mean(r["steady_step_s"] for r in mine)
        # compiling (and other first-run work) beyond the steady steps of the warm-up run
        extra = first_run[name]["seconds"] - steady * args.steps
        entry = {"steady_ms_per_step": 1e3 * steady, "mean_seconds": statistics.mean(r["seconds"] for r in mine),
                 "psnr_mean": statistics.mean(r["psnr"] for r in mine), "first_run_extra_s": extra,
                 "mean_cpu_seconds": statistics.mean(r["cpu_seconds"] for r in mine),
                 "compile": mine[0]["compile"], "adam": mine[0]["adam"],
                 "amortised_ms_per_step": {n: 1e3 * (steady + extra / n) for n in (1800, 3000)}}
        summary["variants"][name] = entry
        base = base or entry
        print(f"{name:12s}: steady {entry['steady_ms_per_step']:7.1f} ms/step ({base['steady_ms_per_step'] / entry['steady_ms_per_step']:.3f}x "
              f"{names[0]}), first run +{extra:6.1f} s -> {entry['amortised_ms_per_step'][1800]:.1f} / "
              f"{entry['amortised_ms_per_step'][3000]:.1f} ms/step over 1800 / 3000 steps; PSNR "
              f"{entry['psnr_mean']:.3f} dB ({entry['psnr_mean'] - base['psnr_mean']:+.3f}); CPU time "
              f"{base['mean_cpu_seconds'] / entry['mean_cpu_seconds']:.3f}x {names[0]}'s; compile "
              f"{entry['compile']}, adam {entry['adam']}")
    summary["last_line"] = " ".join(f"{n}={base['steady_ms_per_step'] / v['steady_ms_per_step']:.3f}x"
                                    f"/cpu={base['mean_cpu_seconds'] / v['mean_cpu_seconds']:.3f}x"
                                    for n, v in summary["variants"].items())
    return summary


def mode_ttq(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    images = args.images or datasets.get_dataset("builtin").images
    rows = []
    for image in images:
        obs = observation("builtin", image, args.size)
        for seed in args.seeds:
            ref = reference_run(obs, {"steps": args.steps}, seed, device, record=True)
            target = ref["psnr"]
            fixed = dipbench_run(obs, fast_params(args, steps=args.steps, log_every=args.log_every), seed, device)
            curve = fixed["curve"].dropna(subset=["time_s", "psnr_ema"])
            reached = curve[curve["psnr_ema"] >= target]
            t_fixed = float(reached["time_s"].iloc[0]) if len(reached) else math.nan
            step_fixed = int(reached["step"].iloc[0]) if len(reached) else None
            es_params = fast_params(args, steps=args.es_steps, log_every=args.log_every,
                                    early_stopping={"window": args.es_window, "patience": args.es_patience})
            es = dipbench_run(obs, es_params, seed, device, method="dip_es")
            row = {"image": image, "seed": seed, "target_psnr": target, "reference_seconds": ref["seconds"],
                   "fixed_seconds_to_target": t_fixed, "fixed_step_to_target": step_fixed,
                   "fixed_final_psnr": fixed["psnr"], "fixed_seconds": fixed["seconds"],
                   "es_seconds": es["seconds"], "es_psnr": es["psnr"], "es_stop_step": es["info"]["stop_step"],
                   "es_step": es["info"]["es_step"], "es_reached": es["psnr"] >= target}
            rows.append(row)
            print(f"  {image:10s} seed {seed}: reference {ref['seconds']:6.1f} s -> {target:.2f} dB; dipbench reaches "
                  f"it at step {step_fixed} after {t_fixed:6.1f} s ({t_fixed / ref['seconds']:.0%}); ES stops at "
                  f"{row['es_stop_step']} after {es['seconds']:6.1f} s ({es['seconds'] / ref['seconds']:.0%}) "
                  f"with {es['psnr']:.2f} dB", flush=True)
    ratio_fixed = statistics.mean(r["fixed_seconds_to_target"] / r["reference_seconds"] for r in rows)
    ratio_es = statistics.mean(r["es_seconds"] / r["reference_seconds"] for r in rows)
    summary = {"mode": "ttq", "size": args.size, "steps": args.steps, "rows": rows,
               "time_to_quality_ratio": ratio_fixed, "es_time_ratio": ratio_es,
               "es_reached": sum(r["es_reached"] for r in rows), "runs": len(rows)}
    print(f"time to the reference's final PSNR, without early stopping (oracle, from the curve): "
          f"{ratio_fixed:.0%} of the reference loop's time (mean over {len(rows)} runs)")
    print(f"with ES-WMV (window {args.es_window}, patience {args.es_patience}, at most {args.es_steps} steps): "
          f"{ratio_es:.0%} of the reference loop's time; reached the target in {summary['es_reached']}/{len(rows)}")
    summary["last_line"] = f"ttq_ratio={ratio_fixed:.3f} es_time_ratio={ratio_es:.3f}"
    return summary


def replay_es(curve: "pd.DataFrame", patience: int, log_every: int) -> tuple[int, int]:
    """(stop step, chosen step) that ES-WMV with ``patience`` would give on a recorded run.

    Replays the detector on the curve's ``es_var`` column (the windowed moving variance of every step, NaN
    until the window is full) exactly as :class:`~dipbench.methods.dip.early_stopping.WindowedVariance` does:
    a new minimum when the variance is strictly lower, the check at every ``log_every``-th step. The
    window is the recorded run's; runs that never stop give their last step for both.
    """
    best, best_step = math.inf, None
    steps, variances = curve["step"].to_numpy(), curve["es_var"].to_numpy()
    for step, var in zip(steps, variances):
        if not math.isnan(var) and var < best:
            best, best_step = var, int(step)
        if best_step is not None and step % log_every == 0 and step - best_step >= patience:
            return int(step), best_step
    last = int(steps[-1])
    return last, best_step if best_step is not None else last


def es_patience_table(curves: dict[str, "pd.DataFrame"], patiences: list[int], log_every: int,
                      column: str) -> list[dict]:
    """Mean gap to the oracle peak, early stops and mean stop step per patience, replayed on full-length runs;
    ``column``: the curve of the output the method returns (``psnr_ema`` for the EMA, ``psnr`` raw)."""
    out = []
    for patience in patiences:
        gaps, stops, early = [], [], 0
        for curve in curves.values():
            stop, chosen = replay_es(curve, patience, log_every)
            psnrs = curve.set_index("step")[column]
            gaps.append(float(psnrs.max() - psnrs.loc[chosen]))
            stops.append(stop)
            early += stop < int(curve["step"].iloc[-1])
        out.append({"patience": patience, "mean_gap_db": statistics.mean(gaps), "stopped_early": early,
                    "mean_stop_step": statistics.mean(stops), "runs": len(curves)})
    return out


_OUTPUT_NAMES = {"psnr": "raw output", "psnr_ema": "EMA of outputs"}


def mode_es(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    mirror = args.mirror or default_mirror()
    images = args.images or datasets.get_dataset("dip_denoise9").images
    observations = [observation("dip_denoise9", image, args.size, mirror) for image in images]
    params = fast_params(args, steps=args.steps, log_every=args.log_every,
                         early_stopping={"window": args.es_window, "patience": args.es_patience, "stop": False})
    rows = []
    if args.fused:
        start = time.perf_counter()
        results = fit_fused(observations, params, seeds=[args.seeds[0]] * len(observations), device=str(device),
                            method=get_method("dip_es"))
        print(f"  fused run of {len(observations)} images: {time.perf_counter() - start:.1f} s", flush=True)
    else:
        method = get_method("dip_es")("denoise", **params)
        results = (method.restore(obs, RunContext(seed=args.seeds[0], device=str(device))) for obs in observations)
    curves = {}
    for image, obs, result in zip(images, observations, results):
        info, curve = result.info, result.curve
        curves[image] = curve
        # the curve of what the method returns, and of the other choice (output: last / ema)
        column, other = ("psnr_ema", "psnr") if info["params_resolved"]["output"] == "ema" else ("psnr", "psnr_ema")
        if args.curves:
            Path(args.curves).mkdir(parents=True, exist_ok=True)
            curve.to_csv(Path(args.curves) / f"{image}.csv", index=False)
        row = {"image": image, "stop_step": info["stop_step"], "es_step": info["es_step"],
               "stopped_early": bool(info["es_stopped"]) and info["stop_step"] < args.steps,
               "es_psnr": psnr(obs.gt, result.image), "oracle_peak_psnr": info["oracle_peak_psnr"],
               "oracle_peak_step": info["oracle_peak_step"], "gap_db": info["es_gap_db"],
               "fixed_psnr": float(curve["psnr_ema"].iloc[-1]),
               "other_output": other,  # what the other output choice would give at the chosen step
               "other_at_es_psnr": float(curve.loc[curve["step"] == info["es_step"], other].iloc[0])}
        rows.append(row)
        print(f"  {image:8s} stop {row['stop_step']:5d} (chosen step {row['es_step']:5d}): {row['es_psnr']:.2f} dB; "
              f"peak {row['oracle_peak_psnr']:.2f} dB at {row['oracle_peak_step']:5d}; gap {row['gap_db']:.2f} dB; "
              f"fixed {args.steps} steps: {row['fixed_psnr']:.2f} dB; {_OUTPUT_NAMES[other]} at the chosen step "
              f"{row['other_at_es_psnr']:.2f} dB", flush=True)
    summary = {"mode": "es", "size": args.size, "steps": args.steps, "window": args.es_window,
               "patience": args.es_patience, "rows": rows,
               "mean_gap_db": statistics.mean(r["gap_db"] for r in rows),
               "stopped_early": sum(r["stopped_early"] for r in rows), "images": len(rows),
               "mean_es_psnr": statistics.mean(r["es_psnr"] for r in rows),
               "mean_fixed_psnr": statistics.mean(r["fixed_psnr"] for r in rows),
               "mean_other_at_es_psnr": statistics.mean(r["other_at_es_psnr"] for r in rows),
               "mean_stop_step": statistics.mean(r["stop_step"] for r in rows)}
    print(f"ES-WMV on {len(rows)} images at {args.size} px: mean gap to the oracle peak {summary['mean_gap_db']:.2f} dB, "
          f"stopped before step {args.steps} on {summary['stopped_early']}/{len(rows)} (mean stop step "
          f"{summary['mean_stop_step']:.0f}); mean PSNR {summary['mean_es_psnr']:.2f} dB with ES, "
          f"{summary['mean_fixed_psnr']:.2f} dB at the fixed count; {summary['mean_other_at_es_psnr']:.2f} dB for "
          f"the {_OUTPUT_NAMES[other]} at the chosen step")
    # The runs went on to the budget, so the choice of any shorter patience can be replayed from the curves.
    summary["patience_replay"] = es_patience_table(curves, sorted(set(args.replay_patience)), args.log_every,
                                                   column)
    replayed = [replay_es(curves[r["image"]], args.es_patience, args.log_every) for r in rows]
    summary["replay_matches_run"] = all(stop == r["stop_step"] and chosen == r["es_step"]
                                        for (stop, chosen), r in zip(replayed, rows))
    print(f"replay of patience {args.es_patience} gives the runs' own stop and chosen steps: "
          f"{summary['replay_matches_run']}")
    print("patience (replayed on the recorded variance curves; the runs above used "
          f"{args.es_patience}):")
    for r in summary["patience_replay"]:
        print(f"  {r['patience']:5d}: mean gap {r['mean_gap_db']:.2f} dB, stopped early {r['stopped_early']}/"
              f"{r['runs']}, mean stop step {r['mean_stop_step']:.0f}")
    summary["last_line"] = (f"es_mean_gap_db={summary['mean_gap_db']:.3f} "
                            f"stopped_early={summary['stopped_early']}/{len(rows)}")
    return summary


def mode_memory(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    settings = [("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True)]
    rows = []
    for size in args.sizes:
        for precision, checkpointing in settings:
            command = [sys.executable, str(Path(__file__).resolve()), "--mode", "memory-child", "--size", str(size),
                       "--precision", precision, "--device", args.device, "--threads", str(args.threads),
                       "--channels-last", str(args.channels_last)] + (["--checkpointing"] if checkpointing else [])
            out = subprocess.run(command, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"  {size} {precision} ckpt={checkpointing}: failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"  {size:5d}^2 {precision} checkpointing={str(checkpointing):5s}: peak {row['peak_mb']:8.1f} MB "
                  f"= {row['peak_mb'] / (size * size / 1e6):7.0f} MB/MP, {row['seconds_per_step']:.2f} s/step",
                  flush=True)
    summary: dict[str, Any] = {"mode": "memory", "device": str(device), "rows": rows, "per_setting": {}}
    available = _device_memory_mb(device)
    big = args.predict_size
    for precision, checkpointing in settings:
        mine = sorted((r for r in rows if r["precision"] == precision and r["checkpointing"] == checkpointing),
                      key=lambda r: r["size"])
        if len(mine) < 2:
            continue
        a, b = mine[-2], mine[-1]
        slope = (b["peak_mb"] - a["peak_mb"]) / ((b["size"] ** 2 - a["size"] ** 2) / 1e6)  # MB per megapixel
        predicted = b["peak_mb"] + slope * (big * big - b["size"] ** 2) / 1e6
        key = f"{precision}{'+checkpointing' if checkpointing else ''}"
        summary["per_setting"][key] = {"mb_per_megapixel": slope, f"predicted_mb_{big}": predicted,
                                       "fits": None if available is None else predicted < available}
        print(f"{key:20s}: {slope:7.0f} MB per megapixel (marginal, {a['size']}->{b['size']}); predicted at "
              f"{big}^2: {predicted / 1024:6.1f} GB" + ("" if available is None else
                                                        f" ({'fits' if predicted < available else 'does not fit'} "
                                                        f"in {available / 1024:.0f} GB)"))
    return summary


def memory_child(args: argparse.Namespace, device: torch.device) -> None:
    """One setting in a fresh process: two DIP steps at --size, peak memory above the process baseline."""
    obs = observation("builtin", args.image, args.size)
    params = fast_params(args, steps=2, log_every=1, checkpointing=args.checkpointing)
    dipbench_run(obs, {**params, "steps": 1}, 0, device)  # allocator / primitive caches warm
    with PeakMemory(device) as memory:
        run = dipbench_run(obs, params, 0, device)
    print(json.dumps({"size": args.size, "precision": args.precision, "checkpointing": args.checkpointing,
                      "peak_mb": memory.peak_mb, "seconds_per_step": run["seconds"] / 2}))


def _device_memory_mb(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory / 2**20
    kb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kb = int(line.split()[1])
    except OSError:
        pass
    return None if kb is None else kb / 1024


def mode_fused(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """K seeds of one image (``--runs``), or with ``--images`` one run (seed 0) of each image, fused."""
    if args.images:
        observations = [observation("builtin", image, args.size) for image in args.images]
        seeds = [0] * len(observations)
    else:
        observations = [observation("builtin", args.image, args.size)] * args.runs
        seeds = list(range(args.runs))
    k, obs = len(observations), observations[0]
    params = fast_params(args, steps=args.steps)
    fit_fused(observations, {**params, "steps": 2}, seeds=seeds, device=str(device))  # warm-up
    dipbench_run(obs, {**params, "steps": 2}, 0, device)
    start = time.perf_counter()
    separate = [get_method("dip")(o.task, **params).restore(o, RunContext(seed=s, device=str(device)))
                for o, s in zip(observations, seeds)]
    t_separate = time.perf_counter() - start
    start = time.perf_counter()
    fused = fit_fused(observations, params, seeds=seeds, device=str(device))
    t_fused = time.perf_counter() - start
    # Rounding differences of the grouped convolutions grow over many steps at lr 0.01 (as between two
    # thread counts), so compare PSNRs as well as pixels.
    diff = max(float(np.abs(a.image - b.image).max()) for a, b in zip(separate, fused))
    psnr_diffs = [psnr(o.gt, b.image) - psnr(o.gt, a.image) for o, a, b in zip(observations, separate, fused)]
    summary = {"mode": "fused", "runs": k, "images": args.images, "size": args.size, "steps": args.steps,
               "separate_run_steps_per_s": k * args.steps / t_separate,
               "fused_run_steps_per_s": k * args.steps / t_fused, "throughput_ratio": t_separate / t_fused,
               "max_abs_image_difference": diff, "mean_psnr_difference_db": statistics.mean(psnr_diffs),
               "max_abs_psnr_difference_db": max(abs(d) for d in psnr_diffs)}
    print(f"{k} runs ({'images ' + ' '.join(args.images) if args.images else 'seeds of one image'}) of {args.steps} "
          f"steps at {args.size}^2: separate {t_separate:.1f} s, fused {t_fused:.1f} s "
          f"-> {summary['throughput_ratio']:.2f}x throughput; max |image difference| {diff:.2e}; PSNR fused - "
          f"separate: mean {summary['mean_psnr_difference_db']:+.3f} dB, largest "
          f"{summary['max_abs_psnr_difference_db']:.3f} dB")
    summary["last_line"] = (f"fused_throughput_ratio={summary['throughput_ratio']:.3f} max_diff={diff:.2e} "
                            f"psnr_diff_db={summary['mean_psnr_difference_db']:+.4f}")
    return summary


def _fmt_mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} MB"


# ------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--mode", default="speed", choices=["speed", "ttq", "es", "memory", "fused", "variants",
                                                       "memory-child"])
    parser.add_argument("--variants", nargs="+", default=["default", "adam-fused"], choices=list(VARIANTS),
                        help="variants: dipbench loop variants compared (the first is the baseline)")
    parser.add_argument("--quick", action="store_true",
                        help=f"speed mode, {QUICK_SIZE} px, {QUICK_STEPS} steps x 3 seeds (about a minute on 2 "
                             "CPU cores)")
    parser.add_argument("--sweep", action="store_true",
                        help="speed mode at each --sweep-sizes (default 64 128 256 512), one seed each")
    parser.add_argument("--sweep-sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--sweep-steps", type=int, help="steps per sweep run (default: about equal time per size)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--size", type=int, help="image side in px (speed: 256, ttq: 64, es: 64, fused: 64)")
    parser.add_argument("--steps", type=int, help="steps per run (speed: 200, ttq: 600, es: 1800, fused: 50)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (speed: 0 1 2; others: 0)")
    parser.add_argument("--image", default="astronaut", help="built-in image for speed/memory/fused")
    parser.add_argument("--images", nargs="+", help="ttq/es: a subset of the images (builtin / dip_denoise9); fused: the built-in images fused")
    parser.add_argument("--precision", default="auto", choices=list(prec.PRECISIONS), help="dipbench's precision")
    parser.add_argument("--channels-last", default="auto", type=_auto_bool, help="auto | true | false")
    parser.add_argument("--compile", action="store_true", help="torch.compile dipbench's network")
    parser.add_argument("--conv-backend", default="auto", choices=list(nnpack.BACKENDS),
                        help="dipbench's 3x3 convolutions (dipbench/methods/dip/nnpack.py)")
    parser.add_argument("--checkpointing", action="store_true", help="(memory-child) activation checkpointing")
    parser.add_argument("--log-every", type=int, default=10, help="ttq/es: oracle/timing period of dipbench")
    parser.add_argument("--es-window", type=int, default=100)
    parser.add_argument("--es-patience", type=int, default=1000)
    parser.add_argument("--es-steps", type=int, default=1800, help="ttq: most steps of the ES run")
    parser.add_argument("--fused", action="store_true", help="es: run the 9 images as one fused network")
    parser.add_argument("--curves", help="es: write each run's learning curve (with es_var) here as CSV")
    parser.add_argument("--replay-patience", type=int, nargs="+", default=[100, 200, 300, 500, 1000],
                        help="es: patiences whose choices are replayed on the recorded curves")
    parser.add_argument("--mirror", help="es: dataset mirror (default $DIPBENCH_MIRROR or ../shared/datasets)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 384], help="memory: sizes measured")
    parser.add_argument("--predict-size", type=int, default=2048, help="memory: size to extrapolate to")
    parser.add_argument("--runs", type=int, default=4, help="fused: K")
    parser.add_argument("--json", help="write the summary here")
    args = parser.parse_args(argv)
    defaults = {"speed": (256, 200, [0, 1, 2]), "ttq": (64, 600, [0]), "es": (64, 1800, [0]),
                "fused": (64, 50, [0]), "variants": (QUICK_SIZE, QUICK_STEPS, [0, 1, 2]),
                "memory": (256, 2, [0]), "memory-child": (256, 2, [0])}[args.mode]
    if args.quick:
        if args.mode != "speed":
            parser.error("--quick is for the speed mode")
        defaults = (QUICK_SIZE, QUICK_STEPS, [0, 1, 2])
    if args.sweep and args.mode != "speed":
        parser.error("--sweep is for the speed mode")
    args.size = args.size or defaults[0]
    args.steps = args.steps or defaults[1]
    args.seeds = args.seeds or defaults[2]
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if args.mode == "memory-child":
        memory_child(args, device)
        return 0
    machine = print_hardware(args, device)
    mode = {"speed": mode_speed, "ttq": mode_ttq, "es": mode_es, "memory": mode_memory, "fused": mode_fused,
            "variants": mode_variants}
    summary = mode[args.mode](args, device)
    summary.update({"hardware": machine, "quick": args.quick,
                    "device": str(device), "device_name": _device_name(device), "threads": torch.get_num_threads(),
                    "torch": torch.__version__, "python": platform.python_version(),
                    "precision_requested": args.precision,
                    "command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:]))})
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if "last_line" in summary:
        print(summary["last_line"])
    return 0


def print_hardware(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Print what this run measures on (the first line of every mode) and return it for the JSON."""
    machine = hardware.describe(device, args.precision)
    print(hardware.hardware_line(machine), flush=True)
    print(f"dip_speed {args.mode}{' --quick' if args.quick else ''}: size {args.size}, steps {args.steps}, "
          f"seeds {' '.join(map(str, args.seeds))}", flush=True)
    return machine


def _auto_bool(value: str) -> str | bool:
    lowered = value.lower()
    if lowered == "auto":
        return "auto"
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected auto, true or false, got {value!r}")


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
