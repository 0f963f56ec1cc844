"""The noise-impedance figure (the DIP paper's fig. 2): how fast DIP fits a natural image, the image plus
noise, its shuffled pixels and U(0, 1) white noise.

Every experiment of the task ``impedance`` fits one target (its ``target`` parameter) and has no ground
truth: its learning curve is the result. For each (dataset, image) the figure plots the per-step MSE loss
(log y) against the iteration, one line per target (the median over seeds) with a band from the lowest to
the highest seed; a dotted line marks :data:`THRESHOLD`. :func:`threshold_steps` gives, per target, the
first iteration whose loss is below the threshold (median and range over the seeds that reach it), for
the caption and the small table beside it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..atomic import write_text
from .curve_figures import read_curve
from .figure_style import (
    COLUMN_WIDTH,
    TITLE_PT,
    _legend_columns,
    _lines,
    _new_figure,
    _palette,
    _styled,
    _wrap,
    save_figure,
)
from .naming import impedance_figure_stem
from .tables import Table

TASK = "impedance"
#: Legend names of the targets, in the paper's order.
TARGET_NAMES = {"image": "natural image", "noisy": "image + noise", "shuffled": "shuffled pixels",
                "noise": "U(0,1) noise"}
#: The MSE the threshold steps are measured at: 0.005 is a PSNR of 23 dB against the target (peak 1),
#: below the noise of the "noisy" target (sigma 25: MSE 0.0096), so reaching it means fitting the noise.
THRESHOLD = 0.005
#: The paper's fig. 2: F16 at 512 px, 2400 steps (config/gallery.yaml).
PAPER_SCALE = (512, 2400)
#: The smallest scale at which this project measured the paper's order (README "The paper's figures":
#: F16 at 128 px, 2000 steps, 3 seeds: image 70, noisy 599 against shuffled 273 and U(0,1) 461).
ORDER_MEASURED_AT = (128, 2000)


@dataclass
class ImpedanceFigure:
    """One written noise-impedance figure: its PNG ``path`` (the PDF beside it), every file ``written``,
    its ``caption``, the :func:`threshold_steps` ``summary`` and that summary as a :class:`Table`."""

    dataset: str
    image: str
    path: Path
    written: list[Path]
    caption: str
    summary: pd.DataFrame
    table: Table


def target_of(record: Mapping) -> str | None:
    """The ``target`` task parameter of a record (its ``task_params`` JSON, else its ``task_slug``)."""
    params = record.get("task_params")
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            params = None
    if isinstance(params, Mapping) and params.get("target") is not None:
        return str(params["target"])
    match = re.search(r"(?:^|_)target([A-Za-z]+)(?=_|$)", str(record.get("task_slug") or ""))
    return match.group(1) if match else None


def impedance_records(df: pd.DataFrame) -> pd.DataFrame:
    """The records of the impedance task that have a learning curve."""
    if df.empty or "task" not in df.columns:
        return df.iloc[0:0]
    rows = df[df["task"].astype(str) == TASK]
    if "curve" in rows.columns:
        rows = rows[rows["curve"].map(lambda p: isinstance(p, str) and bool(p))]
    return rows


def impedance_curves(records: pd.DataFrame, root: str | os.PathLike) -> dict[str, list[pd.DataFrame]]:
    """{legend name: one loss curve per run} for the records of one (dataset, image), in the order of
    :data:`TARGET_NAMES` (unknown targets after). A name gains the experiment where two experiments fit
    the same target, and the label where a target has several. Each curve carries its ``seed`` in
    ``attrs``; a run recorded under several protocols (or shared across seeds) is read once."""
    root = Path(root)
    keys = []
    for rec in records.to_dict("records"):
        keys.append((target_of(rec) or str(rec.get("experiment")), str(rec.get("experiment")), str(rec.get("label"))))
    records = records.assign(_target=[k[0] for k in keys])
    experiments = records.groupby("_target")["experiment"].nunique()
    labels = records.groupby("_target")["label"].nunique()
    order = {target: i for i, target in enumerate(TARGET_NAMES)}
    curves: dict[str, list[pd.DataFrame]] = {}
    seen: set[str] = set()
    for rec in sorted(records.to_dict("records"),
                      key=lambda r: (order.get(r["_target"], len(order)), str(r["_target"]), str(r["experiment"]),
                                     str(r["label"]), int(r["seed"]))):
        path = str(rec["curve"])
        if path in seen or not (root / path).is_file() or (root / path).stat().st_size == 0:
            continue
        seen.add(path)
        curve = read_curve(root / path)
        if "loss" not in curve.columns or curve["loss"].notna().sum() == 0:
            continue
        target = rec["_target"]
        name = TARGET_NAMES.get(target, target)
        extra = [str(rec["experiment"])] if experiments[target] > 1 else []
        extra += [str(rec["label"])] if labels[target] > 1 else []
        name += f" ({', '.join(extra)})" if extra else ""
        curve.attrs.update(seed=int(rec["seed"]))
        curves.setdefault(name, []).append(curve[["step", "loss"]].dropna())
    return curves


def loss_band(runs: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Per step over the runs: ``median``, ``low`` (min), ``high`` (max) of the loss and ``n`` runs."""
    table = pd.concat([run.set_index("step")["loss"].rename(i) for i, run in enumerate(runs)], axis=1)
    table = table.sort_index()
    return pd.DataFrame({"median": table.median(axis=1), "low": table.min(axis=1), "high": table.max(axis=1),
                         "n": table.notna().sum(axis=1)}).rename_axis("step").reset_index()


def first_step_below(curve: pd.DataFrame, threshold: float) -> float:
    """The first step whose loss is below ``threshold`` (NaN if none)."""
    below = curve[curve["loss"] < threshold]
    return float(below["step"].iloc[0]) if len(below) else float("nan")


def threshold_steps(curves: Mapping[str, Sequence[pd.DataFrame]], threshold: float = THRESHOLD) -> pd.DataFrame:
    """One row per curve name: ``seeds`` (runs), ``reached`` (runs whose loss falls below ``threshold``),
    ``median_step`` / ``min_step`` / ``max_step`` (over the runs that reach it; NaN if none does) and
    ``steps`` (the longest run, the budget a run that never reaches it had)."""
    rows = []
    for name, runs in curves.items():
        steps = np.array([first_step_below(run, threshold) for run in runs], dtype=float)
        hit = steps[np.isfinite(steps)]
        rows.append({"target": name, "seeds": len(runs), "reached": int(hit.size),
                     "median_step": float(np.median(hit)) if hit.size else np.nan,
                     "min_step": float(hit.min()) if hit.size else np.nan,
                     "max_step": float(hit.max()) if hit.size else np.nan,
                     "steps": int(max(run["step"].max() for run in runs))})
    return pd.DataFrame(rows, columns=["target", "seeds", "reached", "median_step", "min_step", "max_step", "steps"])


def _steps_text(row) -> str:
    seeds = f"{row.reached} of {row.seeds} seed{'s' if row.seeds != 1 else ''}"
    if row.reached == 0:
        return f"{row.target}: not within {row.steps} iterations ({seeds})"
    spread = f", {row.min_step:.0f}–{row.max_step:.0f}" if row.reached > 1 and row.min_step != row.max_step else ""
    return f"{row.target}: {row.median_step:.0f} ({seeds}{spread})"


def threshold_table(summary: pd.DataFrame, threshold: float = THRESHOLD, title: str = "") -> Table:
    """:func:`threshold_steps` as a :class:`~dipbench.report.tables.Table`."""
    index = list(summary["target"])
    values = pd.DataFrame({"Seeds": summary["seeds"].to_numpy(), "Reached": summary["reached"].to_numpy(),
                           "Median step": summary["median_step"].to_numpy(),
                           "Range": np.nan}, index=index)
    text = pd.DataFrame({"Range": [f"{r.min_step:.0f}–{r.max_step:.0f}" if r.reached else f"> {r.steps}"
                                   for r in summary.itertuples()]}, index=index)
    return Table(values=values, text=text, row_title="Target", decimals={"Median step": 0},
                 caption=f"{title}first iteration with an MSE loss below {threshold:g}: the median and range "
                         "over the seeds that reach it.",
                 notes=["Reached: the seeds whose loss falls below the threshold; > N: none did within N "
                        "iterations."])


@_styled
def impedance_figure(curves: Mapping[str, Sequence[pd.DataFrame]], title: str = "",
                     threshold: float | None = THRESHOLD) -> Figure:
    """The MSE loss (log scale) against the iteration: per curve name the median over its runs, a band from
    the lowest to the highest run, and a dotted line at ``threshold`` (None: none). Column width."""
    if not curves:
        raise ValueError("no impedance curves to plot")
    colors = dict(zip(curves, _palette(len(curves))))
    handles = [Line2D([], [], color=colors[name], lw=1.5, label=name) for name in curves]
    if threshold is not None:
        handles.append(Line2D([], [], color="0.3", ls=":", lw=0.9, label=f"MSE {threshold:g}"))
    ncol, legend_rows = _legend_columns([h.get_label() for h in handles], COLUMN_WIDTH)
    title = _wrap(title, COLUMN_WIDTH, TITLE_PT) if title else ""
    fig = _new_figure(COLUMN_WIDTH, 0.15 + 0.16 * _lines(title) + 2.0 + 0.3 + 0.14 * legend_rows)
    ax = fig.add_subplot()
    for name, runs in curves.items():
        band = loss_band(runs)
        band = band[band["median"] > 0]
        ax.plot(band["step"], band["median"], color=colors[name], lw=1.0, gid=f"impedance:{name}")
        if len(runs) > 1:
            ax.fill_between(band["step"], band["low"].clip(lower=band["median"].min() * 1e-3), band["high"],
                            color=colors[name], alpha=0.2, linewidth=0)
    if threshold is not None:
        ax.axhline(threshold, color="0.3", ls=":", lw=0.9)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("MSE (log scale)")
    ax.grid(color="0.88", which="major")
    ax.grid(color="0.95", which="minor", lw=0.4)
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol)
    if title:
        fig.suptitle(title)
    return fig


def impedance_heading(dataset: str, image: str) -> str:
    """What the figure of one image is, the start of its caption (the report's overview shows it alone)."""
    return f"Noise impedance on {dataset} / {image} (the paper's fig. 2)"


def impedance_caption(dataset: str, image: str, summary: pd.DataFrame, threshold: float = THRESHOLD) -> str:
    """The figure's caption: :func:`impedance_heading`, what is plotted and each target's threshold step."""
    seeds = sorted(set(int(s) for s in summary["seeds"]))
    spread = "median over seeds, band: lowest to highest seed" if max(seeds, default=1) > 1 else "one run each"
    steps = "; ".join(_steps_text(row) for row in summary.itertuples())
    return (f"{impedance_heading(dataset, image)}: DIP's MSE loss against the iteration "
            f"when it fits the natural image, the image plus noise, its shuffled pixels and U(0,1) white noise "
            f"({spread}). First iteration with a loss below {threshold:g} (dotted; median over the seeds that "
            f"reach it, their range after the comma): {steps}.")


def scale_note(size_px: int | None, steps: int) -> str:
    """A note for a figure below the scale at which the paper's order was measured (:data:`ORDER_MEASURED_AT`),
    e.g. the demo's 64 px and 300 steps, where DIP may fit U(0,1) noise before the shuffled pixels; '' at
    that scale or above. ``size_px``: the image's shorter side (None: unknown, judged by ``steps`` alone)."""
    size_ok = size_px is None or size_px >= ORDER_MEASURED_AT[0]
    if size_ok and steps >= ORDER_MEASURED_AT[1]:
        return ""
    size = f"{size_px} px" if size_px is not None else "this size"
    return (f"At {size} and {steps} steps the targets' order need not be the paper's: fig. 2 ran "
            f"{PAPER_SCALE[0]} px for {PAPER_SCALE[1]} steps, and this project measured the paper's order at "
            f"{ORDER_MEASURED_AT[0]} px and {ORDER_MEASURED_AT[1]} steps (README \"The paper's figures\")")


def _image_side(sub: pd.DataFrame, results: Path) -> int | None:
    """The shorter side (px) of the fitted image: from the first record's observation file."""
    from ..tasks import Observation

    for path in sub.get("observation", pd.Series(dtype=object)).dropna():
        try:
            return int(min(np.shape(Observation.load(results / str(path)).y)[:2]))
        except (OSError, ValueError, KeyError):
            continue
    return None


def write_impedance_figures(df: pd.DataFrame, results: str | os.PathLike,
                            threshold: float = THRESHOLD) -> list[ImpedanceFigure]:
    """One figure per (dataset, image) of the impedance experiments in ``df`` (records with paths relative
    to ``results``), as ``figures/noise_impedance_<dataset>_<image>.png`` and ``.pdf``, and the threshold
    table as an HTML fragment beside them (``.html``, appended to the figure's report page)."""
    results = Path(results)
    rows = impedance_records(df)
    out: list[ImpedanceFigure] = []
    if rows.empty:
        return out
    for (dataset, image), sub in rows.groupby(["dataset", "image"], sort=True):
        curves = impedance_curves(sub, results)
        if not curves:
            continue
        path = results / "figures" / f"{impedance_figure_stem(dataset, image)}.png"
        side = _image_side(sub, results)
        steps = int(max(curve["step"].max() for runs in curves.values() for curve in runs))
        note = scale_note(side, steps)
        title = f"Noise impedance: {dataset} / {image}" + (
            f" ({side} px, {steps} steps: below the paper's scale, so the order may differ)" if note else "")
        written = save_figure(impedance_figure(curves, title, threshold), path)
        summary = threshold_steps(curves, threshold)
        table = threshold_table(summary, threshold, f"Noise impedance on {dataset} / {image}: ")
        write_text(path.with_suffix(".html"), table.to_html())
        written.append(path.with_suffix(".html"))
        caption = impedance_caption(str(dataset), str(image), summary, threshold) + (f" {note}." if note else "")
        out.append(ImpedanceFigure(str(dataset), str(image), path, written, caption, summary, table))
    return out
