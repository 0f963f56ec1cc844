"""Resizing: MATLAB-compatible bicubic, PIL's Lanczos, and the DIP paper's Lanczos-2 kernel.

numpy and PIL only (the torch operator built on the kernel is :mod:`dipbench.imaging.operators`), so
preparing and scoring jobs start without importing torch.

MATLAB-compatible bicubic resizing (``imresize(image, scale)`` with its default antialiasing).

This is the resize behind the "bicubic" LR images and baselines of most SR papers (and BasicSR's
``imresize``). The algorithm, per axis:

- output length ``ceil(n * scale)``; output pixel ``i`` (1-based) maps to the input coordinate
  ``u = i / scale + 0.5 * (1 - 1 / scale)`` (pixel centres aligned, 1-based);
- weights come from Keys' cubic kernel with ``a = -0.5`` (support 2, so 4 taps). When shrinking
  (``scale < 1``) the kernel is stretched by ``1 / scale`` to antialias: width ``4 / scale``, weight
  ``scale * cubic(scale * d)``; each output's weights are normalised to sum 1;
- taps outside the image are mirrored with the edge pixel repeated (MATLAB's ``symmetric`` handling:
  index -1 reads pixel 0, index n reads pixel n - 1), periodically so that any kernel width works;
- rows are resized first, then columns (the result is the same up to rounding for equal scales).

Computations are in float64; no rounding or clipping is applied (MATLAB rounds and saturates only for
integer inputs), so bicubic overshoot can leave [0, 1] and callers clip where they need to.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from .io import as_hwc, to_uint8


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's and PIL's ``bicubic``), support [-2, 2]."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    ax2, ax3 = ax * ax, ax * ax * ax
    inner = 1.5 * ax3 - 2.5 * ax2 + 1.0
    outer = -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    return np.where(ax <= 1.0, inner, np.where(ax <= 2.0, outer, 0.0))


def resize_matrix(in_length: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The (ceil(in_length * scale), in_length) linear map that resizes one axis, MATLAB-style.

    Row ``i`` holds the normalised weights of output pixel ``i``; mirrored taps are folded onto the
    pixels they read, so every row sums to 1.
    """
    if in_length < 1:
        raise ValueError(f"cannot resize an axis of length {in_length}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out_length = int(math.ceil(in_length * scale - 1e-9))
    shrink = antialias and scale < 1.0
    width = 4.0 / scale if shrink else 4.0

    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # input coordinate of each output centre, 1-based
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2  # enough taps to cover the support for any phase
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based input indices
    distance = u[:, None] - indices
    weights = scale * cubic(scale * distance) if shrink else cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)

    # Symmetric boundary: the sequence 1..n, n..1 repeated (handles kernels wider than the image).
    zero_based = (indices - 1).astype(np.int64)
    period = 2 * in_length
    folded = np.mod(zero_based, period)
    folded = np.where(folded < in_length, folded, period - 1 - folded)

    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_length)[:, None], folded.shape)
    np.add.at(matrix, (rows, folded), weights)
    return matrix


def imresize_matlab(image: np.ndarray, scale: float, antialias: bool = True) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) float image by ``scale`` like MATLAB's ``imresize(image, scale)``.

    Bicubic (a = -0.5), antialiased when shrinking, symmetric borders; output (ceil(H*scale),
    ceil(W*scale)[, C]) as float32 for float32 input, float64 otherwise. Values are not clipped.
    """
    array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {array.shape}")
    out_dtype = np.float32 if array.dtype == np.float32 else np.float64
    data = array.astype(np.float64)
    rows = resize_matrix(data.shape[0], scale, antialias)
    cols = resize_matrix(data.shape[1], scale, antialias)
    data = np.tensordot(rows, data, axes=(1, 0))  # (h, W[, C])
    data = np.moveaxis(np.tensordot(cols, data, axes=(1, 1)), 0, 1)  # (h, w[, C])
    return np.ascontiguousarray(data, dtype=out_dtype)


def pil_lanczos_downscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Downscale by an integer factor with PIL's Lanczos filter (DIP's LR: ``resize(..., ANTIALIAS)``).

    The input is quantised to uint8 first, as the paper's PIL pipeline was; output size is (H//f, W//f).
    """
    image = as_hwc(image)
    data = to_uint8(image)
    pil = Image.fromarray(data[..., 0] if data.shape[2] == 1 else data)
    size = (image.shape[1] // factor, image.shape[0] // factor)
    out = np.asarray(pil.resize(size, Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    return as_hwc(out)


def lanczos2_kernel(factor: int) -> np.ndarray:
    """The DIP paper's separable Lanczos-2 downsampling kernel at half-pixel phase.

    Returns a (4f, 4f) float64 array summing to 1: tap j sits at t = |j + 0.5 - 2f| / f and weighs
    sinc(t) * sinc(t / 2), the outer product of the 1-D taps normalised to sum 1.
    """
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    taps = np.arange(4 * factor)
    t = np.abs(taps + 0.5 - 2 * factor) / factor
    weights = np.sinc(t) * np.sinc(t / 2.0)
    kernel = np.outer(weights, weights)
    return kernel / kernel.sum()


def square_resize(image: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Centre-crop to a square and resize to ``size`` x ``size`` with Lanczos, or nearest-neighbour
    resampling (``nearest``: masks stay binary), for quick demos."""
    image = as_hwc(image)
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.clip(np.rint(image[top : top + side, left : left + side] * 255), 0, 255).astype(np.uint8)
    pil = Image.fromarray(crop[..., 0] if crop.shape[2] == 1 else crop)
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    return as_hwc(np.asarray(pil.resize((size, size), resample), dtype=np.float32) / 255.0)
