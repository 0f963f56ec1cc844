"""Differentiable forward operators (torch). Tensors are (N, C, H, W)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .resize import lanczos2_kernel, resize_matrix


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


class MatlabBicubicDownsampler(torch.nn.Module):
    """The SR forward operator of ``lr_kernel: bicubic``: MATLAB's antialiased bicubic ``imresize(x, 1/f)``
    (:func:`~dipbench.imaging.resize.imresize_matlab`, the degradation that made the LR image) as two fixed
    linear maps, rows then columns: (N, C, H, W) -> (N, C, H/f, W/f) for the H x W it was built for. Equal to
    the numpy resize up to float rounding (the simulation clips its output to [0, 1]; this does not)."""

    def __init__(self, height: int, width: int, factor: int):
        super().__init__()
        self.size = (height, width)
        rows = torch.as_tensor(resize_matrix(height, 1.0 / factor), dtype=torch.float32)
        cols = torch.as_tensor(resize_matrix(width, 1.0 / factor), dtype=torch.float32)
        self.register_buffer("rows", rows, persistent=False)  # (H/f, H)
        self.register_buffer("cols", cols.T.contiguous(), persistent=False)  # (W, W/f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.size:
            raise ValueError(f"bicubic downsampler built for {self.size}, got {tuple(x.shape[-2:])}")
        return self.rows.to(x.dtype) @ x @ self.cols.to(x.dtype)
