"""The workflow's HTML report: one self-contained page per table and figure, each with a caption that says
what it shows and the experiment's task, protocol, images, seeds and method settings.

``snakemake --report report.html`` collects these pages (the rule ``report_pages`` registers them,
grouped by experiment and dataset, the reported-vs-reproduced tables first). Pages are named
``<experiment>.<dataset>.<order>.<item>.html`` (:func:`.naming.page_name`; each table and figure is found
by parsing its file name back, :func:`.naming.parse_table_stem` and :func:`.naming.parse_figure_stem`);
``order`` sorts them within a dataset: 0 reported vs reproduced, 1 PSNR, PSNR per image and versus the
reference, 2 SSIM (and every other registered metric), 3 without excluded images, 4 early stopping,
5 comparison plots, convergence and sweeps, 6 learning curves, 7 visual grids and galleries. The summary
figure of the whole config is ``all.all.0.summary.html``, each noise-impedance figure (it spans
experiments) ``all.all.1.noise_impedance_<dataset>_<image>.html``, the provenance of all results (commit,
configuration hash, hardware) ``all.all.2.provenance.html``.
A figure with an HTML fragment beside it (``<figure>.html``, e.g. the noise-impedance threshold table) shows
it below the figure. Pages state the protocol of the tables they show (the first of the config's
``protocols``; the others' tables are in ``protocols/<name>/tables/``). The report's first page, the
results overview, is :mod:`.overview`.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import pandas as pd

from ..atomic import write_text
from ..metrics import metric_facts
from ..tasks import task_title
from .naming import (
    PROVENANCE_TABLE,
    SUMMARY_FIGURE,
    Name,
    figure_page_name,
    file_stem,
    headline_metric,
    impedance_page,
    is_impedance_stem,
    page_name,
    pair_stem,
    parse_figure_stem,
    parse_table_stem,
    provenance_page,
    summary_page,
)
from .pictures import embedded_image
from .records import load_captions, load_runs

STYLE = """
body { font-family: sans-serif; margin: 1.5em; max-width: 70em; }
table.dipbench { border-collapse: collapse; margin: 0.5em 0; }
table.dipbench caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: 0.4em; }
table.dipbench th, table.dipbench td { padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; }
table.dipbench thead th { border-bottom: 2px solid #333; }
img { max-width: 100%; }
.context { color: #333; font-size: 0.95em; }
details { margin-top: 1em; font-size: 0.9em; }
"""

def _table_page(name: Name) -> tuple[int, str, str]:
    """(order, page item, what it shows) of a table page, by the table's kind (:func:`.naming.parse_table_stem`):
    one per registered metric (:func:`dipbench.metrics.metrics`), the headline metric's first."""
    headline = metric_facts(headline_metric()).label
    if name.kind == "metric":
        what = f"{metric_facts(name.part).label} table"
        return (1 if name.part == headline_metric() else 2), file_stem(what), what
    if name.kind == "versus":
        return 1, f"versus-{name.part}", f"versus {name.part}"
    if name.kind == "early_stopping":
        return 4, f"{name.part}-early-stopping", f"early stopping of {name.part}"
    order, what = {"reported": (0, "reported vs reproduced"),
                   "per_image": (1, f"{headline} per image, mean and seed spread"),
                   "excl": (3, f"{headline} without excluded images")}[name.kind]
    return order, file_stem(what), what


def _figure_page(name: Name) -> tuple[int, str]:
    """(order, what it shows) of a figure page, by the figure's kind (:func:`.naming.parse_figure_stem`)."""
    if name.kind == "metric":
        return 5, f"{metric_facts(name.part).label} per image"
    return {"convergence": (5, "convergence"), "sweep": (5, "sweep"), "curves": (6, "learning curves"),
            "grid": (7, "visual comparison"), "gallery": (7, "gallery")}[name.kind]


def write_pages(results: str | os.PathLike, out: str | os.PathLike) -> list[Path]:
    """Write every page for the results in ``results`` (``tables/``, ``figures/``, ``tables/runs.csv``)
    into the folder ``out``; returns the pages written."""
    results, out = Path(results), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = load_runs(results)
    captions = load_captions(results)
    written = []
    summary = results / "figures" / f"{SUMMARY_FIGURE}.png"
    if summary.is_file():
        written.append(_page(out / summary_page(), "Summary of the whole configuration",
                             _figure(summary, captions), _config_context(runs)))
    impedance = runs[runs["task"].astype(str) == "impedance"] if runs is not None and "task" in runs else None
    for path in sorted((results / "figures").glob("*.png")):
        if is_impedance_stem(path.stem):
            written.append(_page(out / impedance_page(path.stem), "Noise impedance (the paper's fig. 2)",
                                 _figure(path, captions), _config_context(impedance)))
    provenance = results / "tables" / f"{PROVENANCE_TABLE}.html"
    if provenance.is_file():
        written.append(_page(out / provenance_page(), "Provenance: code, configuration and hardware",
                             provenance.read_text(encoding="utf-8"), _config_context(runs)))
    if runs is None or runs.empty:
        return written
    first = first_protocol(results, runs) if "protocol" in runs else None
    shown = runs if first is None else runs[runs["protocol"].astype(str) == first]
    for (experiment, dataset), sub in shown.groupby(["experiment", "dataset"], sort=False):
        stem = pair_stem(experiment, dataset)
        context = _context(sub)
        pages = []  # (order, file name, page, what, path, figure?): the bodies are read as each page is written
        for path in (results / "tables").glob(f"{stem}*.html"):
            name = parse_table_stem(path.stem, experiment, dataset)
            if name is not None:
                order, item, what = _table_page(name)
                pages.append((order, path.name, page_name(experiment, dataset, order, item), what, path, False))
        for path in (results / "figures").glob(f"{stem}*.png"):
            name = parse_figure_stem(path.stem, experiment, dataset)
            if name is not None:
                order, what = _figure_page(name)
                pages.append((order, path.name, figure_page_name(experiment, dataset, order, path.stem), what,
                              path, True))
        for *_, page, what, path, figure in sorted(pages, key=lambda entry: entry[:2]):
            body = _figure(path, captions) if figure else path.read_text(encoding="utf-8")
            written.append(_page(out / page, f"{experiment} on {dataset}: {what}", body, context))
    return written


def first_protocol(results: Path, runs: pd.DataFrame) -> str | None:
    """The protocol of ``tables/`` and ``figures/``: the one without its own ``protocols/<name>/`` folder
    (where the report step puts every other protocol's tables)."""
    names = list(dict.fromkeys(runs["protocol"].dropna().astype(str)))
    first = [name for name in names if not (results / "protocols" / name).is_dir()]
    return (first or names or [None])[0]


def _figure(path: Path, captions: dict[str, str]) -> str:
    """The figure at full size (lossless, :func:`.pictures.embedded_image`), its caption, where its PNG
    and PDF are (not embedded: they would triple the report's size), and its HTML fragment if any."""
    caption = captions.get(path.name, path.stem.replace("_", " "))
    files = f"figures/{path.name}" + (f" and figures/{path.with_suffix('.pdf').name}"
                                      if path.with_suffix(".pdf").is_file() else "")
    fragment = path.with_suffix(".html")
    extra = fragment.read_text(encoding="utf-8") if fragment.is_file() else ""
    return (f'<figure><img src="{embedded_image(path)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)} <small>(files: {html.escape(files)} in the results folder)</small>"
            "</figcaption></figure>" + extra)


def _context(sub: pd.DataFrame) -> str:
    """The experiment's task, protocol, images, seeds and each method's settings, as HTML."""
    first = sub.iloc[0]
    task = str(first.get("task", ""))
    params = _json(first.get("task_params"))
    images = sorted(sub["image"].astype(str).unique())
    seeds = sorted(int(s) for s in sub["seed"].dropna().unique()) if "seed" in sub else []
    protocols = sorted(sub["protocol"].dropna().astype(str).unique()) if "protocol" in sub else []
    task_text = task_title(task) + (f" ({', '.join(f'{k} {v}' for k, v in params.items())})" if params else "")
    lines = [f"<p class=\"context\"><b>Task:</b> {html.escape(task_text)}. <b>Protocol:</b> "
             f"{html.escape(', '.join(protocols) or 'not recorded')}. <b>Images ({len(images)}):</b> "
             f"{html.escape(', '.join(images))}. <b>Seeds:</b> {html.escape(', '.join(map(str, seeds)) or '-')}.</p>"]
    settings = []
    for label, rows in sub.groupby("label", sort=False):
        row = rows.iloc[0]
        extra = f", precision {row['precision']}" if isinstance(row.get("precision"), str) else ""
        settings.append(f"<li><b>{html.escape(str(label))}</b> ({html.escape(str(row.get('method', '')))}{extra}): "
                        f"<code>{html.escape(json.dumps(_json(row.get('params')), sort_keys=True))}</code></li>")
    lines.append("<details><summary>Method settings</summary><ul>" + "".join(settings) + "</ul></details>")
    return "\n".join(lines)


def _config_context(runs: pd.DataFrame | None) -> str:
    if runs is None or runs.empty:
        return ""
    experiments = ", ".join(f"{e} ({task_title(str(t))})" for e, t in
                            runs[["experiment", "task"]].drop_duplicates().itertuples(index=False))
    return f"<p class=\"context\"><b>Experiments:</b> {html.escape(experiments)}.</p>"


def _json(value) -> dict:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _page(path: Path, title: str, body: str, context: str) -> Path:
    write_text(path, f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                     f"<style>{STYLE}</style></head><body>\n<h2>{html.escape(title)}</h2>\n{body}\n{context}\n"
                     "</body></html>\n")
    return path
