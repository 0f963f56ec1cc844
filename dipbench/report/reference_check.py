"""How far a run's table rows are from a reference machine's (config ``reference_check``): is a gap
rounding between CPU classes, or a broken install?

The reference file (e.g. ``config/references/demo.yaml``) holds ``machine`` (what produced the numbers),
``protocol``, ``tolerance_db: {seeded: dB, deterministic: dB}`` and ``rows: {experiment: {row: dB}}``,
each a row's mean PSNR over images (each image's mean over seeds), as the tables' "Avg." column. A row is
*seeded* (DIP and its family, whose results differ by rounding between CPUs) when its runs' records say
``seeded``, else deterministic. :func:`check_reference` writes ``tables/reference_check.md`` and returns
the one line the report step prints.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..atomic import write_text
from ..errors import ConfigError
from .records import load_runs, runs_path


@dataclass(frozen=True)
class RowCheck:
    experiment: str
    row: str
    reference_db: float
    reproduced_db: float  # NaN: the row did not run (or has no PSNR)
    seeded: bool
    tolerance_db: float

    @property
    def gap_db(self) -> float:
        return self.reproduced_db - self.reference_db

    @property
    def ran(self) -> bool:
        return not math.isnan(self.reproduced_db)

    @property
    def within(self) -> bool:
        return self.ran and abs(self.gap_db) <= self.tolerance_db + 1e-9


def load_reference(path: str | os.PathLike) -> dict[str, Any]:
    """The reference file, checked: one :class:`ConfigError` line naming what is wrong."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"reference_check: cannot read {path}: {error}") from None
    tolerance = (data or {}).get("tolerance_db") if isinstance(data, dict) else None
    rows = data.get("rows") if isinstance(data, dict) else None
    if (not isinstance(tolerance, dict) or set(tolerance) != {"seeded", "deterministic"}
            or not all(isinstance(v, (int, float)) and v >= 0 for v in tolerance.values())):
        raise ConfigError(f"reference_check: {path} needs tolerance_db: {{seeded: dB, deterministic: dB}} (>= 0)")
    if not isinstance(rows, dict) or not all(
            isinstance(r, dict) and all(isinstance(v, (int, float)) for v in r.values()) for r in rows.values()):
        raise ConfigError(f"reference_check: {path} needs rows: {{experiment: {{row: mean PSNR in dB}}}}")
    return data


def reproduced_means(runs: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """Per (experiment, row): the mean over images of each image's mean PSNR over seeds, and whether the
    row's runs are seeded. ``runs``: tables/runs.csv (``display`` is the table's row name)."""
    shown = runs[runs["protocol"].astype(str) == protocol].copy()
    shown["row"] = shown["display"] if "display" in shown else shown["label"]
    shown["seeded"] = shown["seeded"].astype(str).str.lower().eq("true") if "seeded" in shown else True
    per_image = shown.groupby(["experiment", "row", "image"], sort=False).agg(psnr=("psnr", "mean"),
                                                                             seeded=("seeded", "any"))
    return per_image.groupby(level=["experiment", "row"], sort=False).agg(psnr=("psnr", "mean"),
                                                                          seeded=("seeded", "any"))


def compare(runs: pd.DataFrame, reference: dict[str, Any]) -> list[RowCheck]:
    """One :class:`RowCheck` per reference row."""
    means = reproduced_means(runs, str(reference.get("protocol", "dip_paper")))
    tolerance = reference["tolerance_db"]
    checks = []
    for experiment, rows in reference["rows"].items():
        for row, value in rows.items():
            key = (str(experiment), str(row))
            found = key in means.index
            seeded = bool(means.loc[key, "seeded"]) if found else True
            psnr = float(means.loc[key, "psnr"]) if found else math.nan
            checks.append(RowCheck(key[0], key[1], float(value), psnr, seeded,
                                   float(tolerance["seeded" if seeded else "deterministic"])))
    return checks


def summary_line(checks: list[RowCheck], reference: dict[str, Any], source: str) -> str:
    """The line the report step prints: every row within tolerance (with the largest gap of each kind),
    or the rows outside it."""
    ran = [c for c in checks if c.ran]
    machine = reference.get("machine", "the reference machine")
    head = f"reference check ({source}; {machine})"
    if not ran:
        return f"{head}: none of its {len(checks)} rows ran here"
    missing = f"; {len(checks) - len(ran)} of its rows did not run" if len(ran) < len(checks) else ""
    outside = [c for c in ran if not c.within]
    if outside:
        listed = ", ".join(f"{c.experiment} {c.row} {c.reproduced_db:.2f} vs {c.reference_db:.2f} dB"
                           for c in outside[:4]) + (", ..." if len(outside) > 4 else "")
        return (f"{head}: {len(outside)} of {len(ran)} rows outside tolerance ({listed}): more than CPU "
                f"rounding, check the install and the config{missing}; tables/reference_check.md")
    parts = []
    for seeded, what in ((True, "DIP rows (seeded: DIP and its family)"), (False, "deterministic rows")):
        group = [c for c in ran if c.seeded == seeded]
        if group:
            worst = max(group, key=lambda c: abs(c.gap_db))
            parts.append(f"{what} within {worst.tolerance_db:g} dB of the reference machine (largest gap "
                         f"{abs(worst.gap_db):.2f} dB, {worst.experiment} {worst.row})")
    return f"{head}: all {len(ran)} rows within tolerance: " + "; ".join(parts) + missing


def check_reference(results: str | os.PathLike, reference_path: str | os.PathLike) -> str:
    """Compare ``results``'s tables/runs.csv with the reference file; write tables/reference_check.md;
    return the summary line."""
    results = Path(results)
    reference = load_reference(reference_path)
    runs = load_runs(results)
    if runs is None:
        raise FileNotFoundError(f"{runs_path(results)} does not exist: build the report first")
    checks = compare(runs, reference)
    line = summary_line(checks, reference, str(reference_path))
    table = pd.DataFrame([{"experiment": c.experiment, "row": c.row, "reference (dB)": c.reference_db,
                           "here (dB)": round(c.reproduced_db, 2) if c.ran else "not run",
                           "gap (dB)": f"{c.gap_db:+.2f}" if c.ran else "",
                           "tolerance (dB)": c.tolerance_db, "kind": "seeded" if c.seeded else "deterministic",
                           "within": ("yes" if c.within else "NO") if c.ran else ""} for c in checks])
    write_text(results / "tables" / "reference_check.md",
               f"# Reference check\n\n{line}\n\nReference: {reference_path} ({reference.get('machine', '')}), "
               f"protocol {reference.get('protocol', 'dip_paper')}.\n\n{table.to_markdown(index=False, disable_numparse=True)}\n")
    return line
