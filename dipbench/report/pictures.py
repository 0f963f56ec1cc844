"""Figures embedded in the HTML report: lossless WebP data URIs (about a third of the PNG's bytes, the
same pixels), shrunk to a thumbnail width where asked. The PNG and PDF files in ``figures/`` stay as
they are."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, features


def embedded_image(path: Path, max_width: int | None = None) -> str:
    """A ``data:`` URI of the image at ``path``: lossless WebP (PNG where Pillow lacks WebP), resized
    to at most ``max_width`` pixels wide (aspect kept; None: full size)."""
    with Image.open(path) as image:
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        if max_width is not None and image.width > max_width:
            image = image.resize((max_width, max(1, round(image.height * max_width / image.width))),
                                 Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if features.check("webp"):
            image.save(buffer, format="WEBP", lossless=True, method=4)
            mime = "image/webp"
        else:
            image.save(buffer, format="PNG", optimize=True)
            mime = "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"
