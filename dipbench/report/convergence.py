"""The convergence figure: every iterative method of an experiment on one axis, oracle PSNR against step
(left) and against wall-clock seconds (right).

Averaging: each run's curve is one line; a run that stopped before the method's last step (early
stopping) holds its last value from then on, so the mean does not jump where runs leave it. Per step,
the runs of a seed are averaged over images, then the seeds' means are averaged (band: ± 1 standard
deviation over seeds). A method whose budget is far longer than the reference's (ZS-N2N's 2000 steps
against DIP's 600) would squeeze the others into a corner: the step axis then ends at the reference's
budget and that method's legend entry says where it was cut. The dashed line is the reference row's
"Avg." in the experiment's PSNR table (the scored output), so the figure and the table agree. Its inputs
(:func:`oracle_curves`, :func:`table_mean`), title and caption are here too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .curve_figures import ORACLE_PSNR_LABEL, _has, read_curve
from .figure_style import (
    PAGE_WIDTH,
    TITLE_PT,
    _legend_columns,
    _new_figure,
    _palette,
    _styled,
    _wrap,
    save_figure,
)

#: A method running this many times the reference's steps gets the step axis cut at the reference's budget.
CUT_FACTOR = 1.5


def _values(run: pd.DataFrame) -> pd.DataFrame:
    """One run's logged oracle PSNR (``value``; its EMA where the run returns the EMA) and ``time_s`` by step."""
    column = "psnr_ema" if _has(run, "psnr_ema") and run.attrs.get("output") == "ema" else "psnr"
    if not _has(run, column):
        return pd.DataFrame(columns=["value", "time_s"])
    part = run[["step", column] + (["time_s"] if _has(run, "time_s") else [])].dropna(subset=[column])
    return part.rename(columns={column: "value"}).set_index("step")


def mean_curve(runs: Sequence[pd.DataFrame]) -> tuple[pd.Series, pd.Series]:
    """(mean, spread) over seeds by step of ``runs`` (each a run's curve, seed in ``attrs``): a run holds
    its last value after its last step; per seed the mean over its runs (images), then the mean and
    standard deviation (ddof 1; 0 for one seed) over seeds."""
    values = {i: _values(run)["value"] for i, run in enumerate(runs)}
    values = {i: v for i, v in values.items() if not v.empty}
    if not values:
        empty = pd.Series(dtype=float)
        return empty, empty
    # each run holds its latest value: between its logged steps and after it stopped, never before it started
    table = pd.DataFrame(values).sort_index().ffill()
    seeds = pd.Series({i: runs[i].attrs.get("seed", 0) for i in table.columns})
    per_seed = table.T.groupby(seeds).mean().T
    return per_seed.mean(axis=1), per_seed.std(axis=1, ddof=1).fillna(0.0)


def _timed(runs: Sequence[pd.DataFrame]) -> pd.DataFrame | None:
    """Mean ``time_s`` and ``value`` by step over the runs, up to the last step every run reached."""
    frames = [_values(run).dropna(subset=["time_s"]) for run in runs if _has(run, "time_s")]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return None
    common = min(f.index.max() for f in frames)
    data = pd.concat([f[f.index <= common] for f in frames])
    return data.groupby(level=0)[["time_s", "value"]].mean()


@_styled
def convergence_figure(curves: Mapping[str, Sequence[pd.DataFrame]], title: str, reference: str | None = None,
                       reference_final: float | None = None) -> Figure:
    """The figure (module docstring). ``curves``: per method, one curve per run (columns ``step``,
    ``psnr`` or ``psnr_ema``, ``time_s`` where recorded; ``attrs``: ``seed``, ``output``);
    ``reference_final``: the reference row's table value (dB), drawn dashed."""
    fig = _new_figure(PAGE_WIDTH, 2.6)
    by_step, by_time = fig.subplots(1, 2)
    colors = dict(zip(curves, _palette(len(curves))))
    budgets = {method: max((_values(r).index.max() for r in runs if not _values(r).empty), default=0)
               for method, runs in curves.items()}
    budget = budgets.get(reference) or 0
    cut = budget > 0 and any(b > CUT_FACTOR * budget for b in budgets.values())
    for method, runs in curves.items():
        mean, spread = mean_curve(runs)
        if mean.empty:
            continue
        label = f"{method} ({budgets[method]} steps, cut at {budget})" if cut and budgets[method] > budget else method
        style_kw = {"color": colors[method], "linewidth": 1.6 if method == reference else 1.0}
        by_step.plot(mean.index, mean.values, label=label, **style_kw)
        by_step.fill_between(mean.index, mean - spread, mean + spread, color=colors[method], alpha=0.15, linewidth=0)
        timed = _timed(runs)
        if timed is not None:
            by_time.plot(timed["time_s"], timed["value"], **style_kw)
    if cut:
        by_step.set_xlim(0, budget * 1.02)
    for ax in (by_step, by_time):
        if reference_final is not None:
            ax.axhline(reference_final, color="black", linestyle="--", linewidth=0.8)
        ax.set_ylabel(ORACLE_PSNR_LABEL)
        ax.grid(True, alpha=0.3)
    by_step.set_xlabel("step" + (f" (cut at {reference}'s {budget})" if cut else ""))
    by_time.set_xlabel("wall-clock seconds of the fit")
    handles, labels = by_step.get_legend_handles_labels()
    if reference_final is not None:
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=0.8))
        labels.append(f"{reference}: table Avg. {reference_final:.2f} dB")
    ncol, _ = _legend_columns(labels, PAGE_WIDTH)
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)
    fig.suptitle(_wrap(title, PAGE_WIDTH, TITLE_PT))
    return fig


def convergence_plot(curves: Mapping[str, Sequence[pd.DataFrame]], path: str | os.PathLike, title: str,
                     reference: str | None = None, reference_final: float | None = None) -> list[Path]:
    """:func:`convergence_figure`, saved as PNG and PDF."""
    return save_figure(convergence_figure(curves, title, reference, reference_final), path)


def oracle_curves(records: pd.DataFrame, results: Path) -> dict[str, list[pd.DataFrame]]:
    """Each label's learning curves with oracle PSNRs (one per run; ``curve`` paths relative to
    ``results``), tagged with the run's seed and its ``output`` parameter (``attrs``)."""
    curves: dict[str, list[pd.DataFrame]] = {}
    for label, rows in records.groupby("label", sort=False):
        for row in rows.itertuples(index=False):
            curve = read_curve(results / row.curve)
            if "psnr" not in curve.columns or curve["psnr"].notna().sum() < 2:
                continue
            curve.attrs.update(seed=int(row.seed), output=getattr(row, "param_output", None))
            curves.setdefault(str(label), []).append(curve)
    return curves


def table_mean(sub: pd.DataFrame, label: str) -> float | None:
    """``label``'s "Avg." in the PSNR table: the mean over images of each image's mean PSNR over seeds."""
    psnr = sub.loc[sub["label"] == label].groupby("image")["psnr"].mean().dropna()
    return float(psnr.mean()) if not psnr.empty else None


def convergence_title(experiment: str, dataset: str, runs: pd.DataFrame) -> str:
    """Names what the convergence figure averages: the images (up to four by name) and the seeds."""
    images = sorted(runs["image"].astype(str).unique())
    named = ", ".join(images) if len(images) <= 4 else f"{len(images)} images"
    seeds = runs["seed"].nunique()
    return (f"{experiment} on {dataset}: convergence, mean over {len(images)} image{'s' * (len(images) != 1)} "
            f"({named}) and {seeds} seed{'s' * (seeds != 1)}")


def convergence_caption(experiment: str, dataset: str, reference: str | None = None,
                        reference_final: float | None = None) -> str:
    """The caption of :func:`convergence_plot` (figures index, HTML report); ``reference_final`` as there."""
    return (f"{experiment} on {dataset}: mean oracle PSNR over images of every iterative method against step "
            "(left) and wall-clock seconds of the fit (right, up to the step every run reached); bands: ± 1 "
            "standard deviation over seeds; a run that stopped early (early stopping) holds its last value; "
            f"a method with more than {CUT_FACTOR:g} times the reference's steps is cut at the reference's budget"
            + (f"; dashed: {reference}'s Avg. in the PSNR table (its scored output)." if reference_final is not None
               else "."))
