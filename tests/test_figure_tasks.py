"""The tasks of the paper's figure experiments: hole inpainting, sparse pixels, JPEG, flash / no-flash and
noise impedance (degradations, inputs, errors), and synthetic masks."""

import io

import numpy as np
import pytest
from PIL import Image

from dipbench.errors import ConfigError, ImageError
from dipbench.imaging.masks import MASK_KINDS, synthetic_mask
from dipbench.methods import RunContext, get_method
from dipbench.tasks import Observation, make_task

TINY_DIP = {"steps": 4, "channels": 8, "scales": 3, "log_every": 2, "precision": "fp32"}


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48] / 48.0
    image = np.stack([xx, yy, 0.5 + 0.3 * np.sin(6 * xx)], axis=2)
    return np.clip(image + 0.02 * rng.standard_normal(image.shape), 0, 1).astype(np.float32)


def _degrade(task, gt, seed=0, **inputs):
    return task.degrade(task.prepare_gt(gt), np.random.default_rng(seed), **inputs)


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_synthetic_masks_are_binary_seeded_and_of_their_kind(kind):
    mask = synthetic_mask(kind, 96, 128, np.random.default_rng(3))
    assert mask.shape == (96, 128, 1) and set(np.unique(mask)) == {0.0, 1.0}
    assert np.array_equal(mask, synthetic_mask(kind, 96, 128, np.random.default_rng(3)))
    holes = 1 - mask.mean()
    assert {"text": 0.03 < holes < 0.2, "region": 0.02 < holes < 0.15, "large_hole": 0.08 < holes < 0.3}[kind]


def test_hole_inpainting_uses_the_given_mask_and_draws_one_without(rgb):
    task = make_task("inpaint_holes", kind="region")
    mask = np.ones((40, 48), np.float32)
    mask[10:20, 12:30] = 0
    obs = _degrade(task, rgb, mask=mask)
    assert np.array_equal(obs.mask[..., 0], mask)
    assert np.all(obs.y[10:20, 12:30] == 0) and np.array_equal(obs.y[0], rgb[0])
    drawn = _degrade(task, rgb)
    assert 0 < drawn.mask.mean() < 1 and obs.gt is not None
    with pytest.raises(ImageError, match="does not match"):
        _degrade(task, rgb, mask=np.ones((8, 8), np.float32))
    with pytest.raises(ConfigError, match="kind must be one of"):
        make_task("inpaint_holes", kind="scribble")
    with pytest.raises(ConfigError, match="needs a mask"):
        task.observe(rgb)


def test_sparse_pixels_keep_the_fraction_with_one_mask_for_all_channels(rgb):
    big = np.tile(rgb, (5, 5, 1))
    obs = _degrade(make_task("sparse"), big)
    assert obs.mask.shape[2] == 1 and abs(obs.mask.mean() - 0.02) < 0.005
    known = obs.mask[..., 0] > 0
    assert np.array_equal(obs.y[known], big[known]) and np.all(obs.y[~known] == 0)


def test_jpeg_simulation_equals_a_pil_roundtrip_and_a_given_jpeg_has_no_ground_truth(rgb):
    obs = _degrade(make_task("jpeg", quality=10), rgb)
    buffer = io.BytesIO()
    Image.fromarray(np.rint(rgb * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=10)
    expected = np.asarray(Image.open(io.BytesIO(buffer.getvalue())), dtype=np.float32) / 255
    assert np.array_equal(obs.y, expected) and obs.gt is not None
    given = _degrade(make_task("jpeg"), rgb)
    assert given.gt is None and np.array_equal(given.y, rgb)
    for bad in (0, 101, 50.5, "high"):
        with pytest.raises(ConfigError, match="quality"):
            make_task("jpeg", quality=bad)


def test_flash_pair_real_and_simulated(rgb):
    task = make_task("flash")
    flash = np.clip(rgb * 1.2, 0, 1)
    real = _degrade(task, rgb, flash=flash)
    assert real.gt is None and np.array_equal(real.y, rgb) and np.array_equal(real.guide, flash)
    simulated = _degrade(task, rgb)
    assert np.array_equal(simulated.gt, rgb) and simulated.guide.shape == rgb.shape
    assert 20 < 255 * np.std(simulated.y - rgb) < 30  # sigma 25, a little less where clipped
    with pytest.raises(ImageError, match="must match"):
        _degrade(task, rgb, flash=flash[:20])
    with pytest.raises(ConfigError, match="--flash"):
        task.observe(rgb)


def test_flash_observation_keeps_its_guide_through_save_and_load(rgb, tmp_path):
    obs = _degrade(make_task("flash"), rgb)
    obs.save(tmp_path / "obs.npz")
    back = Observation.load(tmp_path / "obs.npz")
    assert np.array_equal(back.guide, obs.guide) and np.array_equal(back.gt, obs.gt)


@pytest.mark.parametrize("target", ["image", "noisy", "shuffled", "noise"])
def test_impedance_targets(rgb, target):
    obs = _degrade(make_task("impedance", target=target), rgb, seed=5)
    assert obs.gt is None and obs.y.shape == rgb.shape and 0 <= obs.y.min() and obs.y.max() <= 1
    pixels, original = obs.y.reshape(-1, 3), rgb.reshape(-1, 3)
    if target == "image":
        assert np.array_equal(obs.y, rgb)
    elif target == "shuffled":  # the same colours, elsewhere
        assert not np.array_equal(obs.y, rgb)
        assert np.array_equal(np.sort(pixels.view("f4,f4,f4"), axis=0), np.sort(original.view("f4,f4,f4"), axis=0))
    elif target == "noisy":
        assert 15 < 255 * np.std(obs.y - rgb) < 26
    else:
        assert abs(obs.y.mean() - 0.5) < 0.05 and abs(obs.y.std() - np.sqrt(1 / 12)) < 0.02


@pytest.mark.parametrize("task, params, network, z", [
    ("inpaint_holes", {"kind": "text"}, "text_inpainting", "noise"),
    ("inpaint_holes", {"kind": "region"}, "region_inpainting", "meshgrid"),
    ("inpaint_holes", {"kind": "large_hole"}, "large_holes", "noise"),
    ("sparse", {"keep": 0.3}, "sparse_pixels", "noise"),
    ("jpeg", {"quality": 20}, "jpeg", "noise"),
    ("flash", {}, "flash", "image"),
    ("impedance", {"target": "shuffled"}, "default", "noise"),
])
def test_dip_runs_each_figure_task_with_its_network_and_input(rgb, task, params, network, z):
    obs = _degrade(make_task(task, **params), rgb)
    result = get_method("dip")(task, **TINY_DIP).restore(obs, RunContext(seed=2))
    assert result.image.shape == obs.output_shape and np.isfinite(result.image).all()
    resolved = result.info["params_resolved"]
    assert (resolved["network"], resolved["input"]) == (network, z)


def test_dip_on_flash_starts_from_the_flash_photo(rgb):
    # with lr ~ 0 the network barely moves, so two runs whose guides differ must differ
    obs = _degrade(make_task("flash"), rgb)
    method = get_method("dip")("flash", **{**TINY_DIP, "steps": 1, "lr": 1e-9})
    first = method.restore(obs, RunContext(seed=0)).image
    obs.guide = 1 - obs.guide
    second = method.restore(obs, RunContext(seed=0)).image
    assert not np.allclose(first, second)


def test_baselines_of_the_figure_tasks(rgb):
    jpeg = _degrade(make_task("jpeg", quality=10), rgb)
    tv = get_method("tv")("jpeg").restore(jpeg, RunContext(seed=0))
    assert tv.image.shape == rgb.shape and tv.info["weight"] == pytest.approx(0.7 * 10 / 255)
    flash = _degrade(make_task("flash", sigma=30), rgb)
    assert get_method("tv")("flash").restore(flash, RunContext(seed=0)).info["weight"] == pytest.approx(0.7 * 30 / 255)
    holes = _degrade(make_task("inpaint_holes", kind="large_hole"), rgb)
    filled = get_method("tv")("inpaint_holes", steps=5).restore(holes, RunContext(seed=0)).image
    assert filled.shape == rgb.shape
    assert get_method("input")("flash").restore(flash, RunContext(seed=0)).image.shape == rgb.shape
