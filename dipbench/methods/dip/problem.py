"""The tensors of one DIP fit (:class:`DIPProblem`): observation y, forward operator A, oracle ground truth,
guide image, and the input padding."""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ...errors import ImageError
from ...tasks import Observation, array_to_tensor, task_of
from .inputs import input_depth, network_input


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
