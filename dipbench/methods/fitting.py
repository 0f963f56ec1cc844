"""The fitting loop of DIP and its family, for K runs at once, and how a run becomes a :class:`Restoration`.

A method describes its fit as a ``step(i)`` function (i = 1..steps: one optimiser update; returns the
step's loss, a 0-d tensor or one per run (K,), and, where it has it for free, the step's output image
(1, K * C, h, w) on the target box, or None). That function is the only part that differs between
methods; :func:`run_loop` runs it and keeps the bookkeeping on the device:

* the loss of every step goes into a preallocated (steps, K) buffer;
* ``update(i, output)`` (optional) runs after each step under ``torch.no_grad`` for on-device per-step
  state, e.g. an EMA of the outputs (:class:`OutputEMA`) or an early-stopping detector;
* every ``oracle_every`` steps (default ``log_every``) and at every logging step it records, per run, the
  oracle PSNR of the step's output and of the ``running()`` estimate (what the method would return if it
  stopped now: an EMA, a posterior mean; None where there is none yet) against the ground truth, when
  every run has one. The oracle values are never used to decide anything;
* optional per-step traces ((steps, K) device buffers the ``update`` hook fills, e.g. ES-WMV's variance)
  become extra curve columns.

The host synchronises only at the logging steps (every ``log_every`` steps and the last one): one copy of
that step's K losses, the NaN check (:class:`DivergenceError`), the progress bar, the wall time, and the
optional ``check(i, losses)`` hook, which may stop the loop early (early stopping, backtracking).

:func:`finish` turns one run's image and curve into a :class:`Restoration` with the record fields every
iterative method in dipbench reports: steps run, wall time, the returned image's oracle PSNR, the curve's
oracle peak and the gap to it, and the loss-curve divergence check
(:func:`dipbench.methods.divergence.loss_divergence`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..errors import DivergenceError
from ..progress import progress_bar
from .base import Restoration
from .divergence import loss_divergence
from .oracle import oracle_summary, psnr_tensor

#: ``step(i) -> (loss, output or None)``: one optimiser update; loss 0-d or (K,), output (1, K * C, h, w).
StepFn = Callable[[int], "tuple[torch.Tensor, torch.Tensor | None]"]
#: ``update(i, output)``: on-device per-step state after step i (under ``torch.no_grad``; no host sync).
UpdateFn = Callable[[int, "torch.Tensor | None"], None]
#: ``check(i, losses) -> stop``: at a logging step, with that step's K losses as host floats.
CheckFn = Callable[[int, "list[float]"], bool]


def per_run(x: torch.Tensor, runs: int) -> Sequence[torch.Tensor]:
    """Split (1, K * C, H, W) into K (1, C, H, W) views (the tensor itself for K = 1)."""
    return (x,) if runs == 1 else x.chunk(runs, dim=1)


class OutputEMA:
    """The exponential moving average of a fit's outputs: ema = weight * ema + (1 - weight) * output.

    ``weight`` in [0, 1), or None (off: :attr:`value` stays None). The first output starts the average;
    the average is updated in place on the device, the output's shape (1, K * C, h, w).
    """

    def __init__(self, weight: float | None):
        self.weight = None if weight is None else float(weight)
        self.value: torch.Tensor | None = None

    @torch.no_grad()
    def update(self, output: torch.Tensor) -> None:
        if self.weight is None:
            return
        if self.value is None:
            self.value = output.clone()
        else:
            self.value.mul_(self.weight).add_(output, alpha=1.0 - self.weight)


@dataclass
class LoopRecord:
    """What :func:`run_loop` recorded: one curve per run (one row per step run), the steps run, the loop's
    wall time in seconds and its start (``time.perf_counter()``, for a caller that times more than the loop)."""

    curves: list[pd.DataFrame]
    steps_run: int
    seconds: float
    started: float

    @property
    def curve(self) -> pd.DataFrame:
        """The curve of a single run (K = 1)."""
        return self.curves[0]


def run_loop(step: StepFn, *, steps: int, log_every: int, gts: Sequence[torch.Tensor | None],
             device: torch.device, name: str, desc: str, progress: bool = False,
             oracle_every: int | None = None, update: UpdateFn | None = None,
             running: Callable[[], torch.Tensor | None] | None = None, running_column: str = "psnr_ema",
             check: CheckFn | None = None, traces: Mapping[str, torch.Tensor] | None = None) -> LoopRecord:
    """Run up to ``steps`` updates of K = ``len(gts)`` runs; returns each run's curve.

    ``gts``: run k's ground truth (1, C, h, w) in [0, 1], or None (no oracle columns are filled unless every
    run has one). ``oracle_every``: the oracle PSNR period in steps (default ``log_every``; 1 gives the exact
    oracle peak). ``check`` returning True stops the loop after that logging step.

    Curve columns (float64 unless said): ``step`` (1..steps run, int), ``loss`` (every step), ``psnr``
    (dB, oracle PSNR of the step's output at the oracle and logging steps, NaN elsewhere),
    ``running_column`` (dB, the same of ``running()``, when given; NaN where it returned None), ``time_s``
    (seconds since the loop started, at the logging steps; NaN elsewhere) and one column per ``traces``
    entry (that buffer's run-k column over the steps run, in its own dtype). A non-finite loss at a logging
    step raises :class:`DivergenceError` naming ``name``.
    """
    runs = len(gts)
    log_every = max(1, int(log_every))
    oracle_every = log_every if oracle_every is None else max(1, int(oracle_every))
    has_gt = all(gt is not None for gt in gts)
    losses = torch.empty((steps, runs), device=device)
    psnrs = torch.full((steps // oracle_every + 1, runs, 2), float("nan"), device=device)
    logged: list[int] = []
    times: dict[int, float] = {}
    bar = progress_bar(steps, desc, enabled=progress)
    start = time.perf_counter()
    i = 0
    for i in range(1, steps + 1):
        loss, out = step(i)
        losses[i - 1] = loss.detach().float()
        logging = i % log_every == 0 or i == steps
        with torch.no_grad():
            if update is not None:
                update(i, out)
            if has_gt and (logging or i % oracle_every == 0):
                row = len(logged)
                logged.append(i)
                if out is not None:
                    for k, (o, gt) in enumerate(zip(per_run(out, runs), gts)):
                        psnrs[row, k, 0] = psnr_tensor(o, gt)
                estimate = running() if running is not None else None
                if estimate is not None:
                    for k, (e, gt) in enumerate(zip(per_run(estimate, runs), gts)):
                        psnrs[row, k, 1] = psnr_tensor(e, gt)
        if not logging:
            continue
        last = losses[i - 1].tolist()  # the one host sync per logging period
        times[i] = time.perf_counter() - start
        bad = [value for value in last if not math.isfinite(value)]
        if bad:
            raise DivergenceError(f"{name} diverged: loss is {bad[0]} at step {i} (try a lower lr)")
        bar.update(i - bar.n)
        bar.set_postfix(loss=f"{max(last):.2e}")
        if check is not None and check(i, last):
            break
    bar.close()
    seconds = time.perf_counter() - start

    loss_rows = losses[:i].cpu().numpy()
    psnr_rows = psnrs[: len(logged)].cpu().numpy()
    trace_rows = {key: buffer[:i].cpu().numpy() for key, buffer in (traces or {}).items()}
    curves = [_curve(loss_rows[:, k], logged, psnr_rows[:, k], times,
                     running_column if running is not None else None,
                     {key: rows[:, k] for key, rows in trace_rows.items()})
              for k in range(runs)]
    return LoopRecord(curves=curves, steps_run=i, seconds=seconds, started=start)


def _curve(losses: np.ndarray, logged: list[int], psnrs: np.ndarray, times: dict[int, float],
           running_column: str | None, traces: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One run's curve (see :func:`run_loop`): ``psnrs`` (logged steps, 2) holds the output's and the
    running estimate's oracle PSNR at the steps in ``logged``."""
    curve = pd.DataFrame({"step": np.arange(1, len(losses) + 1), "loss": losses.astype(np.float64)})
    columns = ["psnr"] + ([running_column] if running_column is not None else [])
    for column in columns:
        curve[column] = np.nan
    if logged:
        index = np.asarray(logged) - 1
        values = psnrs.astype(np.float64)
        for j, column in enumerate(columns):
            curve.loc[index, column] = values[:, j]
    curve["time_s"] = np.nan
    if times:
        curve.loc[np.asarray(list(times)) - 1, "time_s"] = list(times.values())
    for key, values in traces.items():
        curve[key] = values
    return curve


def finish(name: str, image: torch.Tensor, gt: torch.Tensor | None, record: LoopRecord, info: dict[str, Any],
           column: str = "psnr", run: int = 0) -> Restoration:
    """The :class:`Restoration` of run ``run`` of a fit that returns ``image`` (1, C, h, w), values clamped
    to [0, 1]; ``gt`` is that run's ground truth (or None).

    ``column`` is the curve column that tracks what the method returns (``psnr`` for the last output,
    ``psnr_ema`` for an EMA, ``psnr_mean`` for a posterior mean): the oracle peak and the gap to it are taken
    over it and the returned image itself. The record starts with ``steps_run`` and ``fit_seconds`` (the
    record's), then ``info``. Non-finite output raises :class:`DivergenceError` naming ``name``.
    """
    if not bool(torch.isfinite(image).all()):
        raise DivergenceError(f"{name} produced non-finite output")
    image = image.float().clamp(0.0, 1.0)
    curve = record.curves[run]
    output_psnr = float(psnr_tensor(image, gt)) if gt is not None else None
    info = {"steps_run": record.steps_run, "fit_seconds": record.seconds, **info}
    info.update(oracle_summary(curve, column, output_psnr, record.steps_run))
    info.update(loss_divergence(curve["loss"].to_numpy(), name))
    array = image[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    return Restoration(image=np.ascontiguousarray(array), curve=curve, info=info)
