"""Writing the report's tables: every table of every (experiment, dataset) as Markdown, LaTeX and an HTML
fragment, the index ``tables/README.md`` and the provenance section.

Each LaTeX float ends with a provenance footnote (:func:`.provenance_table.provenance_note`) naming the
commit, configuration hash and hardware of the runs it shows.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from ..atomic import write_text
from ..metrics import metric_names
from .comparison import per_image_table, versus_reference_table
from .naming import PROVENANCE_TABLE, headline_metric, pair_stem, row_names, table_stem
from .provenance_table import provenance_note, provenance_table
from .stats import underfitted_reference_note
from .tables import (
    Table,
    _norm,
    _subset,
    early_stopping_table,
    metric_table,
    no_reference_images,
    reported_table,
)


def write_report_tables(
    df: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    metrics: Sequence[str] | None = None,
    exclude_images: Iterable[str] = (),
    references: dict[str, str] | None = None,
    orders: dict[str, Sequence[str]] | None = None,
) -> list[Path]:
    """Write the tables of every (experiment, dataset) under ``<out_dir>/tables/``.

    Per pair: ``<experiment>_<dataset>.md`` (every metric with values, default every registered one, the table without ``exclude_images``
    when some of them occur, the per-image table, the comparison with the reference and the
    reported-vs-reproduced table) and LaTeX floats labelled ``tab:<file stem>`` (:meth:`Table.to_latex`), named
    by :func:`.naming.table_stem`: ``<experiment>_<dataset>.tex`` (the headline metric, PSNR), ``..._ssim.tex``
    (every other registered metric), ``..._excl.tex``, ``..._per_image.tex`` (both of the headline metric),
    ``..._vs_<reference>.tex``, ``..._reported.tex`` and ``<experiment>_<dataset>_<label>_es.tex`` per
    early-stopping label. Also ``tables/provenance.md`` (and ``.tex``, ``.html``) and ``tables/README.md``,
    the index: warnings first (an under-fitted reference), then all Markdown tables, then the provenance.
    Returns the paths written.
    """
    tables = Path(out_dir) / "tables"
    metrics = metric_names() if metrics is None else metrics
    exclude_images = [str(i) for i in exclude_images]
    written: list[Path] = []
    index_parts = ["# Result tables", ""]
    warnings: list[str] = []
    if df.empty:
        index_parts.append("No results yet.")
    pairs = df[["experiment", "dataset"]].drop_duplicates().itertuples(index=False) if not df.empty else []
    headline = headline_metric()
    for experiment, dataset in pairs:
        stem = pair_stem(experiment, dataset)
        md = [f"## {experiment} on {dataset}", ""]
        sub = _subset(df, experiment, dataset)
        footnote = provenance_note(sub)
        reference, order = (references or {}).get(experiment), (orders or {}).get(experiment)

        def add(table: Table | None, name: str) -> None:
            if table is not None:
                md.extend([table.to_markdown(), ""])
                written.append(_write_latex(tables / f"{name}.tex", table, footnote))

        unscored = no_reference_images(sub)
        if unscored and len(unscored) == sub["image"].astype(str).nunique():
            # only no-reference runs: nothing to score, the figures are the result (a table of a mix
            # leaves the unscored images out and says so in a note)
            md += [f"No ground truth for {'image' if len(unscored) == 1 else 'images'} {', '.join(unscored)}: "
                   "no PSNR or SSIM; see the figures (learning curves, gallery).", ""]
        for metric in metrics:
            if metric not in sub.columns or sub[metric].notna().sum() == 0:
                continue
            add(metric_table(df, experiment, dataset, metric, reference=reference, order=order),
                table_stem(experiment, dataset, "metric", metric))
            if metric != headline:
                continue
            present = {_norm(i) for i in sub["image"].astype(str)}
            if any(_norm(i) in present for i in exclude_images):
                add(metric_table(df, experiment, dataset, metric, exclude_images=exclude_images,
                                 reference=reference, order=order), table_stem(experiment, dataset, "excl"))
            add(per_image_table(df, experiment, dataset, metric, order=order),
                table_stem(experiment, dataset, "per_image"))
            warning = _underfitted(sub, reference, metric)
            if warning:
                warnings.append(f"{experiment} on {dataset}: {warning}")
        labels = sub["label"].dropna().astype(str).unique() if "label" in sub.columns else []
        for label in labels:
            add(early_stopping_table(df, experiment, dataset, label),
                table_stem(experiment, dataset, "early_stopping", label))
        if reference:
            add(versus_reference_table(df, experiment, dataset, reference, order=order),
                table_stem(experiment, dataset, "versus", reference))
        add(reported_table(df, experiment, dataset), table_stem(experiment, dataset, "reported"))
        text = "\n".join(md).rstrip() + "\n"
        written.append(_write(tables / f"{stem}.md", text))
        index_parts += [text]
    if warnings:
        index_parts[2:2] = ["## Warnings", "", *[f"- {w}" for w in warnings], ""]
    if not df.empty:
        provenance = provenance_table(df)
        written.append(_write(tables / f"{PROVENANCE_TABLE}.md", provenance.to_markdown()))
        written.append(_write_latex(tables / f"{PROVENANCE_TABLE}.tex", provenance))
        index_parts += ["## Provenance", "", provenance.to_markdown()]
    written.append(_write(tables / "README.md", "\n".join(index_parts).rstrip() + "\n"))
    return written


def _underfitted(sub: pd.DataFrame, reference: str | None, metric: str) -> str | None:
    if not reference:
        return None
    scored = sub[sub[metric].notna()]
    return underfitted_reference_note(scored.assign(_row=row_names(scored).values), reference, metric) \
        if not scored.empty else None


def _write(path: Path, text: str) -> Path:
    write_text(path, text)
    return path


def _write_latex(path: Path, table: Table, footnote: str | None = None) -> Path:
    """``table`` as a LaTeX float labelled ``tab:<file stem>`` (``footnote`` as its last note), and as an
    HTML fragment beside it (for the workflow's HTML report, :mod:`dipbench.report.pages`)."""
    _write(path.with_suffix(".html"), table.to_html())
    if footnote:
        table = dataclasses.replace(table, notes=[*table.notes, footnote])
    return _write(path, table.to_latex(label=f"tab:{path.stem}"))
