"""The report step: records -> runs/summary CSVs, paper-style tables, comparison plots, curves, grids.

Writes under the results folder::

    tables/runs.csv      one row per (experiment, label, dataset, image, seed, protocol)
    tables/summary.csv   means per experiment x task x dataset x protocol x label
    tables/README.md     every paper-style table (Markdown), with .tex files beside it
    figures/README.md    an index of the figures below, viewable on any Markdown viewer
    figures/<experiment>_<dataset>_<metric>.png, ..._curves.png, ..._<image>_grid.png
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

from ..atomic import write_text
from .figures import comparison_plot, learning_curves_from_records, visual_grid, visual_panels
from .naming import file_stem
from .records import load_records, write_tables
from .tables import write_report_tables

PATH_COLUMNS = ("restored", "curve", "observation")


def _relative(df: pd.DataFrame, results: Path) -> pd.DataFrame:
    """Make file columns relative to the results folder (records hold them as the workflow wrote them)."""
    df = df.copy()
    for column in PATH_COLUMNS:
        if column in df.columns:
            df[column] = [os.path.relpath(p, results) if isinstance(p, str) and p else p for p in df[column]]
    return df


def build_report(results: Path, metrics_files: Sequence[str | os.PathLike], protocol: str = "dip_paper",
                 displays: Mapping[str, str] | None = None, grids: bool = True,
                 exclude_images: Sequence[str] = ()) -> pd.DataFrame:
    """Build every table and figure from the metric records; returns the records as a DataFrame."""
    results = Path(results)
    df = _relative(load_records(metrics_files), results)
    displays = dict(displays or {})
    df["display"] = [displays.get(label, label) for label in df["label"]]
    write_tables(df, results)
    shown = df[df["protocol"] == protocol].assign(label=lambda d: d["display"])
    write_report_tables(shown, results, exclude_images=exclude_images)
    write_figures(shown, results, grids=grids)
    return df


def write_figures(df: pd.DataFrame, results: Path, grids: bool = True) -> list[Path]:
    """Comparison plots, DIP learning curves and visual grids for every (experiment, dataset)."""
    figures = results / "figures"
    written: list[Path] = []
    index = ["# Figures", ""]
    pairs = list(df[["experiment", "dataset"]].drop_duplicates().itertuples(index=False))
    for experiment, dataset in tqdm(pairs, desc="figures", disable=len(pairs) < 2, leave=False):
        sub = df[(df["experiment"] == experiment) & (df["dataset"] == dataset)]
        stem = file_stem(experiment, dataset)
        index += [f"## {experiment} on {dataset}", ""]
        for metric in ("psnr", "ssim"):
            path = figures / f"{stem}_{metric}.png"
            written += comparison_plot(df, experiment, dataset, path, metric)
            index.append(f"![{metric}]({path.name})")
        with_curves = sub[sub["curve"].map(lambda p: isinstance(p, str) and (results / p).is_file()
                                           and (results / p).stat().st_size > 0)]
        for label, rows in with_curves.groupby("label", sort=True):
            path = figures / f"{file_stem(experiment, dataset, label)}_curves.png"
            written += learning_curves_from_records(rows, results, path,
                                                    title=f"{label}: {experiment} on {dataset}")
            index.append(f"![{label} learning curves]({path.name})")
        if grids:
            for image in sorted(sub["image"].unique()):
                path = figures / f"{file_stem(experiment, dataset, image)}_grid.png"
                panels = visual_panels(sub, results, image)
                written += visual_grid(panels, path, title=f"{experiment}: {dataset} / {image}")
                index.append(f"![{image}]({path.name})")
        index.append("")
    write_text(figures / "README.md", "\n".join(index).rstrip() + "\n")
    return written
