import numpy as np
import pytest

from dipbench.errors import ConfigError, DivergenceError
from dipbench.methods import RunContext, get_method
from dipbench.methods.dip import paper_settings
from dipbench.metrics import psnr
from dipbench.tasks import make_task

# fp32: these tests compare code paths that agree exactly only in fp32 (DIP defaults to precision auto)
TINY = {"steps": 6, "channels": 8, "scales": 3, "log_every": 2, "input_depth": 4, "precision": "fp32"}


def _obs(task, image, **params):
    t = make_task(task, **params)
    return t.degrade(t.prepare_gt(image), np.random.default_rng(0))


def test_paper_settings_per_task():
    assert paper_settings("denoise", {"sigma": 25}) == {
        "steps": 1800, "lr": 0.01, "reg_noise_std": 1 / 30, "output": "ema", "final_input": "perturbed", "pad_input": 0,
        "network": "default", "input": "noise", "input_depth": 32, "input_scale": 0.1}
    assert paper_settings("denoise", {"sigma": 50})["reg_noise_std"] == 1 / 20
    assert paper_settings("sr", {"scale": 4})["steps"] == 2000
    assert paper_settings("sr", {"scale": 8}) | {} == {**paper_settings("sr", {"scale": 8}), "steps": 4000,
                                                       "reg_noise_std": 0.05}
    inpaint = paper_settings("inpaint", {"keep": 0.5})
    assert (inpaint["lr"], inpaint["steps"], inpaint["pad_input"], inpaint["final_input"]) == (0.001, 11000, 1, "clean")


def test_tasks_know_nothing_of_dip_and_every_builtin_task_has_dip_settings():
    import subprocess
    import sys

    from dipbench.methods.dip import settings
    from dipbench.tasks import Task, available_tasks

    assert not any(hasattr(cls, "dip_settings") for cls in (Task, *available_tasks().values()))
    for name in available_tasks():
        assert settings.has_dip_settings(name), name
    # registering settings for a plugin task imports no torch
    code = ("import sys; from dipbench.methods.dip.settings import register_dip_settings; "
            "register_dip_settings('x', {'steps': 5}); print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_registered_dip_settings_resolve_the_auto_parameters(smooth_rgb):
    from dipbench.methods.dip.settings import _REGISTRY, register_dip_settings

    with pytest.raises(ConfigError, match="unknown key.*'step'"):
        register_dip_settings("denoise", {"step": 5})
    saved = _REGISTRY["denoise"]
    try:
        register_dip_settings("denoise", lambda params: {**saved(params), "lr": params["sigma"] / 1000})
        assert paper_settings("denoise", {"sigma": 20})["lr"] == 0.02
        obs = _obs("denoise", smooth_rgb, sigma=20)
        dip = get_method("dip")("denoise", **{**TINY, "lr": "auto"})
        assert dip.resolved_params(obs)["lr"] == 0.02
        register_dip_settings("denoise", {"network": "default"})  # no steps, lr, ...: asked for by name
        with pytest.raises(ConfigError, match="no DIP paper setting for .*lr.*register_dip_settings"):
            get_method("dip")("denoise", **{**TINY, "lr": "auto"}).resolved_params(obs)
    finally:
        _REGISTRY["denoise"] = saved


@pytest.mark.parametrize("task, params", [("denoise", {}), ("sr", {"scale": 4}), ("inpaint", {})])
def test_dip_runs_each_task_and_records_curve(smooth_rgb, task, params):
    obs = _obs(task, smooth_rgb, **params)
    result = get_method("dip")(task, **TINY).restore(obs, RunContext(seed=3))
    assert result.image.shape == obs.output_shape
    assert result.image.min() >= 0 and result.image.max() <= 1
    curve = result.curve
    assert list(curve["step"]) == list(range(1, 7)) and curve["loss"].notna().all()
    assert curve["psnr"].notna().sum() == 3  # steps 2, 4, 6 (oracle)
    assert result.info["params_resolved"]["steps"] == 6


def test_dip_gray_inpainting_uses_one_channel(gray_image):
    obs = _obs("inpaint", gray_image)
    result = get_method("dip")("inpaint", **TINY).restore(obs, RunContext(seed=0))
    assert result.image.shape == (64, 64, 1)


def test_same_seed_same_result_on_cpu(smooth_rgb):
    obs = _obs("denoise", smooth_rgb)
    method = get_method("dip")("denoise", **TINY)
    a = method.restore(obs, RunContext(seed=11))
    b = method.restore(obs, RunContext(seed=11))
    c = method.restore(obs, RunContext(seed=12))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.curve["loss"], b.curve["loss"])
    assert not np.array_equal(a.image, c.image)


def test_dip_fits_the_observation(smooth_rgb):
    # Not a quality claim, only that optimisation works: 40 steps move the output towards the image.
    obs = _obs("denoise", smooth_rgb, sigma=10)
    params = {**TINY, "steps": 40, "output": "last", "reg_noise_std": 0.0}
    result = get_method("dip")("denoise", **params).restore(obs, RunContext(seed=0))
    assert result.curve["loss"].iloc[-1] < 0.5 * result.curve["loss"].iloc[0]
    assert psnr(smooth_rgb, result.image) > 15


def test_nan_raises_divergence(smooth_rgb):
    obs = _obs("denoise", smooth_rgb)
    obs.y[0, 0, 0] = np.nan
    with pytest.raises(DivergenceError, match="diverged"):
        get_method("dip")("denoise", **TINY).restore(obs, RunContext(seed=0))


def test_bad_parameters_are_config_errors():
    with pytest.raises(ConfigError, match="unknown parameter"):
        get_method("dip")("denoise", stepz=3)
    with pytest.raises(ConfigError, match="does not support"):
        get_method("bicubic")("denoise")
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        get_method("nope")


def test_dip_refuses_input_padding_for_upscaling_and_the_task_names_no_method(smooth_rgb):
    """SR's operator takes no padding: DIP (and its variants) refuse ``pad_input`` before any job starts."""
    with pytest.raises(ConfigError, match="dip: pad_input is not supported for sr"):
        get_method("dip")("sr", pad_input=1)
    with pytest.raises(ConfigError, match="dip_tv: pad_input is not supported for sr"):
        get_method("dip_tv").resolve_params("sr", {"pad_input": 2})
    assert get_method("dip").resolve_params("inpaint", {"pad_input": 1})["pad_input"] == 1
    assert get_method("dip").resolve_params("sr", {"pad_input": 0})["pad_input"] == 0
    obs = _obs("sr", smooth_rgb, scale=4)
    with pytest.raises(ConfigError, match="sr: the super-resolution operator takes no input padding") as error:
        make_task("sr", scale=4).operator(obs, pad=1)
    assert "dip" not in str(error.value).lower()


def test_channels_last_on_cpu_is_close_to_the_default(smooth_rgb):
    obs = _obs("denoise", smooth_rgb)
    plain = get_method("dip")("denoise", **TINY).restore(obs, RunContext(seed=2))
    fast = get_method("dip")("denoise", **TINY, channels_last=True).restore(obs, RunContext(seed=2))
    assert not plain.info["channels_last"] and fast.info["channels_last"]
    np.testing.assert_allclose(fast.image, plain.image, atol=1e-3)


def test_runs_record_oracle_peak_and_time(smooth_rgb):
    result = get_method("dip")("denoise", **TINY).restore(_obs("denoise", smooth_rgb), RunContext(seed=0))
    info = result.info
    assert info["stop_step"] == 6 and info["oracle_peak_step"] in (2, 4, 6)
    assert info["oracle_peak_psnr"] >= info["output_psnr"] and info["oracle_gap_db"] >= 0
    assert result.curve["time_s"].notna().sum() == 3  # wall time at each logging step


def test_out_of_memory_names_the_options(smooth_rgb, monkeypatch):
    from dipbench.methods.dip import DIPOutOfMemoryError
    from dipbench.methods.dip.network import SkipNet

    def fail(self, z):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(SkipNet, "forward", fail)
    with pytest.raises(DIPOutOfMemoryError, match=r"checkpointing: true.*precision: bf16"):
        get_method("dip")("denoise", **TINY).restore(_obs("denoise", smooth_rgb), RunContext(seed=0))


def test_other_runtime_errors_pass_through(smooth_rgb, monkeypatch):
    from dipbench.methods.dip.network import SkipNet

    def fail(self, z):
        raise RuntimeError("something else")

    monkeypatch.setattr(SkipNet, "forward", fail)
    with pytest.raises(RuntimeError, match="something else"):
        get_method("dip")("denoise", **TINY).restore(_obs("denoise", smooth_rgb), RunContext(seed=0))


def test_benchmark_reference_loop_computes_what_dip_computes(smooth_rgb):
    """benchmarks/dip_speed.py's reference-equivalent loop and dipbench's DIP run the same trajectory at
    fp32 (same network, init and noise draws); the benchmark then times only what the loops do besides."""
    import importlib.util
    from pathlib import Path

    import torch

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "dip_speed.py"
    spec = importlib.util.spec_from_file_location("dip_speed", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    obs = _obs("denoise", smooth_rgb)
    device = torch.device("cpu")
    ref = bench.reference_run(obs, TINY, 4, device)
    fast = bench.dipbench_run(obs, TINY, 4, device)
    assert abs(ref["psnr"] - fast["psnr"]) < 1e-4
