"""The metrics every result is scored with, as a registry: a metric is a name (its record column), how it is
shown (:class:`~dipbench.metrics.facts.MetricFacts`) and a function of the scored images.

PSNR and SSIM are each protocol's own pair (:mod:`.protocols` fixes pixels, channel and range for both); any
other metric registers here with :func:`register_metric` (see :mod:`.missing`, PSNR over the missing pixels
of an inpainting task) and is then computed by :func:`~dipbench.metrics.protocols.score` for every result
it applies to, and listed by records, tables, figures, report pages and the CLI, which iterate
:func:`metrics`. Adding a metric is one module that calls :func:`register_metric` (README "Adding a metric").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ConfigError
from ..imaging.geometry import Box
from .facts import COLUMN_FACTS, MetricFacts


@dataclass(frozen=True)
class Scored:
    """What a metric function sees of one result: ``gt`` the prepared ground truth (H, W, C) in [0, 1],
    ``pred`` the restored image on ``target`` (h, w, C) in [0, 1] (channels already matched to ``gt``),
    ``upscales`` / ``scale`` the task's, ``protocol`` the protocol's name, ``mask`` the observation's mask on
    the ground truth's frame ((H, W, 1), non-zero = known pixel; None for tasks without one)."""

    gt: np.ndarray
    pred: np.ndarray
    target: Box
    upscales: bool
    scale: int | None
    protocol: str
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``name`` (the record column, lower case), its display ``facts`` and ``compute``
    (:class:`Scored` -> float, or None where the metric does not apply to that result, e.g. no mask).
    ``compute`` is None for the protocol's own PSNR and SSIM."""

    name: str
    facts: MetricFacts
    compute: Callable[[Scored], float | None] | None = None


_METRICS: dict[str, Metric] = {
    "psnr": Metric("psnr", MetricFacts("PSNR", "dB", 2, True)),
    "ssim": Metric("ssim", MetricFacts("SSIM", "", 4, True)),
}


#: The metrics every protocol computes itself (``compute`` None), in record order.
PROTOCOL_METRICS = tuple(name for name, metric in _METRICS.items() if metric.compute is None)


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to the registry (returned, so a module can keep it); a name that is taken by another
    metric, or is not a plain lower-case identifier, is an error."""
    if not metric.name.isidentifier() or metric.name != metric.name.lower():
        raise ConfigError(f"metric name {metric.name!r} must be a lower-case identifier (it is a record column)")
    taken = _METRICS.get(metric.name)
    if taken is not None and taken != metric:
        raise ConfigError(f"metric {metric.name!r} is registered twice")
    if metric.name in COLUMN_FACTS:
        raise ConfigError(f"metric name {metric.name!r} is a record column already")
    if metric.compute is None:
        raise ConfigError(f"metric {metric.name!r} needs a compute function (only the protocols' own "
                          f"{', '.join(PROTOCOL_METRICS)} have none)")
    _METRICS[metric.name] = metric
    return metric


def metrics() -> list[Metric]:
    """Every registered metric, PSNR and SSIM first, then in registration order (the package's import
    registers the built-in ones)."""
    return list(_METRICS.values())


def metric_names() -> list[str]:
    """The record columns of :func:`metrics`."""
    return [metric.name for metric in metrics()]


def extra_scores(scored: Scored) -> dict[str, float]:
    """The value of every registered metric other than the protocols' own that applies to ``scored``."""
    values = {}
    for metric in metrics():
        if metric.compute is not None:
            value = metric.compute(scored)
            if value is not None:
                values[metric.name] = float(value)
    return values


def metric_facts(column: str) -> MetricFacts:
    """How a metric or record column is shown: a registered metric's facts, else the record column's
    (:data:`~dipbench.metrics.facts.COLUMN_FACTS`); an unknown column under its own name, 3 decimals,
    higher better."""
    metric = _METRICS.get(column)
    if metric is not None:
        return metric.facts
    return COLUMN_FACTS.get(column, MetricFacts(column, "", 3, True))
