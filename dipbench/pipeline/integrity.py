"""A run record vouches for the restored image beside it.

Each ``run.json`` stores ``restored_sha256``, the SHA-256 of the ``restored.png`` it describes, written by
the job after the image. An image that no longer matches (truncated by a full disk, overwritten by hand,
corrupted) is caught twice: ``job evaluate`` and ``job ensemble`` refuse to use it (one line), and when
Snakemake plans, :func:`set_aside_stale_records` renames the record of every such run to
``run.json.stale`` (kept, not deleted), so the run's outputs are incomplete and Snakemake reruns its job
instead of failing on the damaged image forever. Records written before this field existed are not checked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from ..datasets.download import sha256_of
from ..errors import ImageError

FIELD = "restored_sha256"


def check_restored(image: str | os.PathLike, record: dict[str, Any], record_path: str | os.PathLike = "run.json") -> None:
    """Raise :class:`ImageError` if ``image`` is not the file ``record`` was written for."""
    expected = record.get(FIELD)
    if not expected:
        return
    try:
        actual = sha256_of(image)
    except OSError as exc:
        raise ImageError(f"cannot read the restored image {image}: {exc.strerror or exc}") from None
    if actual != expected:
        raise ImageError(f"restored image {image} is not the one its record {record_path} describes (sha256 "
                         f"{actual[:12]}..., recorded {expected[:12]}...): run snakemake again to redo the run")


def stale_record(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir/run.json`` records a ``restored_sha256`` that ``run_dir/restored.png`` (missing
    included) does not have. An unreadable record counts as stale too."""
    run_dir = Path(run_dir)
    record_path = run_dir / "run.json"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    if not isinstance(record, dict):
        return True
    try:
        check_restored(run_dir / "restored.png", record, record_path)
    except ImageError:
        return True
    return False


def set_aside_stale_records(results: str | os.PathLike, run_dirs: Iterable[str]) -> list[Path]:
    """Rename ``run.json`` to ``run.json.stale`` in every run folder (relative to ``results``) whose record
    does not match its image (:func:`stale_record`); returns the renamed records."""
    moved = []
    for run_dir in run_dirs:
        folder = Path(results) / run_dir
        if stale_record(folder):
            os.replace(folder / "run.json", folder / "run.json.stale")
            moved.append(folder / "run.json")
    return moved


def vouch(record: dict[str, Any], image: str | os.PathLike) -> None:
    """Store the SHA-256 of the written ``image`` in its ``record`` (before the record is written)."""
    record[FIELD] = sha256_of(image)
