"""Sweeps: the metric against a swept parameter of one experiment on one dataset, one line per combination
of the other parameters, ± 1 s.d. over seeds (:func:`sweep_plot`), and its caption (:func:`sweep_caption`).
Style and saving: :mod:`.figure_style`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from matplotlib.figure import Figure

from ..metrics import metric_facts
from .figure_style import COLUMN_WIDTH, TITLE_PT, _new_figure, _palette, _styled, _wrap, save_figure


@_styled
def sweep_figure(df: pd.DataFrame, experiment: str, dataset: str, rows: Mapping[str, Mapping[str, Any]],
                 metric: str = "psnr") -> Figure:
    """The metric against a swept parameter: ``rows`` maps each swept row (display name) to its parameter
    values; x is the first parameter, one line per combination of the others. y: mean over images of the
    per-image mean over seeds, with ± 1 s.d. of the per-seed means as error bars. Column width."""
    sub = df[(df["experiment"] == experiment) & (df["dataset"] == dataset) & df["label"].isin(list(rows))]
    facts = metric_facts(metric)
    names = sorted(next(iter(rows.values())))
    x_name, others = names[0], names[1:]
    fig = _new_figure(COLUMN_WIDTH, 2.3)
    ax = fig.add_subplot()
    groups: dict[tuple, list[tuple[float, float, float]]] = {}
    for label, values in rows.items():
        runs = sub[sub["label"] == label]
        if runs.empty:
            continue
        per_seed = runs.groupby("seed")[metric].mean()
        mean = runs.groupby("image")[metric].mean().mean()
        spread = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else 0.0
        groups.setdefault(tuple(values[name] for name in others), []).append((values[x_name], mean, spread))
    colors = _palette(len(groups))
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for points in groups.values()
                  for x, _, _ in points)
    for color, (key, points) in zip(colors, sorted(groups.items(), key=lambda item: str(item[0]))):
        points.sort(key=lambda p: p[0] if numeric else str(p[0]))
        xs = [p[0] if numeric else str(p[0]) for p in points]
        label = ", ".join(f"{n}={v}" for n, v in zip(others, key)) or None
        ax.errorbar(xs, [p[1] for p in points], yerr=[p[2] for p in points], marker="o", color=color, capsize=2,
                    label=label)
    if numeric and all(p[0] > 0 for points in groups.values() for p in points):
        span = [p[0] for points in groups.values() for p in points]
        if max(span) / min(span) >= 20:
            ax.set_xscale("log")
    ax.set_xlabel(x_name)
    ax.set_ylabel(facts.axis_label)
    ax.grid(True, alpha=0.3)
    if others:
        ax.legend(loc="best")
    ax.set_title(_wrap(f"{experiment} on {dataset}: {facts.label} against {x_name}", COLUMN_WIDTH, TITLE_PT))
    return fig


def sweep_plot(df: pd.DataFrame, experiment: str, dataset: str, rows: Mapping[str, Mapping[str, Any]],
               path: str | os.PathLike, metric: str = "psnr") -> list[Path]:
    """:func:`sweep_figure`, saved as PNG and PDF."""
    return save_figure(sweep_figure(df, experiment, dataset, rows, metric), path)


def sweep_caption(experiment: str, dataset: str, base: str, metric: str = "psnr") -> str:
    """The caption of :func:`sweep_plot` of the swept rows of ``base`` (figures index, HTML report)."""
    return (f"{experiment} on {dataset}: mean {metric_facts(metric).label} over images of {base} against its swept "
            "parameter (± 1 standard deviation over seeds).")
