"""Which torch device a method runs on."""

from __future__ import annotations


def resolve_device(device: str) -> "torch.device":
    """``auto`` -> cuda if available, else mps, else cpu; anything else is passed to torch."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)
