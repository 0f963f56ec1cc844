"""What the DIP-based family methods (``dip_tv``, ``dip_sgld``) take from DIP, and the fit they share.

:class:`DIPVariant` is :class:`~dipbench.methods.dip.DIP` with its own loop: it keeps DIP's parameters
(except early stopping, ``compile`` and ``backtrack``, which belong to DIP's loop), its ``"auto"``
per-task settings (each task's :meth:`~dipbench.tasks.Task.dip_settings`, docs/protocol.md section 3), its
skip network and seeding
(:meth:`DIP.build_network`, :meth:`DIP.seeded_network`) and its tensors
(:class:`~dipbench.methods.dip.DIPProblem`: observation, operator, padding). It runs one seed per fit (no
fused runs).

:class:`DIPFit` holds the tensors of one fit and draws them in the order DIP's loop does (network from
``torch.manual_seed(seed)``, then the input z ~ U(0, 1) * input_scale and each step's perturbation
N(0, sigma_p^2) from a ``torch.Generator`` seeded with the same seed), so a variant whose extra term is off
follows DIP's trajectory exactly (tests/test_family.py checks this for ``dip_tv`` with ``tv_weight: 0``).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ...tasks import Observation
from .. import precision as prec
from ..base import Method, Restoration, RunContext
from ..device import resolve_device
from ..dip import DIP, DIPProblem

#: DIP parameters that belong to DIP's own loop and are not offered by the variants.
DIP_LOOP_ONLY = ("early_stopping", "compile", "backtrack")


class DIPVariant(DIP):
    """Base class of the DIP-based family methods (not registered itself)."""

    fuses_runs = False
    defaults = {k: v for k, v in DIP.defaults.items() if k not in DIP_LOOP_ONLY}
    param_rules = {k: v for k, v in DIP.param_rules.items() if k not in DIP_LOOP_ONLY}
    smoke = dict(DIP.smoke)

    def fit_many(self, obs: Observation, contexts: Sequence[RunContext]) -> list[Restoration]:
        return Method.restore_many(self, obs, contexts)  # one seed at a time (DIP.restore_many sets TF32)


class DIPFit:
    """The tensors of one DIP-style fit: problem (y, A, oracle gt), seeded network, fixed input z, generator.

    :meth:`forward` is one forward pass on z plus a fresh perturbation (float32 output, padding included);
    :meth:`data_loss` DIP's data term, the MSE of A(x) against y averaged over all elements;
    :meth:`output` the final forward pass on the last perturbed input or the clean z, cropped to the target.
    """

    def __init__(self, method: DIPVariant, obs: Observation, params: dict[str, Any], ctx: RunContext):
        self.device = resolve_device(ctx.device)
        self.precision = prec.resolve_precision(params["precision"], self.device)
        self.channels_last = prec.use_channels_last(params.get("channels_last", "auto"), self.device, self.precision)
        self.problem = DIPProblem.from_observation(obs, params, self.device)
        net = method.seeded_network(params, obs.channels, ctx.seed, self.problem.input_channels(params))
        net = net.to(self.device)
        net.train()  # BatchNorm uses the image's statistics, also for the final output (as DIP)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.net = net
        self.generator = torch.Generator(device=self.device).manual_seed(int(ctx.seed))
        self.z = self.problem.network_input(params, [self.generator], self.device)
        self.z_in = self.z
        self.noise = torch.empty_like(self.z)
        self.sigma_p = float(params["reg_noise_std"])
        self.autocast = prec.autocast(self.precision, self.device)

    def _layout(self, z: torch.Tensor) -> torch.Tensor:
        return z.contiguous(memory_format=torch.channels_last) if self.channels_last else z

    def forward(self) -> torch.Tensor:
        """net(z + N(0, sigma_p^2)) with fresh noise (none when sigma_p is 0), float32, (1, C, H, W)."""
        if self.sigma_p > 0:
            self.noise.normal_(generator=self.generator)
            self.z_in = self.z + self.noise.mul_(self.sigma_p)
        with self.autocast:
            raw = self.net(self._layout(self.z_in))
        return raw.float()

    def data_loss(self, raw: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.problem.operator(raw), self.problem.y)

    @torch.no_grad()
    def output(self, final_input: str) -> torch.Tensor:
        """The final image on the target box: net(last perturbed input) or net(z) (``"clean"``)."""
        z = self.z_in if final_input == "perturbed" else self.z
        with self.autocast:
            raw = self.net(self._layout(z))
        return self.problem.crop(raw).float()

    def record(self) -> dict[str, Any]:
        return {"precision": self.precision, "device": str(self.device), "channels_last": self.channels_last}
