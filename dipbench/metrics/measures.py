"""The measures the protocols and metrics are built from: PSNR and SSIM of two arrays (numpy and
scikit-image)."""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity

from ..errors import ImageError

#: The side of SSIM's Gaussian window (sigma 1.5, truncated at 3.5 sigma): the smallest region it can score.
SSIM_MIN_SIDE = 11
def psnr(reference: np.ndarray, estimate: np.ndarray, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(peak^2 / MSE), MSE over all elements; inf if equal."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ImageError(f"shapes differ: {reference.shape} vs {estimate.shape}")
    if reference.size == 0:
        raise ImageError("nothing to score: the protocol's crop leaves no pixels of this image")
    mse = float(np.mean((reference - estimate) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def ssim(reference: np.ndarray, estimate: np.ndarray, data_range: float) -> float:
    """SSIM with an 11x11 Gaussian window (sigma 1.5), population covariance; (H, W) or (H, W, C) mean."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if min(reference.shape[:2]) < SSIM_MIN_SIDE:
        raise ImageError(f"an image region of {reference.shape[1]}x{reference.shape[0]} px is too small for "
                         f"SSIM (its window needs {SSIM_MIN_SIDE} px per side after the protocol's crop)")
    kwargs = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range)
    if reference.ndim == 3:
        return float(np.mean([structural_similarity(reference[..., c], estimate[..., c], **kwargs)
                              for c in range(reference.shape[2])]))
    return float(structural_similarity(reference, estimate, **kwargs))
