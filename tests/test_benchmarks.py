"""benchmarks/: the hardware description, the GPU check's stop on a CPU machine, a tiny speed-mode run.

``dip_speed.py --quick`` itself (about a minute) is not run here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
NO_CUDA_LINE = "gpu_check: no CUDA device (torch.cuda.is_available() is False); run this on a GPU machine"
FLAGS = {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHON": sys.executable, "PYTHONUNBUFFERED": "1"}


def test_hardware_description_on_this_cpu():
    from dipbench.methods import precision as prec

    hardware = _load("hardware")
    info = hardware.describe("cpu", "auto")
    assert isinstance(info["cpu_model"], str) and info["cpu_model"]
    assert isinstance(info["logical_cores"], int) and info["logical_cores"] >= 1
    assert info["torch_threads"] == torch.get_num_threads()
    assert set(info["cpu_flags"]) == FLAGS
    assert all(isinstance(value, bool) for value in info["cpu_flags"].values())
    assert info["torch"] == torch.__version__
    assert info["precision_resolved"] == prec.resolve_precision("auto", "cpu")
    assert info["gpu_name"] is None and info["compute_capability"] is None
    line = hardware.hardware_line(info)
    assert line.startswith("hardware: cpu")
    assert info["cpu_model"] in line
    for flag, present in info["cpu_flags"].items():
        assert f"{flag} {'present' if present else 'absent'}" in line
    assert f"precision auto -> {info['precision_resolved']}" in line
    assert hardware.describe("cpu", "fp32")["precision_resolved"] == "fp32"


def test_fixed_work_from_one_and_k_step_runs(monkeypatch):
    dip_speed = _load("dip_speed")
    fixed, per_step, steps = 0.2, 0.1, dip_speed.QUICK_STEPS
    monkeypatch.setattr(dip_speed, "dipbench_run", lambda obs, params, seed, device: {
        "seconds": fixed + params["steps"] * per_step})
    work = dip_speed.fixed_work(None, {"steps": steps}, [0, 1], torch.device("cpu"),
                                [fixed + steps * per_step] * 2, steps)
    assert work["fixed_seconds"] == pytest.approx(fixed)
    assert work["per_step_seconds"] == pytest.approx(per_step)
    assert work["percent_of_timed"] == pytest.approx(100 * fixed / (fixed + steps * per_step))
    assert f"{dip_speed.QUICK_SIZE} px, {dip_speed.QUICK_STEPS} steps" in dip_speed.__doc__


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: gpu_check.sh would run the check")
def test_gpu_check_stops_without_cuda(tmp_path):
    out = tmp_path / "gpu results"  # a space: the path must travel quoted
    done = subprocess.run(["bash", str(BENCHMARKS / "gpu_check.sh"), str(out)], cwd=tmp_path, env=_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert done.returncode == 2, done.stdout
    assert NO_CUDA_LINE in lines, done.stdout
    hardware = [i for i, line in enumerate(lines) if line.startswith("hardware: ")]
    assert hardware and hardware[0] < lines.index(NO_CUDA_LINE), done.stdout
    assert not out.exists()  # nothing written before the check


def test_tiny_speed_run_prints_hardware_and_last_line(tmp_path):
    summary_path = tmp_path / "speed.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "dip_speed.py"), "--size", "64", "--steps", "2",
                           "--seeds", "0", "--json", str(summary_path)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("hardware: cpu"), done.stdout
    assert re.fullmatch(r"speedup=\d+\.\d{3} psnr_gap_db=-?\d+\.\d{4}", lines[-1]), lines[-1]
    assert any(line.startswith("fixed per-run work: ") and "% of the timed part" in line for line in lines)
    summary = json.loads(summary_path.read_text())
    assert set(summary["hardware"]["cpu_flags"]) == FLAGS
    assert summary["hardware"]["cpu_model"] and summary["hardware"]["logical_cores"] >= 1
    assert summary["hardware"]["precision_resolved"] == summary["dipbench"]["precision"]
    assert summary["fixed_work"]["steps"] == 2


def test_peak_estimate_raises_the_cpuinfo_clock_to_what_a_measured_product_needs(monkeypatch):
    """The EPYC of this project: cpuinfo 2.60 GHz, a one-thread bf16 product of 500 GFLOP/s (>= 3.9 GHz)."""
    peak = _load("peak")
    monkeypatch.setattr(peak, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    monkeypatch.setattr(peak, "cpu_ghz", lambda: 2.6)
    rates = {"fp32": 110.0, "bf16": 500.0}
    monkeypatch.setattr(peak, "gemm_gflops", lambda precision, threads: rates[precision] * threads)
    cpu = torch.device("cpu")
    bf16, note = peak.estimated_peak_gflops(cpu, "bf16", 1)
    assert bf16 == pytest.approx(500.0) and "needs >= 3.91 GHz" in note
    fp32, _ = peak.estimated_peak_gflops(cpu, "fp32", 1)
    assert fp32 == pytest.approx(500.0 / 128 * 64)  # the core's clock, whichever precision shows it
    assert peak.estimated_peak_gflops(cpu, "bf16", 1, measure=False)[0] == pytest.approx(2.6 * 128)
    rates.update(bf16=200.0, fp32=50.0)  # a busy machine: the products fall below the cpuinfo clock
    assert peak.estimated_peak_gflops(cpu, "bf16", 1)[0] == pytest.approx(2.6 * 128)


def test_size_sweep_and_loop_variants_run_and_tabulate(tmp_path):
    dip_speed = _load("dip_speed")
    assert dip_speed.sweep_steps(dip_speed.QUICK_SIZE) == dip_speed.QUICK_STEPS
    assert dip_speed.sweep_steps(64) == 96 and dip_speed.sweep_steps(512) == 4
    done = subprocess.run([sys.executable, str(BENCHMARKS / "dip_speed.py"), "--sweep", "--sweep-sizes", "40",
                           "--sweep-steps", "2"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r"40px=\d+\.\d\dx/\d+%", lines[-1]), lines[-1]
    assert any(re.match(r"\s+40\s+2\s+\d", line) for line in lines), done.stdout
    summary_path = tmp_path / "variants.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "dip_speed.py"), "--mode", "variants", "--size", "40",
                           "--steps", "4", "--seeds", "0", "--json", str(summary_path)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    variants = json.loads(summary_path.read_text())["variants"]
    assert variants["default"]["adam"] == "loop" and variants["adam-fused"]["adam"] == "fused"  # CPU: default Adam
    assert all(v["compile"] == "off" and v["steady_ms_per_step"] > 0 for v in variants.values())


def _gpu_check_tabulation() -> str:
    """The Python that gpu_check.sh runs at its end to tabulate OUT/*.json (its last heredoc)."""
    script = (BENCHMARKS / "gpu_check.sh").read_text()
    return script.rsplit("<<'PY'\n", 1)[1].split("\nPY\n", 1)[0]


def test_paper_projection_of_a_tiny_config_and_its_gpu_check_table(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(
        f"results: {tmp_path / 'results'}\ndevice: cpu\nprotocols: [dip_paper]\n"
        "methods:\n  dip: {display: DIP}\n  bicubic: {display: bicubic}\n"
        "experiments:\n  sr_x4:\n    task: {name: sr, scale: 4}\n    datasets: [builtin]\n    image_size: 64\n"
        "    methods: [bicubic, dip]\n    params:\n      dip: {steps: 50, log_every: 25}\n")
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run([sys.executable, str(BENCHMARKS / "paper_projection.py"), "--config", str(config),
                           "--probe-steps", "4", "--device", "cpu", "--json", str(out / "projection.json")],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    projection = json.loads((out / "projection.json").read_text())
    dip = next(r for r in projection["rows"] if r["label"] == "dip")
    runs = len(datasets_builtin_images())
    assert dip["runs"] == runs and dip["planned_steps"] == 50 * runs and dip["s_per_step"] > 0
    # every dip run has the probe's image size: fixed + 50 steps x the probe's rate each
    assert dip["projected_s"] == pytest.approx(runs * (dip["fixed_s"] + 50 * dip["s_per_step"]))
    assert done.stdout.strip().splitlines()[-1] == f"projected_hours={projection['projected_s'] / 3600:.3f}"
    # gpu_check.sh's table from it (the other checks' files absent)
    (out / "status.tsv").write_text("projection\t0\t1.0\t3.5\n")
    table = subprocess.run([sys.executable, "-c", _gpu_check_tabulation(), str(out)], capture_output=True,
                           text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "| projection | full config on this GPU, one job at a time (h) |" in table.stdout
    assert "| projection | seconds | 2.5 |" in table.stdout


def datasets_builtin_images() -> list[str]:
    from dipbench.datasets import registry

    return registry.image_names("builtin")


def test_conv_backends_prints_the_hardware_and_a_ratio_per_shape(monkeypatch, capsys):
    from dipbench.methods.dip import nnpack

    conv_backends = _load("conv_backends")
    monkeypatch.setattr(conv_backends, "SHAPES", [(6, 8, 32), (8, 8, 16)])
    status = conv_backends.main(["--repeats", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("hardware: cpu")
    if not nnpack.available():
        assert status == 2 and "no usable NNPACK" in lines[-1]
        return
    assert status == 0
    assert re.match(r"  6 ->   8 at  32 px: torch +\d+\.\d\d ms  nnpack +\d+\.\d\d ms  \d+\.\d\dx  "
                    r"\(largest relative difference \d\.\de-\d\d\)", lines[1]), lines[1]
    # the relative difference printed is Winograd's rounding, not a wrong convolution
    assert all(float(line.rsplit(" ", 1)[1].rstrip(")")) < 1e-4 for line in lines[1:3])
    assert re.fullmatch(r"all shapes: torch \d+\.\d ms, nnpack \d+\.\d ms: \d+\.\d\dx", lines[-1]), lines[-1]
