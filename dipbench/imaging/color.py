"""Colour conversion. Images are (H, W, C) float arrays in [0, 1]."""

from __future__ import annotations

import numpy as np

from .io import as_hwc


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
