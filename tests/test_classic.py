"""Classical baselines (dipbench.methods.classic) and MATLAB-style bicubic resizing (dipbench.imaging.resize)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dipbench.errors import ConfigError, MissingDependencyError
from dipbench.methods.base import RunContext
from dipbench.methods.classic import BM3D, NLM, TV, Bicubic, Input, NoPrior, optimise_pixels
from dipbench.imaging.resize import cubic, imresize_matlab, resize_matrix
from dipbench.tasks import Observation, make_task


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def smooth_image(size: int, channels: int = 3) -> np.ndarray:
    """A smooth synthetic image: low-frequency sinusoids and a soft disc, values inside [0.1, 0.9]."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    planes = []
    for c in range(channels):
        wave = 0.5 + 0.25 * np.sin(2 * np.pi * (xx * (1 + c) + 0.5 * yy)) * np.cos(2 * np.pi * yy * 0.7)
        disc = 0.15 * (np.hypot(xx - 0.5, yy - 0.45) < 0.25)
        planes.append(wave + disc - 0.05)
    return np.clip(np.stack(planes, axis=2), 0.1, 0.9).astype(np.float32)


def observe(task: str, gt: np.ndarray, seed: int = 0, **params) -> Observation:
    t = make_task(task, **params)
    return t.degrade(t.prepare_gt(gt), np.random.default_rng(seed))


SR_PARAMS = {"scale": 4, "crop_multiple": 4}

# (method class, task, task params)
CASES = [
    (Input, "denoise", {"sigma": 25}),
    (Input, "inpaint", {}),
    (Bicubic, "sr", SR_PARAMS),
    (BM3D, "denoise", {"sigma": 25}),
    (NLM, "denoise", {"sigma": 25}),
    (TV, "denoise", {"sigma": 25}),
    (TV, "sr", SR_PARAMS),
    (TV, "inpaint", {}),
    (NoPrior, "sr", SR_PARAMS),
    (NoPrior, "inpaint", {}),
]


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("cls,task,task_params", CASES, ids=[f"{c.name}-{t}" for c, t, _ in CASES])
def test_smoke_shapes(cls, task, task_params, channels):
    obs = observe(task, smooth_image(32, channels), **task_params)
    params = cls.resolve_params(task, {}, smoke=True)
    out = cls(task, **params).restore(obs, RunContext(seed=3))
    assert out.image.shape == obs.output_shape == (32, 32, channels)
    assert out.image.dtype == np.float32
    assert np.all(np.isfinite(out.image))
    assert out.image.min() >= 0.0 and out.image.max() <= 1.0


def test_every_method_declares_version_and_known_smoke_keys():
    for cls in (Input, Bicubic, BM3D, NLM, TV, NoPrior):
        assert cls.version == "1"
        for task in cls.tasks:
            params = cls.resolve_params(task, {}, smoke=True)
            assert set(params) == set(cls.resolve_params(task, {}))


def test_unsupported_task_and_unknown_param():
    with pytest.raises(ConfigError):
        BM3D("sr")
    with pytest.raises(ConfigError):
        Input("sr")
    with pytest.raises(ConfigError):
        NLM("denoise", h=0.1)
    with pytest.raises(ConfigError):
        NoPrior("sr", tv_weight=1e-7)  # no_prior has no TV weight to set


@pytest.fixture(scope="module")
def denoise_obs() -> Observation:
    return observe("denoise", smooth_image(64), seed=1, sigma=25)


@pytest.mark.parametrize("cls", [BM3D, NLM, TV], ids=["bm3d", "nlm", "tv"])
def test_denoisers_improve_psnr(cls, denoise_obs):
    out = cls("denoise").restore(denoise_obs, RunContext())
    before, after = psnr(denoise_obs.y, denoise_obs.gt), psnr(out.image, denoise_obs.gt)
    assert after > before + 5.0, (before, after)


def test_denoisers_gray():
    obs = observe("denoise", smooth_image(64, 1), seed=2, sigma=25)
    for cls in (BM3D, NLM, TV):
        out = cls("denoise").restore(obs, RunContext())
        assert out.image.shape == (64, 64, 1)
        assert psnr(out.image, obs.gt) > psnr(obs.y, obs.gt) + 4.0, cls.name


def test_missing_sigma_is_config_error(denoise_obs):
    obs = Observation("denoise", {}, denoise_obs.y, denoise_obs.target, gt=denoise_obs.gt)
    for cls in (BM3D, NLM, TV):
        with pytest.raises(ConfigError, match="sigma"):
            cls("denoise").restore(obs, RunContext())


def test_missing_bm3d_package(monkeypatch, denoise_obs):
    monkeypatch.setitem(sys.modules, "bm3d", None)
    with pytest.raises(MissingDependencyError, match="bm3d"):
        BM3D("denoise").restore(denoise_obs, RunContext())


def test_bm3d_bad_profile_or_colorspace_is_config_error(denoise_obs):
    with pytest.raises(ConfigError, match="colorspace"):
        BM3D("denoise", colorspace="lab").restore(denoise_obs, RunContext())
    with pytest.raises(ConfigError, match="profile"):
        BM3D("denoise", profile="fast").restore(denoise_obs, RunContext())


# ----------------------------------------------------------------------------------------- bicubic


def test_bicubic_kernels_agree_in_the_interior():
    obs = observe("sr", smooth_image(64), **SR_PARAMS)
    matlab = Bicubic("sr").restore(obs, RunContext()).image
    pil = Bicubic("sr", kernel="pil").restore(obs, RunContext()).image
    assert matlab.shape == pil.shape == (64, 64, 3)
    # both are Keys a = -0.5 upsampling; only the border handling differs
    np.testing.assert_allclose(matlab[8:-8, 8:-8], pil[8:-8, 8:-8], atol=1e-4)
    assert psnr(matlab, obs.gt) > 25.0
    with pytest.raises(ConfigError):
        Bicubic("sr", kernel="lanczos").restore(obs, RunContext())


# ----------------------------------------------------------------------------------- pixel optimisation


def test_tv_prior_sr_improves_over_the_lr():
    gt = smooth_image(64)
    obs = observe("sr", gt, **SR_PARAMS)
    nearest = np.repeat(np.repeat(obs.y, 4, axis=0), 4, axis=1)
    out = TV("sr", steps=300).restore(obs, RunContext(seed=0))
    assert psnr(out.image, obs.gt) > psnr(nearest, obs.gt) + 1.0
    curve = out.curve
    assert list(curve.columns) == ["step", "loss", "psnr"] and len(curve) == 300
    assert curve["loss"].iloc[-1] < curve["loss"].iloc[0]
    logged = curve.dropna(subset=["psnr"])
    assert list(logged["step"]) == [100, 200, 300]
    assert logged["psnr"].iloc[-1] == pytest.approx(psnr(out.image, obs.gt), abs=1e-3)


def test_pixel_optimisation_is_seeded():
    obs = observe("sr", smooth_image(32), **SR_PARAMS)
    a = NoPrior("sr", steps=3).restore(obs, RunContext(seed=5)).image
    b = NoPrior("sr", steps=3).restore(obs, RunContext(seed=5)).image
    c = NoPrior("sr", steps=3).restore(obs, RunContext(seed=6)).image
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_tv_inpainting_fills_holes_and_no_prior_does_not():
    obs = observe("inpaint", smooth_image(48, 1), seed=4)
    missing = obs.mask[..., 0] == 0
    tv = TV("inpaint", steps=300).restore(obs, RunContext(seed=0)).image
    none = NoPrior("inpaint", steps=300).restore(obs, RunContext(seed=0)).image
    assert psnr(tv, obs.gt) > psnr(obs.y, obs.gt) + 10.0
    assert none[missing].max() <= 0.1 + 1e-6  # untouched U(0, 0.1) init at the missing pixels
    np.testing.assert_allclose(none[~missing], obs.gt[~missing], atol=0.02)


def test_observed_init_needs_a_mask():
    obs = observe("sr", smooth_image(32), **SR_PARAMS)
    with pytest.raises(ConfigError):
        optimise_pixels(obs, RunContext(), steps=1, lr=0.01, tv_weight=0.0, init="observed")


# -------------------------------------------------------------------------------------- imresize


def test_imresize_constant_stays_constant():
    image = np.full((13, 17, 3), 0.37)
    for scale in (0.25, 1 / 3, 0.5, 0.75, 1.5, 2, 4):
        out = imresize_matlab(image, scale)
        assert out.shape == (int(np.ceil(13 * scale)), int(np.ceil(17 * scale)), 3)
        np.testing.assert_allclose(out, 0.37, atol=1e-12)


def test_imresize_matrix_rows_sum_to_one():
    for n, scale in ((17, 0.125), (5, 0.25), (40, 0.5), (9, 3.0)):
        np.testing.assert_allclose(resize_matrix(n, scale).sum(axis=1), 1.0, atol=1e-12)


def test_imresize_ramp_interior_is_exact():
    # Cubic convolution reproduces linear functions, so away from the borders a ramp maps to the ramp
    # sampled at the output centres u = i / s + (1 - 1 / s) / 2 (1-based), for down- and upscaling.
    ramp = np.tile(np.arange(1, 41, dtype=np.float64), (6, 1))
    for scale in (0.5, 0.25, 2.0, 4.0):
        out = imresize_matlab(ramp, scale)
        i = np.arange(1, out.shape[1] + 1)
        expected = i / scale + 0.5 * (1 - 1 / scale)
        margin = int(np.ceil(2 / min(scale, 1.0) * max(scale, 1.0))) + 1
        np.testing.assert_allclose(out[0, margin:-margin], expected[margin:-margin], atol=1e-12)


def test_imresize_half_interior_weights_are_the_stretched_cubic():
    # For scale 1/2 an interior output i (1-based) sits at u = 2 i - 0.5; the taps at input pixels
    # j = u - 3.5 ... u + 3.5 have distances +-0.5, +-1.5, +-2.5, +-3.5 and weight cubic(d / 2), normalised.
    matrix = resize_matrix(32, 0.5)
    i = 8
    u = 2 * i - 0.5
    taps = np.arange(int(u - 3.5), int(u + 3.5) + 1)  # 1-based pixels 12 ... 19
    weights = cubic((u - taps) / 2)
    weights /= weights.sum()
    np.testing.assert_allclose(matrix[i - 1, taps - 1], weights, atol=1e-15)
    assert np.count_nonzero(matrix[i - 1]) == 8
    # the numbers themselves: cubic(0.25), cubic(0.75), cubic(1.25), cubic(1.75) over their sum 2
    np.testing.assert_allclose(weights[:4][::-1], [0.43359375, 0.11328125, -0.03515625, -0.01171875])


def test_imresize_matlab_reference_4x4():
    # imresize(reshape(1:16, 4, 4)', 0.5) in MATLAB; derived by hand from the weights above with symmetric
    # borders: the 1-D resize of [1 2 3 4] is [1.4609375, 3.5390625] (= 187/128, 453/128).
    image = np.arange(1, 17, dtype=np.float64).reshape(4, 4)
    expected = np.array([[3.3046875, 5.3828125], [11.6171875, 13.6953125]])
    np.testing.assert_allclose(imresize_matlab(image, 0.5), expected, atol=1e-12)


def test_imresize_dtype_and_layouts():
    rng = np.random.default_rng(0)
    rgb = rng.random((20, 24, 3)).astype(np.float32)
    out = imresize_matlab(rgb, 0.25)
    assert out.dtype == np.float32 and out.shape == (5, 6, 3)
    gray = imresize_matlab(rgb[..., 1].astype(np.float64), 0.25)
    assert gray.dtype == np.float64 and gray.shape == (5, 6)
    np.testing.assert_allclose(out[..., 1], gray, atol=1e-6)
    # a kernel wider than the image still works (periodic mirroring)
    assert imresize_matlab(rgb[:3, :3], 0.125).shape == (1, 1, 3)
    with pytest.raises(ValueError):
        imresize_matlab(rgb[None], 0.5)
