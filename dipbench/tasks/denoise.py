"""Denoising: additive white Gaussian noise of standard deviation ``sigma`` (8-bit units)."""

from __future__ import annotations


import numpy as np

from ..errors import ConfigError, ImageError
from ..imaging.geometry import Box
from ..imaging.io import as_hwc
from .base import Observation, Task
from .registry import register_task


@register_task
class Denoise(Task):
    """Additive white Gaussian noise. ``sigma`` is in 8-bit units (25 means 25/255).

    ``clip``: clip the noisy image to [0, 1] as the paper did (its published noisy PNGs are also quantised
    to 8 bits, which ``quantize`` reproduces). The DIP authors' sigma = 25 noisy images are the dataset
    role ``noisy_s25``.
    """

    name = "denoise"
    title = "Denoising"
    defaults = {"sigma": 25.0, "clip": True, "quantize": False}
    linear = True
    kinds = frozenset({"denoising", "gaussian_noise"})
    key_params = ("sigma",)
    cli_options = {"sigma": "noise standard deviation in 8-bit units, > 0 and <= 255"}
    published_input = ("sigma", 25, "noisy_s25")

    def validate(self) -> None:
        sigma = self.params["sigma"]
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma <= 255:
            raise ConfigError(f"denoise: sigma must be a number > 0 and <= 255 (8-bit units), got {sigma!r}")

    def describe(self) -> str:
        return f"Denoising, σ = {self.params['sigma']:g}"

    def degrade(self, gt, rng, noisy: np.ndarray | None = None, **_):
        gt = as_hwc(gt)
        if noisy is not None:  # a published noisy input (fixed realisation)
            y = as_hwc(noisy)
            if y.shape != gt.shape:
                raise ImageError(f"noisy input shape {y.shape} differs from the ground truth {gt.shape}")
        else:
            y = gt + rng.normal(0.0, self.params["sigma"] / 255.0, size=gt.shape)
            if self.params["clip"]:
                y = np.clip(y, 0.0, 1.0)
            if self.params["quantize"]:
                y = np.rint(np.clip(y, 0, 1) * 255.0) / 255.0
        return Observation(self.name, dict(self.params), y.astype(np.float32), Box(0, 0, *gt.shape[:2]), gt=gt)

    def published_inputs(self, published, gt):
        return {"noisy": published}

    def operator(self, obs, device="cpu", pad=0):
        return lambda x: x

    def noise_std(self) -> float:
        return float(self.params["sigma"]) / 255.0
