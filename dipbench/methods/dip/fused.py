"""Many DIP runs at once: K independent fits fused into one network of grouped convolutions.

A single DIP fit of a small image leaves most of a GPU idle. ``fit_fused`` runs K fits (K seeds of one
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

The fused fit itself is :func:`dipbench.methods.dip.method.fit_fused`::

    results = fit_fused([obs] * 4, {"steps": 1800}, seeds=[0, 1, 2, 3], device="cuda")
"""

from __future__ import annotations

from typing import Sequence

import torch

from .network import SkipNet


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
