"""3x3 convolutions through NNPACK's Winograd kernels, for fp32 DIP on CPUs without AVX-512.

On such CPUs (AVX2 + FMA) oneDNN computes DIP's 3x3 convolutions directly, and in an fp32 step they take
~80% of the time (benchmarks/profile_step.py). NNPACK, which PyTorch's CPU builds include, computes the
same convolution with Winograd's minimal filtering: fewer multiplications for the same result up to
rounding (relative differences ~1e-5 of the output's range in fp32). PyTorch uses NNPACK for inference
only, so this module gives it a backward: the input's gradient is the "full" convolution of the output's
gradient with the flipped, transposed kernel (again through NNPACK); the weight's gradient is a forward
convolution of the input's channels with the gradient's (oneDNN's forward kernel, faster on these shapes
than its weight-gradient kernel); the bias's is the gradient's sum. On a 2-core AVX2 EPYC (Zen 3), one
thread, the 132 -> 128 channel convolution at 128 x 128 px ran forward + backward 1.94x faster
(benchmarks/conv_backends.py), and a whole 128 px DIP step 1.37x (benchmarks/README.md).

:func:`resolve_conv_backend` decides where it runs (``conv_backend: auto``), :func:`set_conv_backend`
switches a network's convolutions, :func:`applies` is the per-call test: fp32 CPU tensors outside
autocast, channels-first contiguous, one group, stride 1, no dilation, a 3 x 3 kernel and an output of at
least :func:`min_side` px on each side: 32 px on one thread (NNPACK's fixed cost outweighs the saving
below it: 0.65x at 16 px), 128 px on more (NNPACK splits small images poorly between threads: on two,
0.44-0.79x at 32 px, 0.89-1.39x at 64 px, whole 64 px steps 226 vs 164 ms).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from ...errors import ConfigError
from ...provenance import cpu_flags

#: the choices of the ``conv_backend`` parameter: "torch" is PyTorch's own (oneDNN, cuDNN)
BACKENDS = ("auto", "nnpack", "torch")
#: the smallest output side (px) convolved through NNPACK on one thread and on more (measured crossovers:
#: between 16 and 32 px on one thread, between 64 and 128 px on two; benchmarks/conv_backends.py)
MIN_SIDE_ONE_THREAD, MIN_SIDE_THREADS = 32, 128
#: ``auto`` takes NNPACK up to this many torch threads (the most it was measured faster on)
MAX_AUTO_THREADS = 2


@functools.cache
def available() -> bool:
    """Whether this PyTorch build has NNPACK and it initialises on this CPU (the call initialises it:
    NNPACK's convolutions fail until it has been made once)."""
    return bool(getattr(torch, "_nnpack_available", lambda: False)())


def resolve_conv_backend(setting: str, device: torch.device, precision: str, channels_last: bool,
                         compiled: bool) -> str:
    """``"nnpack"`` or ``"torch"``. ``auto``: NNPACK for fp32, channels-first, eager fits on a CPU
    without AVX-512 where NNPACK is available, on at most :data:`MAX_AUTO_THREADS` torch threads (where it
    was measured faster); PyTorch's everywhere else.
    An explicit ``nnpack`` where it cannot run (not a CPU, bf16, channels-last, no NNPACK) is refused."""
    if setting not in BACKENDS:
        raise ConfigError(f"conv_backend must be one of {', '.join(BACKENDS)}, not {setting!r}")
    if setting == "torch":
        return "torch"
    usable = device.type == "cpu" and precision == "fp32" and not channels_last and available()
    if setting == "nnpack":
        if not usable:
            raise ConfigError("conv_backend: nnpack needs an fp32, channels-first fit on a CPU whose PyTorch "
                              f"has NNPACK (here: device {device}, precision {precision}, channels_last "
                              f"{channels_last}, NNPACK {'available' if available() else 'unavailable'})")
        return "nnpack"
    measured = not compiled and "avx512f" not in cpu_flags() and torch.get_num_threads() <= MAX_AUTO_THREADS
    return "nnpack" if usable and measured else "torch"


def set_conv_backend(net: torch.nn.Module, backend: str) -> None:
    """Make every dipbench convolution of ``net`` run through ``backend`` ("nnpack" | "torch")."""
    for module in net.modules():
        if hasattr(module, "conv_backend"):
            module.conv_backend = backend


def applies(x: torch.Tensor, weight: torch.Tensor, stride, dilation, groups: int, padding) -> bool:
    """Whether NNPACK can and should compute this convolution (see the module docstring)."""
    if (x.device.type != "cpu" or x.dtype != torch.float32 or weight.dtype != torch.float32
            or torch.is_autocast_enabled("cpu") or x.dim() != 4 or not x.is_contiguous()
            or groups != 1 or tuple(stride) != (1, 1) or tuple(dilation) != (1, 1)
            or tuple(weight.shape[2:]) != (3, 3)):
        return False
    out_h = x.shape[2] + 2 * padding[0] - 2
    out_w = x.shape[3] + 2 * padding[1] - 2
    return min(out_h, out_w) >= min_side(torch.get_num_threads())


def min_side(threads: int) -> int:
    """The smallest output side (px) convolved through NNPACK on ``threads`` torch threads."""
    return MIN_SIDE_ONE_THREAD if threads <= 1 else MIN_SIDE_THREADS


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, padding=padding)`` (zero padding, stride 1) through NNPACK, with a
    backward. x: (N, C, H, W) float32; weight: (O, C, kh, kw); output (N, O, H + 2p - kh + 1, ...)."""
    if not available():
        raise RuntimeError("this PyTorch build has no usable NNPACK (conv_backend: torch)")
    return _NNPACKConv2d.apply(x, weight, bias, tuple(int(p) for p in padding))


class _NNPACKConv2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, padding):
        ctx.save_for_backward(x, weight)
        ctx.padding, ctx.has_bias = padding, bias is not None
        return torch._nnpack_spatial_convolution(x, weight, bias, list(padding), [1, 1])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        kh, kw = weight.shape[2:]
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            # the full convolution of the gradient with the flipped, transposed kernel, cut to x's padding
            flipped = weight.flip(2, 3).transpose(0, 1).contiguous()
            full = torch._nnpack_spatial_convolution(grad, flipped, None, [kh - 1, kw - 1], [1, 1])
            ph, pw = ctx.padding
            grad_x = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw] if ph or pw else full
        if ctx.needs_input_grad[1]:
            # dW[o, c] = x[c] correlated with grad[o]: a forward convolution of x's channels as a batch of
            # one-channel images with grad's channels as (H x W) kernels -- oneDNN's forward kernel, which ran
            # 1.4-1.6x faster than its weight-gradient kernel on these shapes (one image: x and grad's
            # transposes are views)
            grad_w = F.conv2d(x.transpose(0, 1), grad.transpose(0, 1), padding=ctx.padding)
            grad_w = grad_w.transpose(0, 1).contiguous()
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum((0, 2, 3))
        return grad_x, grad_w, grad_b, None


__all__ = ["BACKENDS", "MAX_AUTO_THREADS", "applies", "available", "conv2d", "resolve_conv_backend",
           "min_side", "set_conv_backend"]
