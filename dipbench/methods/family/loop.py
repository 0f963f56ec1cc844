"""The optimisation loop the DIP-family methods share, and how a fit becomes a :class:`Restoration`.

A method describes one fit as a ``step(i)`` function (i = 1..steps: one optimiser update; returns the
step's loss and, where it has it for free, the step's output image) and optionally a ``running()``
estimate (the EMA of outputs, a posterior mean: what the method would return if it stopped now).
:func:`run_loop` runs the steps and keeps the bookkeeping on the device: the loss of every step goes into a
preallocated buffer, and every ``log_every`` steps (and at the last one) it records the oracle PSNR of the
current output and of the running estimate against the ground truth, when the observation has one. The
oracle values are never used to decide anything. The host synchronises only at those logging steps (NaN
check, progress bar, wall time).

:func:`finish` turns the returned image and the curve into a :class:`Restoration` with the record fields
every iterative method in dipbench reports: steps run, wall time, device, precision, the returned image's
oracle PSNR, the curve's oracle peak and the gap to it, and the loss-curve divergence check
(:func:`dipbench.methods.divergence.loss_divergence`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from ...errors import DivergenceError
from ...progress import progress_bar
from ..base import Restoration
from ..divergence import loss_divergence
from ..oracle import oracle_summary, psnr_tensor

#: ``step(i) -> (loss, output or None)``: one optimiser update; the output is (1, C, h, w) on the target box.
StepFn = Callable[[int], "tuple[torch.Tensor, torch.Tensor | None]"]


@dataclass
class LoopRecord:
    """What :func:`run_loop` recorded: the curve (one row per step) and the loop's wall time."""

    curve: pd.DataFrame
    steps_run: int
    seconds: float


def run_loop(step: StepFn, *, steps: int, log_every: int, gt: torch.Tensor | None, device: torch.device,
             name: str, desc: str, progress: bool = False,
             current: Callable[[], torch.Tensor] | None = None,
             running: Callable[[], torch.Tensor | None] | None = None,
             running_column: str = "psnr_ema") -> LoopRecord:
    """Run ``steps`` updates; returns the curve.

    Curve columns: ``step``, ``loss`` (every step), ``psnr`` (oracle PSNR of the step's output, or of
    ``current()`` where the step returned none, every ``log_every`` steps and at the last one; NaN
    elsewhere), ``running_column`` (oracle PSNR of ``running()``, when given; NaN where it returned None)
    and ``time_s`` (seconds since the loop started, at the logging steps). A non-finite loss at a logging
    step raises :class:`DivergenceError` naming ``name``.
    """
    log_every = max(1, int(log_every))
    losses = torch.empty(steps, device=device)
    rows = steps // log_every + 1
    psnrs = torch.full((rows, 2), float("nan"), device=device)
    logged: list[int] = []
    times: dict[int, float] = {}
    bar = progress_bar(steps, desc, enabled=progress)
    start = time.perf_counter()
    for i in range(1, steps + 1):
        loss, out = step(i)
        losses[i - 1] = loss.detach().float()
        if i % log_every and i != steps:
            continue
        with torch.no_grad():
            if gt is not None:
                row = len(logged)
                logged.append(i)
                shown = out if out is not None else (current() if current is not None else None)
                if shown is not None:
                    psnrs[row, 0] = psnr_tensor(shown, gt)
                estimate = running() if running is not None else None
                if estimate is not None:
                    psnrs[row, 1] = psnr_tensor(estimate, gt)
        value = float(losses[i - 1])  # the one host sync per logging period
        times[i] = time.perf_counter() - start
        if not math.isfinite(value):
            raise DivergenceError(f"{name} diverged: loss is {value} at step {i} (try a lower lr)")
        bar.update(i - bar.n)
        bar.set_postfix(loss=f"{value:.2e}")
    bar.close()
    seconds = time.perf_counter() - start

    curve = pd.DataFrame({"step": np.arange(1, steps + 1), "loss": losses.cpu().numpy().astype(np.float64)})
    curve["psnr"] = np.nan
    if running is not None:
        curve[running_column] = np.nan
    if logged:
        index = np.asarray(logged) - 1
        values = psnrs[: len(logged)].cpu().numpy().astype(np.float64)
        curve.loc[index, "psnr"] = values[:, 0]
        if running is not None:
            curve.loc[index, running_column] = values[:, 1]
    curve["time_s"] = np.nan
    if times:
        curve.loc[np.asarray(list(times)) - 1, "time_s"] = list(times.values())
    return LoopRecord(curve=curve, steps_run=steps, seconds=seconds)


def finish(name: str, image: torch.Tensor, gt: torch.Tensor | None, record: LoopRecord, info: dict[str, Any],
           column: str = "psnr") -> Restoration:
    """The :class:`Restoration` of a fit that returns ``image`` (1, C, h, w).

    ``column`` is the curve column that tracks what the method returns (``psnr`` for the last output,
    ``psnr_ema`` for an EMA, ``psnr_mean`` for a posterior mean): the oracle peak and the gap to it are taken
    over it and the returned image itself. Non-finite output raises :class:`DivergenceError`.
    """
    if not bool(torch.isfinite(image).all()):
        raise DivergenceError(f"{name} produced non-finite output")
    image = image.float().clamp(0.0, 1.0)
    output_psnr = float(psnr_tensor(image, gt)) if gt is not None else None
    info = {"steps_run": record.steps_run, "fit_seconds": record.seconds, **info}
    info.update(oracle_summary(record.curve, column, output_psnr, record.steps_run))
    info.update(loss_divergence(record.curve["loss"].to_numpy(), name))
    array = image[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    return Restoration(image=np.ascontiguousarray(array), curve=record.curve, info=info)
