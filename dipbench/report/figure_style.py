"""The look every report figure shares: the size and type scheme, the matplotlib style, a new figure, text
fitted to a width, legends in columns, and saving a figure as PNG and PDF.

Size and type scheme (:func:`style`): a figure is :data:`COLUMN_WIDTH` (3.3 in, one column) or
:data:`PAGE_WIDTH` (6.9 in, the full text width) wide, and every text element is at least
:data:`MIN_FONT_PT` (7 pt) at that physical size, so the figures can be placed at 100 % in a two-column
paper. Each figure is written as a PNG (:data:`PNG_DPI`) and a vector PDF beside it (fonts embedded as
TrueType, so the text stays editable).

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg renderer, never through pyplot,
so importing the figure modules changes no global backend and works headless; the style is applied with
:func:`matplotlib.rc_context` around each figure only (:func:`_styled`). Every file is saved atomically.
Plot points are placed deterministically (no random jitter), so equal inputs give equal files. In every
figure module the ``*_figure`` functions return the figure (for inspection and tests); the others draw and
save it.
"""

from __future__ import annotations

import functools
import math
import os
import textwrap
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..atomic import atomic_open

# --------------------------------------------------------------------------------------------------------------
# size and type scheme

#: Width (inches) of a figure that fills one column of a two-column paper.
COLUMN_WIDTH = 3.3
#: Width (inches) of a figure that spans the page (both columns).
PAGE_WIDTH = 6.9
#: Body text of every figure (points at the figure's physical size); nothing is smaller.
FONT_PT = 7.0
MIN_FONT_PT = 7.0
#: Titles (points).
TITLE_PT = 8.0
#: Resolution of the PNGs (a 3.3 in figure is 990 px wide).
PNG_DPI = 300

# width of an average character, in units of the font size (DejaVu Sans), for wrapping text to a width
_CHAR_EM = 0.58


def style() -> dict[str, Any]:
    """The matplotlib settings of every figure: fonts in points (:data:`FONT_PT`, titles :data:`TITLE_PT`),
    thin lines that suit a 3.3 in figure, PDF fonts embedded as TrueType."""
    return {
        "font.size": FONT_PT,
        "axes.titlesize": TITLE_PT,
        "axes.labelsize": FONT_PT,
        "xtick.labelsize": FONT_PT,
        "ytick.labelsize": FONT_PT,
        "legend.fontsize": FONT_PT,
        "legend.title_fontsize": FONT_PT,
        "figure.titlesize": TITLE_PT,
        "figure.labelsize": FONT_PT,
        "axes.linewidth": 0.6,
        "axes.titlepad": 3.0,
        "axes.labelpad": 2.0,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.minor.width": 0.4,
        "ytick.minor.width": 0.4,
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "xtick.minor.size": 1.5,
        "ytick.minor.size": 1.5,
        "xtick.major.pad": 2.0,
        "ytick.major.pad": 2.0,
        "lines.linewidth": 1.0,
        "lines.markersize": 4.0,
        "grid.linewidth": 0.5,
        "legend.frameon": False,
        "legend.handlelength": 1.6,
        "legend.handletextpad": 0.4,
        "legend.columnspacing": 1.0,
        "legend.labelspacing": 0.25,
        "legend.borderaxespad": 0.2,
        "legend.borderpad": 0.2,
        "figure.constrained_layout.h_pad": 0.03,
        "figure.constrained_layout.w_pad": 0.03,
        "figure.constrained_layout.hspace": 0.02,
        "figure.constrained_layout.wspace": 0.02,
        "savefig.dpi": PNG_DPI,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
    }


def _styled(function: Callable) -> Callable:
    """Run ``function`` with :func:`style` in effect (artists take their sizes when they are made)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(style()):
            return function(*args, **kwargs)

    return wrapper


def _palette(n: int) -> list:
    import seaborn as sns

    return sns.color_palette("tab10" if n <= 10 else "tab20", n_colors=max(n, 1))


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _chars(width_in: float, pt: float = FONT_PT) -> int:
    """About how many characters of a ``pt`` font fit in ``width_in`` inches."""
    return max(8, int(width_in * 72.0 / (pt * _CHAR_EM)))


def _wrap(text: str, width_in: float, pt: float = FONT_PT) -> str:
    """``text`` with each of its lines wrapped to ``width_in`` inches."""
    width = _chars(width_in, pt)
    return "\n".join(textwrap.fill(line, width, break_on_hyphens=False) or line for line in str(text).split("\n"))


def _lines(text: str) -> int:
    return text.count("\n") + 1 if text else 0


def _legend_columns(labels: Sequence[str], width_in: float, handle_em: float = 2.6) -> tuple[int, int]:
    """(columns, rows) of the widest legend of ``labels`` that fits ``width_in`` inches (matplotlib fills
    columns first, splitting the entries as :func:`numpy.array_split` does; each column as wide as its
    longest label)."""
    if not labels:
        return 1, 0
    room = width_in * 72.0 * 0.96
    for columns in range(len(labels), 0, -1):
        chunks = [chunk for chunk in np.array_split(np.arange(len(labels)), columns) if len(chunk)]
        widths = [max(_label_em(labels[i]) for i in chunk) + handle_em for chunk in chunks]
        if (sum(widths) + 1.0 * (len(chunks) - 1)) * FONT_PT <= room or columns == 1:
            return columns, math.ceil(len(labels) / columns)
    return 1, len(labels)


def _label_em(label: str) -> float:
    return max(len(line) for line in str(label).split("\n")) * _CHAR_EM


@_styled
def save_figure(fig: Figure, path: str | os.PathLike, pdf: bool = True) -> list[Path]:
    """Save ``fig`` atomically to ``path`` (format from the suffix, PNG by default) and always a PNG and a
    vector PDF of the same stem beside it. Returns the paths written (``path`` first).

    ``pdf`` is accepted for compatibility only: the PDF is always written.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    targets = [(path, fmt)]
    for kind in ("png", "pdf"):
        if kind != fmt:
            targets.append((path.with_suffix(f".{kind}"), kind))
    for target, kind in targets:
        metadata = {"CreationDate": None, "ModDate": None} if kind == "pdf" else None
        with atomic_open(target, "wb") as handle:
            fig.savefig(handle, format=kind, dpi=PNG_DPI, metadata=metadata)
    return [t for t, _ in targets]


def _finite(value) -> bool:
    """Whether ``value`` is a finite number (a value a figure can print; NaN, None and text are not)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
