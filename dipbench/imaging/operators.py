"""Differentiable forward operators (torch). Tensors are (N, C, H, W)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .resize import lanczos2_kernel


class LanczosDownsampler(torch.nn.Module):
    """The SR forward operator d(x): Lanczos-2 filter applied per channel as a stride-f convolution.

    Input (N, C, H, W) with H, W multiples of f; output (N, C, H/f, W/f). Replicate padding of 3f pixels
    in all keeps the output aligned: 3f/2 each side for even f (6 px for x4, 12 px for x8, as the authors'
    code), and for odd f one pixel more after than before (4 and 5 px for x3), where halving would round
    the output one pixel short. Weights are fixed.
    """

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor
        total = 3 * factor
        self.pad = (total // 2, total - total // 2, total // 2, total - total // 2)  # left, right, top, bottom
        kernel = torch.as_tensor(lanczos2_kernel(factor), dtype=torch.float32)
        self.register_buffer("kernel", kernel[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        padded = F.pad(x, self.pad, mode="replicate")
        weight = self.kernel.to(dtype=x.dtype).expand(channels, 1, -1, -1)
        return F.conv2d(padded, weight, stride=self.factor, groups=channels)
