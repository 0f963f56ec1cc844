"""Pixel geometry: rectangles, crops and pastes. Images are (H, W, C) arrays; boxes are in pixels."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


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
