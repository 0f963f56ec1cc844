"""Many DIP runs at once: K independent fits fused into one network of grouped convolutions.

A single DIP fit of a small image leaves most of a GPU idle. :func:`fit_fused` runs K fits (K seeds of one
observation, or K observations of the same task and size) as one SkipNet with ``groups=K``: every
convolution is grouped and every BatchNorm is per channel, so run k only ever sees its own channels. Each
run's weights are initialised exactly as its separate run would be (a network built after
``torch.manual_seed(seed_k)``, copied into group k), its input noise and per-step perturbations come
from its own generator, and the loss is the sum of the runs' losses, so its gradients, BatchNorm
statistics and (elementwise) Adam state are its own. The results equal K separate runs up to
floating-point reassociation in the grouped convolutions: to ~1e-5 over a few steps (tests/test_fused.py
checks this on the CPU). Over long runs at lr 0.01 those rounding differences grow, as between two thread
counts or devices, into an equally valid but different run: 4 runs of 50 steps at 64 px differed by up
to 0.2 dB PSNR (benchmarks/README.md). Use separate runs where a seed must reproduce bit for bit.

Usage::

    results = fit_fused([obs] * 4, {"steps": 1800}, seeds=[0, 1, 2, 3], device="cuda")
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from ..errors import ConfigError
from ..tasks import Observation
from .base import Restoration, resolve_device
from .dip import DIP, DIPProblem, fit_runs
from .skipnet import SkipNet


def fuse_networks(nets: Sequence[SkipNet], fused: SkipNet) -> SkipNet:
    """Copy the weights and buffers of K equal networks (``groups=1``) into ``fused`` (``groups=K``).

    Every fused tensor is the concatenation of the K networks' tensors along its first dimension (output
    channels of grouped convolutions, channels of BatchNorm); scalar buffers (``num_batches_tracked``)
    are taken from the first network.
    """
    if fused.groups != len(nets):
        raise ValueError(f"fused network has groups={fused.groups}, but {len(nets)} networks were given")
    singles = [net.state_dict() for net in nets]
    state = fused.state_dict()
    for name, tensor in state.items():
        parts = [single[name] for single in singles]
        if tensor.dim() == 0:
            tensor.copy_(parts[0])
            continue
        joined = torch.cat(parts, dim=0)
        if joined.shape != tensor.shape:
            raise ValueError(f"{name}: fused shape {tuple(tensor.shape)} != K x single {tuple(parts[0].shape)}")
        tensor.copy_(joined)
    return fused


def fit_fused(observations: Sequence[Observation], params: dict[str, Any] | None = None,
              seeds: Sequence[int] | None = None, device: str = "cpu", progress: bool = False,
              method: type[DIP] = DIP) -> list[Restoration]:
    """Run ``len(observations)`` DIP fits in one grouped network; one :class:`Restoration` per run.

    observations: same task and parameters, same size and channels (repeat one observation for K seeds).
    params: DIP parameter overrides (as in a config); seeds: one per run (default 0..K-1), each the
    ``RunContext.seed`` that a separate ``method(...).restore(obs, RunContext(seed=...))`` would get.
    Result k equals that separate run's result up to rounding (see the module docstring).
    """
    if not observations:
        raise ConfigError("fit_fused needs at least one observation")
    seeds = list(range(len(observations))) if seeds is None else list(seeds)
    if len(seeds) != len(observations):
        raise ConfigError(f"fit_fused: {len(seeds)} seeds for {len(observations)} observations")
    first = observations[0]
    for obs in observations[1:]:
        if (obs.task, obs.task_params, obs.y.shape, obs.output_shape) != (
                first.task, first.task_params, first.y.shape, first.output_shape):
            raise ConfigError("fit_fused: every observation needs the same task, parameters, size and channels")
    dev = resolve_device(device)
    instance = method(first.task, **(params or {}))
    resolved = instance.resolved_params(first)
    problems = [DIPProblem.from_observation(obs, resolved, dev) for obs in observations]
    nets = [instance.seeded_network(resolved, first.channels, seed) for seed in seeds]
    fused = fuse_networks(nets, instance.build_network(resolved, first.channels, groups=len(nets))).to(dev)
    generators = [torch.Generator(device=dev).manual_seed(seed) for seed in seeds]
    results = fit_runs(fused, problems, resolved, generators, dev, progress=progress,
                       desc=f"dip x{len(problems)} {first.task}")
    for result in results:
        result.info["params_resolved"] = instance.params_record(resolved)
    return results
