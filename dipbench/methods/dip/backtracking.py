"""Backtracking, as the DIP authors' notebooks do it, done properly (docs/protocol.md section 10).

The notebooks keep the last good weights and restore them when the PSNR of the output against the
observation drops by more than 5 dB from the previous check (``denoising.ipynb``: against the noisy image;
``restoration.ipynb``: of the masked output against the masked image, every 50 steps). Both restore the
weights inside the closure and then let the optimiser apply the gradient computed at the bad weights, and
neither restores Adam's moments. Here a rollback restores the weights *and* Adam's moment estimates
saved at the last good check, so the update made from the bad weights is discarded; Adam's step counter
(bias correction only) keeps counting, so that each run of a fused fit can roll back on its own and still
do what it would do alone.

The check runs at the loop's logging steps (every ``log_every`` = 50 steps, as ``restoration.ipynb``;
``denoising.ipynb`` checks at every step that is not a multiple of 100) on the losses the loop has already
copied to the host there, so it adds no host synchronisation. The PSNR against the observation is
-10 log10(loss) with peak 1: the loss is the MSE of A(x) against y over all elements, which for denoising
is the MSE against the noisy image and for inpainting that of the masked output against the masked image,
as the notebooks compute it. The weights and moments are saved on the device (one copy of the parameters
and of each moment); restoring or saving copies only the channels of the runs concerned.

Fused fits (K runs in one grouped network, :mod:`.fused`): every parameter and moment tensor is K runs'
tensors concatenated along its first dimension, so run k's part is the k-th of K equal slices there.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

#: A check that finds the PSNR against the observation more than this many dB below the previous good
#: check's rolls back (the notebooks' threshold).
DROP_DB = 5.0


def psnr_of_loss(loss: float) -> float:
    """PSNR (dB, peak 1) of an image whose MSE against the observation is ``loss``."""
    return math.inf if loss <= 0 else -10.0 * math.log10(loss)


class Backtracker:
    """Saves each run's weights and Adam moments at a good check and restores them after a drop.

    ``optimizer``: the fit's Adam (its parameters are the network's); ``runs``: K fused runs (1 alone).
    :meth:`check` takes the step and the K losses of that step as host floats.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, runs: int, drop_db: float | None = None):
        self.optimizer, self.runs = optimizer, runs
        self.drop_db = DROP_DB if drop_db is None else drop_db
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        self.saved: list[list[torch.Tensor]] | None = None  # per parameter: [weights, moment, ...]
        self.last_psnr: list[float | None] = [None] * runs
        self.rollback_steps: list[list[int]] = [[] for _ in range(runs)]

    def _tensors(self, p: torch.Tensor) -> list[torch.Tensor]:
        """The parameter and its Adam moments (every state tensor of its shape; not the step counter)."""
        state = self.optimizer.state.get(p, {})
        return [p.data] + [v for _, v in sorted(state.items()) if torch.is_tensor(v) and v.shape == p.shape]

    def _slice(self, p: torch.Tensor, k: int) -> slice:
        """Run k's part of a fused tensor's first dimension."""
        size = p.shape[0] // self.runs
        return slice(k * size, (k + 1) * size)

    @torch.no_grad()
    def _copy(self, runs: Sequence[int], save: bool) -> None:
        """Save (live -> saved) or restore (saved -> live) the weights and moments of ``runs``."""
        if self.saved is None:  # the first check saves every run (none can have dropped yet)
            self.saved = [[t.clone() for t in self._tensors(p)] for p in self.params]
            return
        for p, saved in zip(self.params, self.saved):
            slices = [slice(None)] if len(runs) == self.runs else [self._slice(p, k) for k in runs]
            for live, kept in zip(self._tensors(p), saved):
                for part in slices:
                    src, dst = (live, kept) if save else (kept, live)
                    dst[part].copy_(src[part])

    def check(self, step: int, losses: Sequence[float]) -> list[int]:
        """The check at ``step``: runs whose PSNR against the observation fell by more than ``drop_db``
        from their last good check are restored to it (returned); the others are saved as good."""
        dropped, good = [], []
        for k, loss in enumerate(losses):
            psnr = psnr_of_loss(float(loss))
            last = self.last_psnr[k]
            if last is not None and psnr - last < -self.drop_db:
                dropped.append(k)
                self.rollback_steps[k].append(step)
            else:
                good.append(k)
                self.last_psnr[k] = psnr
        if dropped:
            self._copy(dropped, save=False)
        if good:
            self._copy(good, save=True)
        return dropped

    def record(self, k: int) -> dict[str, Any]:
        """Run k's record fields: ``rollbacks`` (how many) and ``rollback_steps``."""
        return {"rollbacks": len(self.rollback_steps[k]), "rollback_steps": list(self.rollback_steps[k])}


def backtracker(params: dict[str, Any], optimizer: torch.optim.Optimizer, runs: int) -> Backtracker | None:
    """The fit's :class:`Backtracker` for the resolved ``backtrack`` parameter, or None when it is off."""
    mode = params.get("backtrack", "off")
    if mode in ("off", None):
        return None
    if mode != "notebook":
        raise ValueError(f"backtrack must be 'off' or 'notebook', got {mode!r}")
    return Backtracker(optimizer, runs)
