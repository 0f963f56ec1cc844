"""The method interface and registry.

Adding a method = one small class plus one config entry::

    from dipbench.methods import Method, Restoration, register

    @register
    class Median(Method):
        name = "median"
        problems = ("denoising",)
        defaults = {"size": 3}
        version = "1"

        def restore(self, obs, ctx):
            from scipy.ndimage import median_filter
            return Restoration(median_filter(obs.y, size=(self.params["size"],) * 2 + (1,)))

The class declares the kinds of problem it handles (``problems``: keys of
:data:`dipbench.tasks.base.PROBLEM_KINDS`, matched against each task's ``kinds``; or task names in
``tasks``), its parameters with defaults (optionally per kind or per task), tiny ``smoke`` parameters for
tests, and a ``version`` that reruns its jobs when bumped. Heavy optional imports
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
from .params import Rule, check_params


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
    #: The kinds of problem the method handles (:data:`dipbench.tasks.base.PROBLEM_KINDS`): it runs every
    #: task that is one of them, built-in or plugin.
    problems: ClassVar[tuple[str, ...]] = ()
    #: Tasks the method runs by name, besides those of its ``problems`` (e.g. the paper's experiments whose
    #: published images it returns).
    tasks: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[str] = "1"
    defaults: ClassVar[dict[str, Any]] = {}
    #: Defaults per problem kind, applied in this dict's order for each kind the task is.
    kind_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    #: Defaults per task name, over the kind defaults.
    task_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    smoke: ClassVar[dict[str, Any]] = {}
    description: ClassVar[str] = ""
    #: Rules for parameters whose default does not say what they accept (:mod:`dipbench.methods.params`);
    #: every other parameter must have its default's type.
    param_rules: ClassVar[dict[str, Rule]] = {}
    #: Whether the result depends on the run seed: True, False (deterministic: the workflow runs it once per
    #: observation, and every comparison counts that one run once per image), or the problem kinds (or task
    #: names) where it does (e.g. a random init).
    seeded: ClassVar[bool | tuple[str, ...]] = True
    #: True for methods that need nothing of a task but its forward operator (DIP): they accept every
    #: registered task, so they need neither ``problems`` nor ``tasks``.
    any_task: ClassVar[bool] = False
    #: True for methods that run faster on a GPU (the workflow gives their jobs resources gpu=1).
    uses_gpu: ClassVar[bool] = False
    #: True for methods whose :meth:`restore_many` runs several seeds as one computation (the workflow's
    #: ``fuse_seeds`` groups their seeds into one job).
    fuses_runs: ClassVar[bool] = False

    def __init__(self, task: str, **params: Any):
        if not self.supports(task):
            raise ConfigError(f"method {self.name!r} does not support task {task!r} (supports: {self.tasks_text()})")
        self.task = task
        self.params = self.resolve_params(task, params)

    @staticmethod
    def task_kinds(task: str) -> frozenset[str]:
        """The problem kinds of the registered task ``task`` (empty for an unknown name)."""
        from ..tasks import available_tasks

        cls = available_tasks().get(task)
        return frozenset(cls.kinds) if cls is not None else frozenset()

    @classmethod
    def supports(cls, task: str) -> bool:
        """Whether the method runs ``task``: the task is one of its ``problems``, is named in ``tasks``, or
        is any registered task for a method with ``any_task``."""
        if task in cls.tasks or cls.task_kinds(task) & set(cls.problems):
            return True
        from ..tasks import available_tasks

        return cls.any_task and task in available_tasks()

    @classmethod
    def uses_seed(cls, task: str) -> bool:
        """Whether runs of ``task`` with different seeds can differ (see ``seeded``)."""
        if isinstance(cls.seeded, tuple):
            return task in cls.seeded or bool(cls.task_kinds(task) & set(cls.seeded))
        return bool(cls.seeded)

    @classmethod
    def tasks_text(cls) -> str:
        """What the method runs, as a person reads it: "denoising problems (denoise, flash, jpeg), sr";
        "any task" (after those, if any) for methods with ``any_task``."""
        from ..tasks import available_tasks

        by_kind = [name for name in available_tasks() if cls.task_kinds(name) & set(cls.problems)]
        parts = []
        if cls.problems:
            kinds = " / ".join(cls.problems)
            parts.append(f"{kinds} problems ({', '.join(by_kind) or 'no registered task'})")
        parts += [name for name in cls.tasks if name not in by_kind]
        if cls.any_task:
            return f"{', '.join(parts)} and any task" if parts else "any task"
        return ", ".join(parts)

    @classmethod
    def base_params(cls, task: str) -> dict[str, Any]:
        """The defaults for ``task``: ``defaults`` < ``kind_defaults`` of each of the task's kinds (in
        ``kind_defaults``' order) < ``task_defaults[task]``."""
        kinds = cls.task_kinds(task)
        params = dict(cls.defaults)
        for kind, values in cls.kind_defaults.items():
            if kind in kinds:
                params.update(values)
        params.update(cls.task_defaults.get(task, {}))
        return params

    @classmethod
    def resolve_params(cls, task: str, overrides: dict[str, Any], smoke: bool = False) -> dict[str, Any]:
        """:meth:`base_params` < smoke (if asked) < overrides; unknown keys are an error."""
        params = cls.base_params(task)
        unknown = set(overrides) - set(params)
        if unknown:
            raise ConfigError(
                f"method {cls.name!r}: unknown parameter(s) {sorted(unknown)}; known: {sorted(params)}"
            )
        if smoke:
            params.update({k: v for k, v in cls.smoke.items() if k in params})
        params.update(overrides)
        check_params(cls.name, params, cls.base_params(task), cls.param_rules)
        return params

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        raise NotImplementedError

    def restore_many(self, obs: Observation, contexts: Sequence[RunContext]) -> list[Restoration]:
        """One restoration of ``obs`` per context (seed); methods with ``fuses_runs`` do them at once."""
        return [self.restore(obs, ctx) for ctx in contexts]


def require(package: str, method: str, hint: str = "") -> Any:
    """Import an optional package or raise :class:`MissingDependencyError` naming the method."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingDependencyError(
            f"method {method!r} needs the package {package!r}, which is not installed"
            + (f" ({hint})" if hint else "")
        ) from None
