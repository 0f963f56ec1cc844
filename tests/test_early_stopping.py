import numpy as np
import pytest
import torch

from dipbench.errors import ConfigError
from dipbench.methods import RunContext, get_method
from dipbench.methods.dip.early_stopping import WindowedVariance, es_settings
from dipbench.tasks import make_task

TINY = {"steps": 6, "channels": 8, "scales": 3, "log_every": 2, "input_depth": 4}


def _window_variances(xs: np.ndarray, window: int) -> np.ndarray:
    """Brute force: VAR(t) = mean over the window of ||x_i - mean||^2 / numel, for t >= window."""
    out = []
    for t in range(window, len(xs) + 1):
        block = xs[t - window : t].astype(np.float64)
        out.append(((block - block.mean(axis=0)) ** 2).sum(axis=(0, 2)) / (window * xs.shape[2]))
    return np.array(out)


def test_running_sums_match_the_windowed_variance():
    rng = np.random.default_rng(0)
    steps, runs, numel, window = 40, 2, 50, 7
    # outputs near 0.5 with a slowly shrinking spread: the regime where naive float32 sums cancel
    xs = (0.5 + rng.normal(size=(steps, runs, numel)) * np.linspace(0.02, 0.001, steps)[:, None, None])
    xs = xs.astype(np.float32)
    es = WindowedVariance(runs, numel, window=window, patience=1000)
    got = []
    for t in range(steps):
        es.update(t + 1, torch.from_numpy(xs[t]), torch.from_numpy(xs[t]))
        if es.ready:
            got.append(es.last_var.numpy().copy())
    want = _window_variances(xs, window)
    np.testing.assert_allclose(np.array(got), want, rtol=1e-5)


def test_remembers_the_minimum_and_stops_after_patience():
    window, patience = 3, 5
    es = WindowedVariance(1, 4, window=window, patience=patience)
    # the spread of the outputs shrinks until step 10, then grows: the minimum window ends at step 10
    spread = [abs(10 - t) + 1.0 for t in range(1, 31)]
    rng = np.random.default_rng(1)
    stopped_at = None
    for t in range(1, 31):
        x = torch.from_numpy((rng.normal(size=(1, 4)) * spread[t - 1] * 1e-2).astype(np.float32))
        es.update(t, x, torch.full((1, 2), float(t)))
        if t % 2 == 0 and es.check(t):
            stopped_at = t
            break
    best = int(es.best_step[0])
    assert 9 <= best <= 12
    assert float(es.best[0, 0]) == best  # the remembered output is the one of the best step
    assert stopped_at == es.stop_step[0] and stopped_at - best >= patience and stopped_at - best < patience + 2


def test_runs_stop_independently():
    es = WindowedVariance(2, 3, window=2, patience=3)
    for t in range(1, 12):
        # run 0: constant outputs (variance 0 from the start, no new minimum); run 1: ever smaller steps
        x = torch.tensor([[0.5, 0.5, 0.5], [1.0 / t, 0.0, 0.0]])
        es.update(t, x, x)
        es.check(t)
    assert es.stop_step[0] == 5 and es.stop_step[1] == 0
    assert bool(es.active[1]) and not bool(es.active[0])


def test_settings_validation():
    assert es_settings(None) is None and es_settings(False) is None
    assert es_settings(True) == {"window": 100, "patience": 1000, "stop": True}
    assert es_settings({"patience": 50}) == {"window": 100, "patience": 50, "stop": True}
    with pytest.raises(ConfigError, match="unknown key"):
        es_settings({"windw": 3})
    with pytest.raises(ConfigError, match="integer"):
        es_settings({"window": 0})


def _obs(image):
    task = make_task("denoise", sigma=25)
    return task.degrade(task.prepare_gt(image), np.random.default_rng(0))


@pytest.mark.parametrize("output, column", [("last", "psnr"), ("ema", "psnr_ema")])
def test_dip_es_records_stop_and_oracle_gap(smooth_rgb, output, column):
    obs = _obs(smooth_rgb)
    params = {**TINY, "steps": 40, "early_stopping": {"window": 4, "patience": 6}, "output": output}
    method = get_method("dip_es")("denoise", **params)
    result = method.restore(obs, RunContext(seed=0))
    info = result.info
    assert {"stop_step", "es_step", "es_stopped", "output_psnr", "oracle_peak_psnr", "oracle_peak_step",
            "es_gap_db"} <= set(info)
    assert info["es_step"] <= info["stop_step"] <= 40 and info["es_stopped"]
    assert info["steps_run"] == info["stop_step"] and len(result.curve) == info["steps_run"]
    # with early stopping the oracle PSNR is recorded at every step, so the peak is exact
    assert result.curve[column].notna().all() and result.curve["es_var"].notna().sum() > 0
    # the returned image is the output (ES-WMV's default) or the EMA at the chosen step, and the gap is
    # measured against the peak of that same sequence
    at_es = result.curve.loc[result.curve["step"] == info["es_step"], column].item()
    assert info["output_psnr"] == pytest.approx(at_es, abs=1e-4)
    assert info["es_gap_db"] == pytest.approx(info["oracle_peak_psnr"] - info["output_psnr"])
    assert info["es_gap_db"] >= -1e-4


def test_dip_es_defaults_and_dip_without_es(smooth_rgb):
    assert get_method("dip_es")("denoise").params["early_stopping"] == {"window": 100, "patience": 1000, "stop": True}
    assert get_method("dip")("denoise").params["early_stopping"] is None
    # a window longer than the run: no minimum yet, the run returns its ordinary output
    result = get_method("dip_es")("denoise", **TINY).restore(_obs(smooth_rgb), RunContext(seed=0))
    assert result.info["es_step"] == 6 and result.info["stop_step"] == 6 and not result.info["es_stopped"]
    assert get_method("dip_es")("denoise").params["output"] == "last"
    plain = get_method("dip")("denoise", **TINY, output="last").restore(_obs(smooth_rgb), RunContext(seed=0))
    np.testing.assert_array_equal(result.image, plain.image)
    assert "es_step" not in plain.info and plain.info["stop_step"] == 6


def test_stop_false_runs_to_the_fixed_count_and_keeps_the_choice(smooth_rgb):
    obs = _obs(smooth_rgb)
    params = {**TINY, "steps": 30, "early_stopping": {"window": 3, "patience": 4}}
    stopping = get_method("dip_es")("denoise", **params).restore(obs, RunContext(seed=0))
    params["early_stopping"] = {**params["early_stopping"], "stop": False}
    full = get_method("dip_es")("denoise", **params).restore(obs, RunContext(seed=0))
    assert stopping.info["es_stopped"] and stopping.info["steps_run"] == stopping.info["stop_step"] < 30
    assert full.info["steps_run"] == 30 and len(full.curve) == 30
    assert full.info["es_step"] == stopping.info["es_step"]
    assert full.info["stop_step"] == stopping.info["stop_step"]
    np.testing.assert_array_equal(full.image, stopping.image)
