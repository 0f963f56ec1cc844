"""Synthetic inpainting masks of the paper's three hole kinds, for images that come without a mask.

The DIP authors' masks (kate's text, the vase's region, the library's large holes) are dataset files
(role ``mask`` of dataset ``dip_repo``); these draw masks of the same kind for any image, from a seeded
generator, so that the demo and plugins can run those experiments on any image. Masks are (H, W, 1)
float32, 1 = known pixel, 0 = hole.

  text        lines of random capital letters over the whole image, glyphs 1/14 of the height tall
              (kate_mask.png: 4% of the pixels are holes; these about 8%);
  region      one blob (a union of ellipses) near the centre, 3-10% of the image (vase_mask.png: 3%);
  large_hole  three large rectangles, 10-25% of the image (library_mask.png: 19%).
"""

from __future__ import annotations

import string

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MASK_KINDS = ("text", "region", "large_hole")


def synthetic_mask(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A mask of ``kind`` (see the module docstring) for an image of ``height`` x ``width`` px."""
    if kind not in MASK_KINDS:
        raise ValueError(f"unknown mask kind {kind!r}; known: {', '.join(MASK_KINDS)}")
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    if kind == "text":
        size = max(8, height // 14)
        font = ImageFont.load_default(size=size)
        for top in range(size // 2, height - size, int(size * 2.5)):
            words = " ".join("".join(rng.choice(list(string.ascii_uppercase), int(rng.integers(3, 8))))
                             for _ in range(8))
            draw.text((int(rng.integers(0, max(1, width // 8))) - width // 16, top), words, fill=0, font=font)
    elif kind == "region":
        cy, cx = height * rng.uniform(0.4, 0.6), width * rng.uniform(0.4, 0.6)
        for _ in range(4):
            ry, rx = height * rng.uniform(0.05, 0.12), width * rng.uniform(0.05, 0.12)
            oy, ox = height * rng.uniform(-0.1, 0.1), width * rng.uniform(-0.1, 0.1)
            draw.ellipse((cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry), fill=0)
    else:
        for _ in range(3):
            h, w = height * rng.uniform(0.15, 0.3), width * rng.uniform(0.15, 0.3)
            top, left = rng.uniform(0, height - h), rng.uniform(0, width - w)
            draw.rectangle((left, top, left + w, top + h), fill=0)
    return (np.asarray(canvas) > 127).astype(np.float32)[..., None]
