"""Bayesian DIP with stochastic gradient Langevin dynamics (Cheng, Gadelha, Maji, Sheldon, "A Bayesian
Perspective on the Deep Image Prior", CVPR 2019, arXiv 1904.07457)."""

from __future__ import annotations

from typing import Any

import torch

from ...errors import ConfigError
from ...tasks import Observation
from ..base import Restoration, RunContext
from ..fitting import finish, run_loop
from ..params import Rule
from ..dip.compiled import make_optimizer
from ..registry import register
from .dip_variant import DIPFit, DIPVariant

#: DIP parameters about the returned image, which SGLD replaces by its posterior mean.
_OUTPUT_PARAMS = ("output", "final_input", "ema")


def first_sample_step(burn_in: int, sample_every: int) -> int:
    """The first iteration counter t (0-based, as the authors' loop counts) that is sampled: the smallest
    t > burn_in with t % sample_every == 0."""
    return (burn_in // sample_every + 1) * sample_every


@register
class DIPSGLD(DIPVariant):
    """Bayesian DIP: Langevin noise on DIP's weights, the posterior mean of sampled outputs as the result.

    After every Adam step, Gaussian noise is added to the weights; the result is the average of the network
    outputs sampled every ``sample_every`` steps after ``burn_in`` steps. The paper's point is that no early
    stopping is needed: the average keeps the fitted noise out.

    The network, input and data term are DIP's (:class:`~dipbench.methods.dip.DIP`): skip network with 5
    scales of 128 channels and 4 per skip, 32 input channels, z ~ U(0, 1) * 0.1 perturbed by N(0, sigma_p^2)
    at every step, loss = MSE of A(x) against y.

    Per step t = 0, 1, ... (the authors' counter; the curve's step is t + 1):
      1. out = f(z + noise), loss = MSE(A(out), y), one Adam step with L2 ``weight_decay``;
      2. every convolution weight (4-D parameter; not biases or BatchNorm) gets N(0, (param_noise_sigma * lr)^2)
         noise: the Langevin noise of their code, std 2 x 0.01 = 0.02 for denoising;
      3. if t > burn_in and t % sample_every == 0, out (the output of step 1) joins the posterior mean.

    Defaults and their sources (the authors' repository ZezhouCheng/GP-DIP, Image_Denoising.ipynb, the SGLD
    cell and its hyper-parameter cell): ``steps`` 20000 (``num_iter``), ``burn_in`` 7000 (``burnin_iter``),
    ``sample_every`` 50 (``MCMC_iter``), ``param_noise_sigma`` 2 with the noise std = param_noise_sigma * lr
    (``add_noise``), ``weight_decay`` 5e-8, lr 0.01 and sigma_p 1/30 (``LR``, ``reg_noise_std``; here ``"auto"``:
    the DIP paper's per-task values, which for denoising are those same 0.01 and 1/30), ``input_depth`` 32,
    skip network 128/128/4 with 5 scales (``get_net``). Their only other task setting (inpainting,
    Image_Inpainting.ipynb) was not readable in the stored copy, so SR and inpainting use the DIP paper's lr
    and sigma_p with the denoising chain (steps, burn-in, sampling, weight noise scaled by that lr).
    Not implemented: the notebook's "roll back" (restoring the previous weights when the PSNR against the
    noisy image drops by 5 dB); DIP's own loop has it (``backtrack: notebook``,
    :mod:`dipbench.methods.dip.backtracking`).

    The curve's ``psnr`` is the oracle PSNR of each sampled step's output and ``psnr_mean`` that of the
    posterior mean so far (NaN before the first sample); the record has ``samples`` and ``weight_noise_std``.

    Published numbers: none quoted here; the paper's tables could not be read with the tools of the session
    that wrote this module.
    """

    name = "dip_sgld"
    version = "1"
    description = "Bayesian DIP: SGLD weight noise and the posterior mean of sampled outputs (Cheng et al., CVPR 2019)"
    defaults = {
        **{k: v for k, v in DIPVariant.defaults.items() if k not in _OUTPUT_PARAMS},
        "steps": 20000, "burn_in": 7000, "sample_every": 50, "param_noise_sigma": 2.0, "weight_decay": 5e-8,
    }
    smoke = {**{k: v for k, v in DIPVariant.smoke.items() if k not in _OUTPUT_PARAMS},
             "steps": 8, "burn_in": 2, "sample_every": 2}
    param_rules = {
        **{k: v for k, v in DIPVariant.param_rules.items() if k not in _OUTPUT_PARAMS},
        "steps": Rule(int, low=1), "burn_in": Rule(int, low=0), "sample_every": Rule(int, low=1),
        "param_noise_sigma": Rule(float, low=0), "weight_decay": Rule(float, low=0),
    }

    @classmethod
    def resolve_params(cls, task: str, overrides: dict[str, Any], smoke: bool = False) -> dict[str, Any]:
        params = super().resolve_params(task, overrides, smoke)
        first = first_sample_step(int(params["burn_in"]), int(params["sample_every"]))
        if first > int(params["steps"]) - 1:
            raise ConfigError(
                f"method {cls.name!r}: {params['steps']} steps take no sample after burn_in {params['burn_in']} "
                f"(the first sample is at step {first + 1}); use more steps or a shorter burn_in")
        return params

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        params = self.resolved_params(obs)
        fit = DIPFit(self, obs, params, ctx)
        lr = float(params["lr"])
        # DIP's Adam (fused where PyTorch has it), so that without noise and decay it follows DIP exactly
        optimizer = make_optimizer(fit.net.parameters(), lr, fit.device, impl="auto",
                                   weight_decay=float(params["weight_decay"]))
        noise_std = float(params["param_noise_sigma"]) * lr
        weights = [p for p in fit.net.parameters() if p.dim() == 4]
        burn_in, every = int(params["burn_in"]), int(params["sample_every"])
        state: dict[str, Any] = {"sum": None, "count": 0}

        def step(i: int):
            t = i - 1
            optimizer.zero_grad(set_to_none=True)
            raw = fit.forward()
            loss = fit.data_loss(raw)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                if noise_std > 0:
                    for weight in weights:
                        draw = torch.randn(weight.shape, generator=fit.generator, device=weight.device,
                                           dtype=weight.dtype)
                        weight.add_(draw, alpha=noise_std)
                out = fit.crop(raw.detach())
                if t > burn_in and t % every == 0:
                    state["sum"] = out.clone() if state["sum"] is None else state["sum"].add_(out)
                    state["count"] += 1
            return loss.detach(), out

        def posterior_mean():
            return None if state["sum"] is None else state["sum"] / state["count"]

        record = run_loop(step, steps=int(params["steps"]), log_every=int(params["log_every"]),
                          gts=[fit.problem.gt], device=fit.device, name="DIP-SGLD",
                          desc=f"dip_sgld {obs.task} {obs.image}".strip(), progress=ctx.progress,
                          running=posterior_mean, running_column="psnr_mean")
        info = {**fit.record(), "samples": state["count"], "weight_noise_std": noise_std,
                "params_resolved": {k: params[k] for k in ("steps", "lr", "reg_noise_std", "pad_input", "burn_in",
                                                            "sample_every", "param_noise_sigma", "weight_decay")}}
        return finish("DIP-SGLD", posterior_mean(), fit.problem.gt, record, info, "psnr_mean")
