"""Figures: a summary over every experiment, per-image comparison of methods, learning curves, and visual
grids with zoomed crops, sized for a paper.

Size and type scheme (:func:`style`): a figure is :data:`COLUMN_WIDTH` (3.3 in, one column) or
:data:`PAGE_WIDTH` (6.9 in, the full text width) wide, and every text element is at least
:data:`MIN_FONT_PT` (7 pt) at that physical size, so the figures can be placed at 100 % in a two-column
paper. Each figure is written as a PNG (:data:`PNG_DPI`) and a vector PDF beside it (fonts embedded as
TrueType, so the text stays editable).

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg renderer, never through pyplot,
so importing this module changes no global backend and works headless; the style is applied with
:func:`matplotlib.rc_context` around each figure only. Every file is saved atomically. Plot points are placed
deterministically (no random jitter), so equal inputs give equal files. The ``*_figure`` functions return
the figure (for inspection and tests); the others draw and save it.
"""

from __future__ import annotations

import functools
import math
import os
import textwrap
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from ..atomic import atomic_open
from ..imaging.io import as_hwc
from ..metrics import metric_facts
from ..tasks import available_tasks, task_title
from .naming import seeds_text
from .panel_notes import unchanged_note
from .reported import reported_for_record

# --------------------------------------------------------------------------------------------------------------
# size and type scheme

#: Width (inches) of a figure that fills one column of a two-column paper.
COLUMN_WIDTH = 3.3
#: Width (inches) of a figure that spans the page (both columns).
PAGE_WIDTH = 6.9
#: Body text of every figure (points at the figure's physical size); nothing is smaller.
FONT_PT = 7.0
MIN_FONT_PT = 7.0
#: Titles (points).
TITLE_PT = 8.0
#: Resolution of the PNGs (a 3.3 in figure is 990 px wide).
PNG_DPI = 300
#: Kept for callers of the old name: the PNG resolution.
DPI = PNG_DPI
#: Colour of the pixels an inpainting input lacks.
MISSING_COLOR = (1.0, 0.0, 1.0)
#: Colour of the paper's reported values.
PAPER_COLOR = "crimson"
#: Colour that highlights the reference method in the summary.
REFERENCE_COLOR = "#1f77b4"
#: The PSNR a learning curve holds (the methods' oracle PSNR: every channel of the restored box, peak 1,
#: of the float output); :func:`curve_provenance` says how it relates to a table's protocol.
CURVE_PROTOCOL = "dip_paper"

# width of an average character, in units of the font size (DejaVu Sans), for wrapping text to a width
_CHAR_EM = 0.58


def style() -> dict[str, Any]:
    """The matplotlib settings of every figure: fonts in points (:data:`FONT_PT`, titles :data:`TITLE_PT`),
    thin lines that suit a 3.3 in figure, PDF fonts embedded as TrueType."""
    return {
        "font.size": FONT_PT,
        "axes.titlesize": TITLE_PT,
        "axes.labelsize": FONT_PT,
        "xtick.labelsize": FONT_PT,
        "ytick.labelsize": FONT_PT,
        "legend.fontsize": FONT_PT,
        "legend.title_fontsize": FONT_PT,
        "figure.titlesize": TITLE_PT,
        "figure.labelsize": FONT_PT,
        "axes.linewidth": 0.6,
        "axes.titlepad": 3.0,
        "axes.labelpad": 2.0,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.minor.width": 0.4,
        "ytick.minor.width": 0.4,
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "xtick.minor.size": 1.5,
        "ytick.minor.size": 1.5,
        "xtick.major.pad": 2.0,
        "ytick.major.pad": 2.0,
        "lines.linewidth": 1.0,
        "lines.markersize": 4.0,
        "grid.linewidth": 0.5,
        "legend.frameon": False,
        "legend.handlelength": 1.6,
        "legend.handletextpad": 0.4,
        "legend.columnspacing": 1.0,
        "legend.labelspacing": 0.25,
        "legend.borderaxespad": 0.2,
        "legend.borderpad": 0.2,
        "figure.constrained_layout.h_pad": 0.03,
        "figure.constrained_layout.w_pad": 0.03,
        "figure.constrained_layout.hspace": 0.02,
        "figure.constrained_layout.wspace": 0.02,
        "savefig.dpi": PNG_DPI,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
    }


def _styled(function: Callable) -> Callable:
    """Run ``function`` with :func:`style` in effect (artists take their sizes when they are made)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(style()):
            return function(*args, **kwargs)

    return wrapper


def _palette(n: int) -> list:
    import seaborn as sns

    return sns.color_palette("tab10" if n <= 10 else "tab20", n_colors=max(n, 1))


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _chars(width_in: float, pt: float = FONT_PT) -> int:
    """About how many characters of a ``pt`` font fit in ``width_in`` inches."""
    return max(8, int(width_in * 72.0 / (pt * _CHAR_EM)))


def _wrap(text: str, width_in: float, pt: float = FONT_PT) -> str:
    """``text`` with each of its lines wrapped to ``width_in`` inches."""
    width = _chars(width_in, pt)
    return "\n".join(textwrap.fill(line, width, break_on_hyphens=False) or line for line in str(text).split("\n"))


def _lines(text: str) -> int:
    return text.count("\n") + 1 if text else 0


def _legend_columns(labels: Sequence[str], width_in: float, handle_em: float = 2.6) -> tuple[int, int]:
    """(columns, rows) of the widest legend of ``labels`` that fits ``width_in`` inches (matplotlib fills
    columns first, splitting the entries as :func:`numpy.array_split` does; each column as wide as its
    longest label)."""
    if not labels:
        return 1, 0
    room = width_in * 72.0 * 0.96
    for columns in range(len(labels), 0, -1):
        chunks = [chunk for chunk in np.array_split(np.arange(len(labels)), columns) if len(chunk)]
        widths = [max(_label_em(labels[i]) for i in chunk) + handle_em for chunk in chunks]
        if (sum(widths) + 1.0 * (len(chunks) - 1)) * FONT_PT <= room or columns == 1:
            return columns, math.ceil(len(labels) / columns)
    return 1, len(labels)


def _label_em(label: str) -> float:
    return max(len(line) for line in str(label).split("\n")) * _CHAR_EM


@_styled
def save_figure(fig: Figure, path: str | os.PathLike, pdf: bool = True) -> list[Path]:
    """Save ``fig`` atomically to ``path`` (format from the suffix, PNG by default) and always a PNG and a
    vector PDF of the same stem beside it. Returns the paths written (``path`` first).

    ``pdf`` is accepted for compatibility only: the PDF is always written.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    targets = [(path, fmt)]
    for kind in ("png", "pdf"):
        if kind != fmt:
            targets.append((path.with_suffix(f".{kind}"), kind))
    for target, kind in targets:
        metadata = {"CreationDate": None, "ModDate": None} if kind == "pdf" else None
        with atomic_open(target, "wb") as handle:
            fig.savefig(handle, format=kind, dpi=PNG_DPI, metadata=metadata)
    return [t for t, _ in targets]


# --------------------------------------------------------------------------------------------------------------
# shared pieces


def _row_names(sub: pd.DataFrame) -> pd.Series:
    """Row name per record: the label, plus the protocol where the records mix protocols."""
    labels = sub["label"].where(sub["label"].notna(), sub["method"]).astype(str)
    if "protocol" in sub.columns and sub["protocol"].nunique(dropna=True) > 1:
        labels = labels + " [" + sub["protocol"].astype(str) + "]"
    return labels


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
    sub = sub.assign(_row=_row_names(sub).values)
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
        sub = sub.assign(_row=_row_names(sub).values)
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


# --------------------------------------------------------------------------------------------------------------
# learning curves

#: Axis label of a curve's PSNR when nothing more is known about it.
ORACLE_PSNR_LABEL = "oracle PSNR (dB) vs ground truth"

_PROTOCOL_TEXT = {  # (protocol, task upscales) -> what the table's PSNR is, for notes
    ("dip_paper", True): "Y channel of the shaved centre crop",
    ("dip_paper", False): "every channel of the restored box",
    ("basicsr", True): "8-bit Y channel, border shaved by the scale",
    ("basicsr", False): "8-bit values of every channel",
}


def curve_provenance(task: str, channels: int | None = None, protocols: Iterable[str] = ()) -> tuple[str, str]:
    """(axis label, note) for the PSNR of a learning curve: what it measures, and, where the table's
    ``protocols`` score differently (a task that upscales, or another protocol than the curves'), a note
    saying so (else "").

    The curves' PSNR is the methods' oracle PSNR: every channel (RGB, or gray) of the restored box, peak 1,
    of the float output against the ground truth (dipbench.methods).
    """
    kind = {1: "gray", 3: "RGB"}.get(channels or 0, "all channels")
    label = f"oracle PSNR (dB),\n{kind} over the restored box"
    cls = available_tasks().get(task)
    upscales = bool(cls is not None and cls.upscales)
    differing = sorted({p for p in protocols if isinstance(p, str) and (upscales or p != CURVE_PROTOCOL)})
    if not differing:
        return label, ""
    tables = "; ".join(
        f"{p}: {_PROTOCOL_TEXT[(p, upscales)]}" if (p, upscales) in _PROTOCOL_TEXT else p for p in differing
    )
    return label, f"Not the table's protocol ({tables}): the curves' values differ from the table's."


@_styled
def learning_curves_figure(
    curves: Mapping[str, pd.DataFrame],
    title: str = "",
    *,
    es_steps: Mapping[str, float] | None = None,
    stop_steps: Mapping[str, float] | None = None,
    es_columns: Mapping[str, str] | None = None,
    psnr_label: str = ORACLE_PSNR_LABEL,
    note: str = "",
    groups: Mapping[str, str] | None = None,
) -> Figure:
    """The figure of :func:`learning_curves` (column width), not saved."""
    es_steps = {k: float(v) for k, v in (es_steps or {}).items() if _finite(v)}
    stop_steps = {k: float(v) for k, v in (stop_steps or {}).items() if _finite(v)}
    es_columns = dict(es_columns or {})
    names = list(curves)
    if not names:
        raise ValueError("no curves to plot")
    # one colour per group (e.g. an image, whose seeds share it), one legend entry per group
    group_of = {n: str((groups or {}).get(n, n)) for n in names}
    group_names = list(dict.fromkeys(group_of.values()))
    group_colors = dict(zip(group_names, _palette(len(group_names))))
    colors = {n: group_colors[group_of[n]] for n in names}
    sizes = {g: sum(1 for n in names if group_of[n] == g) for g in group_names}
    has_psnr = any(_has(curves[n], "psnr") or _has(curves[n], "psnr_ema") for n in names)
    has_loss = any(_has(curves[n], "loss") for n in names)
    panels = int(has_psnr) + int(has_loss)
    if panels == 0:
        raise ValueError("the curves have neither psnr nor loss values")

    handles = [Line2D([], [], color=group_colors[g], lw=1.5, label=g if sizes[g] == 1 else f"{g} ({sizes[g]} runs)")
               for g in group_names]
    if any(_has(curves[n], "psnr") for n in names) and any(_has(curves[n], "psnr_ema") for n in names):
        handles.append(Line2D([], [], color="0.3", ls="-", label="output"))
        handles.append(Line2D([], [], color="0.3", ls=":", lw=1.3, label="EMA of outputs"))
    if any(n in es_steps for n in names):
        handles.append(Line2D([], [], color="0.3", ls="", marker="D", markersize=4, mec="black", mew=0.5,
                              label="chosen step (ES)"))
    if any(n in stop_steps for n in names):
        handles.append(Line2D([], [], color="0.3", ls="--", lw=0.9, label="stop step"))
    ncol, legend_rows = _legend_columns([h.get_label() for h in handles], COLUMN_WIDTH)
    title = _wrap(title, COLUMN_WIDTH, TITLE_PT) if title else ""
    note = _wrap(note, COLUMN_WIDTH - 0.85) if note else ""  # over the axes, right of the y label
    height = (0.15 + 0.16 * _lines(title) + 0.13 * _lines(note) + 1.55 * has_psnr + 1.15 * has_loss + 0.3
              + 0.14 * legend_rows)
    fig = _new_figure(COLUMN_WIDTH, height)
    ratios = [1.35, 1.0] if panels == 2 else None
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False, height_ratios=ratios)[:, 0]
    ax_psnr = axes[0] if has_psnr else None
    ax_loss = axes[-1] if has_loss else None

    for name in names:
        frame = curves[name]
        color = colors[name]
        if ax_psnr is not None:
            for column, line_style, width in (("psnr", "-", 1.0), ("psnr_ema", ":", 1.3)):
                if _has(frame, column):
                    data = frame[["step", column]].dropna()
                    ax_psnr.plot(data["step"], data[column], ls=line_style, color=color, lw=width)
        if ax_loss is not None and _has(frame, "loss"):
            data = frame[["step", "loss"]].dropna()
            data = data[data["loss"] > 0]
            ax_loss.plot(data["step"], data["loss"], color=color, lw=0.8, alpha=0.9)
        if name in stop_steps:
            for ax in axes:
                ax.axvline(stop_steps[name], color=color, ls="--", lw=0.9, gid=f"stop:{name}")
        if name in es_steps:
            step = es_steps[name]
            preferred = es_columns.get(name, "psnr")
            column = next((c for c in (preferred, "psnr", "psnr_ema") if _has(frame, c)), None)
            ax, column = (ax_psnr, column) if column is not None else (ax_loss, "loss")
            if ax is not None and _has(frame, column):
                data = frame[["step", column]].dropna()
                value = float(np.interp(step, data["step"], data[column]))
                ax.plot([step], [value], ls="", marker="D", markersize=4.5, color=color, mec="black", mew=0.6,
                        zorder=5, gid=f"es:{name}")

    if ax_psnr is not None:
        ax_psnr.set_ylabel(psnr_label)
        ax_psnr.grid(color="0.9")
        if note:
            ax_psnr.set_title(note, loc="left", fontsize=FONT_PT)
    if ax_loss is not None:
        ax_loss.set_yscale("log")
        ax_loss.set_ylabel("loss (log scale)")
        ax_loss.grid(color="0.88", which="major")
        ax_loss.grid(color="0.95", which="minor", lw=0.4)
    axes[-1].set_xlabel("step")
    fig.align_ylabels(axes)
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol)
    if title:
        fig.suptitle(title)
    return fig


def learning_curves(curves: Mapping[str, pd.DataFrame], path: str | os.PathLike, title: str = "", *,
                    pdf: bool = True, **options: Any) -> list[Path]:
    """PSNR against step (top) and loss on a log axis (bottom), one colour per curve; saved as PNG and PDF.
    ``options``: the keywords of :func:`learning_curves_figure` (es_steps, stop_steps, es_columns,
    psnr_label, note, groups).

    curves: {name (e.g. "house, seed 0"): frame with ``step``, ``loss`` and optionally ``psnr``,
    ``psnr_ema`` (NaN where not recorded)}. The PSNR lines are measured against the ground truth (oracle
    information no method may use); ``psnr_label`` says what they measure (see :func:`curve_provenance`) and
    ``note`` is printed above them (e.g. that the table scores another way). es_steps: {name: step} puts a
    diamond on the curve at the step early stopping chose (on the ``es_columns[name]`` stream, ``psnr`` by
    default); stop_steps: {name: step} draws a dashed vertical line where the run stopped. groups:
    {name: group} gives the curves of a group (e.g. the seeds of one image) one colour and one legend entry.
    """
    return save_figure(learning_curves_figure(curves, title, **options), path)


def _has(frame: pd.DataFrame, column: str) -> bool:
    return column in frame.columns and bool(frame[column].notna().any())


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def read_curve(path: str | os.PathLike) -> pd.DataFrame:
    """A learning-curve CSV (columns step, loss, psnr, psnr_ema; psnr NaN except every k steps)."""
    return pd.read_csv(path)


def _observation_channels(records: pd.DataFrame, root: Path) -> int | None:
    """The channels of the first readable observation of ``records`` (None if none can be read)."""
    from ..tasks import Observation

    if "observation" not in records.columns:
        return None
    for path in records["observation"].dropna().astype(str).unique():
        try:
            return Observation.load(root / path).channels
        except Exception:  # a missing or unreadable file only costs the axis label its channel name
            continue
    return None


def curve_inputs(records: pd.DataFrame, root: str | os.PathLike) -> dict[str, Any]:
    """The keyword arguments of :func:`learning_curves_figure` for the rows of ``records`` that have a
    ``curve`` file (paths relative to ``root``, the results folder): ``curves`` (one per image / seed, and
    label where there are several) and their ``groups`` (the image: its seeds share a colour),
    ``es_steps`` (``es_step``: the step whose output an early-stopped run returned), ``es_columns`` (the
    EMA stream where ``param_output`` is ``ema``), ``stop_steps`` (``stop_step`` of those runs), and
    ``psnr_label`` / ``note`` from :func:`curve_provenance`."""
    root = Path(root)
    curves: dict[str, pd.DataFrame] = {}
    stops: dict[str, float] = {}
    chosen: dict[str, float] = {}
    columns: dict[str, str] = {}
    groups: dict[str, str] = {}
    multi_label = records["label"].nunique() > 1
    for rec in records.itertuples(index=False):
        curve = getattr(rec, "curve", None)
        if not isinstance(curve, str) or not curve:
            continue
        group = (f"{rec.label}, " if multi_label else "") + str(rec.image)
        name = f"{group}, seed {rec.seed}"
        if name in curves:  # the same run under another protocol
            continue
        curves[name] = read_curve(root / curve)
        groups[name] = group
        es_step = getattr(rec, "es_step", None)
        if _finite(es_step):  # only early-stopping runs have a chosen step
            chosen[name] = float(es_step)
            columns[name] = "psnr_ema" if getattr(rec, "param_output", None) == "ema" else "psnr"
            stop = getattr(rec, "stop_step", None)
            if _finite(stop):
                stops[name] = float(stop)
    if not curves:
        raise ValueError("no record has a learning curve")
    task = str(records["task"].dropna().iloc[0]) if records["task"].notna().any() else ""
    protocols = records["protocol"].dropna().astype(str).unique() if "protocol" in records.columns else ()
    label, note = curve_provenance(task, _observation_channels(records, root), protocols)
    return {"curves": curves, "es_steps": chosen, "stop_steps": stops, "es_columns": columns,
            "psnr_label": label, "note": note, "groups": groups}


def learning_curves_from_records(
    records: pd.DataFrame,
    root: str | os.PathLike,
    path: str | os.PathLike,
    title: str = "",
    *,
    pdf: bool = True,
) -> list[Path]:
    """:func:`learning_curves` for the rows of ``records`` that have a ``curve`` file (see
    :func:`curve_inputs`): early-stopped runs get a diamond at ``es_step``, the step whose output was
    returned, and a dashed line at ``stop_step``; the PSNR axis says what the curves measure, and a note
    says where the records' protocol scores differently (:func:`curve_provenance`)."""
    inputs = curve_inputs(records, root)
    return learning_curves(inputs.pop("curves"), path, title, **inputs)


# --------------------------------------------------------------------------------------------------------------
# visual grid


def auto_crop_box(image: np.ndarray, size: int | None = None, aspect: float = 1.0,
                  missing: np.ndarray | None = None) -> tuple[int, int, int, int]:
    """The (top, left, height, width) patch of highest luminance variance (ties: the first in row-major
    order), ``size`` px high and ``aspect`` times as wide. ``size`` defaults to a fifth of the shorter side,
    at least 16 px.

    With ``missing`` (H, W booleans, an input's holes, some True): the patch whose fraction f of missing
    pixels makes min(f, 1 - f) largest, i.e. where holes and known pixels meet (a large hole's edge, the
    densest text), ties broken by the variance."""
    image = as_hwc(image)
    gray = image.mean(axis=2).astype(np.float64)
    h, w = gray.shape
    if size is None:
        size = max(16, min(h, w) // 5)
    ch = int(min(size, h))
    cw = int(min(max(1, round(size * aspect)), w))
    stride = max(1, min(ch, cw) // 4)
    tops = np.arange(0, h - ch + 1, stride)
    lefts = np.arange(0, w - cw + 1, stride)
    t, l = np.meshgrid(tops, lefts, indexing="ij")

    def box_mean(values: np.ndarray) -> np.ndarray:
        ii = np.pad(values.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        return (ii[t + ch, l + cw] - ii[t, l + cw] - ii[t + ch, l] + ii[t, l]) / (ch * cw)

    score = box_mean(gray**2) - box_mean(gray) ** 2
    if missing is not None and np.any(missing):
        fraction = box_mean(np.asarray(missing, np.float64))
        variance = np.maximum(score, 0.0)
        score = np.minimum(fraction, 1.0 - fraction) + 1e-3 * variance / (variance.max() or 1.0)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(tops[i]), int(lefts[j]), ch, cw


def _to_shape(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize (pixel replication for integer factors, e.g. an SR input)."""
    image = as_hwc(image)
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    rows = np.minimum((np.arange(height) * h) // height, h - 1)
    cols = np.minimum((np.arange(width) * w) // width, w - 1)
    return image[rows][:, cols]


class Panel(NamedTuple):
    """One image of a visual grid: its title (put the PSNR in it), the image (H, W, C) in [0, 1], and
    optionally ``missing`` (H, W) booleans: pixels the image lacks (an inpainting input), drawn in
    :data:`MISSING_COLOR`."""

    title: str
    image: np.ndarray
    missing: np.ndarray | None = None


class Panels(list):
    """The :class:`Panel` list of one image, with ``note``: a line for the figure's title (e.g. that a
    method's result is the input itself and is shown once), "" if none."""

    note: str = ""


def grid_columns(n: int, max_per_row: int = 5) -> int:
    """Panels per row of a visual grid of ``n`` panels: as few rows as ``max_per_row`` allows, as even as
    they go, so 5 per row only where that saves a row (5 -> 5, 6 -> 3 + 3, 7 -> 4 + 3, 8 -> 4 + 4,
    9 -> 5 + 4, 11 -> 4 + 4 + 3)."""
    if n <= 0:
        return 1
    rows = math.ceil(n / max_per_row)
    return math.ceil(n / rows)


def _shown(image: np.ndarray, missing: np.ndarray | None) -> tuple[np.ndarray, dict]:
    """The array imshow gets and its keywords: gray images with a gray colour map; missing pixels coloured."""
    image = np.clip(image, 0.0, 1.0)
    if missing is not None and missing.any():
        rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3].copy()
        rgb[missing] = MISSING_COLOR
        return rgb, {}
    if image.shape[2] == 1:
        return image[..., 0], {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}
    return image, {}


@_styled
def visual_grid_figure(
    panels: Sequence[Panel | tuple],
    crop_box: Sequence[int] | None = None,
    *,
    crop_size: int | None = None,
    title: str = "",
    max_per_row: int = 5,
) -> Figure:
    """The figure of :func:`visual_grid`, not saved."""
    if not panels:
        raise ValueError("no panels to show")
    panels = [Panel(*p) for p in panels]
    first = as_hwc(panels[0].image)
    height, width = first.shape[:2]
    images = [_to_shape(p.image, height, width) for p in panels]
    masks = [None if p.missing is None
             else _to_shape(np.asarray(p.missing, np.float32)[..., None], height, width)[..., 0] > 0.5
             for p in panels]
    if crop_box is None:
        crop_box = auto_crop_box(first, crop_size if crop_size is not None else max(16, min(height, width) // 5),
                                 aspect=2.0)
    top, left, ch, cw = (int(v) for v in crop_box)
    n = len(panels)
    ncols = grid_columns(n, max_per_row)
    nrows = math.ceil(n / ncols)
    fig_width = PAGE_WIDTH if ncols >= 3 else COLUMN_WIDTH
    cell = fig_width / ncols
    aspect, zoom_aspect = height / width, ch / cw
    titles = [p.title for p in panels]
    title_lines = max(_lines(t) for t in titles)
    has_missing = any(m is not None and m.any() for m in masks)
    title = _wrap(title, fig_width, TITLE_PT) if title else ""
    row_height = (cell - 0.06) * (aspect + zoom_aspect) + 0.13 * title_lines + 0.12
    fig = _new_figure(fig_width, 0.1 + 0.16 * _lines(title) + nrows * row_height + (0.2 if has_missing else 0.0))
    grid = fig.add_gridspec(2 * nrows, ncols, height_ratios=[aspect, zoom_aspect] * nrows)
    smooth = max(height, width) > cell * PNG_DPI  # more pixels than the panel shows: filter, don't alias
    for k, (name, image, missing) in enumerate(zip(titles, images, masks)):
        r, c = divmod(k, ncols)
        ax = fig.add_subplot(grid[2 * r, c])
        zoom = fig.add_subplot(grid[2 * r + 1, c])
        shown, kw = _shown(image, missing)
        ax.imshow(shown, interpolation="antialiased" if smooth else "nearest", **kw)
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), cw, ch, fill=False, edgecolor="yellow", lw=1.0))
        ax.set_title(name, fontsize=FONT_PT)
        zoom.imshow(shown[top : top + ch, left : left + cw], interpolation="nearest", **kw)
        for a in (ax, zoom):
            a.set_xticks([])
            a.set_yticks([])
            for spine in a.spines.values():
                spine.set_linewidth(0.5)
        for spine in zoom.spines.values():
            spine.set_edgecolor("yellow")
            spine.set_linewidth(1.2)
    if has_missing:
        fig.legend(handles=[Patch(facecolor=MISSING_COLOR, edgecolor="none", label="missing pixels")],
                   loc="outside lower center")
    if title:
        fig.suptitle(title)
    return fig


def visual_grid(
    panels: Sequence[Panel | tuple],
    path: str | os.PathLike,
    crop_box: Sequence[int] | None = None,
    *,
    crop_size: int | None = None,
    title: str = "",
    max_per_row: int = 5,
    pdf: bool = True,
) -> list[Path]:
    """Images in rows of at most ``max_per_row`` (:func:`grid_columns`: 4 per row, 5 where that saves a
    row), the crop outlined in yellow, each with its zoomed crop below; page width (column width for one or
    two per row), saved as PNG and PDF.

    panels: :class:`Panel` or ``(title, image[, missing])``, images (H, W, C) in [0, 1]; the first sets the
    size (normally the ground truth) and any other size is resized to it with nearest neighbour (an SR
    input shows its pixels). Missing pixels are drawn magenta, with a legend entry "missing pixels".
    crop_box: (top, left, height, width) in the first panel's pixels; default: the most textured patch
    twice as wide as high (:func:`auto_crop_box`).
    """
    fig = visual_grid_figure(panels, crop_box, crop_size=crop_size, title=title, max_per_row=max_per_row)
    return save_figure(fig, path)


def _same_image(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to 8-bit rounding (a method's PNG of the input against the float input)."""
    a, b = as_hwc(a), as_hwc(b)
    return a.shape == b.shape and bool(np.all(np.abs(a.astype(np.float64) - b.astype(np.float64)) <= 0.5 / 255 + 1e-6))


def visual_panels(
    records: pd.DataFrame,
    root: str | os.PathLike,
    image: str,
    *,
    seed: int | None = None,
    labels: Sequence[str] | None = None,
) -> Panels:
    """Panels for :func:`visual_grid` from the records of one image: ground truth (the target region), the
    degraded input (its missing pixels marked, for inpainting), then each label's restored image with its
    PSNR.

    Each image is shown once: a label whose result is the degraded input itself (the ``input`` method) is
    not given a panel of its own; the input panel carries its name and PSNR instead, and ``note`` says so.
    records: rows of one experiment and dataset; root: the results folder the record paths are relative to;
    seed: which seed to show (default: the smallest). Needs ``dipbench.tasks.Observation`` files.
    """
    from ..imaging.io import read_image
    from ..tasks import Observation

    rows = records[records["image"].astype(str) == str(image)]
    if labels is not None:
        rows = rows[rows["label"].isin(labels)]
    if rows.empty:
        raise ValueError(f"no records for image {image!r}")
    seed = int(rows["seed"].min()) if seed is None else int(seed)
    rows = rows[rows["seed"] == seed].drop_duplicates("label")
    if labels is not None:
        rows = rows.set_index("label").loc[[l for l in labels if l in set(rows["label"])]].reset_index()
    root = Path(root)
    obs = Observation.load(root / rows["observation"].iloc[0])
    box = obs.target
    gt_full = obs.gt
    panels = Panels()
    if gt_full is not None:
        panels.append(Panel("ground truth", box.slice(gt_full)))
    input_title = "input"
    if obs.task == "sr":
        scale = obs.task_params.get("scale")
        input_title = f"input (LR ×{scale}, nearest)" if scale else "input (LR, nearest)"
    psnr_in = rows["input_psnr"].dropna() if "input_psnr" in rows.columns else pd.Series(dtype=float)
    input_psnr = float(psnr_in.iloc[0]) if len(psnr_in) else float("nan")
    missing = None
    if obs.mask is not None and as_hwc(obs.mask).shape[:2] == as_hwc(obs.y).shape[:2]:
        missing = as_hwc(obs.mask)[..., 0] == 0
    methods: list[Panel] = []
    same: list[tuple[str, float]] = []
    for rec in rows.itertuples(index=False):
        restored = as_hwc(read_image(root / rec.restored))
        full_size = gt_full is not None and restored.shape[:2] == gt_full.shape[:2]
        if full_size and restored.shape[:2] != (box.height, box.width):
            restored = box.slice(restored)
        psnr = getattr(rec, "psnr", float("nan"))
        if _same_image(restored, obs.y):
            same.append((str(rec.label), psnr))
            continue
        methods.append(Panel(f"{rec.label}\n{psnr:.2f} dB" if _finite(psnr) else str(rec.label), restored))
    if same:
        names = [name for name, _ in same]
        if len(names) == 1 and "input" in names[0].lower():
            input_title = names[0]
        else:
            input_title = f"{input_title} = {', '.join(names)}"
        input_psnr = same[0][1] if _finite(same[0][1]) else input_psnr
        panels.note = unchanged_note(names)
    if _finite(input_psnr):
        input_title += f"\n{input_psnr:.2f} dB"
    panels.append(Panel(input_title, obs.y, missing))
    panels.extend(methods)
    return panels


# --------------------------------------------------------------------------------------------------------------
# sweeps and convergence


@_styled
def sweep_figure(df: pd.DataFrame, experiment: str, dataset: str, rows: Mapping[str, Mapping[str, Any]],
                 metric: str = "psnr") -> Figure:
    """The metric against a swept parameter: ``rows`` maps each swept row (display name) to its parameter
    values; x is the first parameter, one line per combination of the others. y: mean over images of the
    per-image mean over seeds, with ± 1 s.d. of the per-seed means as error bars. Column width."""
    sub = df[(df["experiment"] == experiment) & (df["dataset"] == dataset) & df["label"].isin(list(rows))]
    facts = metric_facts(metric)
    names = sorted(next(iter(rows.values())))
    x_name, others = names[0], names[1:]
    fig = _new_figure(COLUMN_WIDTH, 2.3)
    ax = fig.add_subplot()
    groups: dict[tuple, list[tuple[float, float, float]]] = {}
    for label, values in rows.items():
        runs = sub[sub["label"] == label]
        if runs.empty:
            continue
        per_seed = runs.groupby("seed")[metric].mean()
        mean = runs.groupby("image")[metric].mean().mean()
        spread = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else 0.0
        groups.setdefault(tuple(values[name] for name in others), []).append((values[x_name], mean, spread))
    colors = _palette(len(groups))
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for points in groups.values()
                  for x, _, _ in points)
    for color, (key, points) in zip(colors, sorted(groups.items(), key=lambda item: str(item[0]))):
        points.sort(key=lambda p: p[0] if numeric else str(p[0]))
        xs = [p[0] if numeric else str(p[0]) for p in points]
        label = ", ".join(f"{n}={v}" for n, v in zip(others, key)) or None
        ax.errorbar(xs, [p[1] for p in points], yerr=[p[2] for p in points], marker="o", color=color, capsize=2,
                    label=label)
    if numeric and all(p[0] > 0 for points in groups.values() for p in points):
        span = [p[0] for points in groups.values() for p in points]
        if max(span) / min(span) >= 20:
            ax.set_xscale("log")
    ax.set_xlabel(x_name)
    ax.set_ylabel(facts.axis_label)
    ax.grid(True, alpha=0.3)
    if others:
        ax.legend(loc="best")
    ax.set_title(_wrap(f"{experiment} on {dataset}: {facts.label} against {x_name}", COLUMN_WIDTH, TITLE_PT))
    return fig


def sweep_plot(df: pd.DataFrame, experiment: str, dataset: str, rows: Mapping[str, Mapping[str, Any]],
               path: str | os.PathLike, metric: str = "psnr") -> list[Path]:
    """:func:`sweep_figure`, saved as PNG and PDF."""
    return save_figure(sweep_figure(df, experiment, dataset, rows, metric), path)
