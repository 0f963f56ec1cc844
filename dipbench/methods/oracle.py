"""Oracle bookkeeping of iterative fits: PSNR against the ground truth, which no method may use to decide
anything, computed on the device (no host sync) and summarised after the fit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F


def psnr_tensor(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR (dB, peak 1) of two same-shape tensors, as a 0-d tensor on their device."""
    return -10.0 * torch.log10(F.mse_loss(a.float(), b.float()))


def oracle_summary(curve: pd.DataFrame, column: str, output_psnr: float | None, steps_run: int) -> dict[str, Any]:
    """The returned image's PSNR, the peak of ``column`` over the steps where the curve has one and the
    returned image itself (counted at ``steps_run``), and the gap to it (dB); None where there is no ground
    truth. ``stop_step`` is ``steps_run`` (early stopping overrides it)."""
    summary: dict[str, Any] = {"stop_step": steps_run, "output_psnr": output_psnr, "oracle_peak_psnr": None,
                               "oracle_peak_step": None, "oracle_gap_db": None}
    if output_psnr is None:
        return summary
    values = curve[column].to_numpy(dtype=np.float64) if column in curve else np.array([])
    peak, peak_step = output_psnr, steps_run
    if np.isfinite(values).any():
        best = int(np.nanargmax(values))
        if values[best] >= output_psnr:
            peak, peak_step = float(values[best]), int(curve["step"].iloc[best])
    summary.update(oracle_peak_psnr=peak, oracle_peak_step=peak_step, oracle_gap_db=peak - output_psnr)
    return summary
