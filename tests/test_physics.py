"""Every task's forward model against the degradation that made its observation, for every registered
task and the parameter choices that change the physics: ``operator(gt)`` equals the noiseless observation
to float tolerance (a noisy task's also with its noise switched off, and its residual is the declared
noise), or the task declares the mismatch (``Task.forward_mismatch``) and its size is pinned here."""

import numpy as np
import pytest
import torch

from dipbench.metrics import psnr
from dipbench.tasks import available_tasks, make_task

VARIANTS = {  # the parameter choices that change a task's physics; every other task: its defaults
    "denoise": [{"clip": False}, {"sigma": 5.0}, {"quantize": True}],
    "flash": [{}, {"sigma": 0.0}],
    "sr": [{"scale": s, "lr_kernel": k, "crop_multiple": 12 * s} for s in (2, 3, 4) for k in ("lanczos", "bicubic")],
    "impedance": [{"target": t} for t in ("image", "noisy", "shuffled", "noise")],
    "inpaint_holes": [{"kind": k} for k in ("text", "region", "large_hole")],
    "inversion": [{"weights": "random", "layer": "conv3"}],
    "jpeg": [{"quality": 10}, {"quality": None}],
}


#: PSNR (dB) of the Lanczos-2 operator's output against PIL's Lanczos LR image on this test image, by scale
LANCZOS_MISMATCH_DB = {2: (52.0, 55.0), 3: (37.0, 40.0), 4: (46.5, 49.0)}  # x3 is not a paper setting
#: PSNR (dB) of every other declared mismatch on this test image: the observation against operator(gt), by
#: ``Task.slug`` (measured; a new declared mismatch must be measured and added here)
MISMATCH_DB = {
    "jpeg_quality10": (25.0, 27.5),  # 26.15 dB: PIL's libjpeg quality-10 round trip vs the identity
    "impedance_sigma25_targetshuffled": (10.0, 11.5),  # 10.78 dB: the pixels permuted vs the image
    "impedance_sigma25_targetnoise": (8.4, 9.4),  # 8.93 dB: U(0, 1) noise vs the image
}


class _Noiseless(np.random.Generator):
    """A generator whose normal draws are exactly zero (``Task.noise_std``: tasks draw their noise with
    ``rng.normal``); every other draw (masks, permutations) is a seeded generator's."""

    def normal(self, loc=0.0, scale=1.0, size=None):
        return super().normal(loc, np.zeros_like(np.asarray(scale, dtype=float)), size)


def _cases():
    for name in available_tasks():
        for params in VARIANTS.get(name, [{}]):
            yield pytest.param(name, params, id=f"{name}-{'-'.join(f'{k}{v}' for k, v in params.items()) or 'defaults'}")


def _image(size=72):
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:size, 0:size] / (size - 1.0)
    image = np.stack([0.5 + 0.3 * np.sin(5 * x), 0.5 + 0.3 * np.cos(4 * y), 0.2 + 0.6 * (x + y) / 2], axis=2)
    image[20:44, 24:50] = [0.8, 0.3, 0.2]
    return np.clip(image + rng.normal(0, 0.02, image.shape), 0.05, 0.95).astype(np.float32)


def _apply(task, obs, x):
    with torch.no_grad():
        return task.operator(obs)(torch.as_tensor(np.ascontiguousarray(x)).permute(2, 0, 1)[None]).numpy()


def _observed(task, obs):
    """What the operator's output is compared with (``Task.observed``: the observation, or its features)."""
    with torch.no_grad():
        return task.observed(obs).numpy()


@pytest.mark.parametrize("name,params", list(_cases()))
def test_the_forward_model_is_the_degradation_or_the_mismatch_is_declared(name, params):
    if not available_tasks()[name].__module__.startswith("dipbench."):
        pytest.skip(f"{name}: a task registered by another test")
    task = make_task(name, **params)
    gt = task.prepare_gt(_image())
    obs = task.degrade(gt, np.random.default_rng(0))
    truth = obs.target.slice(gt)
    predicted, observed = _apply(task, obs, truth), _observed(task, obs)
    residual = np.asarray(observed, np.float64) - predicted
    mismatch = task.forward_mismatch()
    if mismatch is not None:
        assert isinstance(mismatch, str) and len(mismatch) > 20
        size_db = psnr(observed[0].transpose(1, 2, 0), np.clip(predicted[0], 0, 1).transpose(1, 2, 0))
        if name == "sr":  # the paper's pairing: PIL Lanczos-3 LR vs the Lanczos-2 conv, pinned at its size
            low, high = LANCZOS_MISMATCH_DB[task.scale]
        else:
            assert task.slug in MISMATCH_DB, f"{task.slug}: a declared mismatch whose size is not pinned"
            low, high = MISMATCH_DB[task.slug]
        assert low < size_db < high, f"{task.slug}: {size_db:.2f} dB"
        return
    if task.noise_std() == 0:
        tolerance = 1e-5 if name != "inversion" else 1e-4 * max(1.0, float(np.abs(predicted).max()))
        np.testing.assert_allclose(observed, predicted if name != "sr" else np.clip(predicted, 0, 1), atol=tolerance)
    else:
        unclipped = (observed > 0) & (observed < 1)
        assert abs(residual[unclipped].mean()) < 4 * task.noise_std() / np.sqrt(unclipped.sum())
        assert residual[unclipped].std() == pytest.approx(task.noise_std(), rel=0.12)
        # the same simulation with the noise switched off: operator(gt) is the observation
        quiet = task.degrade(gt, _Noiseless(np.random.PCG64(0)))
        tolerance = 1e-6 if not task.params.get("quantize") else 0.5 / 255 + 1e-6  # 8-bit rounding
        np.testing.assert_allclose(_observed(task, quiet), _apply(task, quiet, quiet.target.slice(gt)), atol=tolerance)


@pytest.mark.parametrize("name,params", list(_cases()))
def test_a_linear_forward_model_has_its_adjoint(name, params):
    """<A x, v> = <x, A^T v> for random x and v, in float64, padded or not; a nonlinear task has none."""
    if not available_tasks()[name].__module__.startswith("dipbench."):
        pytest.skip(f"{name}: a task registered by another test")
    task = make_task(name, **params)
    obs = task.degrade(task.prepare_gt(_image()), np.random.default_rng(0))
    if not task.linear:
        with pytest.raises(TypeError, match="not linear"):
            task.adjoint(obs)
        return
    generator = torch.Generator().manual_seed(0)
    for pad in ((0, 2) if not task.upscales else (0,)):
        forward, adjoint = task.operator(obs, pad=pad), task.adjoint(obs, pad=pad)
        x = torch.rand((2, obs.channels, obs.target.height + 2 * pad, obs.target.width + 2 * pad),
                       generator=generator, dtype=torch.float64)
        ax = forward(x)
        v = torch.randn(ax.shape, generator=generator, dtype=torch.float64)
        atv = adjoint(v)
        assert atv.shape == x.shape
        assert float((ax * v).sum()) == pytest.approx(float((x * atv).sum()), rel=1e-10)
    if "masked" in task.kinds:  # a mask is its own adjoint
        mask = torch.as_tensor(obs.mask, dtype=torch.float64).permute(2, 0, 1)[None]
        torch.testing.assert_close(task.adjoint(obs)(v[:, :, : mask.shape[2], : mask.shape[3]]),
                                   v[:, :, : mask.shape[2], : mask.shape[3]] * mask)


def test_sr_bicubic_fits_the_bicubic_degradation_exactly_and_lanczos_keeps_the_authors_operator():
    from dipbench.imaging.operators import LanczosDownsampler, MatlabBicubicDownsampler

    gt = _image(96)
    for kernel, kind in (("bicubic", MatlabBicubicDownsampler), ("lanczos", LanczosDownsampler)):
        task = make_task("sr", scale=4, lr_kernel=kernel)
        obs = task.degrade(task.prepare_gt(gt), np.random.default_rng(0))
        assert isinstance(task.operator(obs), kind)
    bicubic = make_task("sr", scale=4, lr_kernel="bicubic")
    obs = bicubic.degrade(bicubic.prepare_gt(gt), np.random.default_rng(0))
    predicted = np.clip(_apply(bicubic, obs, obs.target.slice(gt))[0].transpose(1, 2, 0), 0, 1)
    assert psnr(obs.y, predicted) > 90  # float rounding only
