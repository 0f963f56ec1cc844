import numpy as np
import pytest
import torch

from dipbench.methods import precision as prec
from dipbench.errors import ConfigError
from dipbench.methods import RunContext, get_method
from dipbench.tasks import make_task

TINY = {"steps": 4, "channels": 8, "scales": 3, "log_every": 2, "input_depth": 4}


def test_resolve_precision(monkeypatch):
    assert prec.resolve_precision("fp32", "cpu") == "fp32"
    assert prec.resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ConfigError, match="precision"):
        prec.resolve_precision("fp16", "cpu")
    # auto: bf16 only where it is native *and* listed as measured to keep the numbers
    monkeypatch.setattr(prec, "_cpu_flags", lambda: frozenset({"avx512f"}))
    monkeypatch.setattr(prec, "BF16_AUTO_KINDS", frozenset({"cpu-bf16"}))
    assert not prec.native_bf16("cpu") and prec.resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(prec, "_cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert prec.native_bf16("cpu") and prec.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(prec, "BF16_AUTO_KINDS", frozenset())
    assert prec.resolve_precision("auto", "cpu") == "fp32"


def _obs(image):
    task = make_task("denoise", sigma=25)
    return task.degrade(task.prepare_gt(image), np.random.default_rng(0))


def test_dip_records_the_precision_it_ran(smooth_rgb):
    obs = _obs(smooth_rgb)
    bf16 = get_method("dip")("denoise", **TINY, precision="bf16").restore(obs, RunContext(seed=0))
    assert bf16.info["precision"] == "bf16" and "precision_requested" not in bf16.info
    assert np.isfinite(bf16.image).all()
    auto = get_method("dip")("denoise", **TINY, precision="auto").restore(obs, RunContext(seed=0))
    assert auto.info["precision"] == prec.resolve_precision("auto", "cpu")
    assert auto.info["precision_requested"] == "auto"
    fp32 = get_method("dip")("denoise", **TINY).restore(obs, RunContext(seed=0))
    if auto.info["precision"] == "fp32":
        np.testing.assert_array_equal(auto.image, fp32.image)
    # bf16 rounds the network's activations: close to fp32 after a few steps, not equal
    assert np.abs(bf16.image - fp32.image).max() < 0.05


def test_bad_precision_is_a_config_error(smooth_rgb):
    with pytest.raises(ConfigError, match="precision"):
        get_method("dip")("denoise", **TINY, precision="fp16").restore(_obs(smooth_rgb), RunContext(seed=0))


def test_autocast_context_is_disabled_for_fp32():
    with prec.autocast("fp32", "cpu"):
        assert not torch.is_autocast_enabled("cpu")
    with prec.autocast("bf16", "cpu"):
        assert torch.is_autocast_enabled("cpu")


def test_dip_defaults_to_auto_and_the_config_can_force_fp32():
    from dipbench.pipeline.plan import load_config

    def config(**top):
        return {**top, "methods": {"fast": {"method": "dip"}, "own": {"method": "dip", "params": {"precision": "bf16"}}},
                "experiments": {"e": {"task": {"name": "denoise"}, "datasets": ["builtin"],
                                      "methods": ["fast", "own", "bm3d"]}}}

    assert get_method("dip").defaults["precision"] == "auto"
    plan = load_config(config())
    assert plan.method_params("e", "fast")["precision"] == "auto"
    faithful = load_config(config(precision="fp32"))
    assert faithful.method_params("e", "fast")["precision"] == "fp32"
    assert faithful.method_params("e", "own")["precision"] == "bf16"  # a label's own setting wins
    assert "precision" not in faithful.method_params("e", "bm3d")
    with pytest.raises(ConfigError, match="precision"):
        load_config(config(precision="fp16"))


def test_tables_say_which_rows_ran_in_bf16():
    import pandas as pd

    from dipbench.report.tables import metric_table

    rows = [{"experiment": "e", "dataset": "d", "label": label, "method": label, "image": image, "seed": 0,
             "psnr": 30.0 + i, "precision": precision, "task": "denoise", "protocol": "dip_paper"}
            for i, (label, precision) in enumerate([("dip", "bf16"), ("bm3d", "fp32")]) for image in ("a", "b")]
    table = metric_table(pd.DataFrame(rows), "e", "d")
    assert any("Precision: dip (bf16)" in note for note in table.notes)
    fp32_only = metric_table(pd.DataFrame([r for r in rows if r["label"] == "bm3d"]), "e", "d")
    assert not any(note.startswith("Precision") for note in fp32_only.notes)


def test_tf32_mode_sets_true_fp32_inside_and_restores_the_process_settings():
    before = prec.tf32_flags()
    with prec.tf32_mode(False) as flags:
        assert flags == prec.tf32_flags() == {"cuda_matmul_allow_tf32": False, "cudnn_allow_tf32": False,
                                              "float32_matmul_precision": "highest"}
    assert prec.tf32_flags() == before
    with prec.tf32_mode(True) as flags:
        assert (flags["cuda_matmul_allow_tf32"], flags["cudnn_allow_tf32"]) == (True, True)
        assert flags["float32_matmul_precision"] == "high"
    assert prec.tf32_flags() == before
    with prec.tf32_mode("auto") as flags:  # touches nothing
        assert flags == before
    with pytest.raises(ConfigError, match="tf32"):
        with prec.tf32_mode("off"):
            pass
