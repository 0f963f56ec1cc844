"""The method registry: methods by name.

Built-in methods are listed by name with the module that defines them (:data:`BUILTIN_METHODS`), so
looking one up imports only its module (a job running a method that needs no torch does not import it),
and so the rule "a plugin never replaces a method" holds however the plugin arrives (``--plugin``,
``$DIPBENCH_PLUGINS``, a config's ``plugins:``, an entry point) and whatever is looked up first:
:func:`register` refuses a class under a built-in name that its module does not define, a second class
under a name another plugin took, and a class without its own ``restore``.
"""

from __future__ import annotations

import importlib
import inspect

from ..errors import ConfigError
from ..plugins import load_entry_points
from .base import Method

#: Every built-in method name and the module that registers it (cheapest modules first: ``published``
#: needs no torch). A test checks that importing these modules registers exactly these names.
BUILTIN_METHODS: dict[str, str] = {
    "published": "dipbench.methods.published",
    **dict.fromkeys(("bicubic", "bm3d", "input", "nlm", "no_prior", "tv"), "dipbench.methods.classic"),
    **dict.fromkeys(("dip", "dip_es"), "dipbench.methods.dip.method"),
    "deep_decoder": "dipbench.methods.family.deep_decoder",
    "dip_tv": "dipbench.methods.family.dip_tv",
    "dip_sgld": "dipbench.methods.family.dip_sgld",
    "zs_n2n": "dipbench.methods.family.zs_n2n",
}
#: The built-in method modules, in import order.
BUILTIN_MODULES = tuple(dict.fromkeys(BUILTIN_METHODS.values()))

_REGISTRY: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make ``cls`` available under ``cls.name``.

    Refused with a :class:`ConfigError` naming the class's file and line: a class that is not a
    :class:`Method` or does not define ``restore``; a built-in name registered by any other module than
    the built-in one; a name already registered by a different class (the same class imported again,
    e.g. a reloaded module, is not a duplicate)."""
    if not getattr(cls, "name", None):
        raise TypeError(f"{cls.__name__} must define 'name'")
    where = describe_class(cls)
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise ConfigError(f"{where}: {cls.__name__} must subclass dipbench.methods.Method")
    if not (cls.problems or cls.tasks or cls.any_task):
        raise ConfigError(f"{where}: method {cls.name!r} declares no problems (kinds it handles) and no tasks")
    _check_problems(cls, where)
    if cls.restore is Method.restore:
        raise ConfigError(f"{where}: method {cls.name!r} defines no restore(self, obs, ctx)")
    builtin = BUILTIN_METHODS.get(cls.name)
    if builtin is not None and cls.__module__ != builtin:
        raise ConfigError(f"method {cls.name!r} is registered twice: the built-in one ({builtin}) and {where}; "
                          "a plugin cannot replace a built-in method: give it another name")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and _origin(existing) != _origin(cls):
        raise ConfigError(f"method {cls.name!r} is registered twice: {describe_class(existing)} and {where}; "
                          "give one of them another name")
    _REGISTRY[cls.name] = cls
    return cls


def _check_problems(cls: type, where: str) -> None:
    from ..tasks.base import PROBLEM_KINDS

    declared = [*cls.problems, *cls.kind_defaults]
    unknown = sorted(set(declared) - set(PROBLEM_KINDS))
    if unknown:
        raise ConfigError(f"{where}: method {cls.name!r}: unknown problem kind(s) {unknown}; "
                          f"known: {', '.join(PROBLEM_KINDS)}")


def describe_class(cls: type) -> str:
    """Where a class is defined: ``plugin /path/file.py line N`` for a plugin's, ``module.Class`` for
    dipbench's own (and for a class whose source cannot be found)."""
    if cls.__module__.split(".")[0] == "dipbench":
        return f"{cls.__module__}.{cls.__qualname__}"
    try:
        path = inspect.getsourcefile(cls)
        line = inspect.getsourcelines(cls)[1]
    except (TypeError, OSError):
        return f"{cls.__module__}.{cls.__qualname__}"
    return f"plugin {path} line {line}"


def _origin(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


def get_method(name: str) -> type[Method]:
    """The method class registered as ``name``; unknown names raise :class:`ConfigError`. A built-in name
    imports only its module."""
    if name in BUILTIN_METHODS and name not in _REGISTRY:
        importlib.import_module(BUILTIN_METHODS[name])
    if name not in _REGISTRY:
        _load_builtin_methods()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}; known methods: {', '.join(sorted(_REGISTRY))}") from None


def available_methods() -> dict[str, type[Method]]:
    _load_builtin_methods()
    return dict(sorted(_REGISTRY.items()))


def _load_builtin_methods() -> None:
    """Import every built-in method module and the installed packages' entry points."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    load_entry_points()
