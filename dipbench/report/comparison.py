"""Tables that compare methods image by image: each method against the experiment's reference
(:func:`versus_reference_table`, the statistics of :mod:`.stats`) and every method on every image with its
seed spread (:func:`per_image_table`).

Both average a method over its seeds per image first, so the image is the unit: a deterministic method's
one run per image counts once, and n is the number of images.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..metrics import metric_facts
from .naming import row_names
from .stats import (ALPHA, per_image_means, seed_spread, seeds_per_image, smallest_p, underfitted_reference_note,
                    versus_reference)
from .tables import AVG, DELTA, Table, _best_mask, _row_order, _subset, no_reference_images, task_text


def _scored(df: pd.DataFrame, experiment: str, dataset: str, metric: str) -> pd.DataFrame:
    """The runs of one (experiment, dataset) that have a value of ``metric``, with their row name in ``_row``."""
    sub = _subset(df, experiment, dataset)
    if sub.empty or metric not in sub.columns:
        return sub.iloc[0:0]
    sub = sub[sub[metric].notna()]  # no-reference runs (no ground truth) have no value to pair
    return sub.assign(_row=row_names(sub).values)


def _p_text(p: float, least: float) -> str:
    if not np.isfinite(p):
        return f"n too small (≥ {least:.3g})" if least >= ALPHA else "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def versus_reference_table(df: pd.DataFrame, experiment: str, dataset: str, reference: str, metric: str = "psnr",
                           order: Sequence[str] | None = None) -> Table | None:
    """Each method against ``reference`` over the images both ran (:func:`.stats.versus_reference`):
    n images, wins / ties / losses per image, mean Δ with its 95% confidence interval, the Wilcoxon
    signed-rank p-value (or "n too small" where the exact test cannot reach p < 0.05), Holm's adjusted p
    across the table's rows (``*``: below 0.05 after the correction) and the method's seed spread.
    None where the reference or any other method is missing."""
    sub = _scored(df, experiment, dataset, metric)
    if sub.empty or reference not in set(sub["_row"]) or sub["_row"].nunique() < 2:
        return None
    facts = metric_facts(metric)
    summary = versus_reference(sub, reference, metric, facts.decimals, facts.higher_is_better, row="_row")
    rows = [r for r in _row_order(sub, order) if r in summary.index]
    summary = summary.reindex(rows)
    d = facts.decimals
    values = pd.DataFrame({"Images": summary["images"], "Wins": summary["wins"], "Ties": summary["ties"],
                           "Losses": summary["losses"], f"Mean {DELTA}": summary["mean_delta"],
                           "Seed spread": summary["seed_spread"]}, index=rows)
    text = pd.DataFrame({
        "95% CI": [f"[{lo:+.{d}f}, {hi:+.{d}f}]" if np.isfinite(lo) else "–"
                   for lo, hi in zip(summary["ci_low"], summary["ci_high"])],
        "p (Wilcoxon)": [_p_text(p, least) for p, least in zip(summary["p"], summary["smallest_p"])],
        "p (Holm)": ["–" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}") + (" *" if sig else "")
                     for p, sig in zip(summary["p_holm"], summary["significant"])],
    }, index=rows)
    values = values[["Images", "Wins", "Ties", "Losses", f"Mean {DELTA}"]].join(text.map(lambda _: np.nan)) \
        .join(values[["Seed spread"]])
    unit = f" ({facts.unit})" if facts.unit else ""
    tested = int(summary["p"].notna().sum())
    reference_spread = seed_spread(sub, metric, "_row").get(reference, np.nan)
    notes = [
        f"The unit is the image: each method is averaged over its seeds per image, then paired with {reference} "
        f"by image (Images = n). Wins / ties / losses: images where the method is better than, equal to at {d} "
        f"decimals, or worse than {reference}. Mean {DELTA} = method − {reference} over the images, with its 95% "
        "confidence interval (Student's t over the images).",
        "p: two-sided exact Wilcoxon signed-rank test over the images (zero differences dropped). With n images it "
        f"cannot give p below 2/2^n ({smallest_p(3):.2f} for 3 images): p < {ALPHA:g} needs at least 6 images with "
        "a non-zero difference, and where it cannot be reached no p is shown (n too small). "
        f"p (Holm): adjusted for the {tested} tested row{'s' if tested != 1 else ''} of this table; "
        f"*: below {ALPHA:g} after the correction.",
        "Seed spread: the mean over images of the per-image standard deviation over seeds"
        + (f" ({reference}: {reference_spread:.{d}f})" if np.isfinite(reference_spread) else "")
        + "; – where a method has one run per image (deterministic, or one seed).",
    ]
    warning = underfitted_reference_note(sub, reference, metric)
    if warning:
        notes.insert(0, warning)
    return Table(
        values=values, text=text,
        decimals={"Images": 0, "Wins": 0, "Ties": 0, "Losses": 0, f"Mean {DELTA}": d, "Seed spread": d},
        signed={f"Mean {DELTA}"},
        caption=(f"{task_text(str(sub['task'].iloc[0]), sub)} ({experiment}) on {dataset}: {facts.label}{unit} of "
                 f"each method versus {reference}, paired by image."),
        notes=notes,
    )


def per_image_table(df: pd.DataFrame, experiment: str, dataset: str, metric: str = "psnr",
                    order: Sequence[str] | None = None) -> Table | None:
    """Every method (rows) on every image (columns): the mean over its seeds ± their standard deviation
    (just the mean where it has one run on that image), and "Avg.": the mean over images ± the seed spread
    (mean over images of the per-image standard deviation). Best mean of each column in bold. None when
    nothing of ``experiment`` on ``dataset`` has a value of ``metric``."""
    sub = _scored(df, experiment, dataset, metric)
    unscored = no_reference_images(sub)
    sub = sub[~sub["image"].astype(str).isin(unscored)]
    if sub.empty:
        return None
    facts = metric_facts(metric)
    d = facts.decimals
    rows = _row_order(sub, order)
    images = sorted(set(sub["image"].astype(str)))
    means = per_image_means(sub.assign(image=sub["image"].astype(str)), metric, "_row").T.reindex(index=rows,
                                                                                                 columns=images)
    stds = sub.assign(image=sub["image"].astype(str)).groupby(["_row", "image"])[metric].std(ddof=1) \
        .unstack("image").reindex(index=rows, columns=images)
    values = means.astype(float).copy()
    values[AVG] = values[images].mean(axis=1, skipna=True)
    spread = seed_spread(sub, metric, "_row").reindex(rows)

    def cell(mean: float, std: float) -> str | float:
        if not np.isfinite(mean):
            return np.nan
        return f"{mean:.{d}f} ± {std:.{d}f}" if np.isfinite(std) else f"{mean:.{d}f}"

    text = pd.DataFrame({image: [cell(m, s) for m, s in zip(means[image], stds[image])] for image in images},
                        index=rows)
    text[AVG] = [cell(m, s) for m, s in zip(values[AVG], spread)]
    bold = _best_mask(values, [*images, AVG], d, facts.higher_is_better)
    seeds = seeds_per_image(sub, "_row").reindex(rows)
    unit = f" ({facts.unit})" if facts.unit else ""
    once = [r for r in rows if seeds[r] <= 1]
    notes = [f"Each cell: the mean over a method's seeds on that image ± their standard deviation"
             + (f"; a single number where the method ran once per image ({', '.join(once)})" if once else "")
             + f". {AVG}: the mean over images ± the mean over images of the per-image standard deviation. Best "
             "mean of each column in bold."]
    if unscored:
        notes.append(f"No ground truth, so no {facts.label}: {', '.join(unscored)} (not in the table).")
    return Table(
        values=values, text=text, bold=bold, decimals={c: d for c in values.columns},
        caption=(f"{task_text(str(sub['task'].iloc[0]), sub)} ({experiment}) on {dataset}: {facts.label}{unit} per "
                 f"image, mean ± standard deviation over seeds."),
        notes=notes,
    )
