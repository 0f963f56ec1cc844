"""Restoration from a sparse random subset of pixels (the supplement's 2%-pixel experiment)."""

from __future__ import annotations


from .inpaint import Inpaint
from .registry import register_task


@register_task
class SparsePixels(Inpaint):
    """Inpainting from a fraction ``keep`` of pixels (default 2%), one Bernoulli mask for all channels.

    The same degradation as :class:`~dipbench.tasks.inpaint.Inpaint`, under its own name so that a method
    can tune for the supplement's experiment (docs/protocol.md section 9) apart from Table 1's.
    """

    name = "sparse"
    title = "Sparse-pixel restoration"
    gallery = True
    defaults = {"keep": 0.02}
    cli_options = {"keep": "fraction of pixels kept (0.02: the supplement's 2%)"}
    published_input = None

    def describe(self) -> str:
        return f"Restoration from {100 * self.params['keep']:g}% of pixels"
