"""Facts about each metric and record column that tables and figures show: label, unit, decimals, and
whether higher is better. The one place these are defined."""

from __future__ import annotations

from typing import NamedTuple


class MetricFacts(NamedTuple):
    """How a metric is shown: ``label`` ("PSNR"), ``unit`` ("dB", or "" for none), ``decimals`` in tables
    and annotations, and ``higher_is_better`` (which value is bold)."""

    label: str
    unit: str
    decimals: int
    higher_is_better: bool

    @property
    def axis_label(self) -> str:
        """"PSNR (dB)", or the label alone where there is no unit."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


METRICS: dict[str, MetricFacts] = {
    "psnr": MetricFacts("PSNR", "dB", 2, True),
    "ssim": MetricFacts("SSIM", "", 4, True),
    "input_psnr": MetricFacts("input PSNR", "dB", 2, True),
    "runtime_s": MetricFacts("runtime", "s", 1, False),
}


def metric_facts(column: str) -> MetricFacts:
    """The facts of a metric column; an unknown column is shown under its own name, 3 decimals, higher better."""
    return METRICS.get(column, MetricFacts(column, "", 3, True))
