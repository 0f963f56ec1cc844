"""The per-fit setup of DIP and the DIP-based family methods (:class:`FitSetup`), and the pieces of their
step that it owns: the perturbed input, the forward pass, the data term and the final output.

One setup serves K runs fused into one network of grouped convolutions (:mod:`.fused`; K = 1 alone). It
resolves the precision (:mod:`dipbench.methods.precision`: bf16 autocast or fp32), the channels-last
layout and the convolution backend (:mod:`.nnpack`), puts the network on the device in training mode
(BatchNorm with the image's statistics, also for the final output) and in that layout, switches
cudnn.benchmark on for CUDA, and draws each run's fixed input z from its own generator. Each step then
draws each run's perturbation N(0, sigma_p^2) from the same generator. The random draws come in DIP's order: the network's weights (from ``torch.manual_seed(seed)``,
before the setup), then z, then one perturbation per step, so a DIP-based method whose extra terms are off
follows DIP's trajectory exactly.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .. import precision as prec
from ..fitting import per_run
from . import nnpack
from .problem import DIPProblem


class FitSetup:
    """The tensors and switches of one fit of K = ``len(problems)`` runs; run k draws from ``generators[k]``.

    ``net``: the (fused) network, moved to ``device`` here. Attributes: ``net``, ``problems``, ``runs``,
    ``precision`` ("fp32" | "bf16", resolved), ``channels_last`` (bool), ``conv_backend`` ("nnpack" |
    "torch", resolved: :mod:`.nnpack`), ``autocast`` (the precision's context), ``z`` (1, K * depth, H, W),
    ``z_in`` (the last perturbed input, z before the first step), ``sigma_p`` (perturbation std, in input
    units; 0 = none).
    """

    def __init__(self, net: torch.nn.Module, problems: Sequence[DIPProblem], params: dict[str, Any],
                 generators: Sequence[torch.Generator], device: torch.device):
        self.device, self.problems, self.generators = device, list(problems), list(generators)
        self.runs = len(self.problems)
        self.precision = prec.resolve_precision(params["precision"], device)
        self.channels_last = prec.use_channels_last(params.get("channels_last", "auto"), device, self.precision)
        self.conv_backend = nnpack.resolve_conv_backend(params.get("conv_backend", "auto"), device, self.precision,
                                                        self.channels_last, bool(params.get("compile", False)))
        net = net.to(device)
        nnpack.set_conv_backend(net, self.conv_backend)
        net.train()  # BatchNorm uses the image's statistics, also for the final output
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.net = net
        # each run's z from its own problem (its guide image) and generator
        parts = [p.network_input(params, [g], device) for p, g in zip(self.problems, self.generators)]
        self.z = parts[0] if self.runs == 1 else torch.cat(parts, dim=1)
        self.z_in = self.z
        self.noise = torch.empty_like(self.z)
        self.sigma_p = float(params["reg_noise_std"])
        self.autocast = prec.autocast(self.precision, device)

    def perturbed(self) -> torch.Tensor:
        """z + N(0, sigma_p^2), run k's noise freshly drawn from its generator (z itself when sigma_p is 0)."""
        if self.sigma_p > 0:
            for part, generator in zip(self.noise.chunk(self.runs, dim=1), self.generators):
                part.normal_(generator=generator)
            self.z_in = self.z + self.noise.mul_(self.sigma_p)
        return self.z_in

    def forward(self, model: torch.nn.Module | None = None) -> torch.Tensor:
        """``model`` (default the network; DIP passes its compiled one) on a freshly perturbed input, under
        the precision's autocast, in the network's layout: (1, K * C, H, W) float32, padding included."""
        z_in = self.perturbed()
        with self.autocast:
            raw = (model or self.net)(z_in.contiguous(memory_format=torch.channels_last) if self.channels_last else z_in)
        return raw.float()

    def run_losses(self, raw: torch.Tensor) -> list[torch.Tensor]:
        """Each run's data term: the MSE of A(x) against y averaged over all its elements (K 0-d tensors)."""
        return [F.mse_loss(p.operator(r), p.y) for p, r in zip(self.problems, per_run(raw, self.runs))]

    def data_loss(self, raw: torch.Tensor) -> torch.Tensor:
        """The data term minimised: the one run's MSE, or the sum of the K runs' (each run's gradient its own)."""
        return total_loss(self.run_losses(raw))

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Network output -> target box (every run has the same padding)."""
        return self.problems[0].crop(x)

    @torch.no_grad()
    def final_output(self, final_input: str) -> torch.Tensor:
        """The final image on the target box, (1, K * C, h, w) float32: the eager network on the last
        perturbed input (``"perturbed"``) or on z (``"clean"``), under autocast. The input goes in as it
        is; a network with channels-last weights runs its convolutions channels-last either way."""
        z = self.z_in if final_input == "perturbed" else self.z
        with self.autocast:
            return self.crop(self.net(z)).float()

    def record(self) -> dict[str, Any]:
        """The run record's fields of the setup: ``precision``, ``device``, ``channels_last``,
        ``conv_backend``."""
        return {"precision": self.precision, "device": str(self.device), "channels_last": self.channels_last,
                "conv_backend": self.conv_backend}


def total_loss(run_losses: Sequence[torch.Tensor]) -> torch.Tensor:
    """What a fit of K runs minimises: the one run's loss, or the sum of the runs' losses."""
    return run_losses[0] if len(run_losses) == 1 else torch.stack(list(run_losses)).sum()
