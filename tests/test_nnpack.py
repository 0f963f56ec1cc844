"""dipbench.methods.dip.nnpack: the 3x3 convolutions through NNPACK's Winograd kernels (fp32, CPUs without
AVX-512): the same convolution and gradients as PyTorch's to Winograd's rounding, where `auto` picks it,
and that a DIP run records it and stays deterministic."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dipbench.errors import ConfigError
from dipbench.methods import RunContext, get_method
from dipbench.methods.dip import nnpack
from dipbench.tasks import make_task

needs_nnpack = pytest.mark.skipif(not nnpack.available(), reason="this PyTorch build has no usable NNPACK")
TINY = {"steps": 6, "channels": 8, "scales": 3, "log_every": 2, "input_depth": 4, "precision": "fp32"}


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().abs().max() / b.detach().abs().max())


@needs_nnpack
@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("bias", [True, False])
def test_nnpack_convolution_and_its_gradients_equal_pytorchs(padding, bias):
    generator = torch.Generator().manual_seed(0)
    side = 34 - 2 * padding  # a 32 x 32 output either way
    x = torch.randn(1, 12, side, side, generator=generator, requires_grad=True)
    weight = (0.1 * torch.randn(16, 12, 3, 3, generator=generator)).requires_grad_()
    b = torch.randn(16, generator=generator, requires_grad=True) if bias else None
    grad = torch.randn(1, 16, 32, 32, generator=generator)
    inputs = (x, weight) + ((b,) if bias else ())

    def run(conv):
        out = conv(x, weight, b, (padding, padding))
        return (out, *torch.autograd.grad(out, inputs, grad))

    mine = run(nnpack.conv2d)
    reference = run(lambda x, w, b, p: F.conv2d(x, w, b, padding=p))
    for name, got, want in zip(("output", "grad x", "grad weight", "grad bias"), mine, reference):
        assert got.shape == want.shape, name
        # Winograd's rounding: ~1e-5 of the range here; an indexing or flip mistake would be O(1)
        assert _relative(got, want) < 1e-4, name
    assert _relative(mine[0], reference[0]) > 0, "NNPACK did not run: the result is PyTorch's to the bit"


def test_applies_only_where_measured_and_possible():
    x = torch.zeros(1, 8, 34, 34)
    w = torch.zeros(8, 8, 3, 3)
    assert nnpack.applies(x, w, (1, 1), (1, 1), 1, (0, 0))
    assert not nnpack.applies(torch.zeros(1, 8, 33, 33), w, (1, 1), (1, 1), 1, (0, 0))  # 31 px < 32 px
    assert not nnpack.applies(x, w, (2, 2), (1, 1), 1, (0, 0))  # stride
    assert not nnpack.applies(x, torch.zeros(8, 4, 3, 3), (1, 1), (1, 1), 2, (0, 0))  # grouped (fused runs)
    assert not nnpack.applies(x, torch.zeros(8, 8, 5, 5), (1, 1), (1, 1), 1, (2, 2))  # not 3x3
    assert not nnpack.applies(x.double(), w.double(), (1, 1), (1, 1), 1, (0, 0))
    assert not nnpack.applies(x.contiguous(memory_format=torch.channels_last), w, (1, 1), (1, 1), 1, (0, 0))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not nnpack.applies(x, w, (1, 1), (1, 1), 1, (0, 0))
    threads = torch.get_num_threads()
    try:  # on more threads, from 128 px only (where two threads measured faster)
        torch.set_num_threads(2)
        assert not nnpack.applies(torch.zeros(1, 8, 66, 66), w, (1, 1), (1, 1), 1, (0, 0))
        assert nnpack.applies(torch.zeros(1, 8, 130, 130), w, (1, 1), (1, 1), 1, (0, 0))
    finally:
        torch.set_num_threads(threads)


def test_auto_picks_nnpack_only_for_eager_fp32_channels_first_cpu_fits_without_avx512(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(nnpack, "available", lambda: True)
    monkeypatch.setattr(nnpack, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert nnpack.resolve_conv_backend("auto", cpu, "fp32", False, False) == "nnpack"
    assert nnpack.resolve_conv_backend("torch", cpu, "fp32", False, False) == "torch"
    threads = torch.get_num_threads()
    try:  # not measured on more than two threads: PyTorch's there, unless asked for
        torch.set_num_threads(nnpack.MAX_AUTO_THREADS + 1)
        assert nnpack.resolve_conv_backend("auto", cpu, "fp32", False, False) == "torch"
        assert nnpack.resolve_conv_backend("nnpack", cpu, "fp32", False, False) == "nnpack"
    finally:
        torch.set_num_threads(threads)
    for args in ((cuda, "fp32", False, False), (cpu, "bf16", False, False), (cpu, "fp32", True, False),
                 (cpu, "fp32", False, True)):
        assert nnpack.resolve_conv_backend("auto", *args) == "torch", args
    with pytest.raises(ConfigError, match="conv_backend: nnpack needs an fp32"):
        nnpack.resolve_conv_backend("nnpack", cpu, "bf16", False, False)
    monkeypatch.setattr(nnpack, "cpu_flags", lambda: frozenset({"avx2", "fma", "avx512f"}))
    assert nnpack.resolve_conv_backend("auto", cpu, "fp32", False, False) == "torch"
    assert nnpack.resolve_conv_backend("nnpack", cpu, "fp32", False, False) == "nnpack"
    monkeypatch.setattr(nnpack, "available", lambda: False)
    assert nnpack.resolve_conv_backend("auto", cpu, "fp32", False, False) == "torch"
    with pytest.raises(ConfigError, match="NNPACK unavailable"):
        nnpack.resolve_conv_backend("nnpack", cpu, "fp32", False, False)


def test_an_unknown_conv_backend_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="conv_backend"):
        get_method("dip")("denoise", conv_backend="winograd")


@needs_nnpack
def test_dip_with_nnpack_records_it_repeats_itself_and_stays_close_to_pytorchs(smooth_rgb):
    task = make_task("denoise", sigma=25)
    obs = task.degrade(task.prepare_gt(smooth_rgb), np.random.default_rng(0))

    def restore(backend):
        return get_method("dip")("denoise", **TINY, conv_backend=backend).restore(obs, RunContext(seed=3))

    fast, again, plain = restore("nnpack"), restore("nnpack"), restore("torch")
    assert (fast.info["conv_backend"], plain.info["conv_backend"]) == ("nnpack", "torch")
    np.testing.assert_array_equal(fast.image, again.image)  # same seed, same CPU: the same result
    assert not np.array_equal(fast.image, plain.image)  # the 64 px scale went through NNPACK
    np.testing.assert_allclose(fast.image, plain.image, atol=1e-3)


def test_the_authors_environment_keeps_pytorchs_convolutions(smooth_rgb):
    task = make_task("denoise", sigma=25)
    obs = task.degrade(task.prepare_gt(smooth_rgb), np.random.default_rng(0))
    dip = get_method("dip")
    assert dip("denoise", environment="authors").resolved_params(obs)["conv_backend"] == "torch"
    assert dip("denoise").resolved_params(obs)["conv_backend"] == "auto"  # resolved per fit, by the device
    assert dip("denoise", environment="authors", conv_backend="nnpack").resolved_params(obs)["conv_backend"] == "nnpack"
