"""Restoration tasks: how a ground truth is degraded, and the differentiable forward operator.

A task turns a ground-truth image into an :class:`Observation` (made once per task, image and seed, saved,
and given to every method). ``Task.operator`` returns the forward model A as a torch function so that
``A(x)`` is comparable with the observation: the identity for denoising, the Lanczos-2 downsampler for
super-resolution, masking for inpainting.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from .atomic import atomic_open
from .errors import ConfigError, ImageError
from .imageio import as_hwc, read_image
from .ops import Box, center_box, modcrop, pil_lanczos_downscale


@dataclass
class Observation:
    """The degraded input of one (task, dataset, image, seed), shared by every method.

    Arrays are (H, W, C) float32 in [0, 1]. ``target`` is the box of the ground truth that a method must
    reconstruct: methods return an image of ``target``'s height and width (for SR, ``scale`` times the
    size of ``y``). ``gt`` is kept for evaluation and oracle curves only; no method may use it to decide
    anything.
    """

    task: str
    task_params: dict[str, Any]
    y: np.ndarray
    target: Box
    gt: np.ndarray | None = None
    mask: np.ndarray | None = None
    dataset: str = ""
    image: str = ""
    seed: int = 0
    #: "simulated" (drawn by the task with a derived seed) or "published" (the DIP authors' input file).
    source: str = "simulated"

    @property
    def channels(self) -> int:
        return int(self.y.shape[2])

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self.target.height, self.target.width, self.channels)

    def save(self, path: str | os.PathLike) -> None:
        """Write to a compressed ``.npz`` atomically (arrays as stored, metadata as JSON)."""
        meta = {
            "task": self.task,
            "task_params": self.task_params,
            "target": list(self.target),
            "dataset": self.dataset,
            "image": self.image,
            "seed": self.seed,
            "source": self.source,
        }
        arrays = {"y": self.y, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        if self.gt is not None:
            arrays["gt"] = self.gt
        if self.mask is not None:
            arrays["mask"] = self.mask
        with atomic_open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Observation":
        with np.load(path) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            return cls(
                task=meta["task"],
                task_params=meta["task_params"],
                y=data["y"],
                target=Box(*meta["target"]),
                gt=data["gt"] if "gt" in data else None,
                mask=data["mask"] if "mask" in data else None,
                dataset=meta["dataset"],
                image=meta["image"],
                seed=meta["seed"],
                source=meta.get("source", "simulated"),
            )


class Task:
    """Base class. Subclasses set ``name`` and ``defaults`` and implement the three methods below."""

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any):
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ConfigError(
                f"task {self.name!r}: unknown parameter(s) {sorted(unknown)}; known: {sorted(self.defaults)}"
            )
        self.params = {**self.defaults, **params}
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for invalid parameter values."""

    def prepare_gt(self, image: np.ndarray) -> np.ndarray:
        """The ground truth that metrics compare against (SR crops it to a multiple of the scale)."""
        return as_hwc(image)

    def degrade(self, gt: np.ndarray, rng: np.random.Generator, **inputs: Any) -> Observation:
        """Make the observation from a prepared ground truth; ``inputs`` carries e.g. a mask image."""
        raise NotImplementedError

    def operator(self, obs: Observation, device: "torch.device | str" = "cpu") -> Callable:
        """The forward model A: (N, C, h, w) on ``obs.target`` -> the observation's (N, C, H, W)."""
        raise NotImplementedError

    @property
    def slug(self) -> str:
        """A short readable id of the task and its parameters, used in file paths."""
        parts = [self.name] + [f"{key}{_slug_value(self.params[key])}" for key in sorted(self.params)]
        return "_".join(parts)


def _slug_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("/", "-").replace(" ", "")


class Denoise(Task):
    """Additive white Gaussian noise. ``sigma`` is in 8-bit units (25 means 25/255).

    ``clip``: clip the noisy image to [0, 1] as the paper did (its published noisy PNGs are also quantised
    to 8 bits, which ``quantize`` reproduces).
    """

    name = "denoise"
    defaults = {"sigma": 25.0, "clip": True, "quantize": False}

    def validate(self) -> None:
        if not self.params["sigma"] > 0:
            raise ConfigError(f"denoise: sigma must be > 0, got {self.params['sigma']}")

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

    def operator(self, obs, device="cpu"):
        return lambda x: x


class SuperResolution(Task):
    """Super-resolution by an integer ``scale``.

    ``lr_kernel``: ``lanczos`` (the paper's DIP input: PIL Lanczos of the HR target) or ``bicubic``
    (MATLAB-style antialiased bicubic, the paper's baselines and the modern convention).
    ``crop_multiple``: the HR target is the centre crop of the ground truth to this multiple (32 in the
    paper; use the scale itself for the whole modcrop). The ground truth is always the top-left modcrop of
    the original to a multiple of ``scale``.
    """

    name = "sr"
    defaults = {"scale": 4, "lr_kernel": "lanczos", "crop_multiple": 32}
    kernels = ("lanczos", "bicubic")

    def validate(self) -> None:
        scale, multiple = self.params["scale"], self.params["crop_multiple"]
        if not (isinstance(scale, int) and scale >= 2):
            raise ConfigError(f"sr: scale must be an integer >= 2, got {scale!r}")
        if self.params["lr_kernel"] not in self.kernels:
            raise ConfigError(f"sr: lr_kernel must be one of {self.kernels}, got {self.params['lr_kernel']!r}")
        if not (isinstance(multiple, int) and multiple % scale == 0):
            raise ConfigError(f"sr: crop_multiple must be a multiple of scale {scale}, got {multiple!r}")

    def prepare_gt(self, image):
        return modcrop(as_hwc(image), self.params["scale"])

    def degrade(self, gt, rng, **_):
        gt = as_hwc(gt)
        scale = self.params["scale"]
        target = center_box(gt.shape[0], gt.shape[1], self.params["crop_multiple"])
        if target.height == 0 or target.width == 0:
            raise ImageError(
                f"sr: image of {gt.shape[1]}x{gt.shape[0]} px is smaller than crop_multiple "
                f"{self.params['crop_multiple']}"
            )
        hr = target.slice(gt)
        y = lr_from_hr(hr, scale, self.params["lr_kernel"])
        return Observation(self.name, dict(self.params), y, target, gt=gt)

    def operator(self, obs, device="cpu"):
        from .operators import LanczosDownsampler

        return LanczosDownsampler(self.params["scale"]).to(device)


def lr_from_hr(hr: np.ndarray, scale: int, kernel: str) -> np.ndarray:
    """Simulate a low-resolution image: (H, W, C) -> (H/scale, W/scale, C), H and W multiples of scale."""
    if kernel == "lanczos":
        return pil_lanczos_downscale(hr, scale)
    from .resize import imresize_matlab

    return as_hwc(np.clip(imresize_matlab(hr, 1.0 / scale), 0.0, 1.0))


class Inpaint(Task):
    """Inpainting: known pixels are kept, missing ones set to 0.

    The mask is an i.i.d. Bernoulli draw keeping a fraction ``keep`` of pixels (shared across channels),
    or a mask image passed to :meth:`degrade` (non-zero = known).
    """

    name = "inpaint"
    defaults = {"keep": 0.5}

    def validate(self) -> None:
        if not 0.0 < self.params["keep"] <= 1.0:
            raise ConfigError(f"inpaint: keep must be in (0, 1], got {self.params['keep']}")

    def degrade(self, gt, rng, mask: np.ndarray | None = None, **_):
        gt = as_hwc(gt)
        if mask is None:
            mask = (rng.random(gt.shape[:2]) < self.params["keep"]).astype(np.float32)[..., None]
        else:
            mask = as_hwc(mask)
            if mask.shape[:2] != gt.shape[:2]:
                raise ImageError(
                    f"mask of {mask.shape[1]}x{mask.shape[0]} px does not match the image of "
                    f"{gt.shape[1]}x{gt.shape[0]} px"
                )
            mask = (mask.max(axis=2, keepdims=True) > 0).astype(np.float32)
        y = (gt * mask).astype(np.float32)
        return Observation(self.name, dict(self.params), y, Box(0, 0, *gt.shape[:2]), gt=gt, mask=mask)

    def operator(self, obs, device="cpu"):
        import torch

        mask = torch.as_tensor(obs.mask, device=device).permute(2, 0, 1)[None]
        return lambda x: x * mask.to(x.dtype)


TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (Denoise, SuperResolution, Inpaint)}


def make_task(name: str, **params: Any) -> Task:
    """Build a task by name; an unknown name raises :class:`ConfigError` listing the known ones."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None
    return cls(**params)


def task_of(obs: Observation) -> Task:
    return make_task(obs.task, **obs.task_params)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask image (non-zero = known pixel) as (H, W, 1) float32 in {0, 1}."""
    image = read_image(path, "any")
    return (image.max(axis=2, keepdims=True) > 0).astype(np.float32)


def mask_from_masked(masked: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Recover an inpainting mask from a published masked input: known where ``masked == gt``.

    Pixels where the ground truth is 0 count as known, which is exact for the loss (they are 0 either way).
    """
    equal = np.all(np.isclose(as_hwc(masked), as_hwc(gt), atol=0.5 / 255), axis=2, keepdims=True)
    return equal.astype(np.float32)
