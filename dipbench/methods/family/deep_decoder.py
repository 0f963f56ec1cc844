"""The Deep Decoder (Heckel & Hand, "Deep Decoder: Concise Image Representations from Untrained
Non-convolutional Networks", ICLR 2019, arXiv 1810.03982)."""

from __future__ import annotations

import math
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

UPSAMPLE_MODES = ("bilinear", "nearest")


class DeepDecoderNet(nn.Module):
    """The deep decoder: ``layers`` blocks of [1x1 conv (k -> k, no bias), bilinear x2 upsampling (all but
    the last block), ReLU, BatchNorm (affine)], then a 1x1 conv (k -> C, no bias) and a sigmoid.

    The input is a fixed k-channel tensor of 1 / 2^(layers - 1) of the output size. Parameters:
    layers * k^2 (convolutions) + layers * 2k (BatchNorm) + k * C (output): 100,224 for the authors'
    default k = 128, 6 layers, C = 3 (their ``decodernw(3, [128] * 5)``); 25,536 for k = 64.
    """

    def __init__(self, out_channels: int = 3, channels: int = 128, layers: int = 6, upsample_mode: str = "bilinear",
                 align_corners: bool = False):
        super().__init__()
        if layers < 1:
            raise ValueError("layers must be >= 1")
        self.channels, self.layers = channels, layers
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks.append(nn.Conv2d(channels, channels, 1, bias=False))
            if i < layers - 1:
                corners = align_corners if upsample_mode == "bilinear" else None
                blocks.append(nn.Upsample(scale_factor=2, mode=upsample_mode, align_corners=corners))
            blocks += [nn.ReLU(), nn.BatchNorm2d(channels)]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(channels, out_channels, 1, bias=False), nn.Sigmoid())

    @property
    def factor(self) -> int:
        """How many times larger the output is than the input, per side."""
        return 2 ** (self.layers - 1)

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """The input size for an output of at least ``height`` x ``width`` (ceil: crop the output after)."""
        return math.ceil(height / self.factor), math.ceil(width / self.factor)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        features = self.body(z)
        if torch.is_autocast_enabled(features.device.type):  # the image in fp32 (as DIP's SkipNet.output)
            with torch.autocast(features.device.type, enabled=False):
                return self.head(features.float())
        return self.head(features)


def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    top, left = (x.shape[2] - height) // 2, (x.shape[3] - width) // 2
    return x[:, :, top : top + height, left : left + width]


@register
class DeepDecoder(Method):
    """Deep Decoder: fit the weights of an under-parameterised decoder so that A(x) matches y, x = f(z).

    Network (:class:`DeepDecoderNet`): ``layers`` = 6 blocks of k = ``channels`` channels with 1x1
    convolutions, bilinear upsampling by 2 between blocks, ReLU and channel-wise normalisation (BatchNorm,
    always with the image's own statistics), then a 1x1 conv to the image channels and a sigmoid. Input:
    z ~ U(0, 1) * 0.1 of k channels and ceil(H / 32) x ceil(W / 32) px for 6 layers; the output
    (a multiple of 32) is centre-cropped to the target (the authors' code takes H / 32 and needs multiples).
    Loss: MSE of A(x) against y (the task's operator: identity, the Lanczos-2 downsampler for SR, the mask
    for inpainting), Adam. ``reg_noise_std`` > 0 perturbs z at every step with N(0, s^2), s multiplied by 0.7
    at every step t (0-based) with t % ``reg_noise_decay_every`` == 0 (so 0.7 x the value from the start, as
    their loop does). ``find_best``: the returned image is net(z) with the weights saved after the update of
    the step whose loss was more than 0.5% below the best so far (a training-loss criterion; no ground truth);
    otherwise net(z) with the last weights. The curve's ``psnr`` is the oracle PSNR of each step's output.

    Defaults and their sources (the authors' repository reinhardh/supplement_deep_decoder):
      - network: ``include/decoder.py`` ``decodernw`` defaults: k = 128 (``num_channels_up=[128]*5``, which
        makes 6 layers), 1x1 convolutions (``filter_size_up=1``), no bias, bilinear upsampling, ReLU, then
        BatchNorm with affine parameters (``bn_before_act=False``, ``bn_affine=True``), sigmoid output;
        input U(0, 1) / 10 (``include/fit.py`` ``fit``). Bilinear upsampling: ``nn.Upsample``'s default, which
        is ``align_corners=False`` since PyTorch 0.4 (the repository does not pin a version; under PyTorch 0.3
        it behaved as ``align_corners: true``).
      - denoising: ``denoising.ipynb`` ``denoise(..., k=128, numit=1900, rn=0.0, find_best=True)`` with
        ``fit``'s lr 0.01.
      - super-resolution: no notebook; ``fit``'s defaults (5000 steps, lr 0.01, no input noise,
        ``find_best=False``) with the default k = 128.
      - inpainting: ``inpainting.ipynb``: k = 256, 40000 steps, lr 0.0025, reg_noise_std 0.005 decayed every
        500 steps, ``find_best=True``.
    The paper's text (its stated k and step counts for each experiment) could not be read with the tools of
    the session that wrote this module; the values above are the code's.

    Published numbers: none quoted here; the paper's denoising and super-resolution tables could not be read.
    """

    name = "deep_decoder"
    problems = ("denoising", "upscaling", "masked")  # it fits y through the task's operator
    version = "1"
    uses_gpu = True
    description = "Deep Decoder: under-parameterised untrained decoder of 1x1 convolutions (Heckel & Hand, ICLR 2019)"
    defaults: dict[str, Any] = {
        "steps": 1900, "lr": 0.01, "channels": 128, "layers": 6, "input_scale": 0.1, "reg_noise_std": 0.0,
        "reg_noise_decay_every": 100000, "find_best": True, "upsample_mode": "bilinear", "align_corners": False,
        "log_every": 50, "precision": "auto",
    }
    kind_defaults = {
        "upscaling": {"steps": 5000, "find_best": False},
        "masked": {"steps": 40000, "lr": 0.0025, "channels": 256, "reg_noise_std": 0.005,
                    "reg_noise_decay_every": 500},
    }
    smoke = {"steps": 6, "channels": 8, "layers": 3, "log_every": 2}
    param_rules = {
        "steps": Rule(int, low=1), "lr": Rule(float, low=0, low_open=True, high=1), "channels": Rule(int, low=1),
        "layers": Rule(int, low=1, high=12), "input_scale": Rule(float, low=0, low_open=True),
        "reg_noise_std": Rule(float, low=0), "reg_noise_decay_every": Rule(int, low=1),
        "upsample_mode": Rule(str, choices=UPSAMPLE_MODES), "log_every": Rule(int, low=1),
        "precision": Rule(str, choices=prec.PRECISIONS),
    }

    def build_network(self, out_channels: int) -> DeepDecoderNet:
        p = self.params
        return DeepDecoderNet(out_channels, int(p["channels"]), int(p["layers"]), p["upsample_mode"],
                              bool(p["align_corners"]))

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        p = self.params
        device = resolve_device(ctx.device)
        precision = prec.resolve_precision(p["precision"], device)
        autocast = prec.autocast(precision, device)
        task = task_of(obs)
        y, operator = task.observed(obs, device), task.operator(obs, device)
        height, width = obs.target.height, obs.target.width
        torch.manual_seed(int(ctx.seed))
        net = self.build_network(obs.channels).to(device)
        net.train()  # BatchNorm with the image's statistics throughout, also for the final image (as the authors)
        in_h, in_w = net.input_size(height, width)
        if int(p["layers"]) == 1 and in_h * in_w < 2:
            raise ImageError("deep_decoder: a 1x1 image is too small for BatchNorm's statistics")
        generator = torch.Generator(device=device).manual_seed(int(ctx.seed))
        z = torch.rand((1, net.channels, in_h, in_w), generator=generator, device=device).mul_(float(p["input_scale"]))
        gt = array_to_tensor(obs.target.slice(obs.gt), device) if obs.gt is not None else None
        optimizer = torch.optim.Adam(net.parameters(), lr=float(p["lr"]))
        params = list(net.parameters())
        find_best = bool(p["find_best"])
        best = [q.detach().clone() for q in params] if find_best else []
        state: dict[str, Any] = {"sigma": float(p["reg_noise_std"]),
                                 "best_loss": torch.tensor(float("inf"), device=device)}
        decay_every = int(p["reg_noise_decay_every"])
        noise = torch.empty_like(z)

        def image_of(z_in: torch.Tensor) -> torch.Tensor:
            with autocast:
                raw = net(z_in)
            return center_crop(raw.float(), height, width)

        def step(i: int):
            t = i - 1
            z_in = z
            if state["sigma"] > 0:
                if t % decay_every == 0:
                    state["sigma"] *= 0.7
                z_in = z + noise.normal_(generator=generator).mul_(state["sigma"])
            optimizer.zero_grad(set_to_none=True)
            image = image_of(z_in)
            loss = F.mse_loss(operator(image), y)
            loss.backward()
            optimizer.step()
            loss = loss.detach()
            if find_best:
                with torch.no_grad():
                    improved = state["best_loss"] > 1.005 * loss
                    state["best_loss"] = torch.where(improved, loss, state["best_loss"])
                    for saved, current in zip(best, params):
                        saved.copy_(torch.where(improved, current, saved))
            return loss, image.detach()

        record = run_loop(step, steps=int(p["steps"]), log_every=int(p["log_every"]), gts=[gt], device=device,
                          name="Deep Decoder", desc=f"deep_decoder {obs.task} {obs.image}".strip(),
                          progress=ctx.progress)
        with torch.no_grad():
            if find_best:
                for saved, current in zip(best, params):
                    current.copy_(saved)
            result = image_of(z)
        info = {"precision": precision, "device": str(device), "input_size": [in_h, in_w],
                "parameters": sum(q.numel() for q in params)}
        if find_best:
            info["best_loss"] = float(state["best_loss"])
        return finish("Deep Decoder", result, gt, record, info)
