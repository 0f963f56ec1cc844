"""Result records: collection into pandas, per-image and per-method summaries, CSV output.

A *record* is the flat JSON dict that one run leaves (one per experiment, method label, dataset, image and
seed): identity (``experiment``, ``task``, ``task_slug``, ``dataset``, ``image``, ``method``, ``label``,
``seed``, ``protocol``), metrics (``psnr``, ``ssim``, optionally ``input_psnr``), effort (``runtime_s``),
provenance (``method_version``, ``params``, ``device``, ``precision`` and the code, configuration and
hardware of :mod:`dipbench.provenance`), paths relative to the results folder
(``restored``, ``curve``, ``observation``) and optional method-specific fields (``stop_step``,
``oracle_peak_psnr``, ...). Optional fields may be missing; the code here tolerates that.

Reading a results folder back goes through here as well: its ``tables/runs.csv`` (:func:`load_runs`) and its
figures' captions (:func:`load_captions`), for the HTML report's pages, its overview and the reference check.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..atomic import write_text
from ..metrics import metric_names

IDENTITY_COLUMNS = [
    "experiment", "task", "task_slug", "dataset", "image", "method", "label", "seed", "protocol",
]
METRIC_COLUMNS = ["psnr", "ssim", "input_psnr"]
EFFORT_COLUMNS = ["runtime_s"]
# what made the run (dipbench.provenance): code, configuration, hardware
PROVENANCE_COLUMNS = ["method_version", "params", "device", "precision", "git_commit", "git_dirty", "dipbench_version",
                      "config_sha256", "cpu_model", "gpu_name", "torch_version", "cuda_version", "threads"]
PATH_COLUMNS = ["restored", "curve", "observation"]
RECORD_COLUMNS = IDENTITY_COLUMNS + METRIC_COLUMNS + EFFORT_COLUMNS + PROVENANCE_COLUMNS + PATH_COLUMNS
REQUIRED_COLUMNS = ["experiment", "task", "dataset", "image", "method", "seed", "psnr"]

SORT_COLUMNS = ["experiment", "task", "dataset", "method", "label", "image", "seed"]
# grouping keys of a summary row (one configured method on one dataset of one experiment)
GROUP_COLUMNS = ["experiment", "task", "dataset", "protocol", "label"]

_FLOAT_COLUMNS = {"psnr", "ssim", "input_psnr", "runtime_s"}  # and every registered metric (metric_names)
_STRING_COLUMNS = set(IDENTITY_COLUMNS) - {"seed"} | set(PROVENANCE_COLUMNS) - {"git_dirty", "threads"} | set(PATH_COLUMNS)


class RecordError(ValueError):
    """A result record file that cannot be read or lacks required fields."""


def read_record(path: str | os.PathLike) -> dict:
    """Read one record JSON file; raise :class:`RecordError` if it is not a record."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RecordError(f"cannot read result record {path}: {exc}") from None
    if not isinstance(record, dict):
        raise RecordError(f"result record {path} is not a JSON object")
    missing = [key for key in REQUIRED_COLUMNS if key not in record]
    if missing:
        raise RecordError(f"result record {path} lacks field(s) {missing}")
    return record


def _expand(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> list[tuple[Path, bool]]:
    """Files to read, each with a flag saying whether it was named explicitly (directories are searched)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[tuple[Path, bool]] = []
    for item in paths:
        item = Path(item)
        if item.is_dir():
            out.extend((p, False) for p in sorted(item.rglob("*.json")))
        else:
            out.append((item, True))
    return out


def load_records(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> pd.DataFrame:
    """One row per record JSON file, in a stable column order, sorted by experiment, task, dataset,
    method, label, image and seed.

    ``paths``: record files, or directories searched recursively for ``*.json`` (files found that way which
    are not records are skipped; a named file that is not a record raises :class:`RecordError`).
    Nested values (dicts, lists) are stored as JSON strings so that the frame round-trips through CSV.
    """
    rows = []
    for path, explicit in _expand(paths):
        try:
            rows.append(read_record(path))
        except RecordError:
            if explicit:
                raise
    return records_frame(rows)


def records_frame(records: Sequence[dict]) -> pd.DataFrame:
    """The frame of :func:`load_records` from record dicts already in memory."""
    rows = [{key: _flatten(value) for key, value in record.items()} for record in records]
    df = pd.DataFrame(rows)
    for column in RECORD_COLUMNS:
        if column not in df.columns:
            df[column] = pd.Series(dtype="float64" if column in _FLOAT_COLUMNS else "object")
    if "label" in df.columns and len(df):
        df["label"] = df["label"].where(df["label"].notna() & (df["label"] != ""), df["method"])
    for column in _FLOAT_COLUMNS | set(metric_names()):
        if column in df.columns:
            df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    if len(df):
        df["seed"] = pd.to_numeric(df["seed"], errors="raise").astype("int64")
    for column in _STRING_COLUMNS:
        df[column] = df[column].astype("object").where(df[column].notna(), None)
    extra = sorted(c for c in df.columns if c not in RECORD_COLUMNS)
    df = df[RECORD_COLUMNS + extra]
    if len(df):
        df = df.sort_values(SORT_COLUMNS, kind="mergesort", na_position="last").reset_index(drop=True)
    return df


def _flatten(value):
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _group_keys(df: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    return [k for k in keys if k in df.columns]


def average_seeds(df: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (experiment, task, dataset, protocol, label, image): the mean over seeds of each metric.

    ``metrics``: columns to average (default: every numeric column except ``seed``, e.g. psnr, ssim,
    runtime_s, input_psnr, stop_step). Adds ``n_seeds`` (the number of runs averaged) and keeps ``method``.
    """
    keys = _group_keys(df, GROUP_COLUMNS + ["image"])
    if metrics is None:
        metrics = [
            c for c in df.columns
            if c not in keys and c != "seed" and pd.api.types.is_numeric_dtype(df[c])
        ]
    metrics = [m for m in metrics if m in df.columns]
    if df.empty:
        return pd.DataFrame(columns=keys + ["method"] + list(metrics) + ["n_seeds"])
    grouped = df.groupby(keys, dropna=False, sort=False)
    out = grouped[list(metrics)].mean() if metrics else grouped.size().to_frame("_n").drop(columns="_n")
    out["n_seeds"] = grouped["seed"].nunique() if "seed" in df.columns else grouped.size()
    if "method" in df.columns:
        out.insert(0, "method", grouped["method"].first())
    return out.reset_index()


def summarize(df: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per experiment x task x dataset x protocol x label.

    For each metric (default: every registered metric, then ``runtime_s``): ``<m>_mean`` (mean over images of
    the per-image mean over seeds; equals the mean over all runs when every image has the same seeds),
    ``<m>_std`` (standard deviation over all runs, ddof 1) and ``<m>_count`` (runs with a value). For the
    registered metrics also ``<m>_seed_std``: the standard deviation over seeds of the per-seed dataset mean,
    i.e. the run-to-run spread of the reported number (NaN with one seed). Also ``method``, ``n_images``,
    ``n_seeds``.
    """
    scored = metric_names()
    metrics = [*scored, "runtime_s"] if metrics is None else list(metrics)
    metrics = [m for m in metrics if m in df.columns]
    keys = _group_keys(df, GROUP_COLUMNS)
    columns = keys + ["method", "n_images", "n_seeds"]
    for m in metrics:
        columns += [f"{m}_mean", f"{m}_std", f"{m}_count"] + ([f"{m}_seed_std"] if m in scored else [])
    if df.empty:
        return pd.DataFrame(columns=columns)
    per_image = average_seeds(df, metrics)
    grouped = df.groupby(keys, dropna=False, sort=False)
    out = pd.DataFrame(index=grouped.size().index)
    out["method"] = grouped["method"].first()
    out["n_images"] = grouped["image"].nunique()
    out["n_seeds"] = grouped["seed"].nunique()
    image_means = per_image.groupby(keys, dropna=False, sort=False)
    for m in metrics:
        out[f"{m}_mean"] = image_means[m].mean()
        out[f"{m}_std"] = grouped[m].std(ddof=1)
        out[f"{m}_count"] = grouped[m].count()
        if m in scored:
            per_seed = df.groupby(keys + ["seed"], dropna=False, sort=False)[m].mean()
            out[f"{m}_seed_std"] = per_seed.groupby(level=list(range(len(keys))), dropna=False, sort=False).std(ddof=1)
    out = out.reset_index()
    return out[columns].sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


def to_csv_text(df: pd.DataFrame) -> str:
    """CSV text with ``\\n`` line ends and full float precision (equal frames give equal bytes)."""
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def write_tables(df: pd.DataFrame, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``<out_dir>/tables/runs.csv`` (the records) and ``<out_dir>/tables/summary.csv``
    (:func:`summarize`) atomically; return their paths by name."""
    paths = {"runs": runs_path(out_dir), "summary": Path(out_dir) / "tables" / "summary.csv"}
    write_text(paths["runs"], to_csv_text(df))
    write_text(paths["summary"], to_csv_text(summarize(df)))
    return paths


def runs_path(results: str | os.PathLike) -> Path:
    """Where a results folder keeps its records, one row per run: ``tables/runs.csv``."""
    return Path(results) / "tables" / "runs.csv"


def load_runs(results: str | os.PathLike) -> pd.DataFrame | None:
    """A results folder's ``tables/runs.csv`` (:func:`write_tables`), its names read as text (an image
    "01" stays "01"); None where the report step has not written it."""
    path = runs_path(results)
    if not path.is_file():
        return None
    names = set(IDENTITY_COLUMNS) - {"seed"} | {"display"}
    return pd.read_csv(path, dtype={column: str for column in names})


def captions_path(results: str | os.PathLike) -> Path:
    """Where a results folder keeps its figures' captions: ``figures/captions.json`` (PNG name -> caption)."""
    return Path(results) / "figures" / "captions.json"


def load_captions(results: str | os.PathLike) -> dict[str, str]:
    """The figures' captions of a results folder (PNG file name -> caption); {} where there are none."""
    try:
        captions = json.loads(captions_path(results).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return captions if isinstance(captions, dict) else {}
