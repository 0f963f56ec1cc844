"""The precision switch of the DIP loop: ``fp32``, ``bf16`` or ``auto``.

``bf16`` runs the network's forward (and so its backward) under ``torch.autocast`` with bfloat16; the
weights, the optimiser state, the loss and every bookkept quantity (EMA, curves, early stopping) stay
float32. ``auto`` (DIP's default) picks bf16 only where the hardware computes bf16 natively *and* bf16 was
measured to keep the numbers (final PSNR within 0.1 dB of fp32 at the paper's settings); everywhere else
fp32.

Native bf16: CUDA devices of compute capability 8.0 or newer, and CPUs with AVX-512 BF16 or AMX-BF16.
Other CPUs (e.g. AVX-512 without BF16) emulate bf16 in oneDNN and run it about 3x *slower* than fp32,
so ``auto`` keeps fp32 there.

TF32 (:func:`tf32_mode`): on CUDA GPUs of compute capability 8.0 and newer, PyTorch's cuDNN convolutions
round fp32 inputs to TF32 (10-bit mantissa) unless ``torch.backends.cudnn.allow_tf32`` is off; the DIP
authors' GPUs had no TF32, so their fp32 was true fp32. DIP's ``tf32`` parameter switches TF32 off (or on)
for the matmuls and cuDNN inside the fit and restores the process's settings afterwards; ``"auto"`` leaves
PyTorch's defaults (cuDNN TF32 on, matmul TF32 off). The flags in force are recorded with every result
(``precision_flags``). CPUs have no TF32: the flags change nothing there but are still recorded.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

from ..errors import ConfigError
from ..provenance import cpu_flags as _cpu_flags  # one /proc/cpuinfo reader

PRECISIONS = ("fp32", "bf16", "auto")

#: Device kinds on which ``auto`` chooses bf16 (the hardware must also be native, see :func:`native_bf16`).
#: Evidence (benchmarks/README.md): at the paper's settings (house, sigma 25, 1800 steps, same seed) bf16
#: scored 31.77 dB against 31.82 dB for fp32; Set5 butterfly x4 26.17 against 26.24 dB. On a Xeon with
#: AMX, ``dip_speed.py --quick`` measured 2.34x the fp32 reference loop. Emulated bf16 (CPUs without
#: AVX-512-BF16 / AMX) was 2.9x slower, hence the native check.
BF16_AUTO_KINDS: frozenset[str] = frozenset({"cuda", "cpu-bf16"})


def validate(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def native_bf16(device: torch.device | str) -> bool:
    """True if ``device`` computes bf16 convolutions in hardware (not by emulation)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == "cpu":
        return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())
    return False


def device_kind(device: torch.device | str) -> str:
    """``cuda`` or ``cpu-bf16`` / ``cpu`` (whether the CPU has native bf16), or the device type."""
    device = torch.device(device)
    if device.type == "cpu":
        return "cpu-bf16" if native_bf16(device) else "cpu"
    return device.type


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``fp32`` or ``bf16``: what the loop runs (``auto`` resolved for ``device``)."""
    validate(precision)
    if precision != "auto":
        return precision
    kind = device_kind(device)
    return "bf16" if kind in BF16_AUTO_KINDS and native_bf16(device) else "fp32"


def autocast(precision: str, device: torch.device | str):
    """The autocast context of a resolved precision (a disabled one for fp32)."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def use_channels_last(setting, device: torch.device | str, precision: str) -> bool:
    """Whether the network runs channels-last: ``"auto"`` on CUDA, and for bf16 on the CPU (oneDNN's bf16
    kernels are channels-last); not for fp32 on the CPU, where it was measured to gain nothing
    (benchmarks/README.md) and would change the rounding. Otherwise the boolean ``setting``."""
    if setting != "auto":
        return bool(setting)
    device = torch.device(device)
    return device.type == "cuda" or (device.type == "cpu" and precision == "bf16")



def tf32_flags() -> dict[str, Any]:
    """The process's TF32 settings: ``cuda_matmul_allow_tf32``, ``cudnn_allow_tf32`` (bools) and
    ``float32_matmul_precision`` ("highest" = true fp32, "high" = TF32 allowed, "medium")."""
    return {"cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


def _set_tf32(matmul: bool, cudnn: bool, matmul_precision: str) -> None:
    torch.set_float32_matmul_precision(matmul_precision)
    torch.backends.cuda.matmul.allow_tf32 = matmul
    torch.backends.cudnn.allow_tf32 = cudnn


@contextlib.contextmanager
def tf32_mode(tf32: bool | str) -> Iterator[dict[str, Any]]:
    """Run the block with TF32 off (``False``: true fp32 for matmuls and cuDNN, matmul precision
    "highest"), on (``True``: both on, "high") or as the process has it (``"auto"``); yields
    :func:`tf32_flags` as they are inside the block and restores the previous settings on exit."""
    if tf32 not in (True, False, "auto"):
        raise ConfigError(f"tf32 must be true, false or 'auto', got {tf32!r}")
    if tf32 == "auto":  # touch nothing: setting a flag, even to its value, changes oneDNN's state on the CPU
        yield tf32_flags()
        return
    before = tf32_flags()
    _set_tf32(bool(tf32), bool(tf32), "high" if tf32 else "highest")
    try:
        yield tf32_flags()
    finally:
        _set_tf32(before["cuda_matmul_allow_tf32"], before["cudnn_allow_tf32"], before["float32_matmul_precision"])
