import numpy as np
import pytest
import torch

from dipbench.errors import ConfigError, ImageError
from dipbench.metrics import psnr
from dipbench.tasks import Observation, make_task
from dipbench.tasks.inpaint import mask_from_masked


def _apply(task, obs, image):
    x = torch.as_tensor(image).permute(2, 0, 1)[None]
    return task.operator(obs)(x)[0].permute(1, 2, 0).numpy()


def test_denoise_noise_level_and_operator(smooth_rgb):
    task = make_task("denoise", sigma=25, clip=False)
    obs = task.degrade(smooth_rgb, np.random.default_rng(0))
    residual = obs.y - _apply(task, obs, smooth_rgb)
    assert residual.std() == pytest.approx(25 / 255, rel=0.05)
    clipped = make_task("denoise", sigma=25).degrade(smooth_rgb, np.random.default_rng(0))
    assert clipped.y.min() >= 0 and clipped.y.max() <= 1


def test_sr_operator_matches_lanczos_lr(smooth_rgb):
    task = make_task("sr", scale=4)
    gt = task.prepare_gt(np.pad(smooth_rgb, ((0, 3), (0, 2), (0, 0)), mode="edge"))
    assert gt.shape[:2] == (64, 64)
    obs = task.degrade(gt, np.random.default_rng(0))
    assert obs.y.shape == (16, 16, 3) and obs.output_shape == (64, 64, 3)
    simulated = _apply(task, obs, obs.target.slice(gt))
    # PIL's Lanczos LR and the Lanczos-2 operator are close but not identical filters (as in the paper).
    assert psnr(obs.y, simulated) > 30


def test_sr_bicubic_lr_and_bad_params(smooth_rgb):
    obs = make_task("sr", scale=4, lr_kernel="bicubic", crop_multiple=4).degrade(smooth_rgb, np.random.default_rng(0))
    assert obs.y.shape == (16, 16, 3)
    with pytest.raises(ConfigError):
        make_task("sr", scale=4, crop_multiple=6)
    with pytest.raises(ConfigError):
        make_task("sr", scale=4, lr_kernel="box")
    with pytest.raises(ImageError):
        make_task("sr", scale=4).degrade(smooth_rgb[:20, :20], np.random.default_rng(0))


def test_inpaint_operator_equals_degradation(gray_image):
    task = make_task("inpaint", keep=0.5)
    obs = task.degrade(gray_image, np.random.default_rng(1))
    np.testing.assert_array_equal(_apply(task, obs, gray_image), obs.y)
    assert obs.mask.mean() == pytest.approx(0.5, abs=0.05)
    np.testing.assert_array_equal(mask_from_masked(obs.y, gray_image)[obs.mask > 0], 1)


def test_inpaint_mask_size_mismatch_is_clear(gray_image):
    with pytest.raises(ImageError, match="does not match"):
        make_task("inpaint").degrade(gray_image, np.random.default_rng(0), mask=np.ones((10, 10, 1)))


def test_unknown_task_and_parameter():
    with pytest.raises(ConfigError, match="unknown task 'deblur'"):
        make_task("deblur")
    with pytest.raises(ConfigError, match="unknown parameter"):
        make_task("denoise", sigmaa=3)


def test_observation_round_trip(tmp_path, gray_image):
    obs = make_task("inpaint").degrade(gray_image, np.random.default_rng(0))
    obs.dataset, obs.image, obs.seed = "d", "i", 3
    obs.save(tmp_path / "o.npz")
    back = Observation.load(tmp_path / "o.npz")
    np.testing.assert_array_equal(back.y, obs.y)
    np.testing.assert_array_equal(back.mask, obs.mask)
    assert (back.task, back.target, back.dataset, back.image, back.seed) == ("inpaint", obs.target, "d", "i", 3)
