"""Progress bars that read well in a terminal and in a log.

In a terminal, :func:`progress_bar` is an ordinary tqdm bar. When standard error is not a terminal (a
Snakemake job piped through ``tee`` into its log, several jobs at once), carriage-return redraws would
interleave into one unreadable line, so the bar instead prints a whole line at every tenth of the run
(``LOG_LINES`` lines in all, and at the end), and between two tenths one at most every ``LOG_INTERVAL``
seconds: ``[dip denoise astronaut] 360/1800 steps, 1.9 step/s, ~13 min left``.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from tqdm.auto import tqdm

#: Lines per run in a log (one every tenth of the units).
LOG_LINES = 10
#: Seconds after which a log gets a line even before the next tenth is done.
LOG_INTERVAL = 60.0


class _LogBar(tqdm):
    """A tqdm bar that writes a line whenever another tenth of ``total`` is done, and otherwise at most
    every ``LOG_INTERVAL`` seconds (tqdm alone needs both its step and its time threshold)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._tenth = max(1, -(-(self.total or 1) // LOG_LINES))  # ceil(total / LOG_LINES) units
        self._next = self._tenth

    def update(self, n: float = 1) -> bool | None:
        if self.disable:
            return None
        self.n += n
        now = self._time()
        if self.n >= self._next or now - self.last_print_t >= LOG_INTERVAL:
            self._next = (int(self.n) // self._tenth + 1) * self._tenth
            self.refresh()
            self.last_print_n, self.last_print_t = self.n, now
            return True
        return None


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
    """A tqdm bar over ``total`` units: redrawn in place on a terminal; in a log a line per tenth of the
    run (:class:`_LogBar`); silent when ``enabled`` is false."""
    stream = sys.stderr
    if stream is not None and hasattr(stream, "isatty") and stream.isatty():
        return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not enabled, **options)
    return _LogBar(total=total, desc=f"[{desc}]", unit=unit, disable=not enabled, file=_Lines(sys.stderr),
                   mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL * 4, ascii=True, ncols=100,
                   bar_format="{desc} {n_fmt}/{total_fmt} {unit}s, {rate_fmt}, ~{remaining} left", **options)
