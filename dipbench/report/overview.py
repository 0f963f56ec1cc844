"""The HTML report's first page: the results before the machinery.

``snakemake --report`` opens on the workflow's description (``workflow/report/workflow.rst``), which
includes the fragment :func:`write_overview` writes (``<results>/report_overview.html``): the summary
figure and the noise-impedance figures as thumbnails, then each experiment's headline table (its
reported-vs-reproduced table where the paper reports numbers, else its PSNR table), then the list of
experiments. A thumbnail opens its full page of the report, an experiment's name its folder: the report's
own ``app.setView`` / ``app.showCategory`` (Snakemake's report app), called from ``onclick`` because
scripts inside the description do not run. The fragment's ``<style>`` widens Snakemake's narrow
description column and puts the rule graph below it.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import pandas as pd

from ..atomic import write_text
from .naming import (
    SUMMARY_FIGURE,
    headline_metric,
    impedance_page,
    is_impedance_stem,
    parse_impedance_stem,
    summary_page,
    table_stem,
)
from .pictures import embedded_image
from .records import load_captions, load_runs

#: Thumbnail width (px) of a figure on the overview.
THUMBNAIL_PX = 900

STYLE = """<style>
.prose.max-w-lg { max-width: min(72rem, 92vw) !important; }
div.flex:has(> div > .prose) { flex-direction: column; }
div.h-screen:has(.dipbench-overview) { align-items: flex-start; justify-content: flex-start; }
.dipbench-overview table.dipbench { width: auto; }
.dipbench-overview table.dipbench { border-collapse: collapse; margin: 1em 0 0.3em; font-size: 0.85rem; }
.dipbench-overview table.dipbench caption { caption-side: top; text-align: left; font-style: italic; }
.dipbench-overview table.dipbench th, .dipbench-overview table.dipbench td { padding: 0.1em 0.5em; }
.dipbench-overview img { max-width: 100%; border: 1px solid #ddd; cursor: zoom-in; }
</style>"""


def open_page(name: str) -> str:
    """An ``onclick`` handler that shows the report page whose file name is ``name`` (Snakemake keys each
    page by its path, which ends with the name)."""
    return ("var k=Object.keys(results).find(function(p){return p.endsWith(" + json.dumps("/" + name) + ")});"
            "if(k){app.setView({navbarMode:'resultinfo',resultPath:k,content:'html',"
            "contentPath:results[k].data_uri});}return false;")


def _thumbnail(path: Path, page: str, caption: str) -> str:
    """A figure at most :data:`THUMBNAIL_PX` wide, shown at 150 dpi (half its 300 dpi pixels: a column-wide
    figure takes half the width of a page-wide one), that opens ``page`` when clicked."""
    from PIL import Image

    with Image.open(path) as image:
        shown_px = image.width // 2
    alt = html.escape(caption.split(":")[0])
    return (f'<p><a href="#" onclick="{html.escape(open_page(page))}" title="open the full figure">'
            f'<img src="{embedded_image(path, THUMBNAIL_PX)}" alt="{alt}" style="width: min(100%, {shown_px}px)">'
            f"</a><br><small>{html.escape(caption)} Click the figure for its full size and caption.</small></p>")


def headline_table(results: Path, experiment: str, dataset: str) -> Path | None:
    """The table an experiment leads with: reported vs reproduced where there is one, else its headline
    metric's (PSNR) table; None for an experiment without a ground truth (no table)."""
    for stem in (table_stem(experiment, dataset, "reported"),
                 table_stem(experiment, dataset, "metric", headline_metric())):
        path = results / "tables" / f"{stem}.html"
        if path.is_file():
            return path
    return None


def _headline(caption: str) -> str:
    """A figure caption's first clause (before its first ": "), as a sentence: what the figure is."""
    return caption.split(": ", 1)[0].rstrip(".") + "."


def write_overview(results: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the overview fragment for the results in ``results`` to ``out``; returns ``out``. Each
    thumbnail's line is the first clause of its figure's caption (``figures/captions.json``, written by the
    figure's family; without it, the family's caption or heading)."""
    from .comparison_figures import summary_caption
    from .impedance import impedance_heading

    results = Path(results)
    runs = load_runs(results)
    runs = pd.DataFrame(columns=["experiment", "dataset", "task"]) if runs is None else runs
    captions = load_captions(results)
    parts = [STYLE, '<div class="dipbench-overview">', "<h2>Results</h2>"]
    summary = results / "figures" / f"{SUMMARY_FIGURE}.png"
    if summary.is_file():
        caption = captions.get(summary.name) or summary_caption(headline_metric())
        headline = _headline(caption)
        parts.append(_thumbnail(summary, summary_page(), f"Summary: {headline[0].lower()}{headline[1:]}"))
    datasets = runs.loc[runs["task"].astype(str) == "impedance", "dataset"] if "task" in runs else []
    for path in sorted((results / "figures").glob("*.png")):
        if not is_impedance_stem(path.stem):
            continue
        parsed = parse_impedance_stem(path.stem, datasets)
        caption = captions.get(path.name) or (impedance_heading(*parsed) if parsed else path.stem.replace("_", " "))
        parts.append(_thumbnail(path, impedance_page(path.stem), _headline(caption)))
    pairs = list(runs[["experiment", "dataset"]].drop_duplicates().itertuples(index=False))
    tables = [(e, d, headline_table(results, e, d)) for e, d in pairs]
    if any(path for *_, path in tables):
        parts.append("<h3>Tables</h3>")
    for experiment, dataset, path in tables:
        if path is not None:
            parts.append(path.read_text(encoding="utf-8"))
    if pairs:
        parts.append("<h3>Experiments</h3><p>Each opens its folder: every table, plot, learning curve and "
                     "visual comparison, with the task, protocol, images, seeds and method settings.</p><ul>")
        for experiment in dict.fromkeys(e for e, _ in pairs):
            datasets = ", ".join(str(d) for e, d in pairs if e == experiment)
            call = html.escape(f"app.showCategory({json.dumps(str(experiment))});return false;")
            parts.append(f'<li><a href="#" onclick="{call}">{html.escape(str(experiment))}</a> ({html.escape(datasets)})</li>')
        parts.append("</ul>")
    if len(parts) == 3:
        parts.append("<p>No results yet.</p>")
    parts.append("</div>")
    write_text(out, "\n".join(parts) + "\n")
    return Path(out)
