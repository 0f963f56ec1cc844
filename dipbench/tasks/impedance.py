"""Noise impedance (the paper's fig. 2): how fast DIP fits an image, the image plus noise, its shuffled
pixels and white noise."""

from __future__ import annotations


import numpy as np

from ..errors import ConfigError
from ..imaging.geometry import Box
from ..imaging.io import as_hwc
from .base import Observation, Task
from .registry import register_task

TARGETS = ("image", "noisy", "shuffled", "noise")


@register_task
class NoiseImpedance(Task):
    """Fit a target made from the image; the learning curve (loss per step) is the result.

    ``target``: "image" (the image itself), "noisy" (plus N(0, (sigma/255)^2), clipped to [0, 1], the range the
    network can output), "shuffled" (its pixels randomly permuted, each pixel's colour kept) or "noise" (U(0, 1) white
    noise of the image's shape). The forward model is the identity and there is no ground truth to score:
    the figure (:func:`dipbench.report.impedance.impedance_figure`) plots the loss against the step.
    """

    name = "impedance"
    title = "Noise impedance"
    defaults = {"target": "image", "sigma": 25.0}
    linear = True
    key_params = ("target",)
    cli_options = {"target": f"what DIP fits: {', '.join(TARGETS)}"}

    def validate(self) -> None:
        if self.params["target"] not in TARGETS:
            raise ConfigError(f"impedance: target must be one of {', '.join(TARGETS)}, got {self.params['target']!r}")
        sigma = self.params["sigma"]
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma <= 255:
            raise ConfigError(f"impedance: sigma must be a number > 0 and <= 255 (8-bit units), got {sigma!r}")

    def describe(self) -> str:
        return f"Noise impedance, {self.params['target']}"

    def degrade(self, gt, rng, **_):
        gt = as_hwc(gt)
        target = self.params["target"]
        if target == "noisy":
            y = np.clip(gt + rng.normal(0.0, self.params["sigma"] / 255.0, gt.shape), 0, 1)
        elif target == "shuffled":
            pixels = gt.reshape(-1, gt.shape[2])
            y = pixels[rng.permutation(len(pixels))].reshape(gt.shape)
        elif target == "noise":
            y = rng.random(gt.shape)
        else:
            y = gt
        return Observation(self.name, dict(self.params), np.asarray(y, dtype=np.float32), Box(0, 0, *gt.shape[:2]))

    def operator(self, obs, device="cpu", pad=0):
        return lambda x: x

    def noise_std(self) -> float:
        return float(self.params["sigma"]) / 255.0 if self.params["target"] == "noisy" else 0.0

    def forward_mismatch(self) -> str | None:
        if self.params["target"] in ("image", "noisy"):
            return None
        return f"the target ({self.params['target']}) replaces the image instead of measuring it: the fit is the result"
