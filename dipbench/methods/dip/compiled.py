"""The DIP step's speed switches: which Adam implementation runs, and whether the network is compiled.

Both are resolved once per fit and recorded in the result's info (``adam``, ``compile``), so a run record
says which path ran.

Adam (``adam`` parameter of the loop; "auto" by default): "loop" (PyTorch's CPU default: several kernels
per tensor), "foreach" (multi-tensor kernels) or "fused" (one kernel per tensor that does the whole update).
The three compute Adam's update with the same formula in a different operation order, so they agree to
rounding (tests/test_fused.py checks it in float64). "auto" is "fused": on the AVX-512-BF16 EPYC,
interleaved, in process CPU time (the machine was shared), the bf16 step took 43.3 ms at 64 px and
113-114 ms at 128 px with "fused" against 45.7 and 123 ms with "foreach" -- on the CPU "foreach" runs
the per-tensor kernels one tensor at a time, like "loop". (PyTorch's CPU fused kernel copies
non-contiguous parameters, e.g. channels-last weights, but that measured the same as contiguous ones.)

Compiling (``compile``: false, the default | true | "reduce-overhead"): ``torch.compile`` (inductor) of
the network. On that 2-core CPU it took 70 s to compile and then ran the 128 px bf16 step *slower* (126 ms
against 110 eager: oneDNN's convolutions dominate and inductor's generated elementwise code was no
faster), so the default stays eager; on CUDA it is unmeasured (no GPU was lent so far). "reduce-overhead" asks inductor for CUDA graphs on CUDA
(the step's hundreds of small kernel launches replayed as one graph); on a CPU it is the default mode.
When compiling fails -- no C++ compiler, an unsupported operator -- the first call falls back to the
eager network and the record says ``"failed (<error>): eager"``.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

ADAM_IMPLS = ("auto", "loop", "foreach", "fused")
COMPILE_MODES = (False, True, "reduce-overhead")


def resolve_adam(setting: str, device: torch.device | str) -> str:
    """"loop", "foreach" or "fused": what ``setting`` (one of :data:`ADAM_IMPLS`) runs on ``device``."""
    if setting not in ADAM_IMPLS:
        raise ValueError(f"adam must be one of {ADAM_IMPLS}, got {setting!r}")
    if setting != "auto":
        return setting
    # CPU: PyTorch's default (tensor by tensor). The fused kernel was at most a few percent faster per step,
    # and on flash / no-flash (lr 0.1, 64 px, 200 steps, 1 thread, 6 seeds) its rounding gave 28.84 dB
    # mean against 30.89 with the default (benchmarks/README.md, issue 21).
    return "fused" if torch.device(device).type == "cuda" else "loop"


def make_optimizer(parameters: Iterable[torch.nn.Parameter], lr: float, device: torch.device | str,
                   fused: bool = False, impl: str | None = None, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam with learning rate ``lr`` (and L2 ``weight_decay``); ``impl`` (default: "fused" if ``fused``
    else "loop") one of :data:`ADAM_IMPLS`, resolved for ``device``."""
    impl = resolve_adam(impl or ("fused" if fused else "loop"), device)
    if impl == "fused":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay, fused=True)
    return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay, foreach=impl == "foreach")


def adam_impl(optimizer: torch.optim.Optimizer) -> str:
    """The implementation an Adam of :func:`make_optimizer` runs ("loop", "foreach" or "fused")."""
    group = optimizer.param_groups[0]
    return "fused" if group.get("fused") else ("foreach" if group.get("foreach") else "loop")


class _CompiledOrEager(torch.nn.Module):
    """The compiled network, or the eager one from the first call that failed to compile on."""

    def __init__(self, net: torch.nn.Module, compiled: Any, record: dict[str, str]):
        super().__init__()
        self.net, self._compiled, self.record, self._ran = net, compiled, record, False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._compiled is None:
            return self.net(x)
        if self._ran:
            return self._compiled(x)
        try:
            out = self._compiled(x)
        except Exception as exc:  # noqa: BLE001 -- any failure of the first (compiling) call: run eagerly
            self._compiled = None
            self.record["compile"] = f"failed ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}): eager"
            return self.net(x)
        self._ran = True
        return out


def compile_network(net: torch.nn.Module, setting: Any, device: torch.device | str):
    """``(model, record)``: the network to call in the loop and ``{"compile": what runs}``.

    ``setting`` one of :data:`COMPILE_MODES`; the record is "off", "inductor",
    "inductor (reduce-overhead: CUDA graphs)" or, after a failed first call, "failed (...): eager".
    """
    if setting not in COMPILE_MODES:
        raise ValueError(f"compile must be one of {COMPILE_MODES}, got {setting!r}")
    if setting is False:
        return net, {"compile": "off"}
    cuda = torch.device(device).type == "cuda"
    if setting == "reduce-overhead" and cuda:
        mode, label = "reduce-overhead", "inductor (reduce-overhead: CUDA graphs)"
    else:
        mode, label = None, "inductor"
    record = {"compile": label}
    try:
        compiled = torch.compile(net, mode=mode)
    except Exception as exc:  # noqa: BLE001 -- e.g. torch.compile unsupported on this Python
        record["compile"] = f"failed ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}): eager"
        return net, record
    return _CompiledOrEager(net, compiled, record), record
