"""No config, plan, wildcard or path value reaches the workflow's shell commands unquoted (project rule:
"No config or CLI value is ever pasted into a shell string"). Real Snakemake runs of tiny configs whose
results folder has a space and a quote, and whose values carry $(touch ...) command substitutions."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or shutil.which("snakemake")


def _snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config))
    command = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile",
               str(workdir / "tiny.yaml"), "--cores", "2", *args]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DIPBENCH_OFFLINE": "1"}
    env.pop("DIPBENCH_MIRROR", None)
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_hostile_paths_and_values_are_passed_verbatim(tmp_path):
    assert SNAKEMAKE, "snakemake is not installed"
    pwned = tmp_path / "pwned"
    inject = f"$(touch {pwned})"
    results = tmp_path / "my results's dir"
    display = f"TV {inject} it's `touch {pwned}`"
    config = {
        "results": str(results),
        "smoke": True,
        "fuse_seeds": True,  # the fused rule gets one quoted --out-dir per seed
        # Builtin datasets never read the mirror; it still reaches the observation rule's command line. The quote
        # makes Python's repr() double-quote it, where a shell expands $(...).
        "mirror": f"{tmp_path}/m's{inject}",
        "protocols": ["dip_paper"],
        "methods": {"tv": {"display": display}},
        "experiments": {"dn": {"task": {"name": "denoise", "sigma": 25}, "datasets": ["builtin"], "image_size": 32,
                               "images": {"builtin": ["coffee"]}, "seeds": [0, 1],
                               "params": {"dip": {"steps": 4}},
                               "methods": ["input", "tv", "dip"], "ensembles": {"dip_avg2": {"of": "dip"}}}},
    }
    result = _snakemake(tmp_path, config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not pwned.exists()
    log = result.stdout + result.stderr
    for rule in ("observation", "restore", "restore_fused_dn", "ensemble", "evaluate", "report"):
        assert f"rule {rule}:" in log or f"localrule {rule}:" in log, rule
    assert (results / "logs/runs/dn/dip/builtin/coffee/fused.log").is_file()  # tee wrote to the quoted log path
    runs = pd.read_csv(results / "tables/runs.csv")
    assert sorted(runs["label"]) == ["dip", "dip", "dip_avg2", "input", "tv"]  # input and Chambolle TV: once
    summary = pd.read_csv(results / "tables/summary.csv")
    assert sorted(summary["label"]) == ["dip", "dip_avg2", "input", "tv"]
    assert display in (results / "tables/dn_builtin.md").read_text()  # the display name arrived verbatim

    # The device option is checked when the config is read: a hostile value stops the plan in one line,
    # before any command is built.
    config = {"results": str(results / "device"), "smoke": True, "device": f"cpu{inject}'",
              "experiments": {"dn": {"task": {"name": "denoise", "sigma": 25}, "datasets": ["builtin"],
                                     "image_size": 32, "images": {"builtin": ["coffee"]}, "methods": ["input"]}}}
    result = _snakemake(tmp_path, config, "-n")
    assert result.returncode != 0
    assert "dipbench: invalid config at device" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (results / "device").exists()
    assert not pwned.exists()


@pytest.mark.parametrize("text, words", [
    ("results: /\n", "results '/' is the filesystem root"),
    ("results: ''\n", "results is empty"),
    ("results: workflow\n", "source folder workflow/"),
    ("results: out\nresults: out2\n", "line 2: duplicate key 'results'"),
])
def test_the_plan_refuses_a_bad_results_folder_and_a_duplicate_key(tmp_path, text, words):
    """`snakemake -n` stops in one line, before any job: a results folder at the filesystem root, empty or
    in the code, and a config file that repeats a key (Snakemake's own loader would keep the last)."""
    assert SNAKEMAKE, "snakemake is not installed"
    body = ("experiments:\n  dn: {task: {name: denoise}, datasets: [builtin], images: {builtin: [coffee]},"
            " methods: [input]}\n")
    (tmp_path / "tiny.yaml").write_text(text.replace("workflow", str(REPO / "workflow")) + body)
    command = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path), "--configfile",
               str(tmp_path / "tiny.yaml"), "--cores", "1", "-n"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DIPBENCH_OFFLINE": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and words in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".snakemake") == ["tiny.yaml"]
