"""Progress bars that read well in a terminal and in a log.

In a terminal, :func:`progress_bar` is an ordinary tqdm bar. When standard error is not a terminal (a
Snakemake job piped through ``tee`` into its log, several jobs at once), carriage-return redraws would
interleave into one unreadable line, so the bar instead prints a whole line at most every
``log_interval`` seconds (and at the end): ``[dip denoise astronaut] 300/1800 steps, 1.9 step/s, ~13 min
left``.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from tqdm.auto import tqdm

#: Seconds between two progress lines in a log.
LOG_INTERVAL = 30.0


class _Lines(io.TextIOBase):
    """A text stream for tqdm that turns each redraw into one newline-terminated line."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")
            self.stream.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(total: int, desc: str, enabled: bool = True, unit: str = "step", **options: Any) -> tqdm:
    """A tqdm bar over ``total`` units: redrawn in place on a terminal, one line per ``LOG_INTERVAL``
    seconds in a log, silent when ``enabled`` is false."""
    stream = sys.stderr
    if stream is not None and hasattr(stream, "isatty") and stream.isatty():
        return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not enabled, **options)
    return tqdm(total=total, desc=f"[{desc}]", unit=unit, disable=not enabled, file=_Lines(sys.stderr),
                mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL * 4, ascii=True, ncols=100,
                bar_format="{desc} {n_fmt}/{total_fmt} {unit}s, {rate_fmt}, ~{remaining} left", **options)
