"""Flash / no-flash: restore the no-flash photo with the flash photo as the network's input."""

from __future__ import annotations


import numpy as np

from ..errors import ConfigError, ImageError
from ..imaging.geometry import Box
from ..imaging.io import as_hwc
from .base import Observation, Task
from .registry import register_task


@register_task
class FlashNoFlash(Task):
    """Flash / no-flash reconstruction (the paper's fig. 10, Petschnigg et al. 2004's setting).

    The observation ``y`` is the no-flash photo (ambient light, noisy) and ``guide`` the flash photo of
    the same scene (sharp, but lit differently). DIP's input is the flash photo itself (input kind
    "image") and its target the no-flash photo: a task whose method input differs from its target.

    With a dataset ``flash`` file (dataset ``dip_repo``: the cave) the image is the no-flash photo and there
    is no ground truth: the rows show no PSNR. Without one the pair is simulated from a clean image, which
    is then the ground truth: no-flash = image + N(0, (sigma/255)^2), clipped; flash = the image under a
    harsher, bluer light (gamma 0.6, channel gains 0.9 / 1.0 / 1.15, clipped) + N(0, (2/255)^2).
    Methods that take a single image see only ``y``.
    """

    name = "flash"
    title = "Flash / no-flash"
    gallery = True
    input_title = "no-flash photo"
    guide_title = "flash photo"
    defaults = {"sigma": 25.0}
    linear = True
    kinds = frozenset({"denoising", "gaussian_noise"})
    key_params = ()
    extra_inputs = ("flash",)
    cli_options = {"sigma": "noise of a simulated no-flash photo, 8-bit units, >= 0 and <= 255"}

    def validate(self) -> None:
        sigma = self.params["sigma"]
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 255:
            raise ConfigError(f"flash: sigma must be a number >= 0 and <= 255 (8-bit units), got {sigma!r}")

    def degrade(self, gt, rng, flash: np.ndarray | None = None, **_):
        gt = as_hwc(gt)
        if flash is not None:  # a real pair: the "ground truth" file is the no-flash photo itself
            return self._pair(gt, flash)
        no_flash = np.clip(gt + rng.normal(0.0, self.params["sigma"] / 255.0, gt.shape), 0, 1)
        lit = gt ** 0.6 * (np.array([0.9, 1.0, 1.15])[: gt.shape[2]] if gt.shape[2] == 3 else 1.0)
        flash = np.clip(lit + rng.normal(0.0, 2.0 / 255.0, gt.shape), 0, 1)
        obs = self._pair(no_flash, flash)
        obs.gt = gt
        return obs

    def observe(self, y, flash: np.ndarray | None = None, **_):
        if flash is None:
            raise ConfigError("flash / no-flash needs the flash photo: --flash FILE (the image is the no-flash one)")
        return self._pair(as_hwc(y), flash)

    def _pair(self, no_flash: np.ndarray, flash: np.ndarray) -> Observation:
        flash = as_hwc(flash)
        if flash.shape != no_flash.shape:
            raise ImageError(f"the flash photo is {flash.shape[1]}x{flash.shape[0]}x{flash.shape[2]}, the no-flash "
                             f"photo {no_flash.shape[1]}x{no_flash.shape[0]}x{no_flash.shape[2]}: they must match")
        return Observation(self.name, dict(self.params), no_flash.astype(np.float32),
                           Box(0, 0, *no_flash.shape[:2]), guide=flash.astype(np.float32))

    def operator(self, obs, device="cpu", pad=0):
        return lambda x: x

    def noise_std(self) -> float:
        return float(self.params["sigma"]) / 255.0
