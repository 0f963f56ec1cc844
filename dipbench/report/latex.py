"""LaTeX rendering of a :class:`~dipbench.report.tables.Table`: escaping, the layout that makes a table fit
a two-column paper (:func:`latex_layout`) and the booktabs float itself (:func:`render_latex`).

Works on any object with the Table interface (``values``, ``text_columns()``, ``cell()``, ``is_bold()``,
``marks``, ``row_title``, ``caption``, ``notes``), so this module imports nothing of the table model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, Sequence


class Table(Protocol):
    """What rendering needs of :class:`dipbench.report.tables.Table` (which imports this module)."""

    values: Any  # pandas DataFrame: rows = row names, columns = column names
    row_title: str
    marks: dict[tuple[str, str], str]
    caption: str
    notes: list[str]

    def text_columns(self) -> set[str]: ...
    def cell(self, row: str, column: str) -> str: ...
    def is_bold(self, row: str, column: str) -> bool: ...

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "Δ": r"$\Delta$",
    "–": "--",
    "−": "$-$",
    "±": r"$\pm$",
    "<": r"$<$",
    ">": r"$>$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "σ": r"$\sigma$",
    "×": r"$\times$",
    "†": r"$^\dagger$",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIALS))


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (``_`` -> ``\\_``, ``&`` -> ``\\&``, ...) and map a few symbols."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], str(text))


# LaTeX layout: which float, font size and column gap make a table fit a two-column paper

# the narrowest common two-column page: a 10 pt article on A4 (on letter paper 229.5 pt and 469 pt; IEEEtran
# 252 pt and 516 pt). Tables are sized for these, with the estimate below inflated by _WIDTH_MARGIN.
COLUMN_WIDTH_PT = 221.0
TEXT_WIDTH_PT = 452.0
_WIDTH_MARGIN = 1.04
_DEFAULT_TABCOLSEP = 6.0
# (size command, its width relative to \normalsize (Computer Modern's smaller optical sizes are a little
# wider than scaled), the column gap used with it)
_SIZES = (("normalsize", 1.0, 6.0), ("small", 0.93, 4.0), ("footnotesize", 0.86, 3.0))
# character widths (pt) of Computer Modern Roman at 10 pt, by group; others count as _WIDE
_CHAR_WIDTHS = {
    **dict.fromkeys("il.,:;[]'!`|", 2.78), **dict.fromkeys("fj", 3.06), **dict.fromkeys("rst()-", 3.94),
    **dict.fromkeys("0123456789aog/*?$", 5.0), **dict.fromkeys("ce", 4.44), "z": 4.44,
    **dict.fromkeys("bdhnpqukvxy", 5.56), "w": 7.22, "m": 8.33, " ": 3.33, "_": 3.6, "I": 3.61, "J": 5.14,
    "S": 5.56, "Z": 6.11, "L": 6.25, "–": 5.0, "†": 4.17, "M": 9.17, "W": 10.28, "Δ": 8.33, "%": 8.33,
    "#": 8.33, "σ": 5.7,
}
_WIDE = 7.85  # capitals, + = & ± − × and anything unknown
_BOLD = 1.16


def _text_width(text: str, bold: bool = False) -> float:
    """Estimated width (pt) of ``text`` typeset in 10 pt Computer Modern (bold: ``\\textbf``)."""
    return sum(_CHAR_WIDTHS.get(ch, _WIDE) for ch in str(text)) * (_BOLD if bold else 1.0)


def _header_lines(name: str, wrap: bool) -> list[str]:
    """A column title on one line, or (``wrap``) split at the space nearest its middle onto two."""
    name = str(name)
    spaces = [i for i, ch in enumerate(name) if ch == " "]
    if not wrap or not spaces:
        return [name]
    cut = min(spaces, key=lambda i: abs(len(name) - 2 * i - 1))
    return [name[:cut], name[cut + 1:]]


def _latex_header(name: str, align: str, wrap: bool) -> str:
    lines = [latex_escape(line) for line in _header_lines(name, wrap)]
    if len(lines) == 1:
        return _row_start(lines[0])
    return f"\\begin{{tabular}}[b]{{@{{}}{align}@{{}}}}" + " \\\\ ".join(lines) + "\\end{tabular}"


def _row_start(text: str) -> str:
    """A row's first cell, guarded so that ``[`` or ``*`` is not read as an argument of the previous ``\\\\``."""
    return "{}" + text if text[:1] in "[*" else text


@dataclass(frozen=True)
class LatexLayout:
    """How :meth:`Table.to_latex` sets a table: the float (``table`` or ``table*``), the font size command,
    the column gap (pt), whether titles with spaces wrap onto two lines, the columns of each stacked tabular
    (the row names repeat in each), the estimated width (pt) of the widest tabular and the width it must fit,
    and ``resize`` when it is scaled to the line width as a last resort (needs graphicx)."""

    env: str
    size: str
    tabcolsep: float
    wrap_headers: bool
    blocks: tuple[tuple[str, ...], ...]
    width_pt: float
    target_pt: float
    resize: bool = False

    @property
    def packages(self) -> list[str]:
        return ["booktabs"] + (["graphicx"] if self.resize else [])

    def describe(self) -> str:
        where = "one column (\\columnwidth)" if self.env == "table" else "two columns (table*, \\textwidth)"
        parts = [where, f"\\{self.size}", f"\\tabcolsep {self.tabcolsep:g}pt"]
        if len(self.blocks) > 1:
            parts.append(f"columns split over {len(self.blocks)} stacked tabulars")
        if self.resize:
            parts.append("scaled down to the line width")
        parts.append(f"estimated width {self.width_pt:.0f} pt of {self.target_pt:.0f} pt"
                     " (a 10 pt two-column article on A4)")
        return ", ".join(parts)


def _column_widths(table: Table, wrap: bool) -> tuple[float, dict[str, float]]:
    """Estimated natural widths (pt, 10 pt type) of the row-name column and of every value column."""
    rows = list(table.values.index)
    first = max([_text_width(table.row_title)] + [_text_width(str(r)) for r in rows])
    widths = {}
    for column in table.values.columns:
        is_text = column in table.text_columns()
        cells = []
        for r in rows:
            text = table.cell(r, column) + table.marks.get((r, column), "") if table.cell(r, column) else "–"
            if not is_text and text[:1] == "-":
                text = "−" + text[1:]  # set as a math minus
            cells.append(_text_width(text, table.is_bold(r, column)))
        header = max(_text_width(line) for line in _header_lines(column, wrap))
        widths[column] = max([header] + cells)
    return first, widths


def _block_width(first: float, widths: dict[str, float], block: Sequence[str], scale: float, sep: float) -> float:
    return (first + sum(widths[c] for c in block)) * scale * _WIDTH_MARGIN + 2 * sep * (len(block) + 1)


def _split(columns: Sequence[str], parts: int) -> list[tuple[str, ...]]:
    """``columns`` in order, cut into ``parts`` runs whose lengths differ by at most one (longer runs first)."""
    size, extra = divmod(len(columns), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(tuple(columns[start:end]))
        start = end
    return out


def latex_layout(table: Table) -> LatexLayout:
    """The first layout that fits, by estimated width: one column (``table``) at ``\\normalsize``,
    ``\\small`` or ``\\footnotesize`` (titles on one line, then wrapped onto two); else the same at the full
    text width (``table*``); else the columns split over 2, 3, ... stacked tabulars at the text width; and
    only when a single value column with its row names is too wide, the whole tabular scaled to the width."""
    columns = tuple(table.values.columns)
    widths = {wrap: _column_widths(table, wrap) for wrap in (False, True)}

    def attempt(env: str, target: float, blocks: list[tuple[str, ...]]) -> LatexLayout | None:
        for size, scale, sep in _SIZES:
            for wrap in (False, True):
                first, column_widths = widths[wrap]
                width = max(_block_width(first, column_widths, b, scale, sep) for b in blocks)
                if width <= target:
                    return LatexLayout(env, size, sep, wrap, tuple(blocks), width, target)
        return None

    for env, target in (("table", COLUMN_WIDTH_PT), ("table*", TEXT_WIDTH_PT)):
        layout = attempt(env, target, [columns])
        if layout is not None:
            return layout
    for parts in range(2, len(columns) + 1):
        layout = attempt("table*", TEXT_WIDTH_PT, _split(columns, parts))
        if layout is not None:
            return layout
    size, scale, sep = _SIZES[-1]
    first, column_widths = widths[True]
    width = _block_width(first, column_widths, columns, scale, sep)
    return LatexLayout("table*", size, sep, True, (columns,), width, TEXT_WIDTH_PT, resize=True)


def render_latex(table: Table, caption: bool = True, label: str | None = None) -> str:
    """``table`` as a booktabs table float that ``\\input``s into a two-column paper without overfull lines.

    The float is ``table`` when the estimated width (:func:`latex_layout`) fits ``\\columnwidth``, else
    ``table*`` at ``\\textwidth``, shrunk to ``\\small`` / ``\\footnotesize`` with narrower column gaps
    where that makes it fit, and split into stacked tabulars (the row names repeated) when even that is
    too wide. Bold as ``\\textbf{x}``; the caption in ``\\caption{}`` with ``\\label{label}``; notes as a
    ``\\footnotesize`` paragraph below the tabular that wraps at the float's width. The header comment
    names the packages the file needs (``booktabs``; ``graphicx`` only for a last-resort resize).
    """
    layout = latex_layout(table)
    text_columns = table.text_columns()
    lines = []
    if caption and table.caption:
        lines.append("% " + table.caption.replace("\n", " "))
    lines.append("% Written by dipbench. Needs in the preamble: "
                 + ", ".join(f"\\usepackage{{{p}}}" for p in layout.packages) + ".")
    lines.append(f"% Layout: {layout.describe()}.")
    lines.append(f"\\begin{{{layout.env}}}[{'tbp' if layout.env == 'table' else 'tp'}]")
    lines.append("\\centering")
    if caption and table.caption:
        lines.append(f"\\caption{{{latex_escape(table.caption.replace(chr(10), ' '))}}}")
    if label:
        lines.append(f"\\label{{{label}}}")
    if layout.size != "normalsize":
        lines.append(f"\\{layout.size}")
    if layout.tabcolsep != _DEFAULT_TABCOLSEP:
        lines.append(f"\\setlength{{\\tabcolsep}}{{{layout.tabcolsep:g}pt}}")
    for number, block in enumerate(layout.blocks):
        if number:
            lines.append("")
            lines.append("\\medskip")
        spec = "l" + "".join("l" if c in text_columns else "r" for c in block)
        if layout.resize:
            lines.append("\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%")  # only shrinks
        lines.append(f"\\begin{{tabular}}{{{spec}}}")
        lines.append("\\toprule")
        header = [_latex_header(table.row_title, "l", layout.wrap_headers)]
        header += [_latex_header(c, "l" if c in text_columns else "r", layout.wrap_headers) for c in block]
        lines.append(" & ".join(header) + " \\\\")
        lines.append("\\midrule")
        for row in table.values.index:
            cells = [_row_start(latex_escape(str(row)))]
            for column in block:
                cells.append(_latex_cell(table, row, column, column in text_columns))
            lines.append(" & ".join(cells) + " \\\\")
        lines.append("\\bottomrule")
        lines.append("\\end{tabular}" + ("}" if layout.resize else ""))
    if table.notes:
        lines.append("")
        lines.append("\\smallskip")
        lines.append("\\begin{minipage}{\\linewidth}\\footnotesize\\raggedright")
        lines.append("\\par\n".join(latex_escape(note.replace("\n", " ")) for note in table.notes))
        lines.append("\\end{minipage}")
    lines.append(f"\\end{{{layout.env}}}")
    return "\n".join(lines) + "\n"


def _latex_cell(table: Table, row: str, column: str, is_text: bool) -> str:
    text = table.cell(row, column)
    if not text:
        return "--"
    escaped = latex_escape(text + table.marks.get((row, column), ""))
    if not is_text and escaped[:1] in "+-":
        escaped = f"${escaped[0]}${escaped[1:]}"  # a real minus / plus sign, not a hyphen
    return f"\\textbf{{{escaped}}}" if table.is_bold(row, column) else escaped
