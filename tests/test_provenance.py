"""Provenance: the code's commit (and dirty flag, or the installed version), the configuration hash and the
hardware, as every run record carries them and the report lists them."""

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from dipbench import __version__, provenance
from dipbench.report.provenance_table import provenance_note, provenance_table

REPO = Path(__file__).resolve().parents[1]


def test_code_version_names_the_checkout_commit_and_whether_it_is_dirty():
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    status = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True)
    provenance.code_version.cache_clear()  # read now, beside the git calls above (it is cached per process)
    version = provenance.code_version()
    assert version["git_commit"] == head.stdout.strip()
    assert version["git_dirty"] is bool(status.stdout.strip())
    assert version["dipbench_version"] == __version__


def test_code_version_outside_a_checkout_is_the_installed_version(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "_SOURCE", tmp_path / "dipbench")
    provenance.code_version.cache_clear()
    try:
        assert provenance.code_version() == {"git_commit": None, "git_dirty": None, "dipbench_version": __version__}
    finally:
        provenance.code_version.cache_clear()


def test_config_hash_ignores_key_order_and_sees_every_value():
    a = {"task": {"name": "denoise", "sigma": 25}, "seeds": [0, 1]}
    b = {"seeds": [0, 1], "task": {"sigma": 25, "name": "denoise"}}
    assert provenance.config_sha256(a) == provenance.config_sha256(b)
    assert len(provenance.config_sha256(a)) == 64
    assert provenance.config_sha256(a) != provenance.config_sha256({**a, "seeds": [0, 2]})


def test_hardware_on_the_cpu():
    import torch

    info = provenance.hardware("cpu")
    assert info["cpu_model"] and info["gpu_name"] is None
    assert info["torch_version"] == torch.__version__ and info["threads"] == torch.get_num_threads()
    assert info["cuda_version"] == torch.version.cuda


def _records():
    base = {"experiment": "e", "dataset": "d", "image": "a", "label": "dip", "git_dirty": False,
            "dipbench_version": "0.1.0", "config_sha256": "c" * 64, "cpu_model": "AMD EPYC", "gpu_name": None,
            "torch_version": "2.13.0", "cuda_version": None, "threads": 1, "precision": "bf16"}
    return pd.DataFrame([{**base, "seed": 0, "git_commit": "a" * 40}, {**base, "seed": 1, "git_commit": "b" * 40},
                         {**base, "seed": 1, "git_commit": "b" * 40, "protocol": "other"}])  # one run, 2 protocols


def test_the_report_lists_every_value_with_its_runs_and_warns_on_mixed_code():
    table = provenance_table(_records())
    assert table.cell("Commit", "Value") in ("aaaaaaaaaaaa (1 run); bbbbbbbbbbbb (1 run)",
                                             "bbbbbbbbbbbb (1 run); aaaaaaaaaaaa (1 run)")
    assert table.cell("Config SHA-256", "Value") == "e: cccccccccccc"
    assert table.cell("CPU", "Value") == "AMD EPYC" and table.cell("GPU", "Value") == "–"
    assert table.cell("Threads", "Value") == "1" and table.cell("Uncommitted changes", "Value") == "no"
    assert table.notes[0].startswith("Warning: the runs differ in Commit")
    note = provenance_note(_records())
    assert note.startswith("Made by dipbench aaaaaaaaaaaa/bbbbbbbbbbbb") or note.startswith("Made by dipbench bbbb")
    assert "config cccccccccccc, on AMD EPYC, torch 2.13.0, 1 thread(s), precision bf16." in note


def test_records_without_provenance_say_so_instead_of_a_row_of_dashes():
    old = pd.DataFrame([{"experiment": "e", "dataset": "d", "image": "a", "label": "dip", "seed": 0,
                         "precision": "bf16"}])
    assert provenance_note(old) == "Provenance: not recorded in these runs' records (made before dipbench recorded it)."


def test_each_experiment_has_its_own_config_hash_and_only_a_change_within_one_warns():
    runs = _records().assign(git_commit="a" * 40)
    other = runs.assign(experiment="f", config_sha256="d" * 64)
    table = provenance_table(pd.concat([runs, other]))
    assert table.cell("Config SHA-256", "Value") == "e: cccccccccccc; f: dddddddddddd"
    assert not table.notes[0].startswith("Warning")
    changed = pd.concat([runs, runs.assign(seed=5, config_sha256="d" * 64)])
    assert provenance_table(changed).notes[0] == ("Warning: the runs differ in Config SHA-256 within an experiment "
                                                  "(e): they were made by different code or configurations.")
