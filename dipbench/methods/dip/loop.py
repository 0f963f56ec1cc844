"""DIP's fit: x* = f_theta*(z), theta fitted by Adam, for K runs at once, on the shared fitting loop.

:func:`fit_runs` is the per-fit setup (:class:`.setup.FitSetup`: precision, channels-last, autocast, the
network on the device, z and its per-step perturbation), DIP's step (perturbed forward pass, each run's
MSE, one Adam step on their sum; :mod:`.compiled` for the Adam implementation and torch.compile) and DIP's
hooks (:class:`DIPHooks`) run by the loop DIP shares with its family (:func:`dipbench.methods.fitting.run_loop`):

* after every step, on the device: the EMA of the outputs and ES-WMV early stopping
  (:mod:`.early_stopping`, which tracks its variance and minimum with ``torch.where``; the oracle PSNR is
  then recorded at every step, so its peak is exact);
* at the logging steps, on the losses the loop has copied to the host: backtracking (:mod:`.backtracking`)
  and ES-WMV's stop check;
* the EMA as the running estimate of the curve's ``psnr_ema`` column.

The host synchronises only at those logging steps (progress bar, NaN check, the checks above) and at the end.

K independent runs (seeds, or images of the same size) can share one network of grouped convolutions
(:func:`fit_runs` with a SkipNet of ``groups=K``, see :mod:`.fused`); each run keeps its own weights,
BatchNorm statistics, Adam state, input noise and early stopping, and gets the same result as alone.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import torch

from ...errors import DipbenchError
from ..base import Restoration
from ..fitting import OutputEMA, finish, per_run, run_loop
from .backtracking import backtracker
from .compiled import adam_impl, compile_network, make_optimizer
from .early_stopping import WindowedVariance, es_settings
from .problem import DIPProblem
from .setup import FitSetup, total_loss

__all__ = ["DIPOutOfMemoryError", "DIPProblem", "DIPHooks", "fit", "fit_runs"]


class DIPOutOfMemoryError(DipbenchError):
    """A DIP fit did not fit into the device's memory."""


def fit(net: torch.nn.Module, problem: DIPProblem, params: dict[str, Any], generator: torch.Generator,
        device: torch.device, progress: bool = False, desc: str = "dip") -> Restoration:
    """Run the DIP optimisation; returns the image, the learning curve and run info."""
    return fit_runs(net, [problem], params, [generator], device, progress=progress, desc=desc)[0]


def fit_runs(net: torch.nn.Module, problems: Sequence[DIPProblem], params: dict[str, Any],
             generators: Sequence[torch.Generator], device: torch.device, progress: bool = False,
             desc: str = "dip") -> list[Restoration]:
    """Run K = ``len(problems)`` DIP fits at once; ``net`` is a SkipNet with ``groups=K`` (one for K = 1).

    Run k's input noise and per-step perturbations come from ``generators[k]``; its loss is its own MSE,
    and the loss minimised is the sum over runs, so every run's gradients, BatchNorm statistics and
    (elementwise) Adam state are its own. Out-of-memory errors become :class:`DIPOutOfMemoryError`.
    """
    if len(problems) != len(generators) or not problems:
        raise ValueError("fit_runs needs one generator per problem, and at least one problem")
    try:
        return _fit_runs(net, problems, params, generators, device, progress, desc)
    except DipbenchError:
        raise
    except RuntimeError as exc:  # torch.OutOfMemoryError is a RuntimeError
        if not _is_oom(exc):
            raise
        height, width = problems[0].size
        raise DIPOutOfMemoryError(
            f"DIP ran out of memory on {device} for {len(problems)} run(s) of {width}x{height} px: set "
            f"`checkpointing: true` (recomputes activations in the backward pass) and/or `precision: bf16` "
            f"in the dip parameters, or use fewer fused runs or a smaller image ({exc})".replace("\n", " ")
        ) from exc


def _is_oom(exc: BaseException) -> bool:
    oom_type = getattr(torch, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    message = str(exc).lower()
    return "out of memory" in message or "can't allocate memory" in message


class DIPHooks:
    """DIP's per-step state around the shared loop, for K runs: the EMA of outputs, ES-WMV, backtracking.

    :meth:`update` (after each step, on the device) updates the EMA and feeds ES-WMV the outputs
    (1, K * C, h, w) and what the run returns if it stops here (the EMA for ``output: ema``, else the
    output), writing its windowed variance into :attr:`es_var` (steps, K); :meth:`running` is the EMA
    (None without one); :meth:`check` (at the logging steps, the K losses as host floats) runs
    backtracking and ES-WMV's stop check and is True when every run has stopped and ``stop`` is on.
    """

    def __init__(self, params: dict[str, Any], optimizer: torch.optim.Optimizer, runs: int, steps: int,
                 device: torch.device):
        self.runs, self.device = runs, device
        self.es_params = es_settings(params.get("early_stopping"))
        self.backtrack = backtracker(params, optimizer, runs)  # None unless `backtrack` is on
        self.ema = OutputEMA(params["ema"])
        self.use_ema = params["output"] == "ema" and params["ema"] is not None
        self.es: WindowedVariance | None = None
        self.es_var = torch.full((steps, runs), float("nan"), device=device) if self.es_params else None

    @property
    def oracle_every(self) -> int | None:
        """1 with early stopping (ES runs need the exact oracle peak: every step), else the log period."""
        return 1 if self.es_params else None

    def update(self, step: int, out: torch.Tensor) -> None:
        self.ema.update(out)
        if not self.es_params:
            return
        if self.es is None:
            self.es = WindowedVariance(self.runs, out[0].numel() // self.runs, self.es_params["window"],
                                       self.es_params["patience"], device=self.device)
        shown = self.ema.value if self.use_ema else out  # what the run returns if it stops here
        self.es.update(step, out.reshape(self.runs, -1), shown.reshape(self.runs, -1, *shown.shape[2:]))
        self.es_var[step - 1] = self.es.last_var

    def running(self) -> torch.Tensor | None:
        return self.ema.value

    def check(self, step: int, losses: list[float]) -> bool:
        if self.backtrack is not None:
            self.backtrack.check(step, losses)
        return self.es is not None and self.es.check(step) and self.es_params["stop"]

    def images(self, last_out: torch.Tensor) -> Sequence[torch.Tensor]:
        """Each run's returned image (1, C, h, w): ES-WMV's choice once it has one, else the EMA
        (``output: ema``) or ``last_out``, the final forward pass."""
        if self.es is not None and self.es.ready:
            return [self.es.best[k : k + 1] for k in range(self.runs)]
        return per_run(self.ema.value if self.use_ema else last_out, self.runs)

    def backtrack_record(self, k: int) -> dict[str, Any]:
        """Run k's backtracking fields (``rollbacks``, ``rollback_steps``); empty when backtracking is off."""
        return self.backtrack.record(k) if self.backtrack is not None else {}

    def es_record(self, k: int, steps_run: int, oracle_gap_db: float | None) -> dict[str, Any]:
        """Run k's early-stopping fields: the step it stopped at, the step ES-WMV chose, whether it
        stopped early and the chosen output's gap to the oracle peak (dB); empty without early stopping."""
        if self.es is None:
            return {}
        stopped = self.es.stop_step[k] > 0
        return {"stop_step": self.es.stop_step[k] if stopped else steps_run,
                "es_step": int(self.es.best_step[k]) if self.es.ready else steps_run,
                "es_stopped": stopped, "es_gap_db": oracle_gap_db}


def _fit_runs(net, problems, params, generators, device, progress, desc) -> list[Restoration]:
    runs, steps = len(problems), int(params["steps"])
    setup = FitSetup(net, problems, params, generators, device)
    # the run record says which paths ran: info["compile"], info["adam"] (.compiled)
    model, compile_record = compile_network(setup.net, params.get("compile", False), device)
    optimizer = make_optimizer(setup.net.parameters(), float(params["lr"]), device, impl=params.get("adam", "auto"))
    hooks = DIPHooks(params, optimizer, runs, steps, device)

    def step(i: int):
        optimizer.zero_grad(set_to_none=True)
        raw = setup.forward(model)
        run_losses = setup.run_losses(raw)
        total_loss(run_losses).backward()
        optimizer.step()
        return torch.stack(run_losses).detach(), setup.crop(raw.detach())

    record = run_loop(step, steps=steps, log_every=int(params["log_every"]), gts=[p.gt for p in problems],
                      device=device, name="DIP", desc=desc, progress=progress, oracle_every=hooks.oracle_every,
                      update=hooks.update, running=hooks.running, check=hooks.check,
                      traces={"es_var": hooks.es_var} if hooks.es_var is not None else None)
    last_out = setup.final_output(params["final_input"])  # eager: compiled, no_grad would compile again
    record.seconds = time.perf_counter() - record.started  # fit_seconds: all fused runs and the final pass
    images = hooks.images(last_out)
    info = {**setup.record(), "fused_runs": runs, "adam": adam_impl(optimizer), **compile_record}
    if params["precision"] != setup.precision:
        info["precision_requested"] = params["precision"]
    column = "psnr_ema" if hooks.use_ema else "psnr"
    results = []
    for k, problem in enumerate(problems):
        result = finish("DIP", images[k], problem.gt, record, {**info, **hooks.backtrack_record(k)}, column, run=k)
        result.info.update(hooks.es_record(k, record.steps_run, result.info["oracle_gap_db"]))
        results.append(result)
    return results
