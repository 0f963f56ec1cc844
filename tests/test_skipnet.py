import pytest
import torch

from dipbench.methods.dip.network import SkipNet, count_parameters, grouped_cat


def test_paper_network_parameter_count():
    assert count_parameters(SkipNet(in_channels=32, out_channels=3)) == 2_217_831


@pytest.mark.parametrize("size", [(64, 64), (70, 45)])
def test_output_shape_and_range(size):
    net = SkipNet(in_channels=4, out_channels=1, down=(8,) * 3, up=(8,) * 3, skip=(2,) * 3)
    out = net(torch.rand(1, 4, *size))
    assert out.shape == (1, 1, *size)
    assert (out > 0).all() and (out < 1).all()


def test_full_network_output_shape():
    out = SkipNet()(torch.rand(1, 32, 64, 96))
    assert out.shape == (1, 3, 64, 96)


def test_bn_uniform_init_and_too_small_input():
    net = SkipNet(in_channels=2, out_channels=3, down=(4,) * 2, up=(4,) * 2, skip=(1,) * 2, bn_init="uniform")
    weights = torch.cat([m.weight for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert not torch.all(weights == 1) and weights.min() >= 0 and weights.max() <= 1
    with pytest.raises(ValueError, match="too small"):
        net(torch.rand(1, 2, 2, 2))


def test_grouped_cat_keeps_groups_contiguous():
    a = torch.arange(4.).view(1, 4, 1, 1)        # groups of 2: [0,1], [2,3]
    b = torch.arange(10., 16.).view(1, 6, 1, 1)  # groups of 3: [10,11,12], [13,14,15]
    out = grouped_cat([a, b], groups=2).flatten().tolist()
    assert out == [0, 1, 10, 11, 12, 2, 3, 13, 14, 15]


def test_checkpointing_gives_same_gradients():
    torch.manual_seed(0)
    kwargs = dict(in_channels=4, out_channels=3, down=(8,) * 3, up=(8,) * 3, skip=(2,) * 3)
    plain = SkipNet(**kwargs)
    ckpt = SkipNet(**kwargs, checkpointing=True)
    ckpt.load_state_dict(plain.state_dict())
    z = torch.rand(1, 4, 32, 32)
    plain(z).square().mean().backward()
    ckpt(z).square().mean().backward()
    for p, q in zip(plain.parameters(), ckpt.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_grouped_network_keeps_groups_apart():
    torch.manual_seed(0)
    kwargs = dict(in_channels=2, out_channels=3, down=(4,) * 2, up=(4,) * 2, skip=(1,) * 2)
    net = SkipNet(**kwargs, groups=2)
    z = torch.rand(1, 4, 16, 16)
    out = net(z)
    changed = z.clone()
    changed[:, 2:] = torch.rand(1, 2, 16, 16)  # only group 1's input changes
    out2 = net(changed)
    torch.testing.assert_close(out2[:, :3], out[:, :3])
    assert not torch.allclose(out2[:, 3:], out[:, 3:])


def test_grouped_cat_keeps_channels_last():
    a = torch.rand(1, 4, 6, 6).contiguous(memory_format=torch.channels_last)
    b = torch.rand(1, 6, 8, 8).contiguous(memory_format=torch.channels_last)
    for groups in (1, 2):
        out = grouped_cat([a, b], groups)
        assert out.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(out, grouped_cat([a.contiguous(), b.contiguous()], groups))


def test_channels_last_network_matches_channels_first():
    # float64: the two layouts run different CPU kernels, whose fp32 rounding differs between CPUs
    torch.manual_seed(0)
    kwargs = dict(in_channels=4, out_channels=3, down=(8,) * 3, up=(8,) * 3, skip=(2,) * 3)
    plain = SkipNet(**kwargs).double()
    fast = SkipNet(**kwargs).double().to(memory_format=torch.channels_last)
    fast.load_state_dict(plain.state_dict())
    z = torch.rand(1, 4, 32, 32, dtype=torch.float64)
    plain(z).square().mean().backward()
    fast(z.contiguous(memory_format=torch.channels_last)).square().mean().backward()
    for p, q in zip(plain.parameters(), fast.parameters()):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-5, rtol=1e-3)


def test_output_layer_stays_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    net = SkipNet(in_channels=4, out_channels=3, down=(8,) * 3, up=(8,) * 3, skip=(2,) * 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.rand(1, 4, 32, 32))
    assert out.dtype == torch.float32
    # not rounded to bf16's 8 significant bits
    assert not torch.equal(out, out.to(torch.bfloat16).float())


@pytest.mark.parametrize("pad", [(1, 1, 1, 1), (2, 2, 2, 2), (0, 0, 1, 1), (3, 1, 2, 0)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_reflection_pad_backward_equals_pytorchs(pad, channels_last):
    import torch.nn.functional as F

    from dipbench.methods.dip.padding import reflection_pad2d

    x = torch.rand(2, 5, 9, 11, dtype=torch.float64)
    x = (x.contiguous(memory_format=torch.channels_last) if channels_last else x).requires_grad_()
    expected = F.pad(x, pad, mode="reflect")
    grad = torch.rand_like(expected)
    (want,) = torch.autograd.grad(expected, x, grad)
    got_out = reflection_pad2d(x, pad)
    (got,) = torch.autograd.grad(got_out, x, grad)
    assert torch.equal(got_out, expected)
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
    assert got.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_channels_last_network_stays_channels_last_through_the_merges():
    """At N = 1 PyTorch's upsampling returns a batch stride that made ``torch.cat`` fall back to
    channels-first, so every merge BatchNorm / padding / convolution ran channels-first (slow backward)."""
    torch.manual_seed(0)
    net = SkipNet(in_channels=4, out_channels=3, down=(8,) * 3, up=(8,) * 3, skip=(2,) * 3)
    net = net.to(memory_format=torch.channels_last)
    layouts = []
    for module in net.modules():
        if hasattr(module, "merge"):
            module.merge[0].register_forward_hook(lambda m, i, o: layouts.append(i[0].stride(1) == 1))
    net(torch.rand(1, 4, 32, 32).contiguous(memory_format=torch.channels_last)).mean().backward()
    assert layouts == [True] * 3


def test_reflection_pad_keeps_bf16_under_autocast():
    """CPU autocast runs reflection_pad2d in fp32; the padding here stays in its input's dtype (exact)."""
    import torch.nn.functional as F

    from dipbench.methods.dip.padding import reflection_pad2d

    x = torch.rand(1, 4, 8, 8).to(torch.bfloat16).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert F.pad(x, (1, 1, 1, 1), mode="reflect").dtype == torch.float32  # what it replaces
        padded = reflection_pad2d(x, (1, 1, 1, 1))
    assert padded.dtype == torch.bfloat16
    torch.testing.assert_close(padded.float(), F.pad(x.float(), (1, 1, 1, 1), mode="reflect"), atol=0, rtol=0)
    padded.float().sum().backward()
    assert x.grad.dtype == torch.bfloat16
