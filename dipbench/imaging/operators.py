"""Differentiable forward operators (torch). Tensors are (N, C, H, W)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .resize import lanczos2_kernel


class LanczosDownsampler(torch.nn.Module):
    """The SR forward operator d(x): Lanczos-2 filter applied per channel as a stride-f convolution.

    Input (N, C, H, W) with H, W multiples of f; output (N, C, H/f, W/f). Replicate padding of
    (4f - f) / 2 pixels each side keeps the output aligned (6 px for x4, 12 px for x8). Weights are fixed.
    """

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor
        self.pad = (4 * factor - factor) // 2
        kernel = torch.as_tensor(lanczos2_kernel(factor), dtype=torch.float32)
        self.register_buffer("kernel", kernel[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        padded = F.pad(x, (self.pad,) * 4, mode="replicate")
        weight = self.kernel.to(dtype=x.dtype).expand(channels, 1, -1, -1)
        return F.conv2d(padded, weight, stride=self.factor, groups=channels)
