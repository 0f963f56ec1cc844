"""Inpainting: known pixels are kept, missing ones set to 0; a random Bernoulli mask or a mask image."""

from __future__ import annotations


import numpy as np

from ..errors import ConfigError, ImageError
from ..imaging.geometry import Box
from ..imaging.io import as_hwc
from .base import Observation, Task, array_to_tensor
from .registry import register_task


@register_task
class Inpaint(Task):
    """Inpainting: known pixels are kept, missing ones set to 0.

    The mask is an i.i.d. Bernoulli draw keeping a fraction ``keep`` of pixels (shared across channels),
    or a mask image passed to :meth:`degrade` as ``mask`` (non-zero = known). The DIP authors' 50%-masked
    images are the dataset role ``masked_50p``; their masks are recovered by :func:`mask_from_masked`.
    """

    name = "inpaint"
    title = "Inpainting"
    defaults = {"keep": 0.5}
    linear = True
    kinds = frozenset({"masked"})
    key_params = ("keep",)
    extra_inputs = ("mask",)
    cli_options = {"keep": "fraction of pixels kept by a simulated random mask"}
    published_input = ("keep", 0.5, "masked_50p")

    def validate(self) -> None:
        keep = self.params["keep"]
        if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0.0 < keep <= 1.0:
            raise ConfigError(f"{self.name}: keep must be a number in (0, 1], got {keep!r}")

    def describe(self) -> str:
        return f"Inpainting, {100 * self.params['keep']:g}% of pixels kept"

    def degrade(self, gt, rng, mask: np.ndarray | None = None, **_):
        gt = as_hwc(gt)
        if mask is None:
            mask = (rng.random(gt.shape[:2]) < self.params["keep"]).astype(np.float32)[..., None]
        else:
            mask = binary_mask(mask, gt.shape[:2])
        y = (gt * mask).astype(np.float32)
        return Observation(self.name, dict(self.params), y, Box(0, 0, *gt.shape[:2]), gt=gt, mask=mask)

    def observe(self, y, mask: np.ndarray | None = None, **_):
        if mask is None:
            raise ConfigError("inpainting a real image needs a mask (--mask FILE, non-zero = known pixel), "
                              "or --simulate")
        y = as_hwc(y)
        mask = binary_mask(mask, y.shape[:2])
        return Observation(self.name, dict(self.params), (y * mask).astype(np.float32), Box(0, 0, *y.shape[:2]),
                           mask=mask)

    def published_inputs(self, published, gt):
        return {"mask": mask_from_masked(published, gt)}

    def operator(self, obs, device="cpu", pad=0):
        import torch.nn.functional as F

        mask = array_to_tensor(obs.mask, device)
        if pad:
            mask = F.pad(mask, (pad,) * 4, mode="reflect")
        return lambda x: x * mask.to(x.dtype)


def binary_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A mask image as (H, W, 1) float32 in {0, 1} (non-zero in any channel = known), checked against size."""
    mask = as_hwc(mask)
    if mask.shape[:2] != tuple(size):
        raise ImageError(
            f"mask of {mask.shape[1]}x{mask.shape[0]} px does not match the image of {size[1]}x{size[0]} px"
        )
    return (mask.max(axis=2, keepdims=True) > 0).astype(np.float32)


def mask_from_masked(masked: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Recover an inpainting mask from a published masked input: known where ``masked == gt``.

    Pixels where the ground truth is 0 count as known, which is exact for the loss (they are 0 either way).
    """
    equal = np.all(np.isclose(as_hwc(masked), as_hwc(gt), atol=0.5 / 255), axis=2, keepdims=True)
    return equal.astype(np.float32)
