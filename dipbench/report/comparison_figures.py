"""Comparison of methods: the per-image comparison of one experiment on one dataset
(:func:`comparison_plot`) and the summary of a whole configuration (:func:`summary_plot`), both with the
paper's reported means where the records cover a whole dataset, and their captions (:func:`comparison_caption`,
:func:`summary_caption`). Style and saving: :mod:`.figure_style`."""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from ..metrics import metric_facts
from ..tasks import task_title
from .figure_style import (
    COLUMN_WIDTH,
    FONT_PT,
    PAGE_WIDTH,
    TITLE_PT,
    _legend_columns,
    _lines,
    _new_figure,
    _palette,
    _styled,
    _wrap,
    save_figure,
)
from .naming import row_names, seeds_text
from .reported import reported_for_record

#: Colour of the paper's reported values.
PAPER_COLOR = "crimson"
#: Colour that highlights the reference method in the summary.
REFERENCE_COLOR = "#1f77b4"

# --------------------------------------------------------------------------------------------------------------
# shared pieces


def _complete_dataset(dataset: str, images: Iterable[str]) -> bool:
    """False where ``images`` are only part of a registered dataset: the paper's mean is over all of them."""
    from .tables import covers_part_of_dataset

    return not covers_part_of_dataset(dataset, images)


def _paper_values(sub: pd.DataFrame, rows: Sequence[str], metric: str) -> dict[str, float]:
    """{row: the paper's reported mean} for rows of one (experiment, dataset) whose method the paper reports
    (only when the records cover the whole dataset: a subset's mean is not comparable)."""
    if sub.empty or not _complete_dataset(str(sub["dataset"].iloc[0]), sub["image"].astype(str).unique()):
        return {}
    out = {}
    for row in rows:
        records = sub[sub["_row"] == row]
        if records.empty:
            continue
        entry = reported_for_record(records.iloc[0].to_dict(), metric=metric)
        if entry is not None and entry.paper is not None:
            out[row] = float(entry.paper)
    return out


def _protocols(sub: pd.DataFrame) -> list[str]:
    return sorted(set(sub["protocol"].dropna().astype(str))) if "protocol" in sub.columns else []


# --------------------------------------------------------------------------------------------------------------
# comparison of methods


@_styled
def comparison_figure(
    df: pd.DataFrame,
    experiment: str,
    dataset: str,
    metric: str = "psnr",
    *,
    labels: Sequence[str] | None = None,
    show_reported: bool = True,
) -> Figure:
    """The figure of :func:`comparison_plot` (column width), not saved."""
    facts = metric_facts(metric)
    sub = df[(df["experiment"] == experiment) & (df["dataset"] == dataset)]
    if labels is not None:
        sub = sub[sub["label"].isin(labels)]
    sub = sub[sub[metric].notna()] if metric in sub.columns else sub.iloc[0:0]
    if sub.empty:
        raise ValueError(f"no {metric} values for experiment {experiment!r} on dataset {dataset!r}")
    sub = sub.assign(_row=row_names(sub).values)
    per_image = sub.groupby(["_row", "image"], sort=False)[metric].mean().reset_index()
    means = per_image.groupby("_row", sort=False)[metric].mean()
    order = list(means.sort_values(ascending=not facts.higher_is_better, kind="mergesort").index)
    images = sorted(set(sub["image"].astype(str)))
    colors = dict(zip(images, _palette(len(images))))
    offsets = dict(zip(images, np.linspace(-0.25, 0.25, len(images)) if len(images) > 1 else [0.0]))
    multi_seed = sub["seed"].nunique() > 1
    paper = _paper_values(sub, order, metric) if show_reported else {}

    handles = [Line2D([], [], ls="", marker="o", markersize=4, color=colors[i], label=i) for i in images]
    handles.append(Line2D([], [], color="black", lw=2.0, label="mean over images"))
    if multi_seed:
        handles.append(Line2D([], [], ls="", marker="o", markersize=2.5, color="0.6", label="single seeds"))
    if paper:
        handles.append(Line2D([], [], ls="", marker="X", markersize=5, color=PAPER_COLOR, label="paper (reported)"))
    ncol, legend_rows = _legend_columns([h.get_label() for h in handles], COLUMN_WIDTH)

    task = str(sub["task"].iloc[0])
    n_seeds = int(sub["seed"].nunique())
    protocols = _protocols(sub)
    title = _wrap(f"{task_title(task)}: {experiment} on {dataset}\n"
                  f"{facts.label} per image ({seeds_text([n_seeds])})", COLUMN_WIDTH, TITLE_PT)
    xlabel = facts.axis_label + (f", protocol {', '.join(protocols)}" if protocols else "")
    tick_labels = [textwrap.fill(row, 18) for row in order]
    tick_lines = sum(_lines(t) for t in tick_labels)
    row_height = max(0.22, 0.1 + 0.028 * len(images))  # room for every image's point within a row
    height = 0.2 + 0.16 * _lines(title) + max(row_height * len(order), 0.12 * tick_lines) + 0.45 + 0.14 * legend_rows
    fig = _new_figure(COLUMN_WIDTH, height)
    ax = fig.add_subplot()
    right = blended_transform_factory(ax.transAxes, ax.transData)
    for y0, row in enumerate(order):
        runs = sub[sub["_row"] == row]
        if multi_seed:
            ax.scatter(runs[metric], [y0 + offsets[str(i)] for i in runs["image"]], s=5, color="0.6", zorder=2,
                       linewidths=0)
        for rec in per_image[per_image["_row"] == row].itertuples(index=False):
            image = str(rec.image)
            ax.scatter(getattr(rec, metric), y0 + offsets[image], s=16, color=colors[image], edgecolors="white",
                       linewidths=0.4, zorder=3)
        mean = float(means[row])
        # the mean bar sits under the points (white-edged), so a point at the mean stays visible
        ax.plot([mean, mean], [y0 - 0.38, y0 + 0.38], color="black", lw=2.0, zorder=2.5, solid_capstyle="butt")
        # the mean's value in a column of its own, right of the axes: it never covers a point
        ax.text(1.03, y0, f"{mean:.{facts.decimals}f}", transform=right, ha="left", va="center", fontsize=FONT_PT)
        if row in paper:
            ax.plot([paper[row]], [y0], ls="", marker="X", markersize=5, color=PAPER_COLOR, mec="white", mew=0.4,
                    zorder=6)
    ax.text(1.03, -0.62, "mean", transform=right, ha="left", va="center", fontsize=FONT_PT, fontweight="bold")
    ax.set_yticks(range(len(order)), tick_labels)
    ax.set_ylim(len(order) - 0.5, -0.75)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)
    for y in range(len(order) - 1):
        ax.axhline(y + 0.5, color="0.85", lw=0.5)
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol)
    fig.suptitle(title)
    return fig


def comparison_plot(
    df: pd.DataFrame,
    experiment: str,
    dataset: str,
    path: str | os.PathLike,
    metric: str = "psnr",
    *,
    labels: Sequence[str] | None = None,
    show_reported: bool = True,
    pdf: bool = True,
) -> list[Path]:
    """Per-image values (mean over seeds) of every method, one row per method, with the method's mean;
    saved as PNG and PDF (column width).

    Each image has its own colour and a fixed vertical offset within a row, so the same image can be followed
    across methods; single seeds are small grey dots; the mean over images is a black bar, its value printed
    in a column right of the plot; with ``show_reported``, the paper's reported mean is a red cross (only
    where the records cover the whole dataset). Rows are sorted by mean, best on top. Label, unit and
    decimals come from :func:`dipbench.metrics.metric_facts`.
    """
    fig = comparison_figure(df, experiment, dataset, metric, labels=labels, show_reported=show_reported)
    return save_figure(fig, path)


# --------------------------------------------------------------------------------------------------------------
# summary of a whole configuration


def comparison_caption(df: pd.DataFrame, experiment: str, dataset: str, metric: str = "psnr") -> str:
    """The caption of :func:`comparison_plot` (figures index and HTML report): what is plotted and over
    which seeds (:func:`.naming.seeds_text`)."""
    sub = df[(df["experiment"] == experiment) & (df["dataset"] == dataset)]
    sub = sub[sub[metric].notna()] if metric in sub.columns else sub.iloc[0:0]
    runs = sub.assign(_row=row_names(sub).values).groupby(["_row", "image"])["seed"].nunique()
    seeds = seeds_text(runs.tolist()) + ("; grey dots: single seeds" if sub["seed"].nunique() > 1 else "")
    return (f"{experiment} on {dataset}: {metric_facts(metric).axis_label} of every image ({seeds}), one row per "
            "method, best on top; black bar and right-hand column: the mean over images; red crosses: the paper's "
            "reported means, where shown.")


def _reference_row(rows: Sequence[str], sub: pd.DataFrame, reference: str | None) -> str:
    """The row to highlight: ``reference`` if given and present; else the label ``dip`` (any case); else the
    label of the ``dip`` method; else the first row."""
    if reference is not None and reference in rows:
        return reference
    for row in rows:
        if row.strip().lower() == "dip":
            return row
    methods = sub.drop_duplicates("_row").set_index("_row")["method"] if "method" in sub.columns else {}
    for row in rows:
        if row in methods and methods[row] == "dip":
            return row
    return rows[0]


@_styled
def summary_figure(
    df: pd.DataFrame,
    metric: str = "psnr",
    *,
    reference: str | None = None,
    show_reported: bool = True,
) -> Figure:
    """The figure of :func:`summary_plot` (page width, or column width for one panel), not saved."""
    facts = metric_facts(metric)
    if metric not in df.columns or df[metric].notna().sum() == 0:
        raise ValueError(f"no {metric} values to summarise")
    data = df[df[metric].notna()]
    pairs = list(data[["experiment", "dataset"]].drop_duplicates().itertuples(index=False, name=None))
    ncols = 1 if len(pairs) == 1 else 2
    width = COLUMN_WIDTH if ncols == 1 else PAGE_WIDTH
    nrows = math.ceil(len(pairs) / ncols)

    panels = []
    any_seeds = any_paper = False
    for experiment, dataset in pairs:
        sub = data[(data["experiment"] == experiment) & (data["dataset"] == dataset)]
        sub = sub.assign(_row=row_names(sub).values)
        image_means = sub.groupby(["_row", "image"], sort=False)[metric].mean()
        means = image_means.groupby(level=0, sort=False).mean()
        order = list(means.sort_values(ascending=not facts.higher_is_better, kind="mergesort").index)
        seed_means = sub.groupby(["_row", "seed"], sort=False)[metric].mean()
        paper = _paper_values(sub, order, metric) if show_reported else {}
        any_seeds |= bool(sub["seed"].nunique() > 1)
        any_paper |= bool(paper)
        panels.append((experiment, dataset, sub, order, means, seed_means, paper,
                       _reference_row(order, sub, reference)))

    handles = [
        Line2D([], [], ls="", marker="o", markersize=4, color="0.25", label="mean over images"),
        Line2D([], [], ls="", marker="o", markersize=4.5, color=REFERENCE_COLOR, label="reference method"),
    ]
    if any_seeds:
        handles.append(Line2D([], [], ls="", marker="o", markersize=2.5, color="0.6", label="one seed's mean"))
        handles.append(Line2D([], [], color="0.25", lw=0.8, marker="|", markersize=5, label="± 1 s.d. over seeds"))
    if any_paper:
        handles.append(Line2D([], [], ls="", marker="X", markersize=5, color=PAPER_COLOR, label="paper (reported)"))
    ncol, legend_rows = _legend_columns([h.get_label() for h in handles], width)
    protocols = _protocols(data)
    title = _wrap(
        f"Mean {facts.label} per method: mean over images of the per-image mean over seeds"
        + (f"; protocol {', '.join(protocols)}" if protocols else ""), width, TITLE_PT)

    panel_width = width / ncols
    row_heights = []
    for r in range(nrows):
        members = panels[r * ncols:(r + 1) * ncols]
        row_heights.append(max(0.19 * len(p[3]) for p in members) + 0.75)
    height = 0.15 + 0.16 * _lines(title) + sum(row_heights) + 0.14 * legend_rows + 0.1
    fig = _new_figure(width, height)
    grid = fig.add_gridspec(nrows, ncols, height_ratios=row_heights)
    for k, (experiment, dataset, sub, order, means, seed_means, paper, ref) in enumerate(panels):
        ax = fig.add_subplot(grid[k // ncols, k % ncols])
        right = blended_transform_factory(ax.transAxes, ax.transData)
        for y0, row in enumerate(order):
            is_ref = row == ref
            color = REFERENCE_COLOR if is_ref else "0.25"
            seeds = seed_means[row] if row in seed_means.index.get_level_values(0) else pd.Series(dtype=float)
            seeds = seeds.dropna()
            if len(seeds) > 1:
                ax.scatter(seeds.values, np.full(len(seeds), y0 + 0.22), s=5, color="0.6", linewidths=0, zorder=2)
                sd = float(seeds.std(ddof=1))
                ax.errorbar(float(means[row]), y0, xerr=sd, fmt="none", ecolor=color, elinewidth=0.8, capsize=2,
                            capthick=0.8, zorder=3)
            ax.plot([float(means[row])], [y0], ls="", marker="o", markersize=4.5 if is_ref else 4, color=color,
                    zorder=4, gid="reference" if is_ref else None)
            ax.text(1.03, y0, f"{float(means[row]):.{facts.decimals}f}", transform=right, ha="left", va="center",
                    fontsize=FONT_PT, color=color, fontweight="bold" if is_ref else "normal")
            if row in paper:
                ax.plot([paper[row]], [y0], ls="", marker="X", markersize=5, color=PAPER_COLOR, mec="white",
                        mew=0.4, zorder=5)
        ax.set_yticks(range(len(order)), [textwrap.fill(row, 20) for row in order])
        for tick, row in zip(ax.get_yticklabels(), order):
            if row == ref:
                tick.set_color(REFERENCE_COLOR)
                tick.set_fontweight("bold")
        ax.set_ylim(len(order) - 0.5, -0.6)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.grid(axis="x", color="0.9")
        ax.set_axisbelow(True)
        ax.set_xlabel(facts.axis_label)
        n_images = int(sub["image"].nunique())
        n_seeds = int(sub["seed"].nunique())
        task = str(sub["task"].iloc[0])
        ax.set_title(_wrap(f"{task_title(task)}: {experiment} on {dataset}\n"
                           f"{n_images} image{'s' if n_images != 1 else ''}, "
                           f"{n_seeds} seed{'s' if n_seeds != 1 else ''}", panel_width - 0.9), loc="left",
                     fontsize=FONT_PT)
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol)
    fig.suptitle(title)
    return fig


def summary_plot(
    df: pd.DataFrame,
    path: str | os.PathLike,
    metric: str = "psnr",
    *,
    reference: str | None = None,
    show_reported: bool = True,
) -> list[Path]:
    """One figure for a whole configuration: one panel per (experiment, dataset) with every method's mean
    (over images of the per-image mean over seeds), the spread over seeds (each seed's dataset mean as a
    grey dot, ± 1 standard deviation as an error bar), the reference method highlighted (``reference``, else
    the label ``dip``, else the first) and the paper's reported mean as a red cross where there is one.
    Saved as PNG and PDF."""
    return save_figure(summary_figure(df, metric, reference=reference, show_reported=show_reported), path)


def summary_caption(metric: str = "psnr") -> str:
    """The caption of :func:`summary_plot` (figures index, HTML report and its overview)."""
    return (f"Mean {metric_facts(metric).axis_label} of every method, one panel per experiment and dataset: the "
            "mean over images of the per-image mean over seeds, best on top; grey dots: each seed's mean over "
            "images, bars: ± 1 standard deviation over seeds; highlighted: the reference method; red crosses: the "
            "paper's reported means, where it reports one for the whole dataset.")
