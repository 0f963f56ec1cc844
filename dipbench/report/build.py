"""The report step: records -> runs/summary CSVs, paper-style tables, comparison plots, curves, grids.

Writes under the results folder::

    tables/runs.csv      one row per (experiment, label, dataset, image, seed, protocol)
    tables/summary.csv   means per experiment x task x dataset x protocol x label
    tables/README.md     every paper-style table (Markdown), with .tex files beside it
    figures/README.md    an index of the figures below with their captions, viewable on any Markdown viewer
    figures/captions.json  PNG file name -> caption (for the HTML report pages)
    figures/summary.png  every (experiment, dataset)'s mean PSNR per method, first in the index
    figures/<experiment>_<dataset>_<metric>.png, ..._<label>_curves.png, ..._<image>_grid.png
    figures/<experiment>_<dataset>_<image>_gallery.png  the paper-style gallery of a qualitative task
                         (dipbench.report.gallery), instead of its grid
    figures/noise_impedance_<dataset>_<image>.png  the noise-impedance figure of the impedance experiments
                         (dipbench.report.impedance), its threshold table in the .html beside it

Every figure is a PNG with a vector PDF of the same stem beside it (dipbench.report.figure_style). Every
file name comes from dipbench.report.naming, every figure's title and caption from its family's module
(comparison_figures, convergence, sweep_figures, curve_figures, visual_grid, gallery, impedance): this module
only decides what to draw and puts it in the index.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..atomic import write_text
from ..metrics import metric_facts, metric_names
from ..progress import progress_bar
from .comparison_figures import comparison_caption, comparison_plot, summary_caption, summary_plot
from .convergence import convergence_caption, convergence_plot, convergence_title, oracle_curves, table_mean
from .curve_figures import curve_inputs, curves_caption, curves_title, learning_curves
from .figure_style import save_figure
from .gallery import gallery_caption, gallery_figure, gallery_panels, gallery_title, is_gallery_task
from .impedance import write_impedance_figures
from .naming import SUMMARY_FIGURE, figure_stem, headline_metric, row_names
from .parallel import ordered_map
from .records import captions_path, load_records, write_tables
from .sweep_figures import sweep_caption, sweep_plot
from .table_files import write_report_tables
from .tables import task_text
from .visual_grid import grid_caption, grid_title, visual_grid, visual_panels

PATH_COLUMNS = ("restored", "curve", "observation")


def _relative(df: pd.DataFrame, results: Path) -> pd.DataFrame:
    """Make file columns relative to the results folder (records hold them as the workflow wrote them)."""
    df = df.copy()
    for column in PATH_COLUMNS:
        if column in df.columns:
            df[column] = [os.path.relpath(p, results) if isinstance(p, str) and p else p for p in df[column]]
    return df


def build_report(results: Path, metrics_files: Sequence[str | os.PathLike], protocol: str | Sequence[str] = "dip_paper",
                 displays: Mapping[str, str] | None = None, grids: bool = True,
                 exclude_images: Sequence[str] = (),
                 references: Mapping[str, str] | None = None,
                 orders: Mapping[str, Sequence[str]] | None = None,
                 sweeps: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
                 workers: int = 1) -> pd.DataFrame:
    """Build every table and figure from the metric records; returns the records as a DataFrame. Tables are
    written for each ``protocol`` (the first one's in ``tables/``, the others' in ``protocols/<name>/tables/``);
    figures use the first.
    A deterministic method's one run per image counts once (the image is the unit of every comparison);
    ``references`` and ``orders`` (by experiment, as display names) set each table's reference method and
    row order; ``sweeps`` (:meth:`Plan.sweeps`) names the swept rows each sweep figure plots; ``workers``
    processes draw the figures (:func:`write_figures`)."""
    results = Path(results)
    df = _relative(load_records(metrics_files), results)
    displays = dict(displays or {})
    df["display"] = row_names(df, displays, protocols=False).values
    write_tables(df, results)  # one row per run
    protocols = [protocol] if isinstance(protocol, str) else list(protocol)
    for i, name in enumerate(protocols):  # the first protocol's tables in tables/, the others' in protocols/<name>/
        shown = df[df["protocol"] == name]
        shown = shown.assign(label=shown["display"])
        write_report_tables(shown, results if i == 0 else results / "protocols" / name, exclude_images=exclude_images,
                            references=dict(references or {}), orders=dict(orders or {}))
        if i == 0:
            write_figures(shown, results, grids=grids, references=references, sweeps=sweeps, workers=workers)
    return df


def build_from_settings(results: Path, metrics_files: Sequence[str | os.PathLike],
                        settings: Mapping[str, Any], workers: int = 1) -> str | None:
    """:func:`build_report` with the workflow's report settings (:meth:`Plan.report_settings`) on ``workers``
    processes, then the reference check where the settings name one; returns its summary line (None
    without one)."""
    build_report(Path(results), metrics_files, protocol=settings["protocol"], displays=settings["displays"],
                 exclude_images=settings["exclude_images"], references=settings["references"],
                 orders=settings["orders"], sweeps=settings["sweeps"], workers=workers)
    if not settings.get("reference_check"):
        return None
    from .reference_check import check_reference

    return check_reference(results, settings["reference_check"])


def _index_entry(alt: str, path: Path, caption: str) -> list[str]:
    """A figure in the Markdown index: the PNG inline, its caption and a link to its PDF."""
    return [f"![{alt}]({path.name})", "", f"*{caption}* ([PDF]({path.with_suffix('.pdf').name}))", ""]


@dataclass
class FigureSection:
    """Figures and their part of the Markdown index: the files written, the captions (PNG file name ->
    caption) and the index lines (e.g. one (experiment, dataset) pair's section)."""

    written: list[Path] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)
    index: list[str] = field(default_factory=list)

    def add(self, alt: str, path: Path, caption: str) -> None:
        """Index one figure (``path``, its PNG) with its caption."""
        self.captions[path.name] = caption
        self.index.extend(_index_entry(alt, path, caption))

    def extend(self, other: "FigureSection") -> None:
        """Append another section's figures after this one's."""
        self.written += other.written
        self.captions.update(other.captions)
        self.index += other.index


def write_figures(df: pd.DataFrame, results: Path, grids: bool = True, references: Mapping[str, str] | None = None,
                  sweeps: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
                  workers: int = 1) -> list[Path]:
    """The summary figure, the noise-impedance figures (:mod:`.impedance`), then per (experiment, dataset)
    comparison plots (where a ground truth gave PSNRs), a convergence figure of every iterative method, one
    figure per sweep, learning curves (one figure per label) and visual grids (one per image; for the
    tasks with ``gallery = True`` a gallery, :mod:`.gallery`, instead); every figure
    as PNG and PDF, indexed with its caption in figures/README.md, the captions also in
    figures/captions.json (PNG file name -> caption). ``references``: the reference row of each experiment;
    ``sweeps``: each experiment's swept rows by base label (:meth:`Plan.sweeps`); ``workers``: processes
    that draw the (experiment, dataset) pairs (:mod:`.parallel`; the files are the same for any number)."""
    figures = results / "figures"
    out = FigureSection(index=["# Figures", ""])
    headline = headline_metric()
    if df.empty:
        out.index += ["No results yet.", ""]
    elif df[headline].notna().sum() == 0:
        out.index += [f"No run has a ground truth, so there is no {metric_facts(headline).label} summary.", ""]
    else:
        path = figures / f"{SUMMARY_FIGURE}.png"
        out.written += summary_plot(df, path, headline)
        out.index += ["## Summary", ""]
        out.add(f"summary: mean {metric_facts(headline).label} per method", path, summary_caption(headline))
    impedance = write_impedance_figures(df, results) if not df.empty else []
    if impedance:
        out.index += ["## Noise impedance", ""]
    for entry in impedance:
        out.written += entry.written
        out.add(f"noise impedance: {entry.dataset} / {entry.image}", entry.path, entry.caption)
        out.index += [entry.table.to_markdown(), ""]
    pairs = [tuple(pair) for pair in df[["experiment", "dataset"]].drop_duplicates().itertuples(index=False)]
    bar = progress_bar(len(pairs), "figures", enabled=len(pairs) >= 2, unit="pair")
    draw = partial(_pair_figures, df, results, grids, dict(references or {}), dict(sweeps or {}))
    for section in ordered_map(draw, pairs, workers=workers, done=lambda: bar.update(1)):
        out.extend(section)
    bar.close()
    write_text(figures / "README.md", "\n".join(out.index).rstrip() + "\n")
    write_text(captions_path(results), json.dumps(out.captions, indent=1, ensure_ascii=False) + "\n")
    return out.written


def _pair_figures(df: pd.DataFrame, results: Path, grids: bool, references: Mapping[str, str],
                  sweeps: Mapping[str, Mapping[str, Mapping[str, Any]]], pair: tuple[str, str]) -> FigureSection:
    """The figures of one (experiment, dataset) pair of :func:`write_figures` (run in a worker process where
    it draws several pairs at once)."""
    experiment, dataset = pair
    figures = results / "figures"
    out = FigureSection(index=[f"## {experiment} on {dataset}", ""])
    sub = df[(df["experiment"] == experiment) & (df["dataset"] == dataset)]

    def path_of(kind: str, part: object = None) -> Path:
        return figures / f"{figure_stem(experiment, dataset, kind, part)}.png"

    for metric in metric_names():
        if metric not in sub.columns or sub[metric].notna().sum() == 0:
            continue
        path = path_of("metric", metric)
        out.written += comparison_plot(df, experiment, dataset, path, metric)
        out.add(metric, path, comparison_caption(df, experiment, dataset, metric))
    with_curves = sub[sub["curve"].map(lambda p: isinstance(p, str) and (results / p).is_file()
                                       and (results / p).stat().st_size > 0)]
    reference = references.get(experiment)
    curves = oracle_curves(with_curves, results)
    if curves:
        path = path_of("convergence")
        final = table_mean(sub, reference) if reference in curves else None
        out.written += convergence_plot(curves, path, convergence_title(experiment, dataset, with_curves),
                                        reference, final)
        out.add("convergence", path, convergence_caption(experiment, dataset, reference, final))
    for base, rows in (sweeps.get(experiment) or {}).items():
        path = path_of("sweep", base)
        out.written += sweep_plot(sub, experiment, dataset, rows, path)
        out.add(f"{base} sweep", path, sweep_caption(experiment, dataset, base))
    for label, rows in with_curves.groupby("label", sort=True):
        path = path_of("curves", label)
        inputs = curve_inputs(rows, results)
        curves = inputs.pop("curves")
        out.written += learning_curves(curves, path, curves_title(label, experiment, dataset), **inputs)
        out.add(f"{label} learning curves", path, curves_caption(label, experiment, dataset, curves, **inputs))
    if grids and is_gallery_task(sub["task"].iloc[0]):
        for image in sorted(sub["image"].unique()):
            path = path_of("gallery", image)
            panels = gallery_panels(sub, results, image)
            title = gallery_title(task_text(str(sub["task"].iloc[0]), sub), experiment, dataset, image, panels)
            out.written += save_figure(gallery_figure(panels, title), path)
            out.add(f"{image} gallery", path, gallery_caption(experiment, dataset, image, panels))
    elif grids:
        for image in sorted(sub["image"].unique()):
            path = path_of("grid", image)
            panels = visual_panels(sub, results, image)
            out.written += visual_grid(panels, path, title=grid_title(experiment, dataset, image, panels))
            out.add(str(image), path, grid_caption(experiment, dataset, image, int(sub["seed"].min()), panels))
    return out
