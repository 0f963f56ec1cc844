"""The provenance of a set of results, as the report shows it: which code (commit, dirty or not),
configuration (hash) and hardware made the runs behind a table (:mod:`dipbench.provenance` records them).

:func:`provenance_table` lists every value of every provenance field with the number of runs that have it
(the report's provenance section); :func:`provenance_note` is the one-line footnote under each LaTeX table.
"""

from __future__ import annotations

import pandas as pd

from ..provenance import PROVENANCE_FIELDS, short
from .tables import Table

_TITLES = {"git_commit": "Commit", "git_dirty": "Uncommitted changes", "dipbench_version": "dipbench version",
           "config_sha256": "Config SHA-256", "cpu_model": "CPU", "gpu_name": "GPU", "torch_version": "torch",
           "cuda_version": "CUDA (torch build)", "threads": "Threads", "precision": "Precision"}


def _runs(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run (records repeat a run once per protocol)."""
    keys = [c for c in ("experiment", "label", "dataset", "image", "seed") if c in df.columns]
    return df.drop_duplicates(keys) if keys else df


def _values(runs: pd.DataFrame, field: str) -> list[tuple[str, int]]:
    """(shown value, runs) of one field, most frequent first; a missing field or value counts as "–"."""
    column = runs[field] if field in runs.columns else pd.Series([None] * len(runs), index=runs.index)
    shown = column.map(_shown)
    counts = shown.value_counts(sort=True)
    return [(str(value), int(n)) for value, n in counts.items()]


def _shown(value) -> str:
    if isinstance(value, (bool,)) or str(value) in ("True", "False"):
        return "yes" if str(value) == "True" else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return short(value)


def provenance_table(df: pd.DataFrame) -> Table:
    """Every provenance field (rows) with its values and how many runs have each; a field whose runs do
    not all agree lists every value (the config hash: one per experiment, each experiment's own). ``df``:
    records (one or more per run)."""
    runs = _runs(df)
    rows = {}
    for field in PROVENANCE_FIELDS:
        if field == "config_sha256" and "experiment" in runs.columns:
            rows[_TITLES[field]] = _per_experiment(runs)
            continue
        values = _values(runs, field)
        rows[_TITLES[field]] = "; ".join(f"{value} ({n} run{'s' if n != 1 else ''})" if len(values) > 1
                                         else value for value, n in values)
    text = pd.DataFrame({"Value": rows})
    values = text.map(lambda _: float("nan"))
    notes = [f"{len(runs)} run{'s' if len(runs) != 1 else ''}. Commits and hashes shortened to 12 characters; "
             "tables/runs.csv has them in full, one row per run. Uncommitted changes: the checkout differed from "
             "its commit; – : not recorded (an installed dipbench has no commit, a CPU run no GPU)."]
    mixed = [_TITLES[f] for f in ("git_commit", "git_dirty") if len(_values(runs, f)) > 1]
    if "experiment" in runs.columns and "config_sha256" in runs.columns:
        changed = sorted(e for e, sub in runs.groupby("experiment") if len(_values(sub, "config_sha256")) > 1)
        if changed:
            mixed.append(f"Config SHA-256 within an experiment ({', '.join(changed)})")
    if mixed:
        notes.insert(0, f"Warning: the runs differ in {', '.join(mixed)}: they were made by different code or "
                        "configurations.")
    return Table(values=values, text=text, row_title="Field", caption="Provenance: the code, configuration and "
                 "hardware that made these results.", notes=notes)


def _per_experiment(runs: pd.DataFrame) -> str:
    """The config hash of each experiment ("exp: hash; ..."), several per experiment where its runs differ."""
    parts = []
    for experiment, sub in runs.groupby("experiment", sort=True):
        values = _values(sub, "config_sha256")
        parts.append(f"{experiment}: " + "/".join(value for value, _ in values))
    return "; ".join(parts)


def provenance_note(df: pd.DataFrame) -> str:
    """"Made by dipbench <commit> (uncommitted changes), config <hash>, on <CPU> / <GPU>, torch <v> (CUDA
    <v>), <n> threads, <precision>.": one line for the runs of one table (several values joined by "/")."""
    runs = _runs(df)
    recorded = [f for f in ("git_commit", "dipbench_version", "config_sha256", "cpu_model") if f in runs.columns
                and runs[f].notna().any()]
    if not recorded:
        return "Provenance: not recorded in these runs' records (made before dipbench recorded it)."

    def joined(field: str) -> str:
        values = [value for value, _ in _values(runs, field)]
        known = [value for value in values if value != "–"]
        return "/".join(known or values)

    dirty = joined("git_dirty")
    code = joined("git_commit")
    if code == "–":
        code = f"version {joined('dipbench_version')}"
    parts = [f"Made by dipbench {code}" + (" with uncommitted changes" if "yes" in dirty else ""),
             f"config {joined('config_sha256')}", f"on {joined('cpu_model')}"
             + (f" / {joined('gpu_name')}" if joined("gpu_name") != "–" else ""),
             f"torch {joined('torch_version')}" + (f" (CUDA {joined('cuda_version')})"
                                                   if joined("cuda_version") != "–" else ""),
             f"{joined('threads')} thread(s)", f"precision {joined('precision')}"]
    return ", ".join(parts) + "."
