"""Restoration methods behind one registry; see :mod:`dipbench.methods.base`."""

from .base import (
    Method,
    Restoration,
    RunContext,
    available_methods,
    get_method,
    register,
    require,
    resolve_device,
)

# Modules imported on first registry access, cheapest first; each registers its methods with @register.
BUILTIN_MODULES = ("published", "classic", "dip")

__all__ = [
    "Method",
    "Restoration",
    "RunContext",
    "available_methods",
    "get_method",
    "register",
    "require",
    "resolve_device",
]
