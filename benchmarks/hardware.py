#!/usr/bin/env python
"""What a benchmark ran on: one description, printed at the start of every benchmark and kept in its JSON.

:func:`describe` returns the CPU model (``/proc/cpuinfo`` "model name", else ``platform.processor()``),
the logical core count, torch's thread count, the CPU flags that decide dipbench's precision (``avx512f``,
``avx512_bf16``, ``amx_bf16``, ``amx_tile``: present / absent), on CUDA the GPU name and compute
capability, the torch version, and the precision that ``--precision`` resolves to on the device (what
DIP's ``precision: auto`` will run). :func:`hardware_line` is its one-line form.

As a script (``python benchmarks/hardware.py [--device auto] [--precision auto] [--json]``) it prints the
line (or the JSON), e.g. as the first output of ``benchmarks/gpu_check.sh``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from dipbench.methods import resolve_device  # noqa: E402
from dipbench import provenance  # noqa: E402
from dipbench.methods import precision as prec  # noqa: E402
from dipbench.provenance import cpu_model  # noqa: E402

#: The CPU flags reported (the ones that decide bf16 speed on a CPU: AVX-512, native bf16, AMX).
FLAGS = ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_flags() -> dict[str, bool]:
    """``{flag: present}`` for :data:`FLAGS` (all False where /proc/cpuinfo is unreadable)."""
    present = provenance.cpu_flags()
    return {flag: flag in present for flag in FLAGS}


def describe(device: torch.device | str = "auto", precision: str = "auto") -> dict[str, Any]:
    """The hardware and software a benchmark runs on; ``device`` as ``--device`` (auto: cuda, else ...)."""
    device = resolve_device(str(device)) if not isinstance(device, torch.device) else device
    info: dict[str, Any] = {
        "device": str(device),
        "device_kind": prec.device_kind(device),
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_flags": cpu_flags(),
        "gpu_name": None,
        "compute_capability": None,
        "cuda_version": torch.version.cuda,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "precision_requested": precision,
        "precision_resolved": prec.resolve_precision(precision, device),
        "native_bf16": prec.native_bf16(device),
    }
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        info["gpu_name"] = torch.cuda.get_device_name(device)
        info["compute_capability"] = f"{major}.{minor}"
        info["gpu_memory_gb"] = round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1)
    return info


def hardware_line(info: dict[str, Any]) -> str:
    """One line: ``hardware: <device>; CPU ...; torch ...; precision <requested> -> <resolved>``."""
    flags = ", ".join(f"{flag} {'present' if on else 'absent'}" for flag, on in info["cpu_flags"].items())
    cpu = (f"CPU {info['cpu_model']}, {info['logical_cores']} logical cores, {info['torch_threads']} torch "
           f"thread(s), {flags}")
    if info["gpu_name"]:
        where = (f"{info['device']} {info['gpu_name']} (compute capability {info['compute_capability']}, "
                 f"{info.get('gpu_memory_gb')} GB, CUDA {info['cuda_version']}); {cpu}")
    else:
        where = f"{info['device']}: {cpu}"
    return (f"hardware: {where}; torch {info['torch']}; precision {info['precision_requested']} -> "
            f"{info['precision_resolved']} on {info['device_kind']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=list(prec.PRECISIONS))
    parser.add_argument("--threads", type=int, help="torch threads to report (default: torch's own)")
    parser.add_argument("--json", action="store_true", help="print the description as JSON instead")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = describe(args.device, args.precision)
    print(json.dumps(info, indent=2) if args.json else hardware_line(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
