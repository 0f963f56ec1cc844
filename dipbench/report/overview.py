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
from .naming import file_stem
from .pictures import embedded_image

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
    """The table an experiment leads with: reported vs reproduced where there is one, else its PSNR
    table; None for an experiment without a ground truth (no table)."""
    stem = file_stem(experiment, dataset)
    for suffix in ("_reported", ""):
        path = results / "tables" / f"{stem}{suffix}.html"
        if path.is_file():
            return path
    return None


def write_overview(results: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the overview fragment for the results in ``results`` to ``out``; returns ``out``."""
    results = Path(results)
    runs_csv = results / "tables" / "runs.csv"
    runs = pd.read_csv(runs_csv) if runs_csv.is_file() else pd.DataFrame(columns=["experiment", "dataset"])
    parts = [STYLE, '<div class="dipbench-overview">', "<h2>Results</h2>"]
    summary = results / "figures" / "summary.png"
    if summary.is_file():
        parts.append(_thumbnail(summary, "all.all.0.summary.html",
                                "Summary: mean PSNR (dB) of every method, one panel per experiment and dataset."))
    for path in sorted((results / "figures").glob("noise_impedance_*.png")):
        parts.append(_thumbnail(path, f"all.all.1.{path.stem}.html",
                                "Noise impedance: how fast DIP fits the image, noise and shuffled pixels."))
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
