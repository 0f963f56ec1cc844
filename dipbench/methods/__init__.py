"""Restoration methods behind one registry.

:mod:`.base` is the interface (:class:`Method`, :class:`Restoration`, :class:`RunContext`), :mod:`.registry`
the registry, :mod:`.device` and :mod:`.precision` the torch device and precision switches. Method
families: :mod:`.classic` (CBM3D/BM3D, NLM, TV, no prior, bicubic, the input itself), :mod:`.published`
(the DIP authors' result images), :mod:`.dip` (Deep Image Prior: method, loop, network, fused runs, early
stopping).
"""

from .base import Method, Restoration, RunContext, require
from .device import resolve_device
from .registry import available_methods, get_method, register

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
