#!/usr/bin/env python
"""An estimate of a device's peak floating-point rate, for the "fraction of peak" of dip_speed.py.

CPU: cores x clock x flop per cycle per core, the flop per cycle from the instruction set
(:func:`flop_per_cycle`: 64 fp32 for two AVX-512 FMA units, 128 bf16 with AVX512-BF16's dot products, 1024
with AMX). The clock: ``/proc/cpuinfo``'s "cpu MHz", *raised* to the lowest clock that explains a
measured large matrix product in the same precision (:func:`gemm_gflops`, best of a few 2048^3 products
with torch's BLAS/oneDNN). Why: in a virtual machine "cpu MHz" is the host's nominal clock, not what the
core runs at. On the 2-core AMD EPYC (family 26, Zen 5) of this project cpuinfo says 2.60 GHz, i.e. a
bf16 "peak" of 332 GFLOP/s per core, while one thread's bf16 matrix product measured ~500 GFLOP/s: the
core runs at >= 3.9 GHz, and the peak at 2.60 GHz was 1.5x too low (so the fractions printed with it were
1.5x too high). Both precisions use the highest clock that either precision's product implies (the
clock belongs to the core). A measured product is itself below the true peak, so the raised estimate is still a lower
bound of the peak, and fractions of it upper bounds. Under load (other processes on the cores) the
product runs slower and raises the clock less.

CUDA: the datasheet's dense peak of the named GPU (fp32, or bf16 tensor cores).

``python benchmarks/peak.py [--precision bf16] [--threads 1]`` prints the estimate and how it was made.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import torch

#: Datasheet dense peaks in GFLOP/s: name fragment -> (fp32, bf16 tensor cores).
CUDA_PEAKS = {"H100": (67e3, 989e3), "H200": (67e3, 989e3), "A100": (19.5e3, 312e3), "L4": (30e3, 121e3),
              "A10": (31e3, 125e3), "V100": (15.7e3, None)}


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_ghz() -> float | None:
    """The first "cpu MHz" of /proc/cpuinfo, in GHz (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1]) / 1000.0
    except (OSError, ValueError):
        pass
    return None


def flop_per_cycle(flags: set[str], precision: str) -> tuple[int, str]:
    """(flop per cycle per core, what it assumes) for ``precision`` ("fp32" | "bf16") on a CPU with ``flags``."""
    if "avx512f" in flags:
        per_cycle, isa = 64, "AVX-512 (2 FMA units x 16 fp32 lanes x 2)"
    elif "avx2" in flags and "fma" in flags:
        per_cycle, isa = 32, "AVX2 (2 FMA units x 8 fp32 lanes x 2)"
    else:
        per_cycle, isa = 8, "SSE"
    if precision == "bf16" and "amx_bf16" in flags:
        per_cycle, isa = 1024, "AMX-BF16 (1024 bf16 flop/cycle per core)"
    elif precision == "bf16" and "avx512_bf16" in flags:
        per_cycle, isa = 128, "AVX512-BF16 (2 units x 32 bf16 pairs x 2)"
    return per_cycle, isa


@functools.lru_cache(maxsize=None)
def gemm_gflops(precision: str, threads: int, n: int = 2048, repeats: int = 4) -> float:
    """The best rate (GFLOP/s) of an n x n x n matrix product in ``precision`` on the CPU with ``threads``
    torch threads (restored afterwards); about a second."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        a @ b  # primitive creation, first touch
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
        return 2.0 * n ** 3 / best / 1e9
    finally:
        torch.set_num_threads(before)


def estimated_peak_gflops(device: torch.device, precision: str, threads: int,
                          measure: bool = True) -> tuple[float | None, str]:
    """(peak GFLOP/s or None, how it was estimated) for ``precision`` on ``device`` with ``threads`` cores.

    ``measure=False`` skips the matrix product (the cpuinfo clock only)."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, (fp32, bf16) in CUDA_PEAKS.items():
            if key in name:
                peak = bf16 if precision == "bf16" else fp32
                return peak, f"{name}: datasheet dense {'bf16 tensor' if precision == 'bf16' else 'fp32'} peak"
        return None, f"{name}: unknown peak"
    flags, ghz = cpu_flags(), cpu_ghz()
    if ghz is None:
        return None, "unknown CPU clock"
    per_cycle, isa = flop_per_cycle(flags, precision)
    note = f"{threads} core(s) x {{ghz:.2f}} GHz x {per_cycle} flop/cycle, {isa}"
    emulated = precision == "bf16" and not ({"avx512_bf16", "amx_bf16"} & flags)
    clock_note = f"cpuinfo clock {ghz:.2f} GHz"
    if measure:
        # the clock is the core's, whichever precision shows it: fp32 and (where native) bf16 products
        native = ("fp32", "bf16") if {"avx512_bf16", "amx_bf16"} & flags else ("fp32",)
        for kind in native:
            measured = gemm_gflops(kind, threads)
            implied = measured / (threads * flop_per_cycle(flags, kind)[0])
            clock_note += f"; a {kind} 2048^3 matrix product measured {measured:.0f} GFLOP/s"
            if implied > ghz:
                ghz = implied
                clock_note += f", which needs >= {implied:.2f} GHz: that clock is used"
    note = note.format(ghz=ghz) + f" ({clock_note})"
    if emulated:
        note += "; bf16 is emulated on this CPU (no AVX512_BF16/AMX)"
    return threads * ghz * per_cycle, note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    peak, note = estimated_peak_gflops(torch.device(args.device), args.precision, args.threads)
    print(f"{args.precision}: {'unknown' if peak is None else f'{peak:.0f} GFLOP/s'} ({note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
