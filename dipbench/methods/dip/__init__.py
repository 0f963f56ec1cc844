"""Deep Image Prior: the registered methods (:mod:`.method`), the optimisation loop (:mod:`.loop`), the
paper's skip network (:mod:`.network`), K runs fused into one grouped network (:mod:`.fused`) and ES-WMV
early stopping (:mod:`.early_stopping`)."""

from .fused import fuse_networks
from .loop import DIPOutOfMemoryError, DIPProblem, fit, fit_runs
from .method import DIP, DIPEarlyStopping, fit_fused, paper_settings
from .network import SkipNet

__all__ = ["DIP", "DIPEarlyStopping", "DIPOutOfMemoryError", "DIPProblem", "SkipNet", "fit", "fit_fused",
           "fit_runs", "fuse_networks", "paper_settings"]
