"""The DIP family (dipbench/methods/family): structural facts of each method's stated configuration, and
short smoke fits on tiny images (few steps, <= 64 px)."""

import numpy as np
import pytest

from dipbench.methods.dip import paper_settings
import torch

from dipbench.errors import ConfigError
from dipbench.methods import RunContext, get_method
from dipbench.methods.dip.network import SkipNet, count_parameters
from dipbench.methods.family.deep_decoder import DeepDecoderNet
from dipbench.methods.family.dip_sgld import first_sample_step
from dipbench.methods.family.dip_tv import total_variation
from dipbench.methods.family.dip_variant import DIP_LOOP_ONLY
from dipbench.methods.family.zs_n2n import ZSN2NNet, pair_downsample, zs_n2n_loss
from dipbench.tasks import make_task

FAMILY = ("deep_decoder", "dip_tv", "dip_sgld", "zs_n2n")
TASK_PARAMS = {"denoise": {"sigma": 25}, "sr": {"scale": 4}, "inpaint": {"keep": 0.5}}
# fp32 so that runs compare exactly (the methods default to precision auto)
TINY_DIP = {"steps": 6, "channels": 8, "scales": 3, "log_every": 2, "input_depth": 4, "precision": "fp32"}


def smoke_tasks(cls):
    """The tasks a method is smoke-tested on: those it names; the DIP variants (``any_task``) denoise, sr, inpaint."""
    return cls.tasks or (tuple(TASK_PARAMS) if cls.any_task else ())


def _obs(task, image, **params):
    t = make_task(task, **{**TASK_PARAMS[task], **params})
    return t.degrade(t.prepare_gt(image), np.random.default_rng(0))


def _smoke(name, task, **overrides):
    cls = get_method(name)
    return cls(task, **{**cls.resolve_params(task, {}, smoke=True), "precision": "fp32", **overrides})


# ---------------------------------------------------------------------------------------------- registry


def test_family_is_registered_with_what_the_workflow_needs():
    for name in FAMILY:
        cls = get_method(name)
        assert cls.uses_gpu and cls.version == "1" and cls.description
        assert "precision" in cls.defaults
        for task in smoke_tasks(cls):
            cls.resolve_params(task, {}, smoke=True)
    assert all(get_method("deep_decoder").supports(task) for task in ("denoise", "sr", "inpaint"))
    assert get_method("zs_n2n").supports("denoise") and not get_method("zs_n2n").supports("jpeg")
    with pytest.raises(ConfigError, match="does not support"):
        get_method("zs_n2n")("sr")


def test_parameters_are_checked():
    with pytest.raises(ConfigError, match="tv_norm"):
        get_method("dip_tv")("denoise", tv_norm="l3")
    with pytest.raises(ConfigError, match="tv_weight"):
        get_method("dip_tv")("denoise", tv_weight=-1.0)
    with pytest.raises(ConfigError, match="unknown parameter"):
        get_method("dip_sgld")("denoise", early_stopping={"window": 2})
    with pytest.raises(ConfigError, match="layers"):
        get_method("deep_decoder")("denoise", layers=0)
    with pytest.raises(ConfigError, match="no sample after burn_in"):
        get_method("dip_sgld")("denoise", steps=7000, burn_in=7000)


# ---------------------------------------------------------------------------------------------- deep decoder


def test_deep_decoder_parameter_count_and_layout():
    # The authors' decodernw(3, [128] * 5): 6 layers of 1x1 convolutions without bias, BatchNorm with affine
    # parameters, a 1x1 output convolution: 6 k^2 + 6 * 2k + 3k.
    net = DeepDecoderNet(3, channels=128, layers=6)
    assert count_parameters(net) == 6 * 128**2 + 12 * 128 + 3 * 128 == 100_224
    assert count_parameters(DeepDecoderNet(3, channels=64, layers=6)) == 25_536
    assert count_parameters(DeepDecoderNet(1, channels=256, layers=6)) == 6 * 256**2 + 12 * 256 + 256
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 7 and all(c.kernel_size == (1, 1) and c.bias is None for c in convs)
    ups = [m for m in net.modules() if isinstance(m, torch.nn.Upsample)]
    assert len(ups) == 5 and all(u.mode == "bilinear" and u.scale_factor == 2 for u in ups)
    kinds = [type(m).__name__ for m in net.body]
    assert kinds[:4] == ["Conv2d", "Upsample", "ReLU", "BatchNorm2d"]
    assert kinds[-3:] == ["Conv2d", "ReLU", "BatchNorm2d"]
    # 512 px -> a 16 x 16 input; sizes that are not multiples of 32 round up (the output is cropped)
    assert net.input_size(512, 512) == (16, 16) and net.input_size(100, 70) == (4, 3)
    with torch.no_grad():
        out = net(torch.rand(1, 128, 4, 3))
    assert out.shape == (1, 3, 128, 96) and 0 < float(out.min()) and float(out.max()) < 1


def test_deep_decoder_defaults_follow_the_authors_notebooks():
    cls = get_method("deep_decoder")
    denoise = cls.resolve_params("denoise", {})
    assert (denoise["channels"], denoise["layers"], denoise["steps"], denoise["lr"], denoise["find_best"]) == (
        128, 6, 1900, 0.01, True)
    inpaint = cls.resolve_params("inpaint", {})
    assert (inpaint["channels"], inpaint["steps"], inpaint["lr"], inpaint["reg_noise_std"],
            inpaint["reg_noise_decay_every"]) == (256, 40000, 0.0025, 0.005, 500)
    sr = cls.resolve_params("sr", {})
    assert (sr["steps"], sr["lr"], sr["find_best"]) == (5000, 0.01, False)


def test_deep_decoder_crops_sizes_that_are_not_multiples(smooth_rgb):
    obs = _obs("denoise", smooth_rgb[:50, :37])
    result = _smoke("deep_decoder", "denoise").restore(obs, RunContext(seed=0))
    assert result.image.shape == (50, 37, 3)
    assert result.info["input_size"] == [13, 10]  # ceil(50 / 4), ceil(37 / 4) for the smoke's 3 layers


def test_deep_decoder_find_best_keeps_the_lowest_training_loss(smooth_rgb):
    obs = _obs("denoise", smooth_rgb[:32, :32])
    result = _smoke("deep_decoder", "denoise", steps=12).restore(obs, RunContext(seed=1))
    losses = result.curve["loss"].to_numpy()
    best = result.info["best_loss"]
    assert np.isclose(losses, best, rtol=1e-6).any() and best <= losses.min() * 1.005 + 1e-12


# ---------------------------------------------------------------------------------------------- DIP-TV


def test_total_variation_of_simple_images():
    flat = torch.full((1, 3, 8, 8), 0.3)
    assert float(total_variation(flat, "anisotropic")) == 0
    assert float(total_variation(flat, "isotropic", eps=0.0)) == 0
    edge = torch.zeros(1, 2, 5, 6)
    edge[..., 3:] = 1.0  # one vertical edge of height 1: 5 rows x 2 channels of |dx| = 1
    assert float(total_variation(edge, "anisotropic")) == 10
    assert float(total_variation(edge, "isotropic", eps=0.0)) == 10
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4) + torch.arange(4.0).view(1, 1, 4, 1)
    # dx = dy = 1 except past the last column / row: 9 interior pixels sqrt(2), 3 + 3 border pixels 1
    assert float(total_variation(ramp, "isotropic", eps=0.0)) == pytest.approx(9 * 2**0.5 + 6)
    assert float(total_variation(ramp, "anisotropic")) == 24


@pytest.mark.parametrize("task", ["denoise", "sr", "inpaint"])
def test_dip_tv_without_tv_is_dip(smooth_rgb, task):
    # DIP-TV reuses DIP's network, input, settings and draws: with tv_weight 0 it is DIP, exactly
    obs = _obs(task, smooth_rgb)
    dip = get_method("dip")(task, **TINY_DIP).restore(obs, RunContext(seed=5))
    tv = get_method("dip_tv")(task, **TINY_DIP, tv_weight=0.0).restore(obs, RunContext(seed=5))
    np.testing.assert_array_equal(tv.image, dip.image)
    np.testing.assert_array_equal(tv.curve["loss"], dip.curve["loss"])
    with_tv = get_method("dip_tv")(task, **TINY_DIP, tv_weight=10.0).restore(obs, RunContext(seed=5))
    assert not np.array_equal(with_tv.image, dip.image)


def test_dip_tv_defaults():
    params = get_method("dip_tv").resolve_params("denoise", {})
    assert (params["tv_weight"], params["tv_norm"], params["tv_eps"]) == (0.02, "isotropic", 1e-8)
    dip = get_method("dip").resolve_params("denoise", {})
    assert all(params[k] == v for k, v in dip.items() if k not in DIP_LOOP_ONLY)


def test_dip_variants_build_dips_network():
    # the paper's skip network: 2,217,831 parameters for 32 input and 3 output channels (docs/protocol.md)
    for name in ("dip_tv", "dip_sgld"):
        method = get_method(name)("denoise")
        params = {**method.params, **paper_settings("denoise", {})}
        assert count_parameters(method.build_network(params, 3)) == 2_217_831
        assert isinstance(method.build_network(params, 3), SkipNet)


# ---------------------------------------------------------------------------------------------- DIP-SGLD


def test_sgld_defaults_and_sample_schedule():
    params = get_method("dip_sgld").resolve_params("denoise", {})
    assert (params["steps"], params["burn_in"], params["sample_every"], params["param_noise_sigma"],
            params["weight_decay"]) == (20000, 7000, 50, 2.0, 5e-8)
    # samples at t = 7050, 7100, ..., 19950 (t > burn-in, t % 50 == 0, t < 20000): 259 outputs averaged
    first = first_sample_step(7000, 50)
    assert first == 7050 and len(range(first, 20000, 50)) == 259
    assert first_sample_step(7001, 50) == 7050 and first_sample_step(6999, 50) == 7000


def test_sgld_without_noise_follows_dips_trajectory(smooth_rgb):
    obs = _obs("denoise", smooth_rgb)
    dip = get_method("dip")("denoise", **TINY_DIP).restore(obs, RunContext(seed=2))
    sgld = get_method("dip_sgld")("denoise", **TINY_DIP, param_noise_sigma=0.0, weight_decay=0.0, burn_in=1,
                                  sample_every=2).restore(obs, RunContext(seed=2))
    np.testing.assert_array_equal(sgld.curve["loss"], dip.curve["loss"])
    assert sgld.info["samples"] == 2  # t = 2 and 4 of t = 0..5
    noisy = get_method("dip_sgld")("denoise", **TINY_DIP, burn_in=1, sample_every=2).restore(obs, RunContext(seed=2))
    assert noisy.info["weight_noise_std"] == pytest.approx(2 * 0.01)
    assert not np.array_equal(noisy.curve["loss"], dip.curve["loss"])


# ---------------------------------------------------------------------------------------------- ZS-N2N


def test_zs_n2n_network_and_downsampler():
    assert count_parameters(ZSN2NNet(3)) == (3 * 48 * 9 + 48) + (48 * 48 * 9 + 48) + (48 * 3 + 3) == 22_275
    assert count_parameters(ZSN2NNet(1)) == 21_313
    net = ZSN2NNet(3)
    kernels = [(m.kernel_size, m.out_channels) for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [((3, 3), 48), ((3, 3), 48), ((1, 1), 3)] and net.act.negative_slope == 0.2
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2).repeat(1, 3, 2, 3)  # 4 x 6
    anti, diag = pair_downsample(x)
    assert anti.shape == diag.shape == (1, 3, 2, 3)
    assert torch.all(anti == 2.5) and torch.all(diag == 2.5)
    odd = torch.arange(25.0).view(1, 1, 5, 5)
    anti, diag = pair_downsample(odd)
    assert anti.shape == (1, 1, 2, 2) and float(anti[0, 0, 0, 0]) == 3.0 and float(diag[0, 0, 0, 0]) == 3.0


def test_zs_n2n_loss_of_a_network_that_predicts_no_noise():
    class Zero(torch.nn.Module):
        def forward(self, x):
            return torch.zeros_like(x)

    y = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    loss, denoised = zs_n2n_loss(Zero(), y)
    y1, y2 = pair_downsample(y)
    # residual 1/2 (|y1 - y2|^2 + |y2 - y1|^2), consistency 0 (denoise-then-downsample is the same)
    assert float(loss) == pytest.approx(float(torch.mean((y1 - y2) ** 2)))
    assert torch.equal(denoised, y)


def test_zs_n2n_defaults():
    params = get_method("zs_n2n").resolve_params("denoise", {})
    assert (params["steps"], params["lr"], params["lr_step"], params["lr_gamma"], params["width"]) == (
        2000, 0.001, 1500, 0.5, 48)


# ---------------------------------------------------------------------------------------------- smoke fits


CASES = [(name, task) for name in FAMILY for task in smoke_tasks(get_method(name))]


@pytest.mark.parametrize("name, task", CASES)
def test_smoke_fit_shape_curve_and_seed(name, task, smooth_rgb):
    obs = _obs(task, smooth_rgb[:32, :32])
    method = _smoke(name, task)
    a = method.restore(obs, RunContext(seed=7))
    assert a.image.shape == obs.output_shape and a.image.dtype == np.float32
    assert np.isfinite(a.image).all() and a.image.min() >= 0 and a.image.max() <= 1
    curve = a.curve
    steps = method.params["steps"]
    assert list(curve["step"]) == list(range(1, steps + 1)) and curve["loss"].notna().all()
    assert curve["psnr"].notna().sum() == steps // 2  # oracle PSNR every log_every = 2 steps
    assert a.info["steps_run"] == steps and a.info["output_psnr"] is not None
    assert a.info["oracle_peak_psnr"] >= a.info["output_psnr"] and a.info["precision"] == "fp32"
    b = method.restore(obs, RunContext(seed=7))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.curve["loss"], b.curve["loss"])
    c = method.restore(obs, RunContext(seed=8))
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("name", FAMILY)
def test_gray_images_and_no_ground_truth(name, gray_image):
    obs = _obs("denoise", gray_image[:32, :32])
    obs.gt = None  # a real noisy image: no oracle columns, no oracle summary
    result = _smoke(name, "denoise").restore(obs, RunContext(seed=0))
    assert result.image.shape == (32, 32, 1)
    assert result.curve["psnr"].isna().all() and result.info["output_psnr"] is None
