"""DIP's fixed network input z, by kind (docs/protocol.md sections 3 and 9).

  noise     ``depth`` channels of U(0, 1) * ``scale`` (every quantitative experiment: 32 channels, 0.1);
  meshgrid  2 channels, x and y in [0, 1] across the image (the vase's region inpainting): the same for
            every seed;
  image     the observation's guide image (the flash photo of flash / no-flash), as is.

Tensors are (1, K * depth, H, W) for K fused runs, run k's channels drawn from ``generators[k]``.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ...errors import ConfigError

INPUT_KINDS = ("noise", "meshgrid", "image")


def input_depth(kind: str, depth: int | str, guide: torch.Tensor | None = None) -> int:
    """The channels of z: ``depth`` for noise, 2 for a meshgrid, the guide image's channels for an image."""
    if kind == "meshgrid":
        return 2
    if kind == "image":
        if guide is None:
            raise ConfigError("DIP input 'image' needs a task whose observation carries a guide image "
                              "(flash / no-flash); use input: noise")
        return int(guide.shape[1])
    if kind != "noise":
        raise ConfigError(f"unknown DIP input {kind!r}; known: {', '.join(INPUT_KINDS)}")
    return int(depth)


def network_input(kind: str, size: tuple[int, int], depth: int, scale: float,
                  generators: Sequence[torch.Generator], device: torch.device,
                  guide: torch.Tensor | None = None) -> torch.Tensor:
    """z for ``len(generators)`` runs at ``size`` = (H, W) px (see the module docstring)."""
    runs = len(generators)
    if kind == "noise":
        parts = [torch.rand((1, depth, *size), generator=g, device=device).mul_(scale) for g in generators]
        return parts[0] if runs == 1 else torch.cat(parts, dim=1)
    if kind == "meshgrid":
        height, width = size
        y, x = torch.meshgrid(torch.linspace(0, 1, height, device=device),
                              torch.linspace(0, 1, width, device=device), indexing="ij")
        single = torch.stack([x, y])[None]
    else:
        input_depth(kind, depth, guide)  # checks the kind and that there is a guide image
        single = guide.to(device=device, dtype=torch.float32)
        if tuple(single.shape[2:]) != tuple(size):
            raise ConfigError(f"DIP input image of {tuple(single.shape[2:])} px does not match the output {size}")
    return single.repeat(1, runs, 1, 1)
