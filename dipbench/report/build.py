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

Every figure is a PNG with a vector PDF of the same stem beside it (dipbench.report.figure_style).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..atomic import write_text
from ..metrics import metric_facts, metric_names
from ..progress import progress_bar
from .comparison_figures import comparison_plot, summary_plot
from .convergence import convergence_plot
from .curve_figures import curve_inputs, learning_curves, read_curve
from .figure_style import save_figure
from .gallery import gallery_caption, gallery_figure, gallery_panels, gallery_title, is_gallery_task
from .impedance import write_impedance_figures
from .naming import file_stem
from .records import load_records, write_tables
from .sweep_figures import sweep_plot
from .table_files import write_report_tables
from .tables import task_text
from .visual_grid import visual_grid, visual_panels

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
                 sweeps: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None) -> pd.DataFrame:
    """Build every table and figure from the metric records; returns the records as a DataFrame. Tables are
    written for each ``protocol`` (the first one's in ``tables/``, the others' in ``protocols/<name>/tables/``);
    figures use the first.
    A deterministic method's one run per image counts once (the image is the unit of every comparison);
    ``references`` and ``orders`` (by experiment, as display names) set each table's reference method and
    row order; ``sweeps`` (:meth:`Plan.sweeps`) names the swept rows each sweep figure plots."""
    results = Path(results)
    df = _relative(load_records(metrics_files), results)
    displays = dict(displays or {})
    df["display"] = [displays.get(label, label) for label in df["label"]]
    write_tables(df, results)  # one row per run
    protocols = [protocol] if isinstance(protocol, str) else list(protocol)
    for i, name in enumerate(protocols):  # the first protocol's tables in tables/, the others' in protocols/<name>/
        shown = df[df["protocol"] == name]
        shown = shown.assign(label=shown["display"])
        write_report_tables(shown, results if i == 0 else results / "protocols" / name, exclude_images=exclude_images,
                            references=dict(references or {}), orders=dict(orders or {}))
        if i == 0:
            write_figures(shown, results, grids=grids, references=references, sweeps=sweeps)
    return df


def build_from_settings(results: Path, metrics_files: Sequence[str | os.PathLike],
                        settings: Mapping[str, Any]) -> str | None:
    """:func:`build_report` with the workflow's report settings (:meth:`Plan.report_settings`), then the
    reference check where the settings name one; returns its summary line (None without one)."""
    build_report(Path(results), metrics_files, protocol=settings["protocol"], displays=settings["displays"],
                 exclude_images=settings["exclude_images"], references=settings["references"],
                 orders=settings["orders"], sweeps=settings["sweeps"])
    if not settings.get("reference_check"):
        return None
    from .reference_check import check_reference

    return check_reference(results, settings["reference_check"])


def _index_entry(alt: str, path: Path, caption: str) -> list[str]:
    """A figure in the Markdown index: the PNG inline, its caption and a link to its PDF."""
    return [f"![{alt}]({path.name})", "", f"*{caption}* ([PDF]({path.with_suffix('.pdf').name}))", ""]


def _seed_text(sub: pd.DataFrame) -> str:
    return "mean over seeds; grey dots: single seeds" if sub["seed"].nunique() > 1 else "one run per image"


def write_figures(df: pd.DataFrame, results: Path, grids: bool = True, references: Mapping[str, str] | None = None,
                  sweeps: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None) -> list[Path]:
    """The summary figure, the noise-impedance figures (:mod:`.impedance`), then per (experiment, dataset)
    comparison plots (where a ground truth gave PSNRs), a convergence figure of every iterative method, one
    figure per sweep, learning curves (one figure per label) and visual grids (one per image; for the
    tasks with ``gallery = True`` a gallery, :mod:`.gallery`, instead); every figure
    as PNG and PDF, indexed with its caption in figures/README.md, the captions also in
    figures/captions.json (PNG file name -> caption). ``references``: the reference row of each experiment;
    ``sweeps``: each experiment's swept rows by base label (:meth:`Plan.sweeps`)."""
    figures = results / "figures"
    written: list[Path] = []
    captions: dict[str, str] = {}
    index = ["# Figures", ""]

    def add(alt: str, path: Path, caption: str) -> None:
        captions[path.name] = caption
        index.extend(_index_entry(alt, path, caption))

    if df.empty:
        index += ["No results yet.", ""]
    elif df["psnr"].notna().sum() == 0:
        index += ["No run has a ground truth, so there is no PSNR summary.", ""]
    else:
        path = figures / f"{file_stem('summary')}.png"
        written += summary_plot(df, path)
        index += ["## Summary", ""]
        add("summary: mean PSNR per method", path,
            "Mean PSNR (dB) of every method, one panel per experiment and dataset: the mean over images of the "
            "per-image mean over seeds, best on top; grey dots: each seed's mean over images, bars: ± 1 "
            "standard deviation over seeds; highlighted: the reference method; red crosses: the paper's "
            "reported means, where it reports one for the whole dataset.")
    impedance = write_impedance_figures(df, results) if not df.empty else []
    if impedance:
        index += ["## Noise impedance", ""]
    for entry in impedance:
        written += entry.written
        add(f"noise impedance: {entry.dataset} / {entry.image}", entry.path, entry.caption)
        index += [entry.table.to_markdown(), ""]
    pairs = list(df[["experiment", "dataset"]].drop_duplicates().itertuples(index=False))
    bar = progress_bar(len(pairs), "figures", enabled=len(pairs) >= 2, unit="pair")
    for experiment, dataset in pairs:
        bar.update(1)
        sub = df[(df["experiment"] == experiment) & (df["dataset"] == dataset)]
        stem = file_stem(experiment, dataset)
        index += [f"## {experiment} on {dataset}", ""]
        for metric in metric_names():
            if metric not in sub.columns or sub[metric].notna().sum() == 0:
                continue
            path = figures / f"{stem}_{metric}.png"
            written += comparison_plot(df, experiment, dataset, path, metric)
            add(metric, path,
                f"{experiment} on {dataset}: {metric_facts(metric).axis_label} of every image "
                f"({_seed_text(sub)}), one row per method, best on top; black bar and "
                "right-hand column: the mean over images; red crosses: the paper's reported means, where shown.")
        with_curves = sub[sub["curve"].map(lambda p: isinstance(p, str) and (results / p).is_file()
                                           and (results / p).stat().st_size > 0)]
        reference = (references or {}).get(experiment)
        curves = _curves_by_label(with_curves, results)
        if curves:
            path = figures / f"{stem}_convergence.png"
            final = _table_mean(sub, reference) if reference in curves else None
            written += convergence_plot(curves, path, _convergence_title(experiment, dataset, with_curves),
                                        reference, final)
            add("convergence", path,
                f"{experiment} on {dataset}: mean oracle PSNR over images of every iterative method against step "
                "(left) and wall-clock seconds of the fit (right, up to the step every run reached); bands: ± 1 "
                "standard deviation over seeds; a run that stopped early (early stopping) holds its last value; "
                "a method with more than 1.5 times the reference's steps is cut at the reference's budget"
                + (f"; dashed: {reference}'s Avg. in the PSNR table (its scored output)." if final is not None
                   else "."))
        for base, rows in ((sweeps or {}).get(experiment) or {}).items():
            path = figures / f"{file_stem(experiment, dataset, base)}_sweep.png"
            written += sweep_plot(sub, experiment, dataset, rows, path)
            add(f"{base} sweep", path,
                f"{experiment} on {dataset}: mean PSNR over images of {base} against its swept parameter "
                "(± 1 standard deviation over seeds).")
        for label, rows in with_curves.groupby("label", sort=True):
            path = figures / f"{file_stem(experiment, dataset, label)}_curves.png"
            inputs = curve_inputs(rows, results)
            curves = inputs.pop("curves")
            written += learning_curves(curves, path, f"{label}: {experiment} on {dataset}", **inputs)
            what = inputs["psnr_label"].replace("\n", " ")
            stopping = ("; diamonds: the step whose output early stopping returned, dashed lines: the step "
                        "the run stopped at") if inputs["es_steps"] else ""
            oracle = any(c in curve.columns and curve[c].notna().any() for curve in curves.values()
                         for c in ("psnr", "psnr_ema"))
            shown = (f"{what} (oracle: against the ground truth, which no method sees) and training loss" if oracle
                     else "training loss (no ground truth, so no PSNR)")
            add(f"{label} learning curves", path,
                f"{label}, {experiment} on {dataset}: {shown} per step, one line per image and seed{stopping}."
                + (f" {inputs['note']}" if inputs["note"] and oracle else ""))
        if grids and is_gallery_task(sub["task"].iloc[0]):
            for image in sorted(sub["image"].unique()):
                path = figures / f"{file_stem(experiment, dataset, image)}_gallery.png"
                panels = gallery_panels(sub, results, image)
                title = gallery_title(task_text(str(sub["task"].iloc[0]), sub), experiment, dataset, image, panels)
                written += save_figure(gallery_figure(panels, title), path)
                add(f"{image} gallery", path, gallery_caption(experiment, dataset, image, panels))
        elif grids:
            for image in sorted(sub["image"].unique()):
                path = figures / f"{file_stem(experiment, dataset, image)}_grid.png"
                panels = visual_panels(sub, results, image)
                title = f"{experiment}: {dataset} / {image}" + (f"\n{panels.note}" if panels.note else "")
                written += visual_grid(panels, path, title=title)
                missing = any(p.missing is not None and p.missing.any() for p in panels)
                shown = ("ground truth, degraded input and each method's result with its PSNR"
                         if any(p.title == "ground truth" for p in panels)
                         else "the input and each method's result (no ground truth, so no PSNR)")
                add(str(image), path,
                    f"{experiment} on {dataset}, image {image} (seed {int(sub['seed'].min())}): {shown}; below "
                    "each, the region in the yellow box enlarged."
                    + (f" {panels.note[0].upper()}{panels.note[1:]}." if panels.note else "")
                    + (" Magenta: the input's missing pixels." if missing else ""))
    bar.close()
    write_text(figures / "README.md", "\n".join(index).rstrip() + "\n")
    write_text(figures / "captions.json", json.dumps(captions, indent=1, ensure_ascii=False) + "\n")
    return written


def _curves_by_label(records: pd.DataFrame, results: Path) -> dict[str, list[pd.DataFrame]]:
    """Each label's learning curves with oracle PSNRs (one per run), tagged with the run's seed and its
    ``output`` parameter (``attrs``), for the convergence figure."""
    curves: dict[str, list[pd.DataFrame]] = {}
    for label, rows in records.groupby("label", sort=False):
        for row in rows.itertuples(index=False):
            curve = read_curve(results / row.curve)
            if "psnr" not in curve.columns or curve["psnr"].notna().sum() < 2:
                continue
            curve.attrs.update(seed=int(row.seed), output=getattr(row, "param_output", None))
            curves.setdefault(str(label), []).append(curve)
    return curves


def _table_mean(sub: pd.DataFrame, label: str) -> float | None:
    """``label``'s "Avg." in the PSNR table: the mean over images of each image's mean PSNR over seeds."""
    psnr = sub.loc[sub["label"] == label].groupby("image")["psnr"].mean().dropna()
    return float(psnr.mean()) if not psnr.empty else None


def _convergence_title(experiment: str, dataset: str, runs: pd.DataFrame) -> str:
    """Names what the convergence figure averages: the images (up to four by name) and the seeds."""
    images = sorted(runs["image"].astype(str).unique())
    named = ", ".join(images) if len(images) <= 4 else f"{len(images)} images"
    seeds = runs["seed"].nunique()
    return (f"{experiment} on {dataset}: convergence, mean over {len(images)} image{'s' * (len(images) != 1)} "
            f"({named}) and {seeds} seed{'s' * (seeds != 1)}")
