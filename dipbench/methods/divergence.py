"""Telling a fit that diverged from one that converged: every iterative method's record says which."""

from __future__ import annotations

import warnings

import numpy as np


#: The fewest steps a loss curve needs to be judged.
MIN_STEPS = 20


class DivergenceWarning(UserWarning):
    """A fit ended with a higher loss than it started with."""


def loss_divergence(losses: np.ndarray, method: str) -> dict[str, object]:
    """Judge a loss curve (one value per step, finite): ``diverged`` when the lowest loss of its last tenth
    of steps is above the first step's loss, i.e. the fit ended worse than it began (a learning rate far
    too high does this without ever producing NaN). Fits of fewer than :data:`MIN_STEPS` steps are not
    judged: their first steps go up and down anyway. Returns the record fields ``diverged``, ``loss_ratio``
    (that lowest late loss over the first loss) and, where diverged, ``divergence`` (a one-line message,
    also issued as a :class:`DivergenceWarning`)."""
    losses = np.asarray(losses, dtype=np.float64)
    if losses.size < MIN_STEPS or not losses[0] > 0:
        return {"diverged": False, "loss_ratio": None}
    late = losses[-max(1, losses.size // 10):]
    ratio = float(late.min() / losses[0])
    fields: dict[str, object] = {"diverged": ratio > 1.0, "loss_ratio": ratio}
    if fields["diverged"]:
        fields["divergence"] = (f"{method} diverged: its loss ended at {ratio:.3g}x its first value "
                                f"({late.min():.3g} vs {losses[0]:.3g}); try a lower lr")
        warnings.warn(str(fields["divergence"]), DivergenceWarning, stacklevel=2)
    return fields
