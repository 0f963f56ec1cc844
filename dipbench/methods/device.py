"""Which torch device a method runs on: names are checked when a config or command line is read (no torch
needed), and resolved against the hardware when a job starts."""

from __future__ import annotations

import re

from ..errors import ConfigError

#: ``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N``.
DEVICE_PATTERN = r"^(auto|cpu|mps|cuda(:[0-9]+)?)$"


def check_device_name(device: str) -> str:
    """``device`` if it is a device name dipbench accepts; :class:`ConfigError` otherwise."""
    if not isinstance(device, str) or not re.match(DEVICE_PATTERN, device):
        raise ConfigError(f"device {device!r} is not a device name; use auto, cpu, mps, cuda or cuda:N")
    return device


def resolve_device(device: str) -> "torch.device":
    """``auto`` -> cuda if available, else mps, else cpu. A named device must exist here: ``cuda`` on a
    torch build or machine without CUDA, or ``cuda:7`` on a machine with fewer GPUs, is a
    :class:`ConfigError` saying what this machine has."""
    import torch

    check_device_name(device)
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if has_mps else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r}: torch {torch.__version__} sees no CUDA device here; "
                              "use device auto or cpu")
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device == "mps" and not has_mps:
        raise ConfigError("device 'mps': no Apple GPU (MPS) is available here; use device auto or cpu")
    return torch.device(device)
