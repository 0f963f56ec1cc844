"""The method registry: methods by name. Built-in method modules are imported on first use, cheapest
first, so a job running a method that needs no torch does not import it; plugins register with
:func:`register`."""

from __future__ import annotations

import importlib

from ..errors import ConfigError
from ..plugins import load_entry_points
from .base import Method

#: Modules imported on first registry access, cheapest first; each registers its methods with @register.
BUILTIN_MODULES = (
    "dipbench.methods.published",
    "dipbench.methods.classic",
    "dipbench.methods.dip.method",
    "dipbench.methods.family.deep_decoder",
    "dipbench.methods.family.dip_tv",
    "dipbench.methods.family.dip_sgld",
    "dipbench.methods.family.zs_n2n",
)

_REGISTRY: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make ``cls`` available under ``cls.name``. Registering a different class under a
    name that is taken is an error (the same class imported again, e.g. a reloaded module, is not)."""
    if not getattr(cls, "name", None) or not getattr(cls, "tasks", None):
        raise TypeError(f"{cls.__name__} must define 'name' and 'tasks'")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and _origin(existing) != _origin(cls):
        raise ConfigError(f"method {cls.name!r} is registered twice: {existing.__module__}.{existing.__qualname__} "
                          f"and {cls.__module__}.{cls.__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def _origin(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


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
    for module in BUILTIN_MODULES:
        if until is not None and until in _REGISTRY:
            return
        importlib.import_module(module)
    load_entry_points()
