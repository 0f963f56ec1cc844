"""Paired comparisons against a reference method, with the image as the unit of replication.

A method's runs on one image with different seeds are draws of one quantity; the runs of two methods with
the same seed number are unrelated draws (every run's seed is derived from its own identity). So a
comparison first averages each method over its seeds per image (a deterministic method has one run per
image and is never counted more than once), then pairs the two methods by image:

- ``images`` (n): the images both methods have; wins / ties / losses per image (a tie is a difference that
  rounds to zero at the table's decimals);
- the mean difference over images with its 95% confidence interval (Student's t over the n differences);
- the two-sided Wilcoxon signed-rank p-value over the n differences (scipy, exact for n <= 50; zero
  differences dropped, as Wilcoxon did). With n non-zero differences the exact test cannot give a p below
  ``2 / 2**n`` (:func:`smallest_p`): 0.25 for 3 images, so it can reach p < 0.05 only from 6 images on.
  Where it cannot, the comparison is *untestable* and no p is reported;
- Holm's step-down correction across the tested rows of one table (:func:`holm`), and whether the
  corrected p is below ``alpha``;
- the seed spread of each method, reported beside the comparison rather than mixed into it: the mean over
  images of the per-image standard deviation over seeds (NaN for one run per image).

DIP's PSNR moves by 1-2 dB between seeds, so a difference is only worth reporting with its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics import metric_facts

ALPHA = 0.05


@dataclass(frozen=True)
class Paired:
    """A method against the reference over ``images`` paired images; ``mean_delta`` = method - reference
    (metric units, each side averaged over its seeds per image), ``ci`` its 95% interval, ``p`` the Wilcoxon
    signed-rank p-value (NaN where it is undefined or untestable), ``smallest_p`` the least p the exact test
    can give for this many non-zero differences."""

    images: int
    wins: int
    ties: int
    losses: int
    mean_delta: float
    ci: tuple[float, float]
    p: float
    smallest_p: float

    @property
    def testable(self) -> bool:
        """Whether the test could reach p < :data:`ALPHA` with these images at all."""
        return self.smallest_p < ALPHA


def smallest_p(n: int) -> float:
    """The least two-sided p-value of the exact Wilcoxon signed-rank test with ``n`` non-zero differences:
    every difference of one sign, ``2 / 2**n`` (1 for n = 0)."""
    return 1.0 if n <= 0 else min(1.0, 2.0 ** (1 - n))


def paired(deltas: np.ndarray, tie: float, higher_is_better: bool = True) -> Paired:
    """Summarise per-image differences (method - reference, one value per image); ``tie``: a |difference|
    below it is a tie."""
    deltas = np.asarray(deltas, dtype=np.float64)
    deltas = deltas[np.isfinite(deltas)]
    n = int(deltas.size)
    if n == 0:
        return Paired(0, 0, 0, 0, math.nan, (math.nan, math.nan), math.nan, 1.0)
    signed = deltas if higher_is_better else -deltas
    wins, losses = int((signed >= tie).sum()), int((signed <= -tie).sum())
    mean = float(deltas.mean())
    if n >= 2:
        half = float(stats.t.ppf(0.975, n - 1) * deltas.std(ddof=1) / math.sqrt(n))
        ci = (mean - half, mean + half)
    else:
        ci = (math.nan, math.nan)
    nonzero = int(np.count_nonzero(deltas))
    least = smallest_p(nonzero)
    p = math.nan
    if least < ALPHA:
        method = "exact" if nonzero <= 50 else "auto"
        p = float(stats.wilcoxon(deltas, zero_method="wilcox", alternative="two-sided", method=method).pvalue)
    return Paired(n, wins, n - wins - losses, losses, mean, ci, p, least)


def holm(pvalues: pd.Series) -> pd.Series:
    """Holm's step-down adjusted p-values of one family of tests (NaN entries are not part of it and stay
    NaN): the k-th smallest of m p-values is multiplied by m - k + 1, then made monotone and capped at 1."""
    finite = pvalues.dropna().sort_values()
    m = len(finite)
    adjusted = pd.Series(np.nan, index=pvalues.index, dtype=float)
    running = 0.0
    for k, (key, p) in enumerate(finite.items()):
        running = max(running, min(1.0, (m - k) * float(p)))
        adjusted[key] = running
    return adjusted


def per_image_means(runs: pd.DataFrame, metric: str = "psnr", row: str = "label") -> pd.DataFrame:
    """(image x row) the mean of ``metric`` over each row's seeds on each image."""
    return runs.pivot_table(index="image", columns=row, values=metric, aggfunc="mean")


def seed_spread(runs: pd.DataFrame, metric: str = "psnr", row: str = "label") -> pd.Series:
    """Per row: the mean over images of the per-image standard deviation over seeds (ddof 1; images with
    one run do not count; NaN for a row with one run per image, e.g. a deterministic method)."""
    per_image = runs.groupby([row, "image"], sort=False)[metric].std(ddof=1)
    return per_image.groupby(level=0, sort=False).mean()


def seeds_per_image(runs: pd.DataFrame, row: str = "label") -> pd.Series:
    """Per row: the largest number of runs (seeds) it has on one image."""
    return runs.groupby([row, "image"], sort=False).size().groupby(level=0, sort=False).max()


VERSUS_COLUMNS = ["images", "wins", "ties", "losses", "mean_delta", "ci_low", "ci_high", "p", "smallest_p",
                  "p_holm", "significant", "seed_spread", "seeds"]


def versus_reference(runs: pd.DataFrame, reference: str, metric: str = "psnr", decimals: int = 2,
                     higher_is_better: bool = True, row: str = "label") -> pd.DataFrame:
    """One row per method other than ``reference``: the :class:`Paired` summary over the images it shares
    with the reference (each side averaged over its seeds per image), Holm's correction across the rows,
    and the method's seed spread. ``runs``: one row per run with ``image``, ``row`` and ``metric`` columns.

    Returns columns :data:`VERSUS_COLUMNS`: images, wins, ties, losses, mean_delta, ci_low, ci_high, p (NaN
    where untestable), smallest_p, p_holm, significant (p_holm < :data:`ALPHA`), seed_spread (the method's)
    and seeds (the most runs the method has on one image).
    """
    values = per_image_means(runs, metric, row)
    if reference not in values.columns:
        raise ValueError(f"reference {reference!r} has no runs")
    spread, seeds = seed_spread(runs, metric, row), seeds_per_image(runs, row)
    tie = 0.5 * 10.0 ** (-decimals)
    rows = {}
    for method in values.columns:
        if method == reference:
            continue
        both = values[[method, reference]].dropna()
        result = paired((both[method] - both[reference]).to_numpy(), tie, higher_is_better)
        rows[method] = {"images": result.images, "wins": result.wins, "ties": result.ties,
                        "losses": result.losses, "mean_delta": result.mean_delta, "ci_low": result.ci[0],
                        "ci_high": result.ci[1], "p": result.p, "smallest_p": result.smallest_p,
                        "seed_spread": float(spread.get(method, math.nan)), "seeds": int(seeds.get(method, 0))}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=[c for c in VERSUS_COLUMNS
                                                                 if c not in ("p_holm", "significant")])
    out["p_holm"] = holm(out["p"]) if not out.empty else pd.Series(dtype=float)
    out["significant"] = out["p_holm"] < ALPHA
    return out[VERSUS_COLUMNS]


def underfitted_reference_note(sub: pd.DataFrame, reference: str, metric: str = "psnr") -> str | None:
    """A warning when ``reference``'s mean over images is worse than the degraded input's (rows of method
    ``input``) on the images both have: its differences then measure its under-fitting, not the other
    methods. ``sub``: runs with a ``_row`` column. None when the reference is not below the input."""
    if "method" not in sub.columns or reference not in set(sub["_row"]):
        return None
    facts = metric_facts(metric)
    inputs = sorted(set(sub.loc[sub["method"].astype(str) == "input", "_row"]))
    values = per_image_means(sub, metric, "_row")
    for row in inputs:
        both = values[[reference, row]].dropna()
        if both.empty:
            continue
        ref, degraded = float(both[reference].mean()), float(both[row].mean())
        worse = ref < degraded if facts.higher_is_better else ref > degraded
        if worse:
            unit = f" {facts.unit}" if facts.unit else ""
            return (f"Warning: the reference {reference} ({ref:.{facts.decimals}f}{unit}) scores below the degraded "
                    f"input {row} ({degraded:.{facts.decimals}f}{unit}) on these images: it is under-fitted (too few "
                    "steps?), so differences against it say little about the other methods.")
    return None
