"""Gallery figures: the DIP paper's qualitative figures, one per experiment and image of a task whose class
sets ``gallery = True`` (hole inpainting, sparse pixels, JPEG artefacts, flash / no-flash, inversion).

One row of panels, as the paper lays them out: the input (the masked input with its holes in
:data:`~dipbench.report.visual_grid.MISSING_COLOR`; for flash / no-flash the flash and the no-flash photo), each
method's result (seed 0, else the smallest seed), then the ground truth where there is one; below each panel
the same region enlarged, its box drawn on the full panel. Panels carry the method's display name and, only
where a ground truth exists, its PSNR: a no-reference run (a given JPEG, a real flash pair) shows none.

The crop is chosen automatically (:func:`gallery_crop_box`): for hole inpainting the region where holes and
known pixels meet (or the densest text), else the most textured region of the ground truth (of the flash
photo, or of the input, where there is no ground truth). The figure is drawn by
:func:`~dipbench.report.visual_grid.visual_grid_figure`, so it has the grids' look, sizes and fonts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..imaging.io import as_hwc
from ..tasks import Task, available_tasks
from .figure_style import _finite
from .panel_notes import unchanged_note
from .visual_grid import (
    Panel,
    Panels,
    _same_image,
    _to_shape,
    auto_crop_box,
    visual_grid_figure,
)

#: Most panels in one row; more wrap onto a second row.
MAX_PER_ROW = 6
#: Above this fraction of missing pixels (sparse pixels) the input is shown as it is, missing pixels
#: black, as the paper shows it: a coloured 98 % would hide the few known pixels.
COLOUR_MISSING_UP_TO = 0.5


class GalleryPanels(Panels):
    """The panels of one gallery figure, with ``crop_box`` (top, left, height, width, in the first panel's
    pixels), ``reference`` (whether a ground truth exists: PSNRs shown), ``missing`` ("colour" where the
    input's holes are coloured, "black" where a sparse input shows them black, "" for no mask) and the
    ``seed`` shown."""

    crop_box: tuple[int, int, int, int] | None = None
    reference: bool = False
    missing: str = ""
    seed: int = 0


def is_gallery_task(task: object) -> bool:
    """Whether ``task`` (a registered task name) gets gallery figures instead of visual grids."""
    cls = available_tasks().get(str(task))
    return bool(cls is not None and cls.gallery)


def gallery_seed(seeds: Sequence[int] | pd.Series) -> int:
    """The seed a gallery shows: 0 where it ran, else the smallest."""
    seeds = sorted(int(s) for s in pd.Series(seeds).dropna().unique())
    if not seeds:
        raise ValueError("no seeds")
    return 0 if 0 in seeds else seeds[0]


def _image_like(array: np.ndarray | None) -> bool:
    """An array a panel can show: (H, W) or (H, W, 1 | 3) of at least 8 x 8 pixels (not, e.g., features)."""
    if array is None:
        return False
    shape = np.shape(array)
    return (len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3))) and min(shape[:2]) >= 8


def _titled(name: str, psnr: float) -> str:
    return f"{name}\n{float(psnr):.2f} dB" if _finite(psnr) else name


def gallery_panels(records: pd.DataFrame, root: str | os.PathLike, image: str, *, seed: int | None = None,
                   labels: Sequence[str] | None = None, crop_size: int | None = None) -> GalleryPanels:
    """The panels of one image's gallery from the records of one experiment and dataset (paths relative to
    ``root``, the results folder; ``label`` the name shown). A method whose result is the input itself (the
    ``input`` method) gets no panel of its own: the input panel carries its name (``note`` says so for
    any other method that returned its input, :func:`.panel_notes.unchanged_note`)."""
    from ..imaging.io import read_image
    from ..tasks import Observation

    rows = records[records["image"].astype(str) == str(image)]
    if labels is not None:
        rows = rows[rows["label"].isin(labels)]
    if rows.empty:
        raise ValueError(f"no records for image {image!r}")
    seed = gallery_seed(rows["seed"]) if seed is None else int(seed)
    rows = rows[rows["seed"] == seed].drop_duplicates("label")
    if labels is not None:
        rows = rows.set_index("label").loc[[l for l in labels if l in set(rows["label"])]].reset_index()
    root = Path(root)
    obs = Observation.load(root / rows["observation"].iloc[0])
    gt = obs.target.slice(as_hwc(obs.gt)) if obs.gt is not None else None
    panels = GalleryPanels()
    panels.seed, panels.reference = seed, gt is not None

    inputs: list[Panel] = []
    y = as_hwc(obs.y) if _image_like(obs.y) else None
    if y is not None and gt is not None and _same_image(y, gt):
        y = None  # the input is the image itself (e.g. an inversion's): shown once, as the ground truth
    missing = None
    if y is not None and obs.mask is not None and np.shape(obs.mask)[:2] == y.shape[:2]:
        missing = as_hwc(obs.mask)[..., 0] == 0
        if not missing.any():
            missing = None
    psnr_in = rows["input_psnr"].dropna() if "input_psnr" in rows.columns else pd.Series(dtype=float)
    input_psnr = float(psnr_in.iloc[0]) if len(psnr_in) else float("nan")
    task = available_tasks().get(obs.task, Task)
    input_title = task.input_title
    methods: list[Panel] = []
    same: list[tuple[str, float]] = []
    for rec in rows.itertuples(index=False):
        restored = as_hwc(read_image(root / rec.restored))
        if gt is not None and restored.shape[:2] == obs.gt.shape[:2] != gt.shape[:2]:
            restored = obs.target.slice(restored)  # a full-size result of a task that restores a box
        psnr = getattr(rec, "psnr", float("nan")) if panels.reference else float("nan")
        if y is not None and _same_image(restored, y):
            same.append((str(rec.label), psnr))
            continue
        methods.append(Panel(_titled(str(rec.label), psnr), restored))
    if same:
        names = [name for name, _ in same]
        if input_title == Task.input_title and len(names) == 1 and "input" in names[0].lower():
            input_title = names[0]
        input_psnr = same[0][1] if _finite(same[0][1]) else input_psnr
        panels.note = unchanged_note(names)
    if y is not None:
        if obs.guide is not None and _image_like(obs.guide):
            inputs.append(Panel(task.guide_title, as_hwc(obs.guide)))
        shown_missing = None
        if missing is not None:
            fraction = float(missing.mean())
            if fraction <= COLOUR_MISSING_UP_TO:
                shown_missing, panels.missing = missing, "colour"
            else:
                panels.missing = "black"
                input_title += f" ({100 * (1 - fraction):.2g}% of pixels)"
        inputs.append(Panel(_titled(input_title, input_psnr if panels.reference else float("nan")), y,
                            shown_missing))
    panels.extend(inputs)
    panels.extend(methods)
    if gt is not None:
        panels.append(Panel("ground truth", gt))
    if not panels:
        raise ValueError(f"nothing to show for image {image!r}")
    first = as_hwc(panels[0].image)
    texture = gt if gt is not None else (as_hwc(obs.guide) if _image_like(obs.guide) else first)
    panels.crop_box = gallery_crop_box(_to_shape(texture, *first.shape[:2]),
                                       missing if panels.missing == "colour" and missing.shape == first.shape[:2]
                                       else None, crop_size)
    return panels


def gallery_crop_box(texture: np.ndarray, missing: np.ndarray | None = None, size: int | None = None,
                     aspect: float = 2.0) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the crop a gallery enlarges, twice as wide as high as the visual grids
    crop: where the input's holes (``missing``) meet known pixels, else the most textured box of
    ``texture`` (:func:`~dipbench.report.visual_grid.auto_crop_box`)."""
    return auto_crop_box(texture, size, aspect=aspect, missing=missing)


def gallery_figure(panels: GalleryPanels, title: str = "") -> Figure:
    """One row of ``panels`` (at most :data:`MAX_PER_ROW`, more wrap), each with its enlarged crop; drawn by
    :func:`~dipbench.report.visual_grid.visual_grid_figure`, not saved."""
    return visual_grid_figure(list(panels), panels.crop_box, title=title,
                              max_per_row=max(1, min(len(panels), MAX_PER_ROW)))


def gallery_title(task_text: str, experiment: str, dataset: str, image: str, panels: GalleryPanels) -> str:
    title = f"{task_text}: {experiment} on {dataset} / {image} (seed {panels.seed})"
    return title + (f"\n{panels.note}" if panels.note else "")


def gallery_caption(experiment: str, dataset: str, image: str, panels: GalleryPanels) -> str:
    """The caption of a gallery figure in the figures index and the HTML report."""
    names = [p.title.split("\n")[0] for p in panels]
    text = (f"{experiment} on {dataset}, image {image} (seed {panels.seed}): " + ", ".join(names)
            + (", each with its PSNR against the ground truth" if panels.reference
               else "; no ground truth, so no PSNR")
            + "; below each, the region in the yellow box enlarged.")
    if panels.note:
        text += f" {panels.note[0].upper()}{panels.note[1:]}."
    if panels.missing == "colour":
        text += " Magenta: the input's missing pixels."
    elif panels.missing == "black":
        text += " Black: the input's missing pixels."
    return text

