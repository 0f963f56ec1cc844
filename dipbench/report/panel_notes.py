"""What a visual grid or gallery says when a method's result is its input, pixel for pixel."""

from __future__ import annotations

from typing import Sequence


def unchanged_note(names: Sequence[str]) -> str:
    """The figure's note for the rows in ``names`` whose results equal the input, which get no panel of
    their own. The input row itself (a name with "input", e.g. "degraded input") needs none: the input
    panel carries its name. Any other row is a finding worth a line: it returned its input unchanged."""
    others = [name for name in names if "input" not in name.lower()]
    if not others:
        return ""
    quoted = ", ".join(f"'{name}'" for name in others)
    verb = "returns" if len(others) == 1 else "return"
    return f"{quoted} {verb} the input unchanged (shown as the input panel)"
