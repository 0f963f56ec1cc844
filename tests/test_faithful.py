"""The authors' environment (docs/protocol.md section 10): profiles/faithful, each DIP switch, backtracking."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from dipbench.errors import ConfigError
from dipbench.methods import RunContext, get_method
from dipbench.methods.dip import backtracking, fit_fused
from dipbench.methods.dip.backtracking import Backtracker
from dipbench.methods.dip.network import Upsample
from dipbench.tasks import make_task

REPO = Path(__file__).resolve().parent.parent
TINY = {"steps": 6, "channels": 8, "scales": 3, "log_every": 2, "input_depth": 4}


def _obs(image, task="denoise", **params):
    t = make_task(task, **params)
    return t.degrade(t.prepare_gt(image), np.random.default_rng(0))


def _profile_config() -> dict:
    """profiles/faithful's ``config:`` entries (``key=value``), as Snakemake passes them."""
    profile = yaml.safe_load((REPO / "profiles" / "faithful" / "config.yaml").read_text())
    return dict(entry.split("=", 1) for entry in profile["config"])


# ------------------------------------------------------------------------------------ profiles/faithful


def _job_record(tmp_path, smooth_rgb, top: dict) -> dict:
    """The run record of a `dipbench job restore` of a tiny DIP denoising job planned with config ``top``."""
    from dipbench.pipeline.jobs import restore_seeds
    from dipbench.pipeline.plan import load_config

    plan = load_config({**top, "smoke": True, "methods": {"dip": {"method": "dip"}},
                        "experiments": {"e": {"task": {"name": "denoise"}, "datasets": ["builtin"],
                                              "methods": ["dip"]}}})
    params = plan.method_params("e", "dip")
    obs_path = tmp_path / "obs.npz"
    _obs(smooth_rgb[:40, :40]).save(obs_path)
    restore_seeds(obs_path, "dip", params, [0], [tmp_path / "run"], device="cpu")
    return json.loads((tmp_path / "run" / "run.json").read_text())


def test_faithful_profile_runs_dip_jobs_in_true_fp32_without_tf32(tmp_path, smooth_rgb):
    before = torch.backends.cudnn.allow_tf32
    assert _profile_config() == {"precision": "fp32", "environment": "authors"}
    record = _job_record(tmp_path, smooth_rgb, _profile_config())
    assert record["precision"] == "fp32"
    assert record["params"]["environment"] == "authors" and record["params"]["tf32"] == "auto"
    # the torch flags the fit ran with, read inside the job
    assert record["info"]["precision_flags"] == {"cuda_matmul_allow_tf32": False, "cudnn_allow_tf32": False,
                                                 "float32_matmul_precision": "highest"}
    resolved = record["info"]["params_resolved"]
    assert (resolved["tf32"], resolved["bn_init"], resolved["align_corners"], resolved["backtrack"]) == (
        False, "uniform", True, "notebook")
    assert record["info"]["rollbacks"] == 0
    assert torch.backends.cudnn.allow_tf32 == before  # the process's settings are back after the fit


def test_without_the_profile_dip_jobs_keep_pytorchs_tf32_default(tmp_path, smooth_rgb):
    record = _job_record(tmp_path, smooth_rgb, {})
    assert record["params"]["environment"] == "current"
    assert record["info"]["precision_flags"]["cudnn_allow_tf32"] is torch.backends.cudnn.allow_tf32
    resolved = record["info"]["params_resolved"]
    assert (resolved["tf32"], resolved["bn_init"], resolved["align_corners"], resolved["backtrack"]) == (
        "auto", "default", False, "off")
    assert "rollbacks" not in record["info"]


def test_a_labels_own_switch_beats_the_profiles_environment():
    from dipbench.pipeline.plan import load_config

    plan = load_config({**_profile_config(), "methods": {"d": {"method": "dip", "params": {"environment": "current"}}},
                        "experiments": {"e": {"task": {"name": "denoise"}, "datasets": ["builtin"],
                                              "methods": ["d", "bm3d"]}}})
    assert plan.method_params("e", "d")["environment"] == "current"
    assert "environment" not in plan.method_params("e", "bm3d")


# ------------------------------------------------------------------------------------------- switches


@pytest.mark.parametrize("key, value", [("environment", "paper"), ("tf32", "no"), ("bn_init", "ones"),
                                        ("align_corners", "yes"), ("backtrack", "always"), ("steps", "nb")])
def test_bad_switch_values_are_refused_in_one_line(key, value):
    with pytest.raises(ConfigError, match=f"'{key}' is '{value}'"):
        get_method("dip")("denoise", **{key: value})


def test_bn_init_uniform_draws_batchnorm_weights_from_u01(smooth_rgb):
    obs = _obs(smooth_rgb)
    for environment, switch in (("authors", "auto"), ("current", "uniform")):
        dip = get_method("dip")("denoise", **TINY, environment=environment, bn_init=switch)
        params = dip.resolved_params(obs)
        assert params["bn_init"] == "uniform" and dip.params_record(params)["bn_init"] == "uniform"
        weights = torch.cat([m.weight.detach() for m in dip.seeded_network(params, 3, 0).modules()
                             if isinstance(m, torch.nn.BatchNorm2d)])
        assert weights.min() >= 0 and weights.max() < 1 and weights.std() > 0.1
    today = get_method("dip")("denoise", **TINY)
    weights = [m.weight for m in today.seeded_network(today.resolved_params(obs), 3, 0).modules()
               if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(bool((w == 1).all()) for w in weights)


def test_align_corners_reaches_every_bilinear_upsampling(smooth_rgb):
    obs = _obs(smooth_rgb)
    for environment, expected in (("authors", True), ("current", False)):
        dip = get_method("dip")("denoise", **TINY, environment=environment)
        params = dip.resolved_params(obs)
        ups = [m for m in dip.build_network(params, 3).modules() if isinstance(m, Upsample)]
        assert len(ups) == 3 and all(m.mode == "bilinear" and m.align_corners is expected for m in ups)
        assert dip.params_record(params)["align_corners"] is expected


def test_steps_choice_names_the_paper_and_the_notebook(smooth_rgb):
    obs = _obs(smooth_rgb)
    steps = lambda **p: get_method("dip")("denoise", **p).resolved_params(obs)["steps"]  # noqa: E731
    assert steps() == 1800 and steps(steps="paper") == 1800                       # the paper's text
    assert steps(steps="notebook") == 3000 and steps(environment="authors") == 3000  # denoising.ipynb
    assert steps(environment="authors", steps="paper") == 1800 and steps(steps=77) == 77
    sr = _obs(smooth_rgb, "sr", scale=4)
    assert get_method("dip")("sr", steps="notebook").resolved_params(sr)["steps"] == 2000  # no difference there
    dip = get_method("dip")("denoise", steps="notebook")
    assert dip.params_record(dip.resolved_params(obs))["steps"] == 3000


def test_table1_inpainting_final_input_is_the_perturbed_z_in_the_authors_environment(gray_image):
    obs = _obs(gray_image, "inpaint")
    resolve = lambda **p: get_method("dip")("inpaint", **p).resolved_params(obs)["final_input"]  # noqa: E731
    assert resolve() == "clean" and resolve(environment="authors") == "perturbed"
    assert get_method("dip")("denoise", environment="authors").resolved_params(_obs(gray_image))["final_input"] == \
        "perturbed"
    runs = {f: get_method("dip")("inpaint", **TINY, final_input=f).restore(obs, RunContext(seed=3))
            for f in ("clean", "perturbed")}
    # the same fit (same losses), a different final forward pass
    np.testing.assert_array_equal(runs["clean"].curve["loss"], runs["perturbed"].curve["loss"])
    assert np.abs(runs["clean"].image - runs["perturbed"].image).max() > 1e-4
    assert runs["perturbed"].info["params_resolved"]["final_input"] == "perturbed"


# --------------------------------------------------------------------------------------- backtracking


def _fit_state(runs=1, width=2):
    """A parameter of ``runs`` fused runs (first dimension runs x width) with Adam state after one step."""
    p = torch.nn.Parameter(torch.arange(runs * width * 3, dtype=torch.float32).view(runs * width, 3))
    optimizer = torch.optim.Adam([p], lr=0.1)
    p.grad = torch.ones_like(p)
    optimizer.step()
    return p, optimizer


def _scramble(p, optimizer, value):
    with torch.no_grad():
        p.fill_(value)
        optimizer.state[p]["exp_avg"].fill_(value)


def test_backtracking_restores_weights_and_adam_moments_after_a_drop_of_more_than_5_db():
    p, optimizer = _fit_state()
    tracker = Backtracker(optimizer, runs=1)
    assert tracker.check(50, [1e-3]) == []  # 30 dB: the first check saves
    good, moment = p.detach().clone(), optimizer.state[p]["exp_avg"].clone()
    _scramble(p, optimizer, 7.0)
    assert tracker.check(100, [1e-3 * 10 ** 0.51]) == [0]  # 24.9 dB: a drop of 5.1 dB
    torch.testing.assert_close(p.detach(), good, rtol=0, atol=0)
    torch.testing.assert_close(optimizer.state[p]["exp_avg"], moment, rtol=0, atol=0)
    assert tracker.record(0) == {"rollbacks": 1, "rollback_steps": [100]}


def test_backtracking_does_nothing_for_a_drop_within_5_db():
    p, optimizer = _fit_state()
    tracker = Backtracker(optimizer, runs=1)
    tracker.check(50, [1e-3])
    _scramble(p, optimizer, 7.0)
    assert tracker.check(100, [1e-3 * 10 ** 0.49]) == []  # 4.9 dB down: kept, and saved as the new good state
    assert bool((p == 7).all())
    _scramble(p, optimizer, 9.0)
    assert tracker.check(150, [1e-3 * 10 ** 0.49 * 10 ** 0.51]) == [0]  # 5.1 dB below the *last good* check
    assert bool((p == 7).all()) and bool((optimizer.state[p]["exp_avg"] == 7).all())
    assert tracker.record(0)["rollbacks"] == 1


def test_each_fused_run_rolls_back_on_its_own():
    p, optimizer = _fit_state(runs=2)
    tracker = Backtracker(optimizer, runs=2)
    tracker.check(50, [1e-3, 1e-3])
    saved = p.detach().clone()
    _scramble(p, optimizer, 7.0)
    assert tracker.check(100, [1e-3, 1e-2]) == [1]  # run 1 drops by 10 dB, run 0 does not
    torch.testing.assert_close(p.detach()[2:], saved[2:], rtol=0, atol=0)  # run 1's rows restored
    assert bool((p[:2] == 7).all())  # run 0 keeps its new weights
    assert [tracker.record(k)["rollbacks"] for k in (0, 1)] == [0, 1]


def test_backtracking_in_the_dip_loop_checks_at_the_logging_steps(smooth_rgb, monkeypatch):
    obs = _obs(smooth_rgb[:40, :40])
    off = get_method("dip")("denoise", **TINY).restore(obs, RunContext(seed=1))
    on = get_method("dip")("denoise", **TINY, backtrack="notebook").restore(obs, RunContext(seed=1))
    # a tiny fit's PSNR against the noisy image never drops by 5 dB: nothing is restored
    assert on.info["rollbacks"] == 0 and on.info["params_resolved"]["backtrack"] == "notebook"
    np.testing.assert_array_equal(on.image, off.image)
    # a threshold every check misses: each check after the first (steps 2, 4, 6) rolls back
    monkeypatch.setattr(backtracking, "DROP_DB", -100.0)
    forced = get_method("dip")("denoise", **TINY, backtrack="notebook").restore(obs, RunContext(seed=1))
    assert forced.info["rollback_steps"] == [4, 6]
    assert np.abs(forced.image - off.image).max() > 1e-4
    fused = fit_fused([obs, obs], {**TINY, "backtrack": "notebook"}, seeds=[1, 2])
    assert [r.info["rollback_steps"] for r in fused] == [[4, 6], [4, 6]]


# ------------------------------------------------------------------------------ the ablation benchmark


def _ablation():
    import importlib
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module("fidelity_ablation")
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_ablation_pairs_each_variant_with_the_baseline_seed_by_seed():
    ablation = _ablation()
    base = [{"psnr": p, "rollbacks": 0, "seconds": 1.0, "steps": 10} for p in (30.0, 28.0, 29.0)]
    variant = [{"psnr": p, "rollbacks": r, "seconds": 2.0, "steps": 17} for p, r in ((30.5, 1), (28.1, 0), (29.3, 2))]
    row = ablation.summarise("bn_init", variant, base)
    assert row["mean_psnr"] == pytest.approx(29.3)
    assert row["seed_std"] == pytest.approx(np.std([30.5, 28.1, 29.3], ddof=1))
    assert row["diff_mean"] == pytest.approx(0.3) and row["diff_std"] == pytest.approx(np.std([0.5, 0.1, 0.3], ddof=1))
    assert (row["rollbacks"], row["steps"]) == (3, 17)


def test_ablation_runs_tiny_and_says_tf32_is_na_on_cpu(capsys):
    ablation = _ablation()
    try:
        ablation.observation("house", 40)
    except Exception as exc:  # no dataset mirror or cache on this machine
        pytest.skip(f"dip_denoise9 not available: {exc}")
    assert ablation.main(["--size", "40", "--steps", "3", "--seeds", "2", "--variants", "bn_init", "tf32"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hardware: ") and "the authors' published noisy input" in out
    assert "| baseline | 3 |" in out and "| bn_init | 3 |" in out
    assert ("| tf32 | 3 |" if torch.cuda.is_available() else "| tf32 | | n/a on CPU |") in out


def test_the_workflows_eta_counts_the_named_step_choices():
    from dipbench.pipeline.eta import planned_steps

    denoise = make_task("denoise")
    assert planned_steps({"steps": "auto"}, denoise) == 1800
    assert planned_steps({"steps": "auto", "environment": "authors"}, denoise) == 3000
    assert planned_steps({"steps": "notebook"}, denoise) == 3000 and planned_steps({"steps": "paper"}, denoise) == 1800
    assert planned_steps({"steps": 12}, denoise) == 12 and planned_steps({}, denoise) == 1
