"""How a metric or record column is shown in tables and figures: label, unit, decimals and whether higher
is better (:class:`MetricFacts`). Registered metrics carry their own (:mod:`.registry`); the other record
columns that tables show are defined here, in :data:`COLUMN_FACTS`."""

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


#: Record columns that are not registered metrics but are shown like them.
COLUMN_FACTS: dict[str, MetricFacts] = {
    "input_psnr": MetricFacts("input PSNR", "dB", 2, True),
    "runtime_s": MetricFacts("runtime", "s", 1, False),
}
