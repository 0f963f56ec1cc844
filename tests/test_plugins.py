"""Plugins run everywhere: in Snakemake jobs (the config's `plugins:`), on the command line (`--plugin`,
$DIPBENCH_PLUGINS) and from installed packages (entry-point group `dipbench.methods`); editing a plugin
reruns its jobs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from dipbench.cli import main

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or shutil.which("snakemake")

PLUGIN = '''
from dipbench.methods import Method, Restoration, register


@register
class {cls}(Method):
    """Median filter (a toy baseline)."""

    name = "{name}"
    problems = ("denoising",)
    defaults = {{"size": 3}}
    seeded = False

    def restore(self, obs, ctx):
        from scipy.ndimage import median_filter

        size = self.params["size"]
        return Restoration(median_filter(obs.y, size=(size, size, 1)) * {gain})
'''


def _plugin(path: Path, name: str, gain: float = 1.0) -> Path:
    path.write_text(PLUGIN.format(cls=name.title().replace("_", ""), name=name, gain=gain))
    return path


def _env(**extra):
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **extra}


@pytest.fixture
def noisy_png(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(tmp_path / "noisy.png")
    return tmp_path / "noisy.png"


def test_cli_plugin_option_and_environment_variable(tmp_path, noisy_png, capsys):
    plugin = _plugin(tmp_path / "median_cli.py", "median_cli")
    out = tmp_path / "out.png"
    assert main(["restore", str(noisy_png), "--task", "denoise", "--method", "median_cli", "--plugin", str(plugin),
                 "-o", str(out)]) == 0 and out.is_file()
    assert main(["methods", "--plugin", str(plugin)]) == 0 and "median_cli" in capsys.readouterr().out
    env_plugin = _plugin(tmp_path / "median_env.py", "median_env")
    result = subprocess.run([sys.executable, "-m", "dipbench.cli", "methods"], capture_output=True, text=True,
                            env=_env(DIPBENCH_PLUGINS=str(env_plugin)), timeout=120)
    assert result.returncode == 0 and "median_env" in result.stdout


def test_a_broken_plugin_on_the_command_line_is_one_line(tmp_path, noisy_png, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_package_xyz\n")
    assert main(["restore", str(noisy_png), "--task", "denoise", "--plugin", str(broken), "-o",
                 str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dipbench: error: plugin") and str(broken) in err and "\n" not in err


def test_entry_point_group_registers_methods_without_configuration(tmp_path):
    site = tmp_path / "site"
    (site / "dipbench_median_pkg-0.1.dist-info").mkdir(parents=True)
    (site / "dipbench_median_pkg-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: dipbench-median-pkg\nVersion: 0.1\n")
    (site / "dipbench_median_pkg-0.1.dist-info" / "entry_points.txt").write_text(
        "[dipbench.methods]\nmedian = dipbench_median_pkg\n")
    _plugin(site / "dipbench_median_pkg.py", "median_ep")
    result = subprocess.run([sys.executable, "-m", "dipbench.cli", "methods"], capture_output=True, text=True,
                            env=_env(PYTHONPATH=str(site)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "median_ep" in result.stdout


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile",
               str(workdir / "tiny.yaml"), "--cores", "2", *args]
    return subprocess.run(command, cwd=workdir, env=_env(DIPBENCH_OFFLINE="1"), capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_plugin_method_runs_in_snakemake_jobs_and_reruns_after_an_edit(tmp_path):
    """The example plugin shipped in examples/, through a real Snakemake run."""
    assert SNAKEMAKE, "snakemake is not installed"
    plugin = tmp_path / "my_methods.py"
    shutil.copy(REPO / "examples" / "median_filter.py", plugin)
    config = {"results": "out", "smoke": True, "plugins": ["my_methods.py"], "protocols": ["dip_paper"],
              "methods": {"median": {"display": "Median 3x3"}},
              "experiments": {"dn": {"task": {"name": "denoise", "sigma": 25}, "datasets": ["builtin"],
                                     "image_size": 32, "images": {"builtin": ["coffee"]},
                                     "methods": ["input", "median"]}}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    first = _snakemake(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "out/tables/summary.csv")
    assert "median" in set(summary["label"])
    assert "window_px" in pd.read_csv(tmp_path / "out/tables/runs.csv").columns  # info keys become columns
    assert "| Median 3x3 |" in (tmp_path / "out/tables/dn_builtin.md").read_text()

    assert "Nothing to be done" in _snakemake(tmp_path, "-n").stdout
    plugin.write_text(plugin.read_text().replace("size, 1)", "size, 1)) * 0.5 + (0"))  # new code, same version
    plan = _snakemake(tmp_path, "-n")
    assert plan.returncode == 0
    reruns = plan.stdout + plan.stderr
    assert "out/runs/dn/median/builtin/coffee/seed0/run.json" in reruns
    assert "out/runs/dn/input/builtin/coffee/seed0/run.json" not in reruns


# ------------------------------------------------------------ a plugin never replaces a method, on any path
def _tv_imposter(path: Path) -> Path:
    path.write_text(PLUGIN.format(cls="Tv", name="tv", gain=0.5))
    return path


def _refused_line(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert err.startswith("dipbench: error:") and "\n" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def test_a_plugin_cannot_replace_a_built_in_on_any_path(tmp_path, noisy_png, capsys, monkeypatch):
    plugin = _tv_imposter(tmp_path / "imposter.py")
    words = ("'tv' is registered twice", "built-in", f"plugin {plugin.resolve()} line")
    out = tmp_path / "o.png"
    assert main(["restore", str(noisy_png), "--task", "denoise", "--method", "tv", "--plugin", str(plugin),
                 "-o", str(out)]) == 2
    _refused_line(capsys, *words)
    assert not out.exists()
    assert main(["methods", "--plugin", str(plugin)]) == 2
    _refused_line(capsys, *words)
    assert main(["job", "restore", "--plugin", str(plugin), "--obs", "x.npz", "--method", "tv", "--seed", "0",
                 "--out-dir", str(tmp_path / "r")]) == 2
    _refused_line(capsys, *words)
    monkeypatch.setenv("DIPBENCH_PLUGINS", str(plugin))
    assert main(["restore", str(noisy_png), "--task", "denoise", "--method", "tv", "-o", str(out)]) == 2
    _refused_line(capsys, *words)
    from dipbench.methods import get_method

    assert get_method("tv").__module__ == "dipbench.methods.classic"


def test_a_plugin_cannot_replace_another_plugin(tmp_path, capsys):
    first = _plugin(tmp_path / "first.py", "twin_median")
    (tmp_path / "b").mkdir()
    second = _plugin(tmp_path / "b" / "second.py", "twin_median", gain=0.5)
    assert main(["methods", "--plugin", str(first), "--plugin", str(second)]) == 2
    _refused_line(capsys, "'twin_median' is registered twice", str(first.resolve()), str(second.resolve()))


def test_the_built_in_names_are_the_ones_their_modules_register():
    import importlib

    from dipbench.methods import available_methods
    from dipbench.methods.registry import BUILTIN_METHODS

    for module in dict.fromkeys(BUILTIN_METHODS.values()):
        importlib.import_module(module)
    own = {name: cls.__module__ for name, cls in available_methods().items() if cls.__module__.startswith("dipbench.")}
    assert own == BUILTIN_METHODS


@pytest.mark.parametrize("source, words", [
    ("from dipbench.methods import Method, register\n\n\n@register\nclass NoRestore(Method):\n"
     "    name = 'no_restore_x'\n    problems = ('denoising',)\n", ["line 4", "'no_restore_x' defines no restore"]),
    ("import sys\n\nsys.exit(3)\n", ["failed to import at line 3", "called sys.exit(3)"]),
    ("x = 1\n\n\ndef f():\n    return {}['missing']\n\n\nf()\n", ["failed to import at line 5", "KeyError"]),
    ("from dipbench.methods import register\n\n\n@register\nclass NotAMethod:\n    name = 'not_a_method_x'\n"
     "    problems = ('denoising',)\n\n    def restore(self, obs, ctx):\n        return obs.y\n",
     ["line 4", "must subclass dipbench.methods.Method"]),
])
def test_a_plugin_that_fails_to_load_is_one_line_naming_its_file_and_line(tmp_path, noisy_png, capsys, source, words):
    plugin = tmp_path / f"bad_{abs(hash(source))}.py"
    plugin.write_text(source)
    assert main(["restore", str(noisy_png), "--task", "denoise", "--plugin", str(plugin), "-o",
                 str(tmp_path / "o.png")]) == 2
    _refused_line(capsys, str(plugin), *words)
    assert main(["methods", "--plugin", str(plugin)]) == 2
    _refused_line(capsys, str(plugin), *words)
