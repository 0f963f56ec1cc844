"""What every task is: the :class:`Observation` it makes and the :class:`Task` interface.

A task turns a ground-truth image into an :class:`Observation` (made once per task, image and seed, saved,
and given to every method). :meth:`Task.operator` returns the forward model A as a torch function so that
``A(x)`` is comparable with the observation. Everything else the project needs to know about a task is a
class attribute or method here (display title, the parameters that identify a reported number, the DIP
authors' published inputs, command-line options), so adding a task is one module; see :mod:`dipbench.tasks`.
A task is physics only: what a method does with it (DIP's per-experiment settings, a baseline's tuning) belongs
to the method (e.g. :mod:`dipbench.methods.dip.settings`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from ..atomic import atomic_open
from ..errors import ConfigError
from ..imaging.geometry import Box
from ..imaging.io import as_hwc


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
    #: a second input image on the target box that some methods take as their input (flash / no-flash:
    #: the flash photo, while ``y`` is the no-flash photo), (H, W, C) float32 in [0, 1]; None elsewhere.
    guide: np.ndarray | None = None

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
        if self.guide is not None:
            arrays["guide"] = self.guide
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
                guide=data["guide"] if "guide" in data else None,
            )


#: The kinds of problem a task can be (``Task.kinds``). Methods declare the kinds they handle
#: (``Method.problems``), so a new task of a known kind is picked up by every baseline that handles it.
PROBLEM_KINDS: dict[str, str] = {
    "denoising": "y is the image on the target box with noise or artefacts; the forward model is the identity",
    "gaussian_noise": "the noise is i.i.d. Gaussian with the known std ``sigma`` (a task parameter, 8-bit units)",
    "artefacts": "the degradation has no known noise level (e.g. JPEG): a method that needs one assumes it",
    "upscaling": "y is smaller than the output by the task's ``scale`` per side (``upscales``)",
    "masked": "y has missing pixels, given by the observation's ``mask``; the forward model multiplies by it",
    "inversion": "y is an image whose features (``observed``) the output must match",
}


class Task:
    """Base class of a task. A subclass sets ``name`` and ``defaults`` and implements :meth:`degrade` and
    :meth:`operator`; the other hooks have defaults that fit a task whose output has its input's size.

    Class attributes:
      name          registry name (used in configs, file paths and records).
      title         display title in captions and figures ("Denoising").
      defaults      parameters and their default values; every accepted parameter is listed here.
      key_params    the parameters that identify a number the paper reports (``sigma`` for denoising).
      upscales      True where the method's output is larger than its input (scored under the SR rules
                    of a protocol, see :mod:`dipbench.metrics`).
      linear        True where :meth:`operator` is linear (then :meth:`adjoint` gives A^T).
      kinds         the kinds of problem the task is (keys of :data:`PROBLEM_KINDS`; "upscaling" exactly
                    when ``upscales``); methods that handle one of them run it. Empty: only methods that
                    need nothing but the forward operator (DIP) do.
      extra_inputs  names of optional input images :meth:`degrade` takes besides the ground truth (e.g.
                    ``mask``); the CLI offers each as ``--<name> FILE``.
      cli_options   ``{parameter: help}`` for parameters the CLI offers as ``--<parameter>``.
      gallery       True where the paper shows the task's results as a figure rather than a table row: the
                    report draws a gallery figure per image (:mod:`dipbench.report.gallery`).
      input_title   how figures name the observation ``y`` ("input"; "no-flash photo" for flash / no-flash).
      guide_title   how figures name the observation's ``guide`` image, where it has one ("flash photo").
      published_input  ``(parameter, value, dataset role)``: where the parameter has this value and the
                    dataset has files of this role (the DIP authors' fixed inputs), the workflow uses
                    them instead of a new draw, through :meth:`published_inputs`.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    key_params: ClassVar[tuple[str, ...]] = ()
    upscales: ClassVar[bool] = False
    linear: ClassVar[bool] = False
    kinds: ClassVar[frozenset[str]] = frozenset()
    extra_inputs: ClassVar[tuple[str, ...]] = ()
    cli_options: ClassVar[dict[str, str]] = {}
    gallery: ClassVar[bool] = False
    input_title: ClassVar[str] = "input"
    guide_title: ClassVar[str] = "guide"
    published_input: ClassVar[tuple[str, Any, str] | None] = None

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
        """Make the observation from a prepared ground truth; ``inputs`` holds arrays named in
        ``extra_inputs`` (e.g. a mask image) or returned by :meth:`published_inputs`."""
        raise NotImplementedError

    def observe(self, y: np.ndarray, **inputs: Any) -> Observation:
        """An observation of a real degraded image ``y`` (no ground truth): the CLI's ``restore`` without
        ``--simulate``. The default fits tasks whose output has the input's size and needs no extra input."""
        y = as_hwc(y)
        return Observation(self.name, dict(self.params), y, Box(0, 0, *y.shape[:2]))

    def published_inputs(self, published: np.ndarray, gt: np.ndarray) -> dict[str, Any]:
        """The :meth:`degrade` inputs made from a published input image (see ``published_input``)."""
        raise NotImplementedError(f"task {self.name!r} has no published inputs")

    def operator(self, obs: Observation, device: "torch.device | str" = "cpu", pad: int = 0) -> Callable:
        """The forward model A as a torch function: (N, C, h + 2 pad, w + 2 pad) on ``obs.target``, padded
        by ``pad`` px each side, -> the frame of :meth:`observed` (``obs.y`` padded the same way)."""
        raise NotImplementedError

    def adjoint(self, obs: Observation, device: "torch.device | str" = "cpu", pad: int = 0) -> Callable:
        """A^T, the adjoint of a linear :meth:`operator` (``linear`` tasks only): (N, C, ...) in the frame
        of :meth:`observed` -> (N, C, h + 2 pad, w + 2 pad) on ``obs.target``.

        Derived from :meth:`operator` by autograd: A^T v is the gradient of <A x, v> with respect to x,
        which for a linear A does not depend on x (taken at x = 0). ``tests/test_physics.py`` checks
        <A x, v> = <x, A^T v> for every linear task."""
        import torch

        if not self.linear:
            raise TypeError(f"task {self.name!r}: its forward model is not linear, so it has no adjoint")
        forward = self.operator(obs, device, pad)
        size = (obs.target.height + 2 * pad, obs.target.width + 2 * pad)

        def apply_adjoint(v: "torch.Tensor") -> "torch.Tensor":
            x = torch.zeros((v.shape[0], v.shape[1], *size), dtype=v.dtype, device=v.device, requires_grad=True)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(forward(x), x, grad_outputs=v)
            return grad

        return apply_adjoint

    def forward_mismatch(self) -> str | None:
        """Where :meth:`operator` is not the model that made the observation (the paper itself fits another
        one), what differs, in words (docs/protocol.md); None where ``operator`` of the ground truth equals
        the noiseless observation (``tests/test_physics.py`` checks one or the other for every task)."""
        return None

    def noise_std(self) -> float:
        """The standard deviation of the noise :meth:`degrade` adds on top of ``operator(gt)`` (before any
        clipping), in [0, 1] image units; 0 for noiseless tasks. The noise is drawn with ``rng.normal``:
        ``tests/test_physics.py`` switches it off (a generator whose normal draws are zero) and checks that
        the noiseless observation is ``operator(gt)``."""
        return 0.0

    def observed(self, obs: Observation, device: "torch.device | str" = "cpu", pad: int = 0) -> "torch.Tensor":
        """``obs.y`` as a (1, C, H, W) float32 tensor on ``device``, reflection-padded by ``pad`` px each side
        (the frame :meth:`operator` maps into)."""
        import torch.nn.functional as F

        y = array_to_tensor(obs.y, device)
        return F.pad(y, (pad,) * 4, mode="reflect") if pad else y

    def describe(self) -> str:
        """The task as a paper's caption names it ("Denoising, σ = 25"): the title and the key parameters."""
        params = ", ".join(f"{key} {_slug_value(self.params[key])}" for key in self.key_params)
        return f"{self.title or self.name}" + (f", {params}" if params else "")

    @classmethod
    def cli_params(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Task parameters from the CLI's ``--<parameter>`` values that were given."""
        return dict(given)

    @property
    def scale(self) -> int:
        """How many times larger the method's output is than its input, per side (1 unless ``upscales``)."""
        return 1

    @property
    def slug(self) -> str:
        """A short readable id of the task and its parameters, used in file paths."""
        parts = [self.name] + [f"{key}{_slug_value(self.params[key])}" for key in sorted(self.params)]
        return "_".join(parts)


def array_to_tensor(array: np.ndarray, device: "torch.device | str" = "cpu") -> "torch.Tensor":
    """An (H, W, C) array as a (1, C, H, W) float32 tensor on ``device``."""
    import torch

    return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32, device=device).permute(2, 0, 1)[None]


def _slug_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("/", "-").replace(" ", "")
