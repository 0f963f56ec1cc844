"""How the report names things, in both directions: the file stem of every table and figure and the name of
every HTML report page (built here, and parsed back here, so no other module spells or slices a name), each
record's row name, and the seeds phrase of captions.

Tables (``tables/``) and figures (``figures/``) of one (experiment, dataset) are named
``<experiment>_<dataset>`` (:func:`pair_stem`) + a kind's ending (:data:`TABLE_KINDS`, :data:`FIGURE_KINDS`),
the part a kind carries (a metric, label, reference, image or swept row) in it: ``dn_set5`` (the headline
metric's table, :func:`headline_metric`), ``dn_set5_ssim``, ``dn_set5_per_image``, ``dn_set5_DIP_es``,
``dn_set5_vs_DIP``, ``dn_set5_psnr`` (the comparison plot), ``dn_set5_DIP_curves``, ... Figures that span
experiments: ``summary`` and ``noise_impedance_<dataset>_<image>``. Parsing takes the parts the caller knows
(the experiment and dataset, or the candidate datasets) and gives back the others, as :func:`file_stem` wrote
them.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, NamedTuple

import pandas as pd

from ..metrics import metric_names


def file_stem(*parts: object) -> str:
    """A file-name stem from labels, joined by ``_``: each part keeps letters, digits, ``_``, ``.`` and
    ``-``; any other run of characters becomes one ``-`` ("DIP + ES-WMV" -> "DIP-ES-WMV")."""
    return "_".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", str(part)).strip("-") or "x" for part in parts)


def headline_metric() -> str:
    """The metric an experiment leads with: the registry's first (PSNR). Its table is the one without a
    suffix, and the per-image, without-excluded-images and summary views are of it."""
    return metric_names()[0]


# ---------------------------------------------------------------------------------------------- file names


class Name(NamedTuple):
    """What a table's or figure's stem says after its experiment and dataset: its ``kind`` and the ``part``
    it carries (a metric, label, reference, image or swept row, as :func:`file_stem` wrote it; "" for none)."""

    kind: str
    part: str = ""


#: Table kinds: stem = <experiment>_<dataset> + lead + part + trail ("metric" with the headline metric: no
#: ending at all). In parsing order: exact endings first, then metrics, then the endings around a part
#: (a reference "dip_es" is read as one, not as the early stopping of "vs_dip").
TABLE_KINDS: dict[str, tuple[str, str]] = {
    "reported": ("_reported", ""), "per_image": ("_per_image", ""), "excl": ("_excl", ""),
    "metric": ("_", ""), "versus": ("_vs_", ""), "early_stopping": ("_", "_es"),
}
#: Figure kinds, as :data:`TABLE_KINDS` ("metric": the comparison plot of that metric).
FIGURE_KINDS: dict[str, tuple[str, str]] = {
    "convergence": ("_convergence", ""), "metric": ("_", ""), "sweep": ("_", "_sweep"),
    "curves": ("_", "_curves"), "grid": ("_", "_grid"), "gallery": ("_", "_gallery"),
}
_NO_PART = {"reported", "per_image", "excl", "convergence"}
#: The stem of the summary figure of a whole configuration.
SUMMARY_FIGURE = "summary"
#: The stem of the provenance table of all results (commit, configuration hash, hardware).
PROVENANCE_TABLE = "provenance"
_IMPEDANCE = "noise_impedance"


def pair_stem(experiment: str, dataset: str) -> str:
    """``<experiment>_<dataset>``: the Markdown tables' file and the start of every name of that pair."""
    return file_stem(experiment, dataset)


def _build(kinds: Mapping[str, tuple[str, str]], experiment: str, dataset: str, kind: str, part: object) -> str:
    lead, trail = kinds[kind]
    stem = pair_stem(experiment, dataset)
    if kind in _NO_PART:
        return stem + lead
    if part is None or str(part) == "":
        raise ValueError(f"a {kind} name needs its part")
    if kinds is TABLE_KINDS and kind == "metric" and str(part) == headline_metric():
        return stem
    return stem + lead + file_stem(part) + trail


def _parse(kinds: Mapping[str, tuple[str, str]], name: str, experiment: str, dataset: str) -> Name | None:
    stem = pair_stem(experiment, dataset)
    if not name.startswith(stem):
        return None
    rest = name[len(stem):]
    if rest == "":
        return Name("metric", headline_metric()) if kinds is TABLE_KINDS else None
    for kind in kinds:
        if kind in _NO_PART and rest == kinds[kind][0]:
            return Name(kind)
    if rest[1:] in metric_names() and rest[0] == "_" and (kinds is FIGURE_KINDS or rest[1:] != headline_metric()):
        return Name("metric", rest[1:])
    for kind, (lead, trail) in kinds.items():
        if kind in _NO_PART or kind == "metric":
            continue
        if rest.startswith(lead) and rest.endswith(trail) and len(rest) > len(lead) + len(trail):
            return Name(kind, rest[len(lead):len(rest) - len(trail)])
    return None


def table_stem(experiment: str, dataset: str, kind: str = "metric", part: object = None) -> str:
    """The file stem of a table of ``kind`` (:data:`TABLE_KINDS`): ``part`` is the metric ("metric"), the
    early-stopping label ("early_stopping") or the reference row ("versus"); the others carry none."""
    return _build(TABLE_KINDS, experiment, dataset, kind, part)


def parse_table_stem(name: str, experiment: str, dataset: str) -> Name | None:
    """The kind and part of a table's stem of (``experiment``, ``dataset``); None for any other name."""
    return _parse(TABLE_KINDS, name, experiment, dataset)


def figure_stem(experiment: str, dataset: str, kind: str, part: object = None) -> str:
    """The file stem of a figure of ``kind`` (:data:`FIGURE_KINDS`): ``part`` is the metric ("metric"), the
    swept base label ("sweep"), the label ("curves") or the image ("grid", "gallery")."""
    return _build(FIGURE_KINDS, experiment, dataset, kind, part)


def parse_figure_stem(name: str, experiment: str, dataset: str) -> Name | None:
    """The kind and part of a figure's stem of (``experiment``, ``dataset``); None for any other name."""
    return _parse(FIGURE_KINDS, name, experiment, dataset)


def impedance_figure_stem(dataset: str, image: str) -> str:
    """The stem of the noise-impedance figure of one image (it spans the impedance experiments)."""
    return file_stem(_IMPEDANCE, dataset, image)


def parse_impedance_stem(name: str, datasets: Iterable[str]) -> tuple[str, str] | None:
    """The (dataset, image) of a noise-impedance figure's stem, the dataset one of ``datasets`` (the
    longest that fits: a dataset's name may hold ``_``); None for any other name."""
    for dataset in sorted({str(d) for d in datasets}, key=len, reverse=True):
        prefix = file_stem(_IMPEDANCE, dataset) + "_"
        if name.startswith(prefix) and len(name) > len(prefix):
            return dataset, name[len(prefix):]
    return None


def is_impedance_stem(name: str) -> bool:
    """Whether ``name`` is the stem of a noise-impedance figure (of any dataset and image)."""
    return name.startswith(_IMPEDANCE + "_")


# ---------------------------------------------------------------------------------------------- page names


def page_name(experiment: str, dataset: str, order: int, item: str) -> str:
    """An HTML report page: ``<experiment>.<dataset>.<order>.<item>.html`` (``order`` sorts the pages of a
    dataset; pages of the whole configuration are ``all.all.<order>.<item>.html``)."""
    return f"{experiment}.{dataset}.{order}.{item}.html"


def figure_page_name(experiment: str, dataset: str, order: int, stem: str) -> str:
    """The page of a figure of (``experiment``, ``dataset``): its item is the figure's stem after
    ``<experiment>_<dataset>_`` ("psnr", "DIP_curves", "chelsea_grid", "convergence")."""
    pair = pair_stem(experiment, dataset)
    item = stem[len(pair) + 1:] if stem.startswith(pair + "_") else stem
    return page_name(experiment, dataset, order, item)


def summary_page() -> str:
    """The page of the summary figure."""
    return page_name("all", "all", 0, SUMMARY_FIGURE)


def impedance_page(stem: str) -> str:
    """The page of the noise-impedance figure whose stem is ``stem``."""
    return page_name("all", "all", 1, stem)


def provenance_page() -> str:
    """The page of the provenance table of all results."""
    return page_name("all", "all", 2, PROVENANCE_TABLE)


# ------------------------------------------------------------------------------------- rows and captions


def row_names(sub: pd.DataFrame, displays: Mapping[str, str] | None = None, *, protocols: bool = True) -> pd.Series:
    """Row name per record, as every table and figure shows it: the label (the method where a record has
    none) as ``displays`` names it (label -> display name; unnamed labels as they are), plus " [<protocol>]"
    where the records mix protocols (unless ``protocols`` is False)."""
    labels = sub["label"].where(sub["label"].notna(), sub["method"]).astype(str)
    if displays:
        labels = labels.map(lambda label: str(displays.get(label, label)))
    if protocols and "protocol" in sub.columns and sub["protocol"].nunique(dropna=True) > 1:
        labels = labels + " [" + sub["protocol"].astype(str) + "]"
    return labels


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
