"""Zero-Shot Noise2Noise (Mansour & Heckel, "Zero-Shot Noise2Noise: Efficient Image Denoising without any
Data", CVPR 2023, arXiv 2303.11253)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ImageError
from ...tasks import Observation, array_to_tensor, task_of
from .. import precision as prec
from ..base import Method, Restoration, RunContext
from ..device import resolve_device
from ..fitting import finish, run_loop
from ..params import Rule
from ..registry import register


def pair_downsample(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two half-size images of ZS-N2N: each 2x2 block becomes the mean of its anti-diagonal
    (top-right, bottom-left) and of its diagonal (top-left, bottom-right) pixels, per channel
    (stride-2 convolutions with the fixed kernels [[0, 1/2], [1/2, 0]] and [[1/2, 0], [0, 1/2]])."""
    channels = x.shape[1]
    anti = x.new_tensor([[0.0, 0.5], [0.5, 0.0]]).expand(channels, 1, 2, 2)
    diag = x.new_tensor([[0.5, 0.0], [0.0, 0.5]]).expand(channels, 1, 2, 2)
    return F.conv2d(x, anti, stride=2, groups=channels), F.conv2d(x, diag, stride=2, groups=channels)


class ZSN2NNet(nn.Module):
    """conv3x3 (C -> 48) - LeakyReLU(0.2) - conv3x3 (48 -> 48) - LeakyReLU(0.2) - conv1x1 (48 -> C), with
    biases and zero padding; it predicts the noise. 22,275 parameters for C = 3 (21,313 for C = 1)."""

    def __init__(self, channels: int = 3, width: int = 48):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, channels, 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.conv2(self.act(self.conv1(x))))
        if torch.is_autocast_enabled(h.device.type):  # the noise estimate in fp32
            with torch.autocast(h.device.type, enabled=False):
                return self.conv3(h.float())
        return self.conv3(h)


def zs_n2n_loss(net: nn.Module, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ZS-N2N's loss of the noisy image ``y`` and the denoised image y - net(y) (unclamped).

    With (y1, y2) = :func:`pair_downsample` (y) and the residual denoiser d(v) = v - net(v):
      residual loss    = 1/2 (MSE(y1, d(y2)) + MSE(y2, d(y1)))                 (Noise2Noise between the halves)
      consistency loss = 1/2 (MSE(d(y1), D1(d(y))) + MSE(d(y2), D2(d(y))))      (denoise-then-downsample
                                                                                 = downsample-then-denoise)
    where (D1, D2) = :func:`pair_downsample`; the loss is their sum.
    """
    y1, y2 = pair_downsample(y)
    d1, d2 = y1 - net(y1), y2 - net(y2)
    residual = 0.5 * (F.mse_loss(y1, d2) + F.mse_loss(y2, d1))
    denoised = y - net(y)
    e1, e2 = pair_downsample(denoised)
    consistency = 0.5 * (F.mse_loss(d1, e1) + F.mse_loss(d2, e2))
    return residual + consistency, denoised


@register
class ZSN2N(Method):
    """ZS-N2N: a tiny noise-predicting CNN fitted to one noisy image by Noise2Noise between its halves.

    The loss is Noise2Noise between the image's two downsampled halves plus a consistency term
    (:func:`zs_n2n_loss`); the result is clamp(y - net(y), 0, 1).

    Network (:class:`ZSN2NNet`): two 3x3 convolutions of 48 channels with LeakyReLU(0.2) and a 1x1
    convolution back to the image channels (PyTorch's default initialisation, seeded). Optimiser: Adam,
    lr 0.001, halved after 1500 steps (StepLR, stepped once per update), 2000 steps; one step = one update
    on the whole image. The curve's ``psnr`` is the oracle PSNR of clamp(y - net(y)) at each logging step
    (computed in the step itself, before its update).

    Defaults and their sources: the authors' Colab notebook linked from the paper (their only published
    code): ``chan_embed = 48``, ``LeakyReLU(negative_slope=0.2)``, ``max_epoch = 2000``, ``lr = 0.001``,
    ``step_size = 1500``, ``gamma = 0.5``, the loss ``loss_res + loss_cons`` and the downsampler's two
    diagonal kernels. Neither the notebook nor the paper's full text was in the stored copies this module was
    written from; the values were checked against third-party copies of the notebook's code (e.g. GitHub
    SZU-AdvTech-2023/200-Zero-Shot-Noise2Noise-Efficient-Image-Denoising-without-Any-Data, ZS_NSN.py, which
    keeps these settings and only swaps the activation, and the ZS-N2N module of the "mon" toolkit that
    cites the Colab), so re-check them against the notebook before quoting them as the authors'.

    Published numbers: none quoted here; the paper's tables could not be read with the tools of the session
    that wrote this module.
    """

    name = "zs_n2n"
    problems = ("gaussian_noise",)  # its downsampled pairs need pixel-independent noise
    version = "1"
    uses_gpu = True
    description = "Zero-Shot Noise2Noise denoiser (Mansour & Heckel, CVPR 2023)"
    defaults: dict[str, Any] = {"steps": 2000, "lr": 0.001, "lr_step": 1500, "lr_gamma": 0.5, "width": 48,
                                "log_every": 50, "precision": "auto"}
    smoke = {"steps": 6, "width": 8, "log_every": 2, "lr_step": 3}
    param_rules = {
        "steps": Rule(int, low=1), "lr": Rule(float, low=0, low_open=True, high=1), "lr_step": Rule(int, low=1),
        "lr_gamma": Rule(float, low=0, low_open=True, high=1), "width": Rule(int, low=1),
        "log_every": Rule(int, low=1), "precision": Rule(str, choices=prec.PRECISIONS),
    }

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        p = self.params
        if min(obs.y.shape[:2]) < 2:
            raise ImageError(f"zs_n2n: the image is {obs.y.shape[1]}x{obs.y.shape[0]} px; "
                             "it needs at least 2 px per side")
        device = resolve_device(ctx.device)
        precision = prec.resolve_precision(p["precision"], device)
        autocast = prec.autocast(precision, device)
        y = task_of(obs).observed(obs, device)
        gt = array_to_tensor(obs.target.slice(obs.gt), device) if obs.gt is not None else None
        torch.manual_seed(int(ctx.seed))
        net = ZSN2NNet(obs.channels, int(p["width"])).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=float(p["lr"]))
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=int(p["lr_step"]), gamma=float(p["lr_gamma"]))

        def step(i: int):
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                loss, denoised = zs_n2n_loss(net, y)
            loss = loss.float()
            loss.backward()
            optimizer.step()
            scheduler.step()
            return loss.detach(), denoised.detach().float().clamp(0.0, 1.0)

        record = run_loop(step, steps=int(p["steps"]), log_every=int(p["log_every"]), gts=[gt], device=device,
                          name="ZS-N2N", desc=f"zs_n2n {obs.image}".strip(), progress=ctx.progress)
        with torch.no_grad(), autocast:
            result = (y - net(y)).float()
        info = {"precision": precision, "device": str(device), "parameters": sum(q.numel() for q in net.parameters())}
        return finish("ZS-N2N", result, gt, record, info)
