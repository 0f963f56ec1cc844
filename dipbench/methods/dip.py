"""Deep Image Prior (Ulyanov, Vedaldi, Lempitsky, CVPR 2018): x* = f_theta*(z), theta fitted by Adam.

The loop keeps every per-step quantity on the device: the loss of each step goes into a preallocated
device buffer, the EMA of outputs is updated in place, and oracle PSNRs (against the ground truth, never
used to decide anything) are computed every ``log_every`` steps. The host synchronises only at those
logging steps (progress bar, NaN check) and at the end.

The notebook's "backtracking" (restoring weights after a PSNR drop) is not implemented: the original
applies a stale gradient after restoring, and with fixed seeds and the EMA it is not needed for the
paper's numbers.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..errors import ConfigError, DivergenceError, ImageError
from ..tasks import Observation, task_of
from .base import Method, Restoration, RunContext, register, resolve_device
from .skipnet import SkipNet

#: The paper's per-task settings (dip-protocol.md section 3); "auto" parameters resolve to these.
PAPER_SETTINGS: dict[str, dict[str, Any]] = {
    "denoise": {"steps": 1800, "lr": 0.01, "output": "ema", "final_input": "perturbed", "pad_input": 0},
    "sr": {"lr": 0.01, "output": "last", "final_input": "perturbed", "pad_input": 0},
    "inpaint": {"steps": 11000, "lr": 0.001, "reg_noise_std": 0.03, "output": "last", "final_input": "clean",
                "pad_input": 1},
}
SR_SETTINGS = {4: {"steps": 2000, "reg_noise_std": 0.03}, 8: {"steps": 4000, "reg_noise_std": 0.05}}


def paper_settings(task: str, task_params: dict[str, Any]) -> dict[str, Any]:
    """The paper's steps, lr, sigma_p, output choice and padding for a task and its parameters."""
    settings = dict(PAPER_SETTINGS[task])
    if task == "denoise":
        settings["reg_noise_std"] = 1.0 / 20.0 if task_params.get("sigma", 25) >= 50 else 1.0 / 30.0
    elif task == "sr":
        scale = task_params.get("scale", 4)
        settings.update(SR_SETTINGS.get(scale, SR_SETTINGS[8] if scale > 4 else SR_SETTINGS[4]))
    return settings


@register
class DIP(Method):
    """Deep Image Prior with the paper's skip network.

    Parameters (``"auto"`` = the paper's value for the task, see :func:`paper_settings`):
      steps, lr, reg_noise_std (sigma_p of the per-step input perturbation, in input units),
      input_depth (channels of z = 32), input_scale (z ~ U(0, 1) * 0.1),
      ema (EMA weight of outputs, 0.99), output ("ema" | "last": which image is returned),
      final_input ("perturbed": net(z + last noise), as the notebooks; "clean": net(z)),
      pad_input (reflection padding of the image in px, 1 for the paper's 512 -> 514 inpainting),
      channels / skip_channels / scales (network width), bn_init ("default" | "uniform" = PyTorch 0.3),
      align_corners (bilinear upsampling as PyTorch 0.3 when true), log_every (oracle PSNR period),
      precision ("fp32" | "bf16"), checkpointing (activation checkpointing for large images).
    """

    name = "dip"
    tasks = ("denoise", "sr", "inpaint")
    version = "1"
    uses_gpu = True
    defaults = {
        "steps": "auto", "lr": "auto", "reg_noise_std": "auto", "output": "auto", "final_input": "auto",
        "pad_input": "auto", "input_depth": 32, "input_scale": 0.1, "ema": 0.99, "channels": 128,
        "skip_channels": 4, "scales": 5, "bn_init": "default", "align_corners": False, "log_every": 50,
        "precision": "fp32", "checkpointing": False,
    }
    smoke = {"steps": 6, "channels": 8, "scales": 3, "log_every": 2, "input_depth": 4}

    def resolved_params(self, obs: Observation) -> dict[str, Any]:
        """Parameters with every "auto" replaced by the paper's value for ``obs``'s task."""
        paper = paper_settings(obs.task, obs.task_params)
        params = {k: (paper[k] if v == "auto" else v) for k, v in self.params.items()}
        if params["output"] not in ("ema", "last"):
            raise ConfigError(f"dip: output must be 'ema' or 'last', got {params['output']!r}")
        if params["final_input"] not in ("perturbed", "clean"):
            raise ConfigError(f"dip: final_input must be 'perturbed' or 'clean', got {params['final_input']!r}")
        if params["precision"] not in ("fp32", "bf16"):
            raise ConfigError(f"dip: precision must be 'fp32' or 'bf16', got {params['precision']!r}")
        if int(params["steps"]) < 1:
            raise ConfigError("dip: steps must be >= 1")
        return params

    def build_network(self, params: dict[str, Any], out_channels: int, groups: int = 1) -> SkipNet:
        scales = int(params["scales"])
        return SkipNet(
            in_channels=int(params["input_depth"]), out_channels=out_channels,
            down=(int(params["channels"]),) * scales, up=(int(params["channels"]),) * scales,
            skip=(int(params["skip_channels"]),) * scales, groups=groups,
            align_corners=bool(params["align_corners"]), bn_init=params["bn_init"],
            checkpointing=bool(params["checkpointing"]),
        )

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        params = self.resolved_params(obs)
        device = resolve_device(ctx.device)
        problem = DIPProblem.from_observation(obs, params, device)
        torch.manual_seed(ctx.seed)
        generator = torch.Generator(device=device).manual_seed(ctx.seed)
        net = self.build_network(params, obs.channels).to(device)
        result = fit(net, problem, params, generator, device, progress=ctx.progress,
                     desc=f"dip {obs.task} {obs.image}".strip())
        result.info["params_resolved"] = {k: params[k] for k in ("steps", "lr", "reg_noise_std", "output",
                                                                  "final_input", "pad_input")}
        return result


class DIPProblem:
    """Tensors of one DIP fit: observation y, mask, forward operator A and the oracle ground truth.

    All tensors are (1, C, H, W) on ``device``; ``size`` is the network's output size (the target box,
    plus ``pad`` px of reflection padding each side).
    """

    def __init__(self, y, mask, operator, gt, size, pad):
        self.y, self.mask, self.operator, self.gt, self.size, self.pad = y, mask, operator, gt, size, pad

    @classmethod
    def from_observation(cls, obs: Observation, params: dict[str, Any], device: torch.device) -> "DIPProblem":
        pad = int(params["pad_input"])
        def to_tensor(array):
            return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32, device=device).permute(2, 0, 1)[None]
        y = to_tensor(obs.y)
        mask = to_tensor(obs.mask) if obs.mask is not None else None
        operator = task_of(obs).operator(obs, device)
        if pad:
            if obs.task == "sr":
                raise ConfigError("dip: pad_input is not supported for super-resolution")
            y = F.pad(y, (pad,) * 4, mode="reflect")
            if mask is not None:
                mask = F.pad(mask, (pad,) * 4, mode="reflect")
                operator = (lambda m: (lambda x: x * m))(mask)
        gt = to_tensor(obs.target.slice(obs.gt)) if obs.gt is not None else None
        size = (obs.target.height + 2 * pad, obs.target.width + 2 * pad)
        if obs.task != "sr" and size != tuple(y.shape[2:]):
            raise ImageError(f"observation of {tuple(y.shape[2:])} px does not match target {size}")
        return cls(y, mask, operator, gt, size, pad)

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Remove the input padding: network output -> target box."""
        p = self.pad
        return x[..., p : x.shape[2] - p, p : x.shape[3] - p] if p else x


def _psnr_tensor(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR (dB, peak 1) of two same-shape tensors, computed on the device (no host sync)."""
    return -10.0 * torch.log10(F.mse_loss(a.float(), b.float()))


def fit(net: torch.nn.Module, problem: DIPProblem, params: dict[str, Any], generator: torch.Generator,
        device: torch.device, progress: bool = False, desc: str = "dip") -> Restoration:
    """Run the DIP optimisation; returns the image, the learning curve and run info."""
    steps, log_every = int(params["steps"]), max(1, int(params["log_every"]))
    channels_last = device.type == "cuda"
    net.train()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    z = torch.rand((1, int(params["input_depth"]), *problem.size), generator=generator, device=device)
    z.mul_(float(params["input_scale"]))
    sigma_p = float(params["reg_noise_std"])
    optimizer = torch.optim.Adam(net.parameters(), lr=float(params["lr"]))
    ema_weight = float(params["ema"]) if params["ema"] is not None else None
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=params["precision"] == "bf16")

    losses = torch.empty(steps, device=device)
    n_logs = steps // log_every + 1
    psnr_log = torch.full((n_logs, 2), float("nan"), device=device)
    log_steps: list[int] = []
    ema = None
    noise = torch.empty_like(z)
    z_in = z
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False, unit="step")
    start = time.perf_counter()
    for step in range(1, steps + 1):
        optimizer.zero_grad(set_to_none=True)
        if sigma_p > 0:
            z_in = z + noise.normal_(generator=generator).mul_(sigma_p)
        with autocast:
            raw = net(z_in.contiguous(memory_format=torch.channels_last) if channels_last else z_in)
        loss = F.mse_loss(problem.operator(raw.float()), problem.y)
        loss.backward()
        optimizer.step()
        losses[step - 1] = loss.detach()
        with torch.no_grad():
            out = problem.crop(raw.detach().float())
            if ema_weight is not None:
                ema = out.clone() if ema is None else ema.mul_(ema_weight).add_(out, alpha=1.0 - ema_weight)
            if step % log_every == 0 or step == steps:
                row = len(log_steps)
                log_steps.append(step)
                if problem.gt is not None:
                    psnr_log[row, 0] = _psnr_tensor(out, problem.gt)
                    if ema is not None:
                        psnr_log[row, 1] = _psnr_tensor(ema, problem.gt)
                last = losses[step - 1].item()  # the one host sync per log period
                if not math.isfinite(last):
                    raise DivergenceError(f"DIP diverged: loss is {last} at step {step} (try a lower lr)")
                bar.update(step - bar.n)
                bar.set_postfix(loss=f"{last:.2e}")
    bar.close()
    with torch.no_grad(), autocast:
        final_in = z_in if params["final_input"] == "perturbed" else z
        last_out = problem.crop(net(final_in)).float()
    image_t = ema if (params["output"] == "ema" and ema is not None) else last_out
    if not torch.isfinite(image_t).all():
        raise DivergenceError("DIP produced non-finite output")
    elapsed = time.perf_counter() - start
    image = image_t[0].permute(1, 2, 0).clamp(0, 1).cpu().numpy().astype(np.float32)
    curve = _curve(losses.cpu().numpy(), log_steps, psnr_log[: len(log_steps)].cpu().numpy())
    info = {"steps_run": steps, "fit_seconds": elapsed, "precision": params["precision"],
            "device": str(device)}
    return Restoration(image=image, curve=curve, info=info)


def _curve(losses: np.ndarray, log_steps: list[int], psnrs: np.ndarray) -> pd.DataFrame:
    """One row per step: loss always; oracle psnr / psnr_ema at the logged steps, NaN elsewhere."""
    curve = pd.DataFrame({"step": np.arange(1, len(losses) + 1), "loss": losses.astype(np.float64)})
    curve["psnr"] = np.nan
    curve["psnr_ema"] = np.nan
    if log_steps:
        index = np.asarray(log_steps) - 1
        curve.loc[index, "psnr"] = psnrs[:, 0]
        curve.loc[index, "psnr_ema"] = psnrs[:, 1]
    return curve
