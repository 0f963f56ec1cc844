"""The DIP optimisation loop: x* = f_theta*(z), theta fitted by Adam, for K runs at once.

The loop keeps every per-step quantity on the device: the loss of each step goes into a preallocated
device buffer, the EMA of outputs is updated in place, oracle PSNRs (against the ground truth, never used
to decide anything) are computed every ``log_every`` steps, and early stopping (ES-WMV, see
:mod:`.early_stopping`) tracks its variance and minimum with ``torch.where``. The host synchronises only at
those logging steps (progress bar, NaN check, early-stopping check) and at the end.

K independent runs (seeds, or images of the same size) can share one network of grouped convolutions
(:func:`fit_runs` with a SkipNet of ``groups=K``, see :mod:`.fused`); each run keeps its own weights,
BatchNorm statistics, Adam state, input noise and early stopping, and gets the same result as alone.
"""

from __future__ import annotations

import math
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ...errors import DipbenchError, DivergenceError, ImageError
from ...progress import progress_bar
from ...tasks import Observation, array_to_tensor, task_of
from .. import precision as prec
from ..base import Restoration
from ..divergence import loss_divergence
from ..oracle import oracle_summary, psnr_tensor
from .backtracking import backtracker
from .compiled import adam_impl, compile_network, make_optimizer
from .early_stopping import WindowedVariance, es_settings
from .inputs import input_depth, network_input


class DIPOutOfMemoryError(DipbenchError):
    """A DIP fit did not fit into the device's memory."""



class DIPProblem:
    """Tensors of one DIP fit: observation y, forward operator A, the oracle ground truth and the guide
    image (the network input of input kind "image", e.g. the flash photo; None for other tasks).

    All tensors are (1, C, H, W) on ``device``; ``size`` is the network's output size (the target box,
    plus ``pad`` px of reflection padding each side; the guide image is padded the same way).
    """

    def __init__(self, y, operator, gt, size, pad, guide=None):
        self.y, self.operator, self.gt, self.size, self.pad, self.guide = y, operator, gt, size, pad, guide

    def input_channels(self, params: dict[str, Any]) -> int:
        """The channels of the network input z for the resolved DIP parameters."""
        return input_depth(params["input"], params["input_depth"], self.guide)

    def network_input(self, params: dict[str, Any], generators: Sequence[torch.Generator],
                      device: torch.device) -> torch.Tensor:
        """z for ``len(generators)`` runs of this problem, (1, K * depth, H, W)."""
        return network_input(params["input"], self.size, int(self.input_channels(params)),
                             float(params["input_scale"]), generators, device, self.guide)

    @classmethod
    def from_observation(cls, obs: Observation, params: dict[str, Any], device: torch.device) -> "DIPProblem":
        """The tensors of ``obs`` with ``params["pad_input"]`` px of reflection padding (the task's
        :meth:`~dipbench.tasks.Task.observed` and :meth:`~dipbench.tasks.Task.operator` apply it)."""
        pad = int(params["pad_input"])
        task = task_of(obs)
        y = task.observed(obs, device, pad)
        operator = task.operator(obs, device, pad)
        gt = array_to_tensor(obs.target.slice(obs.gt), device) if obs.gt is not None else None
        size = (obs.target.height + 2 * pad, obs.target.width + 2 * pad)
        if not task.upscales and y.dim() == 4 and size != tuple(y.shape[2:]):
            raise ImageError(f"observation of {tuple(y.shape[2:])} px does not match target {size}")
        guide = None
        if obs.guide is not None:
            guide = array_to_tensor(obs.guide, device)
            guide = F.pad(guide, (pad,) * 4, mode="reflect") if pad else guide
        return cls(y, operator, gt, size, pad, guide)

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Remove the input padding: network output -> target box."""
        p = self.pad
        return x[..., p : x.shape[2] - p, p : x.shape[3] - p] if p else x


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


def _per_run(x: torch.Tensor, runs: int) -> Sequence[torch.Tensor]:
    """Split (1, K * C, H, W) into K (1, C, H, W) views."""
    return (x,) if runs == 1 else x.chunk(runs, dim=1)


def _fit_runs(net, problems, params, generators, device, progress, desc) -> list[Restoration]:
    runs, first = len(problems), problems[0]
    steps, log_every = int(params["steps"]), max(1, int(params["log_every"]))
    precision = prec.resolve_precision(params["precision"], device)
    channels_last = prec.use_channels_last(params.get("channels_last", "auto"), device, precision)
    es_params = es_settings(params.get("early_stopping"))
    net.train()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    # the run record says which paths ran: info["compile"], info["adam"] (.compiled)
    model, compile_record = compile_network(net, params.get("compile", False), device)
    # each run's z from its own problem (its guide image) and generator, (1, K * depth, H, W)
    z = torch.cat([p.network_input(params, [g], device) for p, g in zip(problems, generators)], dim=1)
    sigma_p = float(params["reg_noise_std"])
    optimizer = make_optimizer(net.parameters(), float(params["lr"]), device, impl=params.get("adam", "auto"))
    backtrack = backtracker(params, optimizer, runs)  # None unless `backtrack` is on (.backtracking)
    ema_weight = float(params["ema"]) if params["ema"] is not None else None
    use_ema = params["output"] == "ema" and ema_weight is not None
    autocast = prec.autocast(precision, device)
    has_gt = all(p.gt is not None for p in problems)

    losses = torch.empty((steps, runs), device=device)
    oracle_every = 1 if es_params else log_every  # ES runs need the exact oracle peak: every step
    psnr_log = torch.full((steps // oracle_every + 1, runs, 2), float("nan"), device=device)
    oracle_steps: list[int] = []
    log_times: dict[int, float] = {}
    es = None
    es_var = torch.full((steps, runs), float("nan"), device=device) if es_params else None
    ema = None
    noise = torch.empty_like(z)
    z_in = z
    bar = progress_bar(steps, desc, enabled=progress)
    start = time.perf_counter()
    step = 0
    for step in range(1, steps + 1):
        optimizer.zero_grad(set_to_none=True)
        if sigma_p > 0:
            for part, generator in zip(noise.chunk(runs, dim=1), generators):
                part.normal_(generator=generator)
            z_in = z + noise.mul_(sigma_p)
        with autocast:
            raw = model(z_in.contiguous(memory_format=torch.channels_last) if channels_last else z_in)
        raw = raw.float()
        run_losses = [F.mse_loss(p.operator(r), p.y) for p, r in zip(problems, _per_run(raw, runs))]
        loss = run_losses[0] if runs == 1 else torch.stack(run_losses).sum()
        loss.backward()
        optimizer.step()
        losses[step - 1] = torch.stack(run_losses).detach()
        with torch.no_grad():
            out = first.crop(raw.detach())
            if ema_weight is not None:
                ema = out.clone() if ema is None else ema.mul_(ema_weight).add_(out, alpha=1.0 - ema_weight)
            if es_params:
                if es is None:
                    es = WindowedVariance(runs, out[0].numel() // runs, es_params["window"],
                                          es_params["patience"], device=device)
                shown = ema if use_ema else out  # what the run returns if it stops here
                es.update(step, out.reshape(runs, -1), shown.reshape(runs, -1, *shown.shape[2:]))
                es_var[step - 1] = es.last_var
            logging = step % log_every == 0 or step == steps
            if has_gt and (logging or step % oracle_every == 0):
                row = len(oracle_steps)
                oracle_steps.append(step)
                for k, (p, o) in enumerate(zip(problems, _per_run(out, runs))):
                    psnr_log[row, k, 0] = psnr_tensor(o, p.gt)
                    if ema is not None:
                        psnr_log[row, k, 1] = psnr_tensor(_per_run(ema, runs)[k], p.gt)
            if logging:
                last = losses[step - 1].tolist()  # the one host sync per log period
                log_times[step] = time.perf_counter() - start
                bad = [value for value in last if not math.isfinite(value)]
                if bad:
                    raise DivergenceError(f"DIP diverged: loss is {bad[0]} at step {step} (try a lower lr)")
                bar.update(step - bar.n)
                bar.set_postfix(loss=f"{max(last):.2e}")
                if backtrack is not None:
                    backtrack.check(step, last)
                if es is not None and es.check(step) and es_params["stop"]:
                    break
    bar.close()
    with torch.no_grad(), autocast:
        final_in = z_in if params["final_input"] == "perturbed" else z
        last_out = first.crop(net(final_in)).float()  # eager: compiled, no_grad would compile again
    elapsed = time.perf_counter() - start

    if es is not None and es.ready:
        images = [es.best[k : k + 1] for k in range(runs)]  # the outputs ES-WMV chose
    else:
        images = _per_run(ema if use_ema else last_out, runs)
    # fit_seconds is the time of all fused runs together
    info = {"steps_run": step, "fit_seconds": elapsed, "precision": precision, "device": str(device),
            "channels_last": channels_last, "fused_runs": runs, "adam": adam_impl(optimizer), **compile_record}
    if params["precision"] != precision:
        info["precision_requested"] = params["precision"]
    results = []
    for k, problem in enumerate(problems):
        curve = _curve(losses[:step, k].cpu().numpy(), oracle_steps, psnr_log[: len(oracle_steps), k].cpu().numpy(),
                       log_times, None if es_var is None else es_var[:step, k].cpu().numpy())
        run_info = {**info, **(backtrack.record(k) if backtrack is not None else {})}
        results.append(_result(k, problem, images[k], curve, run_info, "psnr_ema" if use_ema else "psnr", es))
    return results


def _result(k: int, problem: DIPProblem, image_t: torch.Tensor, curve: pd.DataFrame, info: dict[str, Any],
            curve_column: str, es: WindowedVariance | None) -> Restoration:
    """Run k's Restoration: its image (1, C, h, w), curve, and info with the oracle / early-stopping summary."""
    if not torch.isfinite(image_t).all():
        raise DivergenceError("DIP produced non-finite output")
    image_t = image_t.clamp(0, 1)
    steps_run = info["steps_run"]
    output_psnr = float(psnr_tensor(image_t, problem.gt)) if problem.gt is not None else None
    info.update(oracle_summary(curve, curve_column, output_psnr, steps_run))
    info.update(loss_divergence(curve["loss"].to_numpy(), "DIP"))
    if es is not None:
        stopped = es.stop_step[k] > 0
        info.update({"stop_step": es.stop_step[k] if stopped else steps_run,
                     "es_step": int(es.best_step[k]) if es.ready else steps_run,
                     "es_stopped": stopped, "es_gap_db": info["oracle_gap_db"]})
    image = image_t[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    return Restoration(image=image, curve=curve, info=info)


def _curve(losses: np.ndarray, log_steps: list[int], psnrs: np.ndarray,
           times: dict[int, float] | None = None, es_var: np.ndarray | None = None) -> pd.DataFrame:
    """One row per step: loss always; oracle psnr / psnr_ema at the logged steps, NaN elsewhere;
    ``time_s`` (seconds since the loop started, at the logging steps) when ``times`` is given;
    ``es_var`` (the windowed moving variance that ES-WMV tracks) when given."""
    curve = pd.DataFrame({"step": np.arange(1, len(losses) + 1), "loss": losses.astype(np.float64)})
    curve["psnr"] = np.nan
    curve["psnr_ema"] = np.nan
    if log_steps:
        index = np.asarray(log_steps) - 1
        curve.loc[index, "psnr"] = psnrs[:, 0]
        curve.loc[index, "psnr_ema"] = psnrs[:, 1]
    if times is not None:
        curve["time_s"] = np.nan
        index = np.asarray([s for s in times if s <= len(losses)], dtype=int) - 1
        curve.loc[index, "time_s"] = [times[s + 1] for s in index]
    if es_var is not None:
        curve["es_var"] = es_var
    return curve
