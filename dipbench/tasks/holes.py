"""Inpainting of holes given by a mask image: the paper's text, region and large-hole figures."""

from __future__ import annotations


import numpy as np

from ..errors import ConfigError
from ..imaging.geometry import Box
from ..imaging.io import as_hwc
from ..imaging.masks import MASK_KINDS, synthetic_mask
from .base import Observation
from .inpaint import Inpaint, binary_mask
from .registry import register_task


@register_task
class HoleInpaint(Inpaint):
    """Inpainting of the holes of a mask image (non-zero = known pixel), shared across channels.

    ``kind`` names the paper's experiment ("text": kate, fig. 7; "region": the vase, fig. 6; "large_hole":
    the library, fig. 8), which a method may tune for. The mask is the dataset's ``mask`` file for the
    image (the DIP authors' masks, dataset ``dip_repo``) or ``--mask FILE``; an image without one gets a
    synthetic mask of the kind drawn from the observation seed (:mod:`dipbench.imaging.masks`), and its
    records say ``input_source: simulated``.
    """

    name = "inpaint_holes"
    title = "Hole inpainting"
    gallery = True
    defaults = {"kind": "text"}
    key_params = ("kind",)
    cli_options = {"kind": f"hole kind, the paper's experiment: {', '.join(MASK_KINDS)}"}
    published_input = None

    def validate(self) -> None:
        if self.params["kind"] not in MASK_KINDS:
            raise ConfigError(f"inpaint_holes: kind must be one of {', '.join(MASK_KINDS)}, "
                              f"got {self.params['kind']!r}")

    def describe(self) -> str:
        return f"Inpainting, {self.params['kind'].replace('_', ' ')} mask"

    def degrade(self, gt, rng, mask: np.ndarray | None = None, **_):
        gt = as_hwc(gt)
        if mask is None:
            mask = synthetic_mask(self.params["kind"], *gt.shape[:2], rng)
        mask = binary_mask(mask, gt.shape[:2])
        return Observation(self.name, dict(self.params), (gt * mask).astype(np.float32), Box(0, 0, *gt.shape[:2]),
                           gt=gt, mask=mask)
