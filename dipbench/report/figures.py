"""Figures: per-image comparison of methods, learning curves, and visual grids with zoomed crops.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg renderer, never through pyplot, so
importing this module changes no global backend and works headless. Every figure is saved atomically (PNG, and
optionally PDF beside it). Plot points are placed deterministically (no random jitter), so equal inputs give
equal files.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..atomic import atomic_open
from ..imaging.io import as_hwc
from ..metrics import metric_facts
from ..tasks import task_title
from .records import average_seeds
from .reported import reported_for_record

DPI = 150


def _palette(n: int) -> list:
    import seaborn as sns

    return sns.color_palette("tab10" if n <= 10 else "tab20", n_colors=max(n, 1))


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, pdf: bool = False) -> list[Path]:
    """Save ``fig`` atomically to ``path`` (format from the suffix, PNG by default) and, with ``pdf``, to the
    same stem with ``.pdf``. Returns the paths written."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    targets = [(path, fmt)]
    if pdf and fmt != "pdf":
        targets.append((path.with_suffix(".pdf"), "pdf"))
    for target, kind in targets:
        metadata = {"CreationDate": None, "ModDate": None} if kind == "pdf" else None
        with atomic_open(target, "wb") as handle:
            fig.savefig(handle, format=kind, dpi=DPI, metadata=metadata)
    return [t for t, _ in targets]


# --------------------------------------------------------------------------------------------------------------
# comparison of methods


def comparison_plot(
    df: pd.DataFrame,
    experiment: str,
    dataset: str,
    path: str | os.PathLike,
    metric: str = "psnr",
    *,
    labels: Sequence[str] | None = None,
    show_reported: bool = True,
    pdf: bool = False,
) -> list[Path]:
    """Per-image values (mean over seeds) of every method, one row per method, with the method's mean.

    Each image has its own colour and a fixed vertical offset within a row, so the same image can be followed
    across methods; single seeds are small grey dots; the mean over images is a black bar with its value
    printed; with ``show_reported``, the paper's reported mean is a red cross. Rows are sorted by mean,
    best on top.
    """
    sub = df[(df["experiment"] == experiment) & (df["dataset"] == dataset)]
    if labels is not None:
        sub = sub[sub["label"].isin(labels)]
    sub = sub[sub[metric].notna()] if metric in sub.columns else sub.iloc[0:0]
    if sub.empty:
        raise ValueError(f"no {metric} values for experiment {experiment!r} on dataset {dataset!r}")
    per_image = average_seeds(sub, [metric])
    higher = metric != "runtime_s"
    means = per_image.groupby("label", sort=False)[metric].mean()
    order = list(means.sort_values(ascending=not higher, kind="mergesort").index)
    images = sorted(set(sub["image"].astype(str)))
    colors = dict(zip(images, _palette(len(images))))
    offsets = dict(zip(images, np.linspace(-0.25, 0.25, len(images)) if len(images) > 1 else [0.0]))

    fig = _new_figure(9.0, 1.2 + 0.55 * len(order))
    ax = fig.add_subplot()
    ypos = {label: i for i, label in enumerate(order)}
    for label in order:
        y0 = ypos[label]
        runs = sub[sub["label"] == label]
        if runs["seed"].nunique() > 1:
            ax.scatter(
                runs[metric], [y0 + offsets[str(i)] for i in runs["image"]], s=10, color="0.6", zorder=2,
                linewidths=0,
            )
        rows = per_image[per_image["label"] == label]
        for row in rows.itertuples():
            ax.scatter(
                getattr(row, metric), y0 + offsets[str(row.image)], s=40, color=colors[str(row.image)],
                edgecolors="white", linewidths=0.5, zorder=3,
            )
        mean = means[label]
        ax.plot([mean, mean], [y0 - 0.38, y0 + 0.38], color="black", lw=2.5, zorder=4)
        decimals = 4 if metric == "ssim" else 2
        ax.annotate(
            f"{mean:.{decimals}f}", (mean, y0 - 0.38), xytext=(0, 2), textcoords="offset points", ha="center",
            va="bottom", fontsize=8, zorder=5,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    reported_any = False
    if show_reported and metric == "psnr":
        for label in order:
            entry = reported_for_record(sub[sub["label"] == label].iloc[0].to_dict())
            if entry is not None and entry.paper is not None:
                ax.scatter(entry.paper, ypos[label], marker="X", s=80, color="crimson", zorder=6,
                           edgecolors="white", linewidths=0.6)
                reported_any = True
    ax.set_yticks(range(len(order)), order)
    ax.set_ylim(len(order) - 0.5, -0.85)
    ax.set_xlabel(metric_facts(metric).axis_label)
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)
    for y in range(len(order) - 1):
        ax.axhline(y + 0.5, color="0.85", lw=0.6)

    handles = [Line2D([], [], ls="", marker="o", color=colors[i], label=i) for i in images]
    handles.append(Line2D([], [], color="black", lw=2.5, label="mean over images"))
    if sub["seed"].nunique() > 1:
        handles.append(Line2D([], [], ls="", marker="o", markersize=3, color="0.6", label="single seeds"))
    if reported_any:
        handles.append(Line2D([], [], ls="", marker="X", markersize=8, color="crimson", label="paper (reported)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="image", title_fontsize=8)
    task = str(sub["task"].iloc[0])
    protocols = ", ".join(sorted(set(sub["protocol"].dropna().astype(str)))) if "protocol" in sub else ""
    n_seeds = int(sub["seed"].nunique())
    ax.set_title(
        f"{task_title(task)}: {experiment} on {dataset}\n"
        f"{metric_facts(metric).axis_label} per image, mean over {n_seeds} seed(s)"
        + (f"; protocol {protocols}" if protocols else ""),
        fontsize=10,
    )
    return save_figure(fig, path, pdf=pdf)


# --------------------------------------------------------------------------------------------------------------
# learning curves


def learning_curves(
    curves: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    title: str = "",
    *,
    stop_steps: Mapping[str, float] | None = None,
    pdf: bool = False,
) -> list[Path]:
    """PSNR against step (top) and loss on a log axis (bottom), one colour per curve.

    curves: {name (e.g. "dip / house / seed 0"): frame with ``step``, ``loss`` and optionally ``psnr``,
    ``psnr_ema`` (NaN where not recorded)}. The PSNR lines are measured against the ground truth (oracle
    information no method may use), which the legend says. stop_steps: {name: step} draws a dotted line and a
    diamond at that step.
    """
    stop_steps = dict(stop_steps or {})
    names = list(curves)
    if not names:
        raise ValueError("no curves to plot")
    colors = dict(zip(names, _palette(len(names))))
    has_psnr = any(_has(curves[n], "psnr") or _has(curves[n], "psnr_ema") for n in names)
    has_loss = any(_has(curves[n], "loss") for n in names)
    panels = int(has_psnr) + int(has_loss)
    if panels == 0:
        raise ValueError("the curves have neither psnr nor loss values")
    fig = _new_figure(9.0, 1.0 + 2.8 * panels)
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    ax_psnr = axes[0] if has_psnr else None
    ax_loss = axes[-1] if has_loss else None

    for name in names:
        frame = curves[name]
        color = colors[name]
        stop = stop_steps.get(name)
        if ax_psnr is not None:
            for column, style in (("psnr", "-"), ("psnr_ema", "--")):
                if _has(frame, column):
                    data = frame[["step", column]].dropna()
                    ax_psnr.plot(data["step"], data[column], ls=style, color=color, lw=1.3)
            if stop is not None and _finite(stop):
                ax_psnr.axvline(stop, color=color, ls=":", lw=1.2)
                if _has(frame, "psnr"):
                    data = frame[["step", "psnr"]].dropna()
                    ax_psnr.scatter([stop], [np.interp(stop, data["step"], data["psnr"])], marker="D", s=36,
                                    color=color, edgecolors="black", linewidths=0.6, zorder=5)
        if ax_loss is not None and _has(frame, "loss"):
            data = frame[["step", "loss"]].dropna()
            data = data[data["loss"] > 0]
            ax_loss.plot(data["step"], data["loss"], color=color, lw=0.9, alpha=0.85)
            if stop is not None and _finite(stop):
                ax_loss.axvline(stop, color=color, ls=":", lw=1.2)

    if ax_psnr is not None:
        ax_psnr.set_ylabel("PSNR vs ground truth (dB)")
        ax_psnr.grid(color="0.9")
    if ax_loss is not None:
        ax_loss.set_yscale("log")
        ax_loss.set_ylabel("loss (log scale)")
        ax_loss.grid(color="0.88", which="major")
        ax_loss.grid(color="0.95", which="minor", lw=0.5)
    axes[-1].set_xlabel("step")

    handles = [Line2D([], [], color=colors[n], lw=2, label=n) for n in names]
    style_handles = []
    if any(_has(curves[n], "psnr") for n in names):
        style_handles.append(Line2D([], [], color="0.3", ls="-", label="output (oracle: vs ground truth)"))
    if any(_has(curves[n], "psnr_ema") for n in names):
        style_handles.append(Line2D([], [], color="0.3", ls="--", label="EMA of outputs (oracle: vs ground truth)"))
    if any(n in stop_steps for n in names):
        style_handles.append(Line2D([], [], color="0.3", ls=":", marker="D", markersize=5, label="stop step"))
    axes[0].legend(handles=handles + style_handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                   frameon=False, ncol=1 if len(handles) <= 14 else 2)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, path, pdf=pdf)


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


def learning_curves_from_records(
    records: pd.DataFrame,
    root: str | os.PathLike,
    path: str | os.PathLike,
    title: str = "",
    *,
    pdf: bool = False,
) -> list[Path]:
    """:func:`learning_curves` for the rows of ``records`` that have a ``curve`` file (paths relative to
    ``root``, the results folder); one line per label / image / seed; the ``stop_step`` of early-stopped runs
    (records with an ``es_step``) is marked."""
    curves: dict[str, pd.DataFrame] = {}
    stops: dict[str, float] = {}
    for rec in records.itertuples(index=False):
        curve = getattr(rec, "curve", None)
        if not isinstance(curve, str) or not curve:
            continue
        name = f"{rec.label} / {rec.image} / seed {rec.seed}"
        curves[name] = read_curve(Path(root) / curve)
        stop = getattr(rec, "stop_step", None)
        if _finite(stop) and _finite(getattr(rec, "es_step", None)):  # only early-stopped runs have a stop
            stops[name] = float(stop)
    if not curves:
        raise ValueError("no record has a learning curve")
    return learning_curves(curves, path, title, stop_steps=stops, pdf=pdf)


# --------------------------------------------------------------------------------------------------------------
# visual grid


def auto_crop_box(image: np.ndarray, size: int | None = None) -> tuple[int, int, int, int]:
    """The (top, left, height, width) square patch of highest luminance variance (ties: the first in
    row-major order). ``size`` defaults to a fifth of the shorter side, at least 16 px."""
    image = as_hwc(image)
    gray = image.mean(axis=2).astype(np.float64)
    h, w = gray.shape
    if size is None:
        size = max(16, min(h, w) // 5)
    size = int(min(size, h, w))
    stride = max(1, size // 4)
    integral = np.pad(gray.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    integral2 = np.pad((gray**2).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    tops = np.arange(0, h - size + 1, stride)
    lefts = np.arange(0, w - size + 1, stride)
    t, l = np.meshgrid(tops, lefts, indexing="ij")

    def box_sum(ii):
        return ii[t + size, l + size] - ii[t, l + size] - ii[t + size, l] + ii[t, l]

    n = size * size
    var = box_sum(integral2) / n - (box_sum(integral) / n) ** 2
    i, j = np.unravel_index(int(np.argmax(var)), var.shape)
    return int(tops[i]), int(lefts[j]), size, size


def _to_shape(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize (pixel replication for integer factors, e.g. an SR input)."""
    image = as_hwc(image)
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    rows = np.minimum((np.arange(height) * h) // height, h - 1)
    cols = np.minimum((np.arange(width) * w) // width, w - 1)
    return image[rows][:, cols]


def visual_grid(
    panels: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike,
    crop_box: Sequence[int] | None = None,
    *,
    crop_size: int | None = None,
    title: str = "",
    pdf: bool = False,
) -> list[Path]:
    """Images side by side (top row, the crop outlined) with the zoomed crop below each.

    panels: ``[(title, image)]``, images (H, W, C) in [0, 1]; the first sets the size (normally the ground
    truth) and any other size is resized to it with nearest neighbour (an SR input shows its pixels). Put
    PSNR values in the titles. crop_box: (top, left, height, width) in the first panel's pixels; default:
    :func:`auto_crop_box` of the first panel.
    """
    if not panels:
        raise ValueError("no panels to show")
    first = as_hwc(panels[0][1])
    height, width = first.shape[:2]
    images = [_to_shape(img, height, width) for _, img in panels]
    top, left, ch, cw = (int(v) for v in (crop_box if crop_box is not None else auto_crop_box(first, crop_size)))
    n = len(images)
    col_w = 2.6
    aspect = height / width
    fig = _new_figure(col_w * n, col_w * aspect + col_w * ch / cw + (0.9 if title else 0.6))
    axes = fig.subplots(2, n, squeeze=False, height_ratios=[aspect, ch / cw])
    for k, ((name, _), image) in enumerate(zip(panels, images)):
        gray = image.shape[2] == 1
        shown = np.clip(image[..., 0] if gray else image, 0.0, 1.0)
        kw = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0} if gray else {}
        ax = axes[0, k]
        # small images (fewer pixels than the panel shows) are magnified: show their pixels, don't blur them
        smooth = max(height, width) > col_w * DPI
        ax.imshow(shown, interpolation="antialiased" if smooth else "nearest", **kw)
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), cw, ch, fill=False, edgecolor="yellow", lw=1.5))
        ax.set_title(name, fontsize=9)
        zoom = axes[1, k]
        zoom.imshow(shown[top : top + ch, left : left + cw], interpolation="nearest", **kw)
        for a in (ax, zoom):
            a.set_xticks([])
            a.set_yticks([])
        for spine in zoom.spines.values():
            spine.set_edgecolor("yellow")
            spine.set_linewidth(1.5)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, path, pdf=pdf)


def visual_panels(
    records: pd.DataFrame,
    root: str | os.PathLike,
    image: str,
    *,
    seed: int | None = None,
    labels: Sequence[str] | None = None,
) -> list[tuple[str, np.ndarray]]:
    """Panels for :func:`visual_grid` from the records of one image: ground truth (the target region), the
    degraded input, then each label's restored image with its PSNR.

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
    rows = rows[rows["seed"] == seed]
    if labels is not None:
        rows = rows.set_index("label").loc[[l for l in labels if l in set(rows["label"])]].reset_index()
    root = Path(root)
    obs = Observation.load(root / rows["observation"].iloc[0])
    box = obs.target
    gt_full = obs.gt
    panels: list[tuple[str, np.ndarray]] = []
    if gt_full is not None:
        panels.append(("ground truth", box.slice(gt_full)))
    input_title = "input"
    if obs.task == "sr":
        scale = obs.task_params.get("scale")
        input_title = f"input (LR ×{scale}, nearest)" if scale else "input (LR, nearest)"
    psnr_in = rows["input_psnr"].dropna() if "input_psnr" in rows.columns else pd.Series(dtype=float)
    if len(psnr_in):
        input_title += f"\n{float(psnr_in.iloc[0]):.2f} dB"
    panels.append((input_title, obs.y))
    for rec in rows.itertuples(index=False):
        restored = as_hwc(read_image(root / rec.restored))
        if gt_full is not None and restored.shape[:2] == gt_full.shape[:2] and restored.shape[:2] != (box.height, box.width):
            restored = box.slice(restored)
        psnr = getattr(rec, "psnr", float("nan"))
        panels.append((f"{rec.label}\n{psnr:.2f} dB" if _finite(psnr) else str(rec.label), restored))
    return panels
