"""The method interface and registry.

Adding a method = one small class plus one config entry::

    from dipbench.methods import Method, Restoration, register

    @register
    class Median(Method):
        name = "median"
        tasks = ("denoise",)
        defaults = {"size": 3}
        version = "1"

        def restore(self, obs, ctx):
            from scipy.ndimage import median_filter
            return Restoration(median_filter(obs.y, size=(self.params["size"],) * 2 + (1,)))

The class declares the tasks it supports, its parameters with defaults (optionally per task), tiny
``smoke`` parameters for tests, and a ``version`` that reruns its jobs when bumped. Heavy optional imports
happen inside ``restore`` (use :func:`require`), so a missing package breaks only that method's jobs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, MissingDependencyError
from ..tasks import Observation


@dataclass
class RunContext:
    """How to run: ``seed`` (derived from the run identity), torch ``device``, whether to show progress."""

    seed: int = 0
    device: str = "cpu"
    progress: bool = False
    threads: int | None = None


@dataclass
class Restoration:
    """What a method returns.

    image: (h, w, C) float32 in [0, 1], h and w = the observation's target box.
    curve: optional learning curve, one row per step (columns at least ``step``, ``loss``; oracle columns
        ``psnr``, ``psnr_ema`` against the ground truth where recorded, NaN elsewhere).
    info: extra fields for the result record (stop step, precision, ...), JSON-serialisable.
    """

    image: np.ndarray
    curve: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Method:
    """Base class of every method. See the module docstring."""

    name: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]]
    version: ClassVar[str] = "1"
    defaults: ClassVar[dict[str, Any]] = {}
    task_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    smoke: ClassVar[dict[str, Any]] = {}
    description: ClassVar[str] = ""
    #: True for methods that run faster on a GPU (the workflow gives their jobs resources gpu=1).
    uses_gpu: ClassVar[bool] = False
    #: True for methods whose :meth:`restore_many` runs several seeds as one computation (the workflow's
    #: ``fuse_seeds`` groups their seeds into one job).
    fuses_runs: ClassVar[bool] = False

    def __init__(self, task: str, **params: Any):
        if task not in self.tasks:
            raise ConfigError(
                f"method {self.name!r} does not support task {task!r} (supports: {', '.join(self.tasks)})"
            )
        self.task = task
        self.params = self.resolve_params(task, params)

    @classmethod
    def resolve_params(cls, task: str, overrides: dict[str, Any], smoke: bool = False) -> dict[str, Any]:
        """defaults < task_defaults[task] < smoke (if asked) < overrides; unknown keys are an error."""
        params = {**cls.defaults, **cls.task_defaults.get(task, {})}
        unknown = set(overrides) - set(params)
        if unknown:
            raise ConfigError(
                f"method {cls.name!r}: unknown parameter(s) {sorted(unknown)}; known: {sorted(params)}"
            )
        if smoke:
            params.update({k: v for k, v in cls.smoke.items() if k in params})
        params.update(overrides)
        return params

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        raise NotImplementedError

    def restore_many(self, obs: Observation, contexts: Sequence[RunContext]) -> list[Restoration]:
        """One restoration of ``obs`` per context (seed); methods with ``fuses_runs`` do them at once."""
        return [self.restore(obs, ctx) for ctx in contexts]


_REGISTRY: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if not getattr(cls, "name", None) or not getattr(cls, "tasks", None):
        raise TypeError(f"{cls.__name__} must define 'name' and 'tasks'")
    _REGISTRY[cls.name] = cls
    return cls


def get_method(name: str) -> type[Method]:
    """The method class registered as ``name``; unknown names raise :class:`ConfigError`."""
    _load_builtin_methods(until=name)
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}; known methods: {', '.join(sorted(_REGISTRY))}") from None


def available_methods() -> dict[str, type[Method]]:
    _load_builtin_methods()
    return dict(sorted(_REGISTRY.items()))


def _load_builtin_methods(until: str | None = None) -> None:
    """Import the built-in method modules, stopping once ``until`` is registered (so a job running a
    method that needs no torch does not pay for importing it)."""
    from . import BUILTIN_MODULES

    for module in BUILTIN_MODULES:
        if until is not None and until in _REGISTRY:
            return
        importlib.import_module(f"dipbench.methods.{module}")


def require(package: str, method: str, hint: str = "") -> Any:
    """Import an optional package or raise :class:`MissingDependencyError` naming the method."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingDependencyError(
            f"method {method!r} needs the package {package!r}, which is not installed"
            + (f" ({hint})" if hint else "")
        ) from None


def resolve_device(device: str) -> "torch.device":
    """``auto`` -> cuda if available, else mps, else cpu; anything else is passed to torch."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)
