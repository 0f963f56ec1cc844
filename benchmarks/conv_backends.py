#!/usr/bin/env python
"""DIP's 3x3 convolutions, forward + backward, through PyTorch's own kernel and through NNPACK
(dipbench/methods/dip/nnpack.py), side by side in one process, per layer shape of the default network.

    python benchmarks/conv_backends.py                 # 1 thread, the shapes of a 128 px denoising fit
    python benchmarks/conv_backends.py --threads 2

Prints the hardware line, then per shape: ms per forward + backward (input, weight and bias gradients)
for each backend, their ratio and the largest relative difference of output and gradients. The shapes:
(input channels, output channels, output side) of the merge convolutions (4 skip + 128 channels in), the
deeper path's convolutions (128 in), at 128, 64, 32 and 16 px, each on a reflection-padded input as the
network runs them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dipbench.methods.dip import nnpack  # noqa: E402

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import hardware  # noqa: E402

SHAPES = [(132, 128, 128), (128, 128, 64), (132, 128, 64), (128, 128, 32), (132, 128, 32), (128, 128, 16)]


def step(conv, x, weight, bias, grad):
    """One forward + backward; the output and the three gradients."""
    out = conv(x, weight, bias, (0, 0))
    return (out.detach(), *torch.autograd.grad(out, (x, weight, bias), grad))


def timed(conv, tensors, repeats: int) -> float:
    step(conv, *tensors)  # warm-up (oneDNN primitive caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(conv, *tensors)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per shape and backend (median)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(hardware.hardware_line(hardware.describe(torch.device("cpu"), "fp32")), flush=True)
    if not nnpack.available():
        print("this PyTorch build has no usable NNPACK: nothing to compare")
        return 2
    backends = {"torch": lambda x, w, b, p: F.conv2d(x, w, b, padding=p), "nnpack": nnpack.conv2d}
    generator = torch.Generator().manual_seed(0)
    total = {name: 0.0 for name in backends}
    for i, (c_in, c_out, side) in enumerate(SHAPES):
        x = torch.randn(1, c_in, side + 2, side + 2, generator=generator, requires_grad=True)
        weight = (0.05 * torch.randn(c_out, c_in, 3, 3, generator=generator)).requires_grad_()
        bias = torch.randn(c_out, generator=generator, requires_grad=True)
        grad = torch.randn(1, c_out, side, side, generator=generator)
        tensors = (x, weight, bias, grad)
        ms = {}
        # the order alternates by shape, so neither backend always runs first
        for name in (list(backends) if i % 2 == 0 else list(backends)[::-1]):
            ms[name] = 1e3 * timed(backends[name], tensors, args.repeats)
            total[name] += ms[name]
        mine, reference = step(backends["nnpack"], *tensors), step(backends["torch"], *tensors)
        worst = max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(mine, reference))
        print(f"{c_in:3d} -> {c_out:3d} at {side:3d} px: torch {ms['torch']:7.2f} ms  nnpack {ms['nnpack']:7.2f} ms"
              f"  {ms['torch'] / ms['nnpack']:.2f}x  (largest relative difference {worst:.1e})", flush=True)
    print(f"all shapes: torch {total['torch']:.1f} ms, nnpack {total['nnpack']:.1f} ms: "
          f"{total['torch'] / total['nnpack']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
