"""PSNR over the missing pixels: how well an inpainting method filled what the input lacks.

The full-image PSNR of inpainting mixes the known pixels, which every method keeps or nearly keeps, with
the holes; at demo scale and in the library experiment (large holes) only the holes told methods apart.
``psnr_missing`` is the PSNR (dB, peak 1, all channels, float images) over the pixels whose mask is zero,
for every result whose observation has a mask; the same value under every protocol (it has no crop,
channel or rounding choice to make)."""

from __future__ import annotations

import numpy as np

from .facts import MetricFacts
from .measures import psnr
from .registry import Metric, Scored, register_metric


def psnr_missing(scored: Scored) -> float | None:
    """PSNR (dB) of ``scored.pred`` against the ground truth over the missing pixels of the target box;
    None without a mask or without a missing pixel."""
    if scored.mask is None or scored.upscales:
        return None
    missing = scored.target.slice(np.asarray(scored.mask))[..., 0] == 0  # (h, w)
    if not missing.any():
        return None
    gt = scored.target.slice(np.asarray(scored.gt, dtype=np.float64))
    return psnr(gt[missing], np.asarray(scored.pred, dtype=np.float64)[missing], 1.0)


PSNR_MISSING = register_metric(Metric("psnr_missing", MetricFacts("PSNR (missing)", "dB", 2, True), psnr_missing))
