"""How the report names things: file stems of every table and figure, and the seeds phrase of captions."""

from __future__ import annotations

import re
from typing import Iterable


def file_stem(*parts: object) -> str:
    """A file-name stem from labels, joined by ``_``: each part keeps letters, digits, ``_``, ``.`` and
    ``-``; any other run of characters becomes one ``-`` ("DIP + ES-WMV" -> "DIP-ES-WMV")."""
    return "_".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", str(part)).strip("-") or "x" for part in parts)


def seeds_text(runs_per_image: Iterable[int]) -> str:
    """A caption's account of the seeds, from the runs each row has on an image: "one run per image",
    "mean over 3 seeds", "mean over 2–3 seeds", with " (one run for the deterministic rows)" where some rows
    ran once (a deterministic method counts once, never once per seed)."""
    counts = sorted({int(count) for count in runs_per_image})
    if not counts or counts[-1] <= 1:
        return "one run per image"
    seeded = [count for count in counts if count > 1]
    text = f"mean over {seeded[0]} seeds" if len(seeded) == 1 else f"mean over {seeded[0]}–{seeded[-1]} seeds"
    return text + (" (one run for the deterministic rows)" if counts[0] == 1 else "")
