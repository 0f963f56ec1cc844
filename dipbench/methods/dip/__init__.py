"""Deep Image Prior: the registered methods (:mod:`.method`), its per-experiment settings (:mod:`.settings`),
the optimisation loop (:mod:`.loop`), the paper's skip network (:mod:`.network`), K runs fused into one
grouped network (:mod:`.fused`) and ES-WMV early stopping (:mod:`.early_stopping`).

The names below load on first use, so that importing a torch-free submodule (:mod:`.settings`, which a
plugin task imports to register its DIP settings, or :mod:`.environment`) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DIP": ".method", "DIPEarlyStopping": ".method", "fit_fused": ".method",
    "DIPOutOfMemoryError": ".loop", "DIPProblem": ".problem", "fit": ".loop", "fit_runs": ".loop",
    "fuse_networks": ".fused", "SkipNet": ".network",
    "paper_settings": ".settings", "register_dip_settings": ".settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
