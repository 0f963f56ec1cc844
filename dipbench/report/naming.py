"""File names of report outputs: one stem function for every table and figure."""

from __future__ import annotations

import re


def file_stem(*parts: object) -> str:
    """A file-name stem from labels, joined by ``_``: each part keeps letters, digits, ``_``, ``.`` and
    ``-``; any other run of characters becomes one ``-`` ("DIP + ES-WMV" -> "DIP-ES-WMV")."""
    return "_".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", str(part)).strip("-") or "x" for part in parts)
