"""JPEG artefact removal: a JPEG-compressed input, or a given JPEG file with no ground truth."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..errors import ConfigError
from ..imaging.geometry import Box
from ..imaging.io import as_hwc, to_uint8
from .base import Observation, Task
from .registry import register_task


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (H, W, C) in [0, 1] saved as a baseline JPEG at ``quality`` (1-100, PIL's libjpeg with
    4:2:0 chroma subsampling for colour) and decoded again, (H, W, C) float32 in [0, 1]."""
    image = as_hwc(image)
    pixels = to_uint8(image)
    pil = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    return as_hwc(np.asarray(Image.open(buffer), dtype=np.float32) / 255.0)


@register_task
class JPEGArtefacts(Task):
    """Removal of JPEG compression artefacts (the paper's fig. 3, the snail).

    ``quality``: compress the ground truth at this JPEG quality (1-100) and score against it; ``null``:
    the image *is* the degraded JPEG (the paper's snail.jpg), so there is no ground truth, the observation
    is the image itself and its rows show no PSNR. The forward model is the identity, a declared mismatch
    for a simulated compression (:meth:`forward_mismatch`): a method fits the JPEG and its prior removes
    the artefacts.
    """

    name = "jpeg"
    title = "JPEG artefact removal"
    gallery = True
    defaults = {"quality": None}
    linear = True
    kinds = frozenset({"denoising", "artefacts"})
    key_params = ("quality",)
    cli_options = {"quality": "JPEG quality 1-100 of a simulated compression"}

    def validate(self) -> None:
        quality = self.params["quality"]
        if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int)
                                    or not 1 <= quality <= 100):
            raise ConfigError(f"jpeg: quality must be an integer 1-100, or null for a given JPEG; got {quality!r}")

    def describe(self) -> str:
        quality = self.params["quality"]
        return f"JPEG artefacts, {'given JPEG' if quality is None else f'quality {quality}'}"

    def degrade(self, gt, rng, **_):
        gt = as_hwc(gt)
        if self.params["quality"] is None:  # the image is the JPEG: nothing to score against
            return Observation(self.name, dict(self.params), gt.astype(np.float32), Box(0, 0, *gt.shape[:2]))
        y = jpeg_roundtrip(gt, self.params["quality"])
        return Observation(self.name, dict(self.params), y, Box(0, 0, *gt.shape[:2]), gt=gt)

    def operator(self, obs, device="cpu", pad=0):
        return lambda x: x

    def forward_mismatch(self) -> str | None:
        if self.params["quality"] is None:
            return None  # the given JPEG is the observation itself
        return ("the observation is a JPEG compression of the ground truth and the operator is the identity: "
                "the artefacts are left to the method's prior (the paper's setup)")
