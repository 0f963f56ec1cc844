"""Paper-style result tables, rendered as Markdown and LaTeX (booktabs) without extra dependencies.

The LaTeX files are ``table`` / ``table*`` floats sized for a two-column paper (see :func:`latex_layout`):
``\\input`` them into a document whose preamble has ``\\usepackage{booktabs}`` (each file's header comment
names what it needs).

One table per (experiment, dataset): methods (labels) as rows, images as columns plus "Avg.", the metric
averaged over seeds per image, the best value of every column in bold (ties at the shown precision are all
bold). Where the paper reports a number for a method (see :mod:`dipbench.report.reported`), the PSNR table carries
"Reported" and "Δ" (reproduced Avg. − reported) columns; :func:`reported_vs_reproduced` gives the compact
comparison with sources and the values recomputed from the authors' published images.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..metrics import metric_facts
from .latex import render_latex
from .reported import reported_for_record
from .naming import row_names, seeds_text
from .stats import underfitted_reference_note

AVG = "Avg."
REPORTED = "Reported"
DELTA = "Δ"



@dataclass
class Table:
    """A rendered-agnostic table: numeric ``values`` (rows = row names, columns = column names), which cells
    are bold, per-column decimals, cell suffixes (footnote marks), a caption and notes."""

    values: pd.DataFrame
    row_title: str = "Method"
    bold: pd.DataFrame | None = None
    decimals: dict[str, int] = field(default_factory=dict)
    signed: set[str] = field(default_factory=set)
    text: pd.DataFrame | None = None  # string cells overriding the numbers (e.g. a source column)
    marks: dict[tuple[str, str], str] = field(default_factory=dict)
    caption: str = ""
    notes: list[str] = field(default_factory=list)

    def cell(self, row: str, column: str) -> str:
        """The plain text of one cell ("–" when missing)."""
        if self.text is not None and column in self.text.columns:
            value = self.text.at[row, column]
            if isinstance(value, str):
                return value
        value = self.values.at[row, column] if column in self.values.columns else np.nan
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, str):
            return value
        decimals = self.decimals.get(column, 2)
        if column in self.signed:
            return f"{float(value):+.{decimals}f}"
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        return f"{float(value):.{decimals}f}"

    def text_columns(self) -> set[str]:
        return set(self.text.columns) if self.text is not None else set()

    def is_bold(self, row: str, column: str) -> bool:
        return bool(
            self.bold is not None and column in self.bold.columns and row in self.bold.index
            and self.bold.at[row, column]
        )

    def _cells(self, row: str, empty: str, escape, bold: str) -> list[str]:
        """The formatted cells of one row: ``escape((text, footnote mark))``, ``bold`` a format string for
        the best values, ``empty`` for missing ones."""
        cells = []
        for column in self.values.columns:
            text = self.cell(row, column)
            if not text:
                cells.append(empty)
                continue
            text = escape((text, self.marks.get((row, column), "")))
            cells.append(bold.format(text) if self.is_bold(row, column) else text)
        return cells

    def to_markdown(self, caption: bool = True) -> str:
        """A GitHub-flavoured Markdown table (bold as ``**x**``), caption in italics above, notes below."""
        columns = list(self.values.columns)
        header = [self.row_title] + columns
        lines = []
        if caption and self.caption:
            lines += [f"*{_md_escape(self.caption)}*", ""]
        lines.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
        lines.append("| --- | " + " | ".join("---" if c in self.text_columns() else "---:" for c in columns) + " |")
        for row in self.values.index:
            cells = [_md_escape(str(row))] + self._cells(row, "–", lambda t: _md_escape(t[0]) + t[1], "**{}**")
            lines.append("| " + " | ".join(cells) + " |")
        if self.notes:
            lines.append("")
            lines += [f"- {_md_escape(note)}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """An HTML ``<table>`` with the caption as ``<caption>`` and the notes in a list below (a fragment
        for the workflow's HTML report); best values in ``<b>``."""
        def cell(text: str, numeric: bool, tag: str = "td") -> str:
            return f'<{tag} style="text-align:{"right" if numeric else "left"}">{text}</{tag}>'

        text_columns = self.text_columns()
        head = cell(html.escape(self.row_title), False, "th") + "".join(
            cell(html.escape(str(c)), c not in text_columns, "th") for c in self.values.columns)
        rows = []
        for row in self.values.index:
            cells = self._cells(row, "–", lambda t: html.escape(t[0] + t[1]), "<b>{}</b>")
            rows.append("<tr>" + cell(html.escape(str(row)), False) + "".join(
                cell(text, column not in text_columns) for text, column in zip(cells, self.values.columns)) + "</tr>")
        parts = ['<table class="dipbench">']
        if self.caption:
            parts.append(f"<caption>{html.escape(self.caption)}</caption>")
        parts += [f"<thead><tr>{head}</tr></thead>", "<tbody>", *rows, "</tbody></table>"]
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in self.notes) + "</ul>")
        return "\n".join(parts) + "\n"

    def to_latex(self, caption: bool = True, label: str | None = None) -> str:
        """A booktabs table float that ``\\input``s into a two-column paper without overfull lines
        (:func:`dipbench.report.latex.render_latex`)."""
        return render_latex(self, caption, label)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------------------------------------------
# building tables from records


def _subset(df: pd.DataFrame, experiment: str, dataset: str | None) -> pd.DataFrame:
    sub = df[df["experiment"] == experiment]
    if dataset is not None:
        sub = sub[sub["dataset"] == dataset]
    return sub


def _norm(name: str) -> str:
    return str(name).strip().lower()


def _ordered(values: Iterable[str], order: Sequence[str] | None) -> list[str]:
    seen = list(dict.fromkeys(values))
    if order is None:
        return seen
    return [v for v in order if v in seen]


def _best_mask(values: pd.DataFrame, columns: Sequence[str], decimals: int, higher: bool) -> pd.DataFrame:
    bold = pd.DataFrame(False, index=values.index, columns=values.columns)
    for column in columns:
        shown = values[column].astype(float).round(decimals)
        if shown.notna().sum() == 0:
            continue
        best = shown.max() if higher else shown.min()
        bold[column] = shown == best
    return bold


def metric_table(
    df: pd.DataFrame,
    experiment: str,
    dataset: str,
    metric: str = "psnr",
    *,
    exclude_images: Iterable[str] = (),
    labels: Sequence[str] | None = None,
    images: Sequence[str] | None = None,
    seed: int | None = None,
    reported: bool = True,
    show_std: bool | None = None,
    decimals: int | None = None,
    reference: str | None = None,
    order: Sequence[str] | None = None,
) -> Table:
    """The paper-style table of one (experiment, dataset).

    metric: a record column (``psnr``, ``ssim``, ``runtime_s``, ...), averaged over seeds per image (or only
    ``seed`` when given). exclude_images: image names left out (case-insensitive, e.g. ``("lena", "lenna")``);
    the average is recomputed over the remaining images and a note says so. labels / images: the rows /
    columns to show, in this order (default: all, in record order). reported: add "Reported" and "Δ" columns
    for methods with a paper value (PSNR only, all images, paper protocol). show_std: add a "± std" column:
    the standard deviation over seeds of the per-seed average (default: where a row has several seeds).
    reference: a row name; adds "Δ <reference>" (each row's Avg. minus the reference's). order: the row
    order (e.g. the config's), rows not named follow; the degraded input (method ``input``) always comes
    last. The PSNR table also shows each row's median seconds per run and, for iterative methods, steps.
    """
    name, unit, default_decimals, higher = metric_facts(metric)
    decimals = default_decimals if decimals is None else decimals
    sub = _subset(df, experiment, dataset)
    if sub.empty:
        raise ValueError(f"no records for experiment {experiment!r} on dataset {dataset!r}")
    if metric not in sub.columns:
        raise ValueError(f"records have no column {metric!r}")
    if seed is not None:
        sub = sub[sub["seed"] == seed]
        if sub.empty:
            raise ValueError(f"no records with seed {seed} for {experiment!r} on {dataset!r}")
    sub = sub.assign(_row=row_names(sub).values)
    unscored = no_reference_images(sub)
    if unscored:
        sub = sub[~sub["image"].astype(str).isin(unscored)]
        if sub.empty:
            raise ValueError(f"no image of experiment {experiment!r} on dataset {dataset!r} has a ground truth")
    all_images = _ordered(sorted(set(sub["image"].astype(str))), images)
    excluded_set = {_norm(i) for i in exclude_images}
    excluded = [i for i in all_images if _norm(i) in excluded_set]
    shown_images = [i for i in all_images if _norm(i) not in excluded_set]
    rows = _ordered(sub["_row"], labels) if labels is not None else _row_order(sub, order)
    if not shown_images or not rows:
        raise ValueError(f"nothing to show for experiment {experiment!r} on dataset {dataset!r}")

    per_run = sub[sub["image"].isin(shown_images) & sub["_row"].isin(rows)]
    per_image = per_run.groupby(["_row", "image"], sort=False)[metric].mean().unstack("image")
    values = per_image.reindex(index=rows, columns=shown_images).astype(float)
    values[AVG] = values[shown_images].mean(axis=1, skipna=True)
    bold = _best_mask(values, shown_images, decimals, higher)
    complete = values[shown_images].notna().all(axis=1)
    # an average over fewer images is not comparable: bold the best Avg. among complete rows when there are any
    candidates = values[complete] if complete.any() else values
    bold[AVG] = _best_mask(candidates, [AVG], decimals, higher)[AVG].reindex(values.index, fill_value=False)
    table_decimals = {c: decimals for c in values.columns}
    signed_columns = {DELTA}
    notes: list[str] = []
    marks: dict[tuple[str, str], str] = {}

    incomplete = values[shown_images].notna().sum(axis=1)
    for row in rows:
        if 0 < incomplete[row] < len(shown_images):
            marks[(row, AVG)] = "†"
            notes.append(f"† {row}: average over {int(incomplete[row])} of {len(shown_images)} images.")

    n_seeds = per_run.groupby(["_row", "image"])["seed"].nunique() if "seed" in per_run else pd.Series(dtype=int)
    if show_std is None:
        show_std = not n_seeds.empty and int(n_seeds.max()) > 1
    if show_std and "seed" in per_run.columns:
        per_seed = per_run.groupby(["_row", "seed"])[metric].mean()
        std = per_seed.groupby(level=0).std(ddof=1).reindex(rows)
        values["± std"] = std.values
        table_decimals["± std"] = decimals
        notes.append("± std: the standard deviation over seeds of a row's mean over images; – where it ran once "
                     "per image (the per-image table has each image's spread).")

    if reference is not None and reference in values.index and len(values.index) > 1:
        column = f"{DELTA} {reference}"
        values[column] = values[AVG] - values.at[reference, AVG]
        table_decimals[column] = decimals
        signed_columns.add(column)
        warning = underfitted_reference_note(per_run[per_run[metric].notna()], reference, metric)
        if warning:
            notes.append(warning)
    if metric == "psnr":
        _add_effort_columns(values, per_run, table_decimals)

    protocols = sorted(set(sub["protocol"].dropna().astype(str))) if "protocol" in sub.columns else []
    task = str(sub["task"].iloc[0])
    if unscored:
        notes.append(f"No ground truth, so no {name}: {', '.join(unscored)} (not in the table).")
    if excluded:
        notes.append(
            f"Images left out: {', '.join(excluded)}; {AVG} is over the {len(shown_images)} remaining images "
            "and is not comparable with averages over the full set."
        )
    all_shown = set(shown_images) == set(sub["image"].astype(str))
    partial = covers_part_of_dataset(dataset, shown_images)
    if partial:
        notes.append(f"These are {len(shown_images)} of the {dataset} images: the paper's averages are over all "
                     "of them, so no reported value is shown.")
    if reported and metric == "psnr" and all_shown and not partial and seed is None:
        rep = _reported_rows(sub, rows)
        if rep:
            values[REPORTED] = [rep[r].paper if r in rep else np.nan for r in rows]
            values[DELTA] = values[AVG] - values[REPORTED]
            table_decimals[REPORTED] = decimals
            table_decimals[DELTA] = decimals
            sources = ", ".join(f"{r}: {rep[r].paper:.{decimals}f} ({rep[r].source})" for r in rows if r in rep)
            notes.append(f"{REPORTED}: the paper's value ({sources}); {DELTA} = {AVG} − {REPORTED}.")
    precision = _precision_note(per_run)
    if precision:
        notes.append(precision)
    if not values[AVG].isna().all():
        notes.insert(0, f"Best value of each column in bold ({'higher' if higher else 'lower'} is better).")

    seeds_caption = f"seed {seed}" if seed is not None else seeds_text(n_seeds.tolist())
    caption = (
        f"{task_text(task, sub)} ({experiment}) on {dataset}, {len(shown_images)} image"
        f"{'s' if len(shown_images) != 1 else ''}, {seeds_caption}; {name}" + (f" ({unit})" if unit else "")
        + (f", {' / '.join(protocols)} protocol" if protocols else "") + "."
    )
    return Table(
        values=values, bold=bold, decimals=table_decimals, signed=signed_columns, marks=marks, caption=caption,
        notes=notes,
    )


def no_reference_images(sub: pd.DataFrame) -> list[str]:
    """The images of ``sub`` whose every record says ``reference: false``: runs on an observation without
    a ground truth (a given JPEG, a real flash / no-flash pair, noise impedance), which have no PSNR or
    SSIM. Records without a ``reference`` field count as scored."""
    if sub.empty or "reference" not in sub.columns:
        return []
    flags = sub["reference"].eq(False)  # missing (NaN) counts as scored
    per_image = flags.groupby(sub["image"].astype(str)).all()
    return sorted(per_image[per_image].index)


def _precision_note(runs: pd.DataFrame) -> str:
    """"Precision: bf16 autocast for DIP; fp32 for the others." where any row ran below fp32, else ""."""
    if "precision" not in runs.columns:
        return ""
    by_row = runs.groupby("_row", sort=False)["precision"].agg(lambda p: "/".join(sorted(set(p.dropna().astype(str)))))
    low = [f"{row} ({value})" for row, value in by_row.items() if value and value != "fp32"]
    if not low:
        return ""
    return f"Precision: {', '.join(low)} ran with bf16 autocast (fp32 weights and loss); the other rows in fp32."


def task_text(task: str, sub: pd.DataFrame) -> str:
    """"Denoising, σ = 25": the task as a caption names it (:meth:`Task.describe`), from the records."""
    from ..tasks import available_tasks

    cls = available_tasks().get(task)
    params = sub["task_params"].iloc[0] if "task_params" in sub.columns else None
    try:
        params = json.loads(params) if isinstance(params, str) else dict(params or {})
        return cls(**params).describe() if cls is not None else task
    except Exception:  # records of an older or unknown task: its name will do
        return task


def _row_order(sub: pd.DataFrame, order: Sequence[str] | None) -> list[str]:
    """Row names in ``order`` first, then the others in record order; the degraded input (method ``input``)
    last, as a paper puts it."""
    rows = _ordered(sub["_row"], None)
    if order is not None:
        rows = [r for r in order if r in rows] + [r for r in rows if r not in order]
    inputs = set(sub.loc[sub["method"].astype(str) == "input", "_row"]) if "method" in sub.columns else set()
    return [r for r in rows if r not in inputs] + [r for r in rows if r in inputs]


def _add_effort_columns(values: pd.DataFrame, runs: pd.DataFrame, decimals: dict[str, int]) -> None:
    """"s/run": each row's median runtime in seconds; "steps": its median steps where iterative."""
    own = runs
    if "runtime_s" in own.columns and own["runtime_s"].notna().any():
        values["s/run"] = own.groupby("_row")["runtime_s"].median().reindex(values.index)
        decimals["s/run"] = 1
    columns = [pd.to_numeric(own[c], errors="coerce") for c in ("steps_run", "steps") if c in own.columns]
    if columns:
        steps = columns[0] if len(columns) == 1 else columns[0].combine_first(columns[1])
        if steps.notna().any():
            values["steps"] = steps.groupby(own["_row"]).median().reindex(values.index).round()
            decimals["steps"] = 0


def _reported_rows(sub: pd.DataFrame, rows: Sequence[str]):
    """{row name: Reported} for rows whose method has a paper value."""
    out = {}
    for row in rows:
        entry = reported_for_record(sub[sub["_row"] == row].iloc[0].to_dict())
        if entry is not None and entry.paper is not None:
            out[row] = entry
    return out


def to_markdown(df: pd.DataFrame, experiment: str, dataset: str, metric: str = "psnr", **options) -> str:
    """:func:`metric_table` rendered as Markdown."""
    return metric_table(df, experiment, dataset, metric, **options).to_markdown()


def to_latex(df: pd.DataFrame, experiment: str, dataset: str, metric: str = "psnr", **options) -> str:
    """:func:`metric_table` rendered as a booktabs LaTeX float (see :meth:`Table.to_latex`)."""
    return metric_table(df, experiment, dataset, metric, **options).to_latex()


# --------------------------------------------------------------------------------------------------------------
# reported vs reproduced

REPORTED_COLUMNS = [
    "experiment", "task", "dataset", "protocol", "label", "paper_method", "reported", "source", "recomputed",
    "reproduced", "delta", "delta_recomputed", "n_images", "n_seeds", "note",
]


def reported_vs_reproduced(df: pd.DataFrame, experiment: str, dataset: str | None = None) -> pd.DataFrame:
    """One row per label of ``experiment`` (on ``dataset``, or every dataset) that the paper reports.

    Columns: ``reported`` (the paper's mean PSNR) and its ``source``; ``recomputed`` (the mean recomputed from
    the authors' published images, where known); ``reproduced`` (our mean over images of the per-image mean
    over seeds); ``delta`` = reproduced − reported; ``delta_recomputed`` = reproduced − recomputed.
    """
    sub = _subset(df, experiment, dataset)
    rows = []
    if sub.empty:
        return pd.DataFrame(columns=REPORTED_COLUMNS)
    sub = sub.assign(_row=row_names(sub).values)
    for (ds, row), records in sub.groupby(["dataset", "_row"], sort=False):
        if covers_part_of_dataset(ds, records["image"].astype(str).unique()):
            continue  # a subset's mean is not comparable with the paper's mean over the whole set
        first = records.iloc[0].to_dict()
        protocol = first.get("protocol") if isinstance(first.get("protocol"), str) else None
        entry = reported_for_record(first)
        if entry is None:
            continue
        reproduced = records.groupby("image")["psnr"].mean().mean()
        rows.append({
            "experiment": experiment,
            "task": first["task"],
            "dataset": ds,
            "protocol": protocol,
            "label": row,
            "paper_method": entry.paper_method,
            "reported": entry.paper,
            "source": entry.source,
            "recomputed": entry.recomputed,
            "reproduced": reproduced,
            "delta": reproduced - entry.paper if entry.paper is not None else np.nan,
            "delta_recomputed": reproduced - entry.recomputed if entry.recomputed is not None else np.nan,
            "n_images": int(records["image"].nunique()),
            "n_seeds": int(records["seed"].nunique()) if "seed" in records else 1,
            "note": entry.note,
        })
    return pd.DataFrame(rows, columns=REPORTED_COLUMNS).astype(
        {c: "float64" for c in ("reported", "recomputed", "reproduced", "delta", "delta_recomputed")}
    )


def covers_part_of_dataset(dataset: str, images: Iterable[str]) -> bool:
    """True when ``images`` are a proper subset of a registered dataset's images (e.g. a one-image check
    run), whose mean cannot be compared with a mean over the whole dataset. Unregistered names: False."""
    from ..datasets import image_names
    from ..errors import ConfigError

    try:
        registered = set(image_names(dataset))
    except ConfigError:
        return False
    shown = {str(image) for image in images}
    return shown < registered


def reported_table(df: pd.DataFrame, experiment: str, dataset: str | None = None) -> Table | None:
    """:func:`reported_vs_reproduced` as a renderable :class:`Table` (None when nothing is reported)."""
    comparison = reported_vs_reproduced(df, experiment, dataset)
    if comparison.empty:
        return None
    multi = comparison["dataset"].nunique() > 1
    index = [
        (f"{r.label} ({r.dataset})" if multi else str(r.label)) for r in comparison.itertuples()
    ]
    columns = ["Paper name", REPORTED, "Source", "Published images", "Reproduced", DELTA, f"{DELTA} published"]
    values = pd.DataFrame(
        {
            "Paper name": comparison["paper_method"].values,
            REPORTED: comparison["reported"].values,
            "Source": comparison["source"].values,
            "Published images": comparison["recomputed"].values,
            "Reproduced": comparison["reproduced"].values,
            DELTA: comparison["delta"].values,
            f"{DELTA} published": comparison["delta_recomputed"].values,
        },
        index=index,
        columns=columns,
    )
    text = values[["Paper name", "Source"]].astype(object)
    notes = [
        f"{REPORTED}: mean PSNR (dB) reported in the paper; Published images: recomputed from the authors' "
        "published result images with the paper's protocol.",
        f"{DELTA} = Reproduced − {REPORTED}; {DELTA} published = Reproduced − Published images.",
    ]
    for r, label in zip(comparison.itertuples(), index):
        if r.note:
            notes.append(f"{label}: {r.note}.")
    dataset_text = f" on {dataset}" if dataset else ""
    return Table(
        values=values, text=text, decimals={c: 2 for c in columns}, signed={DELTA, f"{DELTA} published"},
        caption=f"{experiment}{dataset_text}: reported vs reproduced mean PSNR (dB).", notes=notes,
    )


ES_COLUMNS = {  # record field -> (column title, decimals)
    "stop_step": ("Stop step", 0), "es_step": ("Chosen step", 0), "oracle_peak_step": ("Peak step", 0),
    "output_psnr": ("Chosen PSNR", 2), "oracle_peak_psnr": ("Peak PSNR", 2), "es_gap_db": ("Gap", 2),
}


def early_stopping_table(df: pd.DataFrame, experiment: str, dataset: str, label: str) -> Table | None:
    """How ES-WMV chose for one early-stopping label: per image (mean over seeds) the step it stopped at,
    the step whose output it returned, the oracle peak of the same output stream and the gap (dB) between
    them, with an average row. None when the label has no early-stopping records here."""
    sub = _subset(df, experiment, dataset)
    sub = sub[sub["label"].astype(str) == label]
    if sub.empty or "es_step" not in sub.columns or sub["es_step"].notna().sum() == 0:
        return None
    runs = sub.drop_duplicates(["image", "seed"])  # one row per run, whatever the number of protocols
    fields = [f for f in ES_COLUMNS if f in runs.columns]
    per_image = runs.groupby("image", sort=False)[fields].mean()
    per_image.loc[AVG] = per_image.mean()
    values = per_image.rename(columns={f: ES_COLUMNS[f][0] for f in fields})
    early = int(runs["es_stopped"].eq(True).sum()) if "es_stopped" in runs.columns else 0  # NaN: not stopped
    notes = [
        "Chosen: the result at the minimum of the windowed moving variance, picked without ground truth; "
        "Peak: the best PSNR (dB) of the same sequence (outputs, or their EMA) over the run (oracle); "
        "Gap = Peak − Chosen; PSNRs of the float images, before 8-bit rounding.",
        f"The detector stopped {early} of {len(runs)} runs before the step budget{_budget_text(runs)} (its "
        "patience ran out).",
    ]
    return Table(
        values=values, row_title="Image", decimals={ES_COLUMNS[f][0]: ES_COLUMNS[f][1] for f in fields},
        caption=f"{experiment} on {dataset}: early stopping of {label} (ES-WMV).", notes=notes,
    )


def _budget_text(runs: pd.DataFrame) -> str:
    """" of N steps": the resolved step budget(s) of the runs, from their ``params_resolved`` JSON."""
    if "params_resolved" not in runs.columns:
        return ""
    budgets = sorted({json.loads(text).get("steps") for text in runs["params_resolved"].dropna()} - {None})
    return f" of {', '.join(map(str, budgets))} steps" if budgets else ""
