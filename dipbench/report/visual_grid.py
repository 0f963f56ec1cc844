"""Visual grids: each method's restored image beside the ground truth and the degraded input, with a zoomed
crop below each (:func:`visual_grid`), the crop chosen where the image is most textured or where an
input's holes meet its known pixels (:func:`auto_crop_box`), and the panels of one image read from the
results folder (:func:`visual_panels`); the report's title and caption of a grid (:func:`grid_title`,
:func:`grid_caption`). Style and saving: :mod:`.figure_style`."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ..imaging.io import as_hwc
from ..tasks import Task, available_tasks
from .figure_style import (
    COLUMN_WIDTH,
    FONT_PT,
    PAGE_WIDTH,
    PNG_DPI,
    TITLE_PT,
    _finite,
    _lines,
    _new_figure,
    _styled,
    _wrap,
    save_figure,
)
from .panel_notes import unchanged_note

#: Colour of the pixels an inpainting input lacks.
MISSING_COLOR = (1.0, 0.0, 1.0)


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
    task = available_tasks().get(obs.task, Task)
    input_title = task.input_title
    if task.upscales:  # the small input is shown enlarged: say how
        scale = obs.task_params.get("scale")
        input_title += f" (LR ×{scale}, nearest)" if scale else " (LR, nearest)"
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


def grid_title(experiment: str, dataset: str, image: str, panels: Panels) -> str:
    """The title of one image's visual grid in the report (with the panels' note)."""
    return f"{experiment}: {dataset} / {image}" + (f"\n{panels.note}" if panels.note else "")


def grid_caption(experiment: str, dataset: str, image: str, seed: int, panels: Panels) -> str:
    """The caption of one image's visual grid (figures index, HTML report); ``seed``: the one shown."""
    missing = any(p.missing is not None and p.missing.any() for p in panels)
    shown = ("ground truth, degraded input and each method's result with its PSNR"
             if any(p.title == "ground truth" for p in panels)
             else "the input and each method's result (no ground truth, so no PSNR)")
    return (f"{experiment} on {dataset}, image {image} (seed {int(seed)}): {shown}; below each, the region in the "
            "yellow box enlarged." + (f" {panels.note[0].upper()}{panels.note[1:]}." if panels.note else "")
            + (" Magenta: the input's missing pixels." if missing else ""))
