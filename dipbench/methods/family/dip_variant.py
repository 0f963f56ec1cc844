"""What the DIP-based family methods (``dip_tv``, ``dip_sgld``) take from DIP, and the fit they share.

:class:`DIPVariant` is :class:`~dipbench.methods.dip.DIP` with its own step: it keeps DIP's parameters
(except early stopping, ``compile`` and ``backtrack``, which are DIP's own hooks and compiled step in
:mod:`dipbench.methods.dip.loop`), its ``"auto"`` per-task settings (from
:mod:`dipbench.methods.dip.settings`, docs/protocol.md section 3), its skip network and seeding
(:meth:`DIP.build_network`, :meth:`DIP.seeded_network`) and its tensors
(:class:`~dipbench.methods.dip.DIPProblem`: observation, operator, padding). It runs one seed per fit (no
fused runs).

:class:`DIPFit` is DIP's per-fit setup (:class:`dipbench.methods.dip.setup.FitSetup`, the same code DIP's
own fit runs) for one run of an observation and seed: it builds the problem, the seeded network and the
generator and draws in the order DIP does (network from ``torch.manual_seed(seed)``, then the input
z ~ U(0, 1) * input_scale and each step's perturbation N(0, sigma_p^2) from a ``torch.Generator`` seeded
with the same seed), so a variant whose extra term is off follows DIP's trajectory exactly
(tests/test_family.py checks this for ``dip_tv`` with ``tv_weight: 0``). The variants' steps run on the
loop DIP and its family share (:func:`dipbench.methods.fitting.run_loop`).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from ...tasks import Observation
from ..base import Method, Restoration, RunContext
from ..device import resolve_device
from ..dip import DIP, DIPProblem
from ..dip.setup import FitSetup

#: DIP parameters of DIP's own hooks (early stopping, backtracking) and compiled step, not offered by the variants.
DIP_LOOP_ONLY = ("early_stopping", "compile", "backtrack")


class DIPVariant(DIP):
    """Base class of the DIP-based family methods (not registered itself)."""

    fuses_runs = False
    defaults = {k: v for k, v in DIP.defaults.items() if k not in DIP_LOOP_ONLY}
    param_rules = {k: v for k, v in DIP.param_rules.items() if k not in DIP_LOOP_ONLY}
    smoke = dict(DIP.smoke)

    def fit_many(self, obs: Observation, contexts: Sequence[RunContext]) -> list[Restoration]:
        return Method.restore_many(self, obs, contexts)  # one seed at a time (DIP.restore_many sets TF32)


class DIPFit(FitSetup):
    """The setup of one DIP-style fit (K = 1): problem (y, A, oracle gt) as :attr:`problem`, seeded network,
    fixed input z, and the seed's generator as :attr:`generator` (which the step may draw from further).

    :meth:`~FitSetup.forward` is one forward pass on z plus a fresh perturbation (float32, (1, C, H, W),
    padding included); :meth:`~FitSetup.data_loss` DIP's data term, the MSE of A(x) against y averaged over
    all elements; :meth:`~FitSetup.final_output` the final forward pass on the last perturbed input or the
    clean z, cropped to the target.
    """

    def __init__(self, method: DIPVariant, obs: Observation, params: dict[str, Any], ctx: RunContext):
        device = resolve_device(ctx.device)
        self.problem = DIPProblem.from_observation(obs, params, device)
        net = method.seeded_network(params, obs.channels, ctx.seed, self.problem.input_channels(params))
        self.generator = torch.Generator(device=device).manual_seed(int(ctx.seed))
        super().__init__(net, [self.problem], params, [self.generator], device)
