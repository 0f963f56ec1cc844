"""Learning curves: PSNR and loss against the step for the runs that recorded a curve, early stopping's
chosen step and stop step marked, and what the curves' PSNR measures against a table's protocol
(:func:`curve_provenance`); read from the results folder's curve files (:func:`curve_inputs`); the
report's title and caption (:func:`curves_title`, :func:`curves_caption`). Style and saving: :mod:`.figure_style`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..tasks import available_tasks
from .figure_style import (
    COLUMN_WIDTH,
    FONT_PT,
    TITLE_PT,
    _finite,
    _legend_columns,
    _lines,
    _new_figure,
    _palette,
    _styled,
    _wrap,
    save_figure,
)

#: The PSNR a learning curve holds (the methods' oracle PSNR: every channel of the restored box, peak 1,
#: of the float output); :func:`curve_provenance` says how it relates to a table's protocol.
CURVE_PROTOCOL = "dip_paper"
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


def curves_title(label: str, experiment: str, dataset: str) -> str:
    """The title of one label's learning-curves figure in the report."""
    return f"{label}: {experiment} on {dataset}"


def curves_caption(label: str, experiment: str, dataset: str, curves: Mapping[str, pd.DataFrame], *,
                   es_steps: Mapping[str, float], psnr_label: str, note: str, **_: Any) -> str:
    """The caption of one label's learning-curves figure (figures index, HTML report): the keywords are
    :func:`curve_inputs`'s (``curves`` separately; the ones it does not use are ignored)."""
    what = psnr_label.replace("\n", " ")
    stopping = ("; diamonds: the step whose output early stopping returned, dashed lines: the step "
                "the run stopped at") if es_steps else ""
    oracle = any(_has(curve, column) for curve in curves.values() for column in ("psnr", "psnr_ema"))
    shown = (f"{what} (oracle: against the ground truth, which no method sees) and training loss" if oracle
             else "training loss (no ground truth, so no PSNR)")
    return (f"{label}, {experiment} on {dataset}: {shown} per step, one line per image and seed{stopping}."
            + (f" {note}" if note and oracle else ""))


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
