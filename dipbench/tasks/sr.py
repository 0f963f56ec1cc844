"""Super-resolution by an integer factor: the paper's centre-32 crop with a Lanczos or bicubic LR image."""

from __future__ import annotations


import numpy as np

from ..errors import ConfigError, ImageError
from ..imaging.geometry import Box, center_box, modcrop
from ..imaging.io import as_hwc
from ..imaging.resize import pil_lanczos_downscale
from .base import Observation, Task
from .registry import register_task


@register_task
class SuperResolution(Task):
    """Super-resolution by an integer ``scale``.

    ``lr_kernel``: ``lanczos`` (the paper's DIP input: PIL Lanczos of the HR target) or ``bicubic``
    (MATLAB-style antialiased bicubic, the paper's baselines and the modern convention).
    ``crop_multiple``: the HR target is the centre crop of the ground truth to this multiple (32 in the
    paper; use the scale itself for the whole modcrop). The ground truth is always the top-left modcrop of
    the original to a multiple of ``scale``.
    """

    name = "sr"
    title = "Super-resolution"
    defaults = {"scale": 4, "lr_kernel": "lanczos", "crop_multiple": 32}
    linear = True
    kinds = frozenset({"upscaling"})
    key_params = ("scale",)
    upscales = True
    cli_options = {"scale": "upscaling factor, an integer >= 2 and <= 32 (required)"}
    kernels = ("lanczos", "bicubic")

    def validate(self) -> None:
        scale, multiple = self.params["scale"], self.params["crop_multiple"]
        if isinstance(scale, bool) or not (isinstance(scale, int) and 2 <= scale <= 32):
            raise ConfigError(f"sr: scale must be an integer >= 2 and <= 32, got {scale!r}")
        if self.params["lr_kernel"] not in self.kernels:
            raise ConfigError(f"sr: lr_kernel must be one of {self.kernels}, got {self.params['lr_kernel']!r}")
        if isinstance(multiple, bool) or not (isinstance(multiple, int) and multiple > 0 and multiple % scale == 0):
            raise ConfigError(f"sr: crop_multiple must be a multiple of scale {scale}, got {multiple!r}")

    @property
    def scale(self) -> int:
        return int(self.params["scale"])

    def prepare_gt(self, image):
        return modcrop(as_hwc(image), self.scale)

    def describe(self) -> str:
        return f"Super-resolution ×{self.scale}"

    def degrade(self, gt, rng, **_):
        gt = as_hwc(gt)
        target = center_box(gt.shape[0], gt.shape[1], self.params["crop_multiple"])
        if target.height == 0 or target.width == 0:
            raise ImageError(
                f"sr: image of {gt.shape[1]}x{gt.shape[0]} px is smaller than crop_multiple "
                f"{self.params['crop_multiple']}"
            )
        hr = target.slice(gt)
        y = lr_from_hr(hr, self.scale, self.params["lr_kernel"])
        return Observation(self.name, dict(self.params), y, target, gt=gt)

    def observe(self, y, **_):
        y = as_hwc(y)
        target = Box(0, 0, y.shape[0] * self.scale, y.shape[1] * self.scale)
        return Observation(self.name, dict(self.params), y, target)

    @classmethod
    def cli_params(cls, given):
        # A real LR image is upscaled whole: the target is its full size times the scale. The scale is
        # required: a silent default would upscale by a factor the user never chose.
        if given.get("scale") is None:
            raise ConfigError("sr: give --scale, the upscaling factor (an integer >= 2 and <= 32)")
        params = dict(given)
        params["crop_multiple"] = params["scale"]
        return params

    def operator(self, obs, device="cpu", pad=0):
        """The forward model: the DIP authors' Lanczos-2 convolution for ``lr_kernel: lanczos`` (the paper's
        pairing, see :meth:`forward_mismatch`), MATLAB bicubic itself for ``bicubic``. It takes no padding."""
        from ..imaging.operators import LanczosDownsampler, MatlabBicubicDownsampler

        _no_padding(pad)
        if self.params["lr_kernel"] == "bicubic":
            return MatlabBicubicDownsampler(obs.target.height, obs.target.width, self.scale).to(device)
        return LanczosDownsampler(self.scale).to(device)

    def forward_mismatch(self) -> str | None:
        if self.params["lr_kernel"] != "lanczos":
            return None
        return ("the LR image is PIL's Lanczos-3 resize of the 8-bit HR image, DIP's loss uses the authors' "
                "Lanczos-2 convolution: the paper's own pairing")

    def observed(self, obs, device="cpu", pad=0):
        _no_padding(pad)
        return super().observed(obs, device)


def _no_padding(pad: int) -> None:
    if pad:
        raise ConfigError(f"sr: the super-resolution operator takes no input padding (pad must be 0, got {pad})")


def lr_from_hr(hr: np.ndarray, scale: int, kernel: str) -> np.ndarray:
    """Simulate a low-resolution image: (H, W, C) -> (H/scale, W/scale, C), H and W multiples of scale."""
    if kernel == "lanczos":
        return pil_lanczos_downscale(hr, scale)
    from ..imaging.resize import imresize_matlab

    return as_hwc(np.clip(imresize_matlab(hr, 1.0 / scale), 0.0, 1.0))
