"""Docstring text shown to users (command-line help, the ``dipbench methods`` table) as plain text:
reStructuredText literals and roles become their bare names."""

from __future__ import annotations

import re
import textwrap
from typing import Sequence

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(text: str) -> str:
    """``text`` without RST markup: ````x```` -> ``x``, ``:data:`SOURCES``` -> ``SOURCES``,
    ``:class:`~a.b.C``` -> ``C``."""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1] if "~" in m.group(0) else m.group(1), text)
    return _LITERAL.sub(r"\1", text)


def first_line(doc: str | None) -> str:
    """The first line of a docstring, in plain text ('' for none)."""
    lines = (doc or "").strip().splitlines()
    return plain(lines[0].strip()) if lines else ""


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int | None]) -> str:
    """A plain-text table: columns left-aligned and two spaces apart, a cell longer than its column's
    ``widths`` entry (characters; None: as wide as its longest cell) wrapped onto continuation lines
    within its column."""
    columns = list(zip(headers, *rows))
    sizes = [max(len(c) for c in col) if width is None else min(width, max(len(c) for c in col))
             for col, width in zip(columns, widths)]
    lines = []
    for row in [headers, *rows]:
        wrapped = [textwrap.wrap(cell, size) or [""] for cell, size in zip(row, sizes)]
        for k in range(max(len(w) for w in wrapped)):
            cells = [(w[k] if k < len(w) else "").ljust(size) for w, size in zip(wrapped, sizes)]
            lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
