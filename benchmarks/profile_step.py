#!/usr/bin/env python
"""Where one DIP step's time goes: forward, loss, backward and Adam, split by operator kind.

For each ``--sizes`` (default 128 256 512 px) it builds the paper's denoising network exactly as DIP does
(``dip`` method, sigma 25, the built-in astronaut image resized) and runs the loop's step -- input
perturbation, the network under the resolved precision's autocast (channels-last where DIP's ``auto``
picks it), the MSE loss, backward, Adam -- ``--warmup`` times untimed, then ``--steps`` times under
``torch.profiler``. It prints, per size:

* the phases' wall time per step (forward / loss / backward / optimizer, from ``record_function`` spans),
* the operators' self CPU time per step grouped into kinds (:data:`KINDS`: convolution, BatchNorm,
  LeakyReLU, sigmoid, upsampling, padding, concatenation/copies, autocast casts, optimizer, host syncs,
  other), as milliseconds and percent of the profiled total.

``--precision fp32|bf16|auto`` and ``--channels-last`` as in dip_speed.py; ``--adam`` the Adam
implementation (default "auto", what DIP runs: :mod:`dipbench.methods.dip.compiled`); ``--json OUT``
writes the figures. One thread unless ``--threads``. Self time is the time inside an operator minus its children, so
the kinds add up to the profiled total (the profiler itself adds a few percent).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile, record_function  # noqa: E402

from dipbench.methods import precision as prec  # noqa: E402
from dipbench.methods.dip import DIP, DIPProblem, nnpack  # noqa: E402
from dipbench.methods.dip.compiled import ADAM_IMPLS, adam_impl, make_optimizer  # noqa: E402
from dipbench.methods.dip.setup import FitSetup  # noqa: E402

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from dip_speed import observation  # noqa: E402

#: (kind, substrings of aten operator names), first match wins; the order matters (backward names
#: contain the forward's).
KINDS = (
    ("convolution", ("convolution", "conv2d", "mkldnn_conv", "linear", "addmm", "aten::mm", "bmm", "matmul")),
    ("batchnorm", ("batch_norm",)),
    ("leaky_relu", ("leaky_relu",)),
    ("sigmoid", ("sigmoid",)),
    ("upsampling", ("upsample",)),
    ("padding", ("reflection_pad", "replication_pad", "constant_pad", "aten::pad")),
    ("host_sync", ("item", "_local_scalar_dense")),
    ("optimizer", ("_foreach", "_fused_adam", "addcdiv", "addcmul", "lerp", "sqrt", "Optimizer")),
    ("autocast_cast", ("_to_copy", "aten::to", "_autocast")),
    ("cat_copy", ("aten::cat", "copy_", "clone", "contiguous", "empty_like", "permute")),
    ("loss", ("mse_loss", "aten::sub", "pow", "mean")),
)
PHASES = ("forward", "loss", "backward", "optimizer")


def kind_of(name: str) -> str:
    """The :data:`KINDS` kind of an operator name (``"other"`` where none matches)."""
    for kind, parts in KINDS:
        if any(part in name for part in parts):
            return kind
    return "other"


def build(size: int, precision: str, channels_last, adam: str = "auto", conv_backend: str = "auto"):
    """The setup (:class:`~dipbench.methods.dip.setup.FitSetup`: network, problem, input, precision, layout)
    and the optimizer of a denoising DIP run at ``size`` px, as DIP builds them."""
    obs = observation("builtin", "astronaut", size)
    method = DIP(obs.task, precision=precision, channels_last=channels_last, conv_backend=conv_backend)
    params = method.resolved_params(obs)
    device = torch.device("cpu")
    problem = DIPProblem.from_observation(obs, params, device)
    net = method.seeded_network(params, obs.channels, 0, problem.input_channels(params))
    setup = FitSetup(net, [problem], params, [torch.Generator().manual_seed(0)], device)
    optimizer = make_optimizer(setup.net.parameters(), float(params["lr"]), device, impl=adam)
    return setup, optimizer


def step(setup: FitSetup, optimizer) -> None:
    """One step of the DIP loop (as :func:`dipbench.methods.dip.loop.fit_runs` runs it), phases marked."""
    with record_function("phase:forward"):
        optimizer.zero_grad(set_to_none=True)
        raw = setup.forward()  # input perturbation, the network under autocast in its layout
    with record_function("phase:loss"):
        loss = setup.data_loss(raw)
    with record_function("phase:backward"):
        loss.backward()
    with record_function("phase:optimizer"):
        optimizer.step()


def profile_size(size: int, args: argparse.Namespace) -> dict:
    setup, optimizer = build(size, args.precision, args.channels_last, args.adam, args.conv_backend)
    for _ in range(args.warmup):
        step(setup, optimizer)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step(setup, optimizer)
    wall = (time.perf_counter() - start) / args.steps
    phases = {p: 0.0 for p in PHASES}
    kinds: dict[str, float] = {}
    for event in prof.key_averages():
        if event.key.startswith("phase:"):
            phases[event.key[6:]] = event.cpu_time_total / 1e3 / args.steps
            continue
        kind = kind_of(event.key)
        kinds[kind] = kinds.get(kind, 0.0) + event.self_cpu_time_total / 1e3 / args.steps
    total = sum(kinds.values())
    return {"size": size, "precision": setup.precision, "channels_last": setup.channels_last,
            "conv_backend": setup.conv_backend, "adam": adam_impl(optimizer),
            "wall_ms_per_step_profiled": 1e3 * wall, "phases_ms": phases, "kinds_ms": kinds,
            "kinds_percent": {k: 100 * v / total for k, v in kinds.items()}, "self_total_ms": total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--steps", type=int, default=3, help="profiled steps per size")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", default="auto", choices=list(prec.PRECISIONS))
    parser.add_argument("--channels-last", default="auto", type=lambda v: v if v == "auto" else v == "true")
    parser.add_argument("--adam", default="auto", choices=list(ADAM_IMPLS))
    parser.add_argument("--conv-backend", default="auto", choices=list(nnpack.BACKENDS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for size in args.sizes:
        row = profile_size(size, args)
        rows.append(row)
        phases = "  ".join(f"{p} {row['phases_ms'][p]:.1f}" for p in PHASES)
        print(f"{size} px [{row['precision']}{', channels_last' if row['channels_last'] else ''}"
              f", conv {row['conv_backend']}, Adam {row['adam']}]: {row['wall_ms_per_step_profiled']:.1f} ms/step "
              f"(profiled); phases ms: {phases}")
        for kind, ms in sorted(row["kinds_ms"].items(), key=lambda kv: -kv[1]):
            print(f"    {kind:14s} {ms:8.1f} ms  {row['kinds_percent'][kind]:5.1f}%")
        sys.stdout.flush()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
