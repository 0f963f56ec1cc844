"""The task registry: tasks by name, built-in ones loaded on first use, plugins added with
:func:`register_task`."""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ConfigError
from ..plugins import load_entry_points
from .base import PROBLEM_KINDS, Observation, Task

#: Modules of the built-in tasks (each defines one Task subclass, registered on import).
BUILTIN_MODULES = ("denoise", "sr", "inpaint", "holes", "sparse", "jpeg", "flash", "impedance", "inversion")

_TASKS: dict[str, type[Task]] = {}
_builtins_loaded = False


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make ``cls`` available under ``cls.name``. A second, different class under the
    same name is an error."""
    name = getattr(cls, "name", None)
    if not name or not isinstance(name, str):
        raise TypeError(f"{cls.__name__} must define a string 'name'")
    _check_kinds(cls)
    existing = _TASKS.get(name)
    if existing is not None and _origin(existing) != _origin(cls):
        raise ConfigError(f"task {name!r} is registered twice: {existing.__module__}.{existing.__qualname__} "
                          f"and {cls.__module__}.{cls.__qualname__}")
    _TASKS[name] = cls
    return cls


def _check_kinds(cls: type[Task]) -> None:
    where = f"task {cls.name!r} ({cls.__module__}.{cls.__qualname__})"
    unknown = sorted(set(cls.kinds) - set(PROBLEM_KINDS))
    if unknown:
        raise ConfigError(f"{where}: unknown problem kind(s) {unknown}; known: {', '.join(PROBLEM_KINDS)}")
    if ("upscaling" in cls.kinds) != bool(cls.upscales):
        raise ConfigError(f"{where}: kinds must include 'upscaling' exactly when upscales is True")


def _origin(cls: type) -> tuple[str, str]:
    # The same class imported again (a module reloaded) is not a duplicate; another class is.
    return cls.__module__, cls.__qualname__


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(f"dipbench.tasks.{module}")
        load_entry_points()


def available_tasks() -> dict[str, type[Task]]:
    """Every registered task class by name, built-in ones first."""
    _load_builtins()
    return dict(_TASKS)


def task_names() -> list[str]:
    return list(available_tasks())


def get_task_class(name: str) -> type[Task]:
    """The task class registered as ``name``; an unknown name raises :class:`ConfigError` listing the known ones."""
    tasks = available_tasks()
    try:
        return tasks[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sorted(tasks))}") from None


def make_task(name: str, **params: Any) -> Task:
    """Build a task by name with its parameters (validated)."""
    return get_task_class(name)(**params)


def task_of(obs: Observation) -> Task:
    return make_task(obs.task, **obs.task_params)


def task_title(name: str) -> str:
    """The display title of a task ("Denoising"); the name itself for an unregistered task."""
    cls = available_tasks().get(name)
    return cls.title or name if cls is not None else name
