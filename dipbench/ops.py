"""Image operations shared by tasks, methods and metrics: crops, colour conversion, the Lanczos-2 kernel.

Images are (H, W, C) float arrays in [0, 1]. numpy only (torch operators live in
:mod:`dipbench.operators`), so that preparing and scoring jobs start without importing torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image

from .imageio import as_hwc, to_uint8


class Box(NamedTuple):
    """A rectangle in pixel coordinates: rows [top, top + height), columns [left, left + width)."""

    top: int
    left: int
    height: int
    width: int

    def slice(self, image: np.ndarray) -> np.ndarray:
        return image[self.top : self.top + self.height, self.left : self.left + self.width]


def modcrop(image: np.ndarray, multiple: int) -> np.ndarray:
    """Top-left crop so that height and width are multiples of ``multiple`` (``hr[:H - H%s, :W - W%s]``)."""
    h, w = image.shape[:2]
    return image[: h - h % multiple, : w - w % multiple]


def center_box(height: int, width: int, multiple: int) -> Box:
    """The centred box whose sides are the largest multiples of ``multiple`` that fit (DIP's ``enforse_div32``)."""
    new_h, new_w = height - height % multiple, width - width % multiple
    return Box((height - new_h) // 2, (width - new_w) // 2, new_h, new_w)


def paste(canvas_shape: tuple[int, int, int], image: np.ndarray, box: Box) -> np.ndarray:
    """Place ``image`` at ``box`` in a black canvas of ``canvas_shape`` (H, W, C)."""
    canvas = np.zeros(canvas_shape, dtype=np.float32)
    canvas[box.top : box.top + box.height, box.left : box.left + box.width] = image
    return canvas


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma in studio range: Y = (0.299 R + 0.587 G + 0.114 B) * 219/255 + 16/255.

    Input (H, W, 3) or (H, W, 1) in [0, 1] (gray is replicated first); output (H, W) float64 in
    [16/255, 235/255]. Multiply by 255 for the 0-255 convention.
    """
    image = as_hwc(image).astype(np.float64)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    luma = 0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2]
    return luma * (235.0 - 16.0) / 255.0 + 16.0 / 255.0


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
