"""The DIP paper's "skip" network: an hourglass with skip connections (docs/protocol.md section 2).

Per scale i (0 = full resolution), with input x:
    skip_i   = conv1x1(x -> s_i) -> BN -> act                                      (absent where s_i = 0)
    deeper_i = down_i(x -> d_i) -> BN -> act -> conv(d_i -> d_i) -> BN -> act -> [scale i+1] -> up_i x2
    merge_i  = cat(skip_i, deeper_i) -> BN -> conv(s_i + k_i -> u_i) -> BN -> act
               [-> conv1x1(u_i -> u_i) -> BN -> act]       (need1x1_up; k_i = u_{i+1}, or d_i at the bottom)
    output   = conv1x1(u_0 -> C_out) -> sigmoid
down_i is a stride-2 convolution, or (``downsample_mode="avg"``) a stride-1 convolution followed by 2x2
average pooling, as in the authors' code; the deeper path's convolutions have ``kernel_down[i]`` taps per
side, the merge convolution ``kernel_up[i]``. up_i is ``upsample_mode[i]`` ("nearest" | "bilinear").
All convolutions pad by (k - 1) / 2 (reflection, or zeros with ``padding="zero"``) and have a bias;
act = LeakyReLU(0.2). ``cat`` centre-crops its inputs to the smaller size, and the output is centre-cropped
to the input's size, so sizes that are not multiples of 2^scales still run (with average pooling, which
floors odd sizes, the input is first replicate-padded to a multiple of 2^scales). The paper's per-experiment
networks are named in :mod:`.architectures`.

``groups = K`` builds K independent networks fused into one: every channel count is multiplied by K, every
convolution is grouped, and concatenation keeps each network's channels contiguous, so network g sees only
its own channels, BatchNorm statistics and (under Adam, which is elementwise) its own optimiser state.
Tensors are (N, K * C, H, W).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from . import nnpack
from .padding import reflection_pad2d

BN_INITS = ("default", "uniform")
UPSAMPLE_MODES = ("nearest", "bilinear")
DOWNSAMPLE_MODES = ("stride", "avg")
PADDINGS = ("reflection", "zero")


def _conv(c_in: int, c_out: int, kernel: int, groups: int, padding: str, stride: int = 1,
          downsample_mode: str = "stride") -> nn.Module:
    """A convolution with (kernel - 1) / 2 px of padding; stride 2 with ``downsample_mode="avg"`` is a
    stride-1 convolution followed by 2x2 average pooling."""
    mode = "reflect" if padding == "reflection" and kernel > 1 else "zeros"
    if stride != 1 and downsample_mode == "avg":
        return nn.Sequential(Conv2d(c_in * groups, c_out * groups, kernel, padding=(kernel - 1) // 2,
                                    padding_mode=mode, groups=groups), nn.AvgPool2d(stride, stride))
    return Conv2d(c_in * groups, c_out * groups, kernel, stride=stride, padding=(kernel - 1) // 2,
                  padding_mode=mode, groups=groups)


def _bn_act(channels: int, groups: int, act: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.BatchNorm2d(channels * groups)]
    if act:
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


def grouped_cat(tensors: Sequence[torch.Tensor], groups: int) -> torch.Tensor:
    """Concatenate along channels per group, centre-cropping to the smallest spatial size.

    Channel slices and ``torch.cat`` only, so a channels-last input stays channels-last (no copies).
    """
    height = min(t.shape[2] for t in tensors)
    width = min(t.shape[3] for t in tensors)
    cropped = []
    for t in tensors:
        top, left = (t.shape[2] - height) // 2, (t.shape[3] - width) // 2
        cropped.append(t[:, :, top : top + height, left : left + width])
    if groups == 1:
        return torch.cat(cropped, dim=1)
    widths = [t.shape[1] // groups for t in cropped]
    return torch.cat([t[:, g * w : (g + 1) * w] for g in range(groups) for t, w in zip(cropped, widths)], dim=1)


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` that runs a 1x1 convolution of a channels-last CPU tensor as one matrix product.

    PyTorch runs single-threaded 1x1 convolutions through a channels-first kernel, copying channels-last
    tensors there and back; as ``F.linear`` on the (N, H, W, C) view it needs no copy. Channels-first
    inputs take ``nn.Conv2d``'s path, its 3x3 convolutions through NNPACK where the network's
    ``conv_backend`` is "nnpack" (:mod:`.nnpack`).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.kernel_size == (1, 1) and self.groups == 1 and self.stride == (1, 1) and x.device.type == "cpu"
                and x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
                and not x.is_contiguous()):
            weight = self.weight.view(self.out_channels, self.in_channels)
            return F.linear(x.permute(0, 2, 3, 1), weight, self.bias).permute(0, 3, 1, 2)
        return super().forward(x)

    #: "torch" (PyTorch's convolution) or "nnpack" (:mod:`.nnpack`, where it applies); set per network by
    #: :func:`.nnpack.set_conv_backend`
    conv_backend = "torch"

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        padding = self.padding
        if self.padding_mode == "reflect":  # the same padding, with a faster backward (.padding)
            x, padding = reflection_pad2d(x, self._reversed_padding_repeated_twice), (0, 0)
        elif self.padding_mode != "zeros":
            return super()._conv_forward(x, weight, bias)
        if self.conv_backend == "nnpack" and nnpack.applies(x, weight, self.stride, self.dilation, self.groups,
                                                            padding):
            return nnpack.conv2d(x, weight, bias, padding)
        return F.conv2d(x, weight, bias, self.stride, padding, self.dilation, self.groups)


class _ChannelsLastGrad(torch.autograd.Function):
    """Identity whose backward makes the gradient channels-last contiguous (for the upsampling below it:
    PyTorch's bilinear backward is ~10x slower on a strided gradient, e.g. a channel slice of a concat)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        # the same memory with the canonical channels-last strides: at N = 1 PyTorch's upsampling gives the
        # batch dimension a stride of C, and ``torch.cat`` then falls back to a channels-first result
        # (every merge BatchNorm, padding and convolution after it, and their backward, ran channels-first)
        if not x.is_contiguous(memory_format=torch.channels_last):
            return x.view_as(x)
        n, c, h, w = x.shape
        return x.as_strided(x.shape, (c * h * w, 1, w * c, c))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous(memory_format=torch.channels_last)


class Upsample(nn.Upsample):
    """``nn.Upsample`` that keeps its backward on the fast path for channels-last tensors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            return _ChannelsLastGrad.apply(out)
        return out


class _Scale(nn.Module):
    """One scale of the hourglass, containing the deeper scales recursively."""

    def __init__(self, c_in: int, down: Sequence[int], up: Sequence[int], skip: Sequence[int], groups: int,
                 layout: dict, scale: int = 0):
        super().__init__()
        self.groups = groups
        conv = lambda c_i, c_o, k, **kw: _conv(c_i, c_o, k, groups, layout["padding"], **kw)  # noqa: E731
        k_down, k_up = layout["kernel_down"][scale], layout["kernel_up"][scale]
        self.skip = (nn.Sequential(conv(c_in, skip[0], layout["kernel_skip"]), *_bn_act(skip[0], groups))
                     if skip[0] else None)
        deeper: list[nn.Module] = [
            conv(c_in, down[0], k_down, stride=2, downsample_mode=layout["downsample_mode"]),
            *_bn_act(down[0], groups),
            conv(down[0], down[0], k_down), *_bn_act(down[0], groups),
        ]
        if len(down) > 1:
            deeper.append(_Scale(down[0], down[1:], up[1:], skip[1:], groups, layout, scale + 1))
            k = up[1]
        else:
            k = down[0]
        mode = layout["upsample_mode"][scale]
        corners = layout["align_corners"] if mode == "bilinear" else None
        deeper.append(Upsample(scale_factor=2, mode=mode, align_corners=corners))
        self.deeper = nn.Sequential(*deeper)
        merge: list[nn.Module] = [
            *_bn_act(skip[0] + k, groups, act=False),
            conv(skip[0] + k, up[0], k_up), *_bn_act(up[0], groups),
        ]
        if layout["need1x1_up"]:
            merge += [conv(up[0], up[0], 1), *_bn_act(up[0], groups)]
        self.merge = nn.Sequential(*merge)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        deep = self.deeper(x)
        joined = grouped_cat([self.skip(x), deep], self.groups) if self.skip is not None else deep
        return self.merge(joined)


class SkipNet(nn.Module):
    """The DIP skip network. Input (N, K*in_channels, H, W) noise, output (N, K*out_channels, H, W) in (0, 1).

    Defaults are the paper's: 5 scales of 128 channels down and up, 4 on each skip, 3x3 convolutions,
    bilinear upsampling (2,217,831 parameters for 32 input and 3 output channels). ``kernel_down``,
    ``kernel_up`` and ``upsample_mode`` take one value for every scale or one per scale. ``bn_init="uniform"`` draws BatchNorm weights
    from U(0, 1) as PyTorch 0.3 did (the paper's code); ``"default"`` keeps today's 1.
    ``align_corners=True`` reproduces PyTorch 0.3's bilinear upsampling. ``checkpointing`` recomputes
    activations in the backward pass: about a quarter less memory per megapixel in fp32 for 13-26% more
    time on a CPU (benchmarks/README.md).
    """

    def __init__(self, in_channels: int = 32, out_channels: int = 3, down: Sequence[int] = (128,) * 5,
                 up: Sequence[int] = (128,) * 5, skip: Sequence[int] = (4,) * 5, groups: int = 1,
                 upsample_mode: str | Sequence[str] = "bilinear", align_corners: bool = False,
                 need1x1_up: bool = True, bn_init: str = "default", checkpointing: bool = False,
                 kernel_down: int | Sequence[int] = 3, kernel_up: int | Sequence[int] = 3, kernel_skip: int = 1,
                 downsample_mode: str = "stride", padding: str = "reflection"):
        super().__init__()
        scales = len(down)
        if not len(up) == len(skip) == scales:
            raise ValueError("down, up and skip need one entry per scale")
        if bn_init not in BN_INITS:
            raise ValueError(f"bn_init must be one of {BN_INITS}, got {bn_init!r}")
        layout = {
            "kernel_down": per_scale(kernel_down, scales, "kernel_down"),
            "kernel_up": per_scale(kernel_up, scales, "kernel_up"),
            "upsample_mode": per_scale(upsample_mode, scales, "upsample_mode"),
            "kernel_skip": kernel_skip, "downsample_mode": downsample_mode, "padding": padding,
            "align_corners": align_corners, "need1x1_up": need1x1_up,
        }
        for name, allowed, values in (("upsample_mode", UPSAMPLE_MODES, layout["upsample_mode"]),
                                      ("downsample_mode", DOWNSAMPLE_MODES, [downsample_mode]),
                                      ("padding", PADDINGS, [padding])):
            if any(value not in allowed for value in values):
                raise ValueError(f"{name} must be one of {allowed}, got {values}")
        if any(k % 2 == 0 for k in (*layout["kernel_down"], *layout["kernel_up"], kernel_skip)):
            raise ValueError("kernel sizes must be odd")
        self.groups = groups
        self.checkpointing = checkpointing
        # 2x2 average pooling floors odd sizes, so the output would come back smaller than the input
        self.pad_multiple = 2 ** scales if downsample_mode == "avg" else 1
        self.body = _Scale(in_channels, down, up, skip, groups, layout)
        self.head = nn.Sequential(_conv(up[0], out_channels, 1, groups, padding), nn.Sigmoid())
        self.min_size = 2 ** len(down) // 2 + 1
        if bn_init == "uniform":
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    nn.init.uniform_(module.weight, 0.0, 1.0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if min(z.shape[2:]) < self.min_size:
            raise ValueError(f"input of {tuple(z.shape[2:])} px is too small: at least {self.min_size} px per side")
        height, width = z.shape[2:]
        z = _pad_to_multiple(z, self.pad_multiple)
        if self.checkpointing and torch.is_grad_enabled():
            out = _checkpointed(self.body, z, tail=self.output)
        else:
            out = self.output(self.body(z))
        return _centre_crop(out, height, width)

    def output(self, features: torch.Tensor) -> torch.Tensor:
        """The head (1x1 conv, sigmoid), in fp32 even under bf16 autocast: a bf16 sigmoid would round the
        image to 8 significant bits (steps of 1/256 near 1), no finer than an 8-bit image."""
        if torch.is_autocast_enabled(features.device.type):
            with torch.autocast(features.device.type, enabled=False):
                return self.head(features.float())
        return self.head(features)


def per_scale(value, scales: int, name: str) -> tuple:
    """One value per scale: a single value repeated, or a sequence of exactly ``scales`` values."""
    if isinstance(value, (str, int)):
        return (value,) * scales
    values = tuple(value)
    if len(values) != scales:
        raise ValueError(f"{name} needs one value or one per scale ({scales}), got {len(values)}")
    return values


def _pad_to_multiple(z: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad (N, C, H, W) evenly on both sides up to multiples of ``multiple`` px."""
    extra_h, extra_w = -z.shape[2] % multiple, -z.shape[3] % multiple
    if not extra_h and not extra_w:
        return z
    return F.pad(z, (extra_w // 2, extra_w - extra_w // 2, extra_h // 2, extra_h - extra_h // 2), mode="replicate")


def _centre_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Crop (N, C, H, W) to at most height x width around its centre (without skips, a size that is not a
    multiple of 2^scales comes back larger than it went in)."""
    top, left = max(0, (x.shape[2] - height) // 2), max(0, (x.shape[3] - width) // 2)
    return x[:, :, top : top + height, left : left + width]


def _checkpointed(scale: _Scale, x: torch.Tensor,
                  tail: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Run a scale (then ``tail``) with activation checkpointing in short segments, recursively.

    Each segment keeps only its input for the backward pass and recomputes its activations there, so a
    full-resolution scale keeps about two tensors instead of six; the largest segment is the 3x3 merge
    convolution, from the low-resolution input of the upsampling.
    """
    deeper = scale.deeper
    inner = deeper[-2] if isinstance(deeper[-2], _Scale) else None
    h = _segment(deeper[0:3], x)  # stride-2 conv, BN, act
    h = _segment(deeper[3:6], h)  # conv, BN, act
    if inner is not None:
        h = _checkpointed(inner, h)

    def merge_conv(inp: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:  # upsample, concat, BN, 3x3 conv
        joined = deeper[-1](deep)
        if scale.skip is not None:
            joined = grouped_cat([scale.skip(inp), joined], scale.groups)
        return scale.merge[0:2](joined)

    h = checkpoint(merge_conv, x, h, use_reentrant=False)
    rest = scale.merge[2:]
    return _segment(rest if tail is None else (lambda inp: tail(rest(inp))), h)  # BN, act (, 1x1, BN, act)


def _segment(function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return checkpoint(function, x, use_reentrant=False)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
