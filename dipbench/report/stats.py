"""Paired comparisons against a reference method: is a difference more than seed noise?

Every method is compared with the experiment's reference (default ``dip``) over the (image, seed) pairs
both have: wins, ties and losses (a tie is a difference that rounds to zero at the table's decimals),
the mean difference with a 95% confidence interval (Student's t over the pairs), and the two-sided
Wilcoxon signed-rank p-value (scipy; exact for small samples, zero differences dropped as Wilcoxon did).
DIP's PSNR moves by 1-2 dB between seeds, so a difference is only worth reporting with its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Paired:
    """A method against the reference over ``pairs`` (image, seed) pairs; ``mean_delta`` = method -
    reference (metric units), ``ci`` its 95% interval, ``p`` the Wilcoxon signed-rank p-value (NaN where
    it is undefined: fewer than two pairs, or no non-zero difference)."""

    pairs: int
    wins: int
    ties: int
    losses: int
    mean_delta: float
    ci: tuple[float, float]
    p: float


def paired(deltas: np.ndarray, tie: float, higher_is_better: bool = True) -> Paired:
    """Summarise differences (method - reference) of paired runs; ``tie``: |difference| below it is a tie."""
    deltas = np.asarray(deltas, dtype=np.float64)
    deltas = deltas[np.isfinite(deltas)]
    n = int(deltas.size)
    if n == 0:
        return Paired(0, 0, 0, 0, math.nan, (math.nan, math.nan), math.nan)
    signed = deltas if higher_is_better else -deltas
    wins, losses = int((signed >= tie).sum()), int((signed <= -tie).sum())
    mean = float(deltas.mean())
    if n >= 2:
        half = float(stats.t.ppf(0.975, n - 1) * deltas.std(ddof=1) / math.sqrt(n))
        ci = (mean - half, mean + half)
    else:
        ci = (math.nan, math.nan)
    p = math.nan
    if n >= 2 and np.any(deltas != 0):
        p = float(stats.wilcoxon(deltas, zero_method="wilcox", alternative="two-sided").pvalue)
    return Paired(n, wins, n - wins - losses, losses, mean, ci, p)


def versus_reference(runs: pd.DataFrame, reference: str, metric: str = "psnr", decimals: int = 2,
                     higher_is_better: bool = True, row: str = "label") -> pd.DataFrame:
    """One row per method other than ``reference``: the :class:`Paired` summary over the (image, seed)
    pairs it shares with the reference. ``runs``: one row per run with ``image``, ``seed``, ``row`` and
    ``metric`` columns. Returns columns pairs, wins, ties, losses, mean_delta, ci_low, ci_high, p."""
    values = runs.pivot_table(index=["image", "seed"], columns=row, values=metric, aggfunc="mean")
    if reference not in values.columns:
        raise ValueError(f"reference {reference!r} has no runs")
    tie = 0.5 * 10.0 ** (-decimals)
    rows = {}
    for method in values.columns:
        if method == reference:
            continue
        both = values[[method, reference]].dropna()
        result = paired((both[method] - both[reference]).to_numpy(), tie, higher_is_better)
        rows[method] = {"pairs": result.pairs, "wins": result.wins, "ties": result.ties, "losses": result.losses,
                        "mean_delta": result.mean_delta, "ci_low": result.ci[0], "ci_high": result.ci[1],
                        "p": result.p}
    return pd.DataFrame.from_dict(rows, orient="index")
