"""README "Adding a method": the example class, executed here, is a method the registry runs on a tiny image;
the shipped plugin ``examples/median_filter.py`` declares the same and runs from the command line as
README says."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dipbench.cli import main
from dipbench.errors import ConfigError
from dipbench.methods import RunContext, get_method
from dipbench.methods.contract import run_method
from dipbench.methods.registry import _REGISTRY
from dipbench.metrics import psnr
from dipbench.tasks import make_task

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "median_filter.py"
DECLARED = ("name", "problems", "tasks", "defaults", "smoke", "seeded", "version", "any_task")


@pytest.fixture
def unregister():
    """README's class and the example file both register "median": each test takes it out again."""
    yield
    _REGISTRY.pop("median", None)
    for module in [m for m in sys.modules if m.startswith("dipbench_plugin_median_filter_")]:
        del sys.modules[module]


def _readme_median():
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Adding a method", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    namespace = {"__name__": "readme_adding_a_method"}
    exec(compile(code, "README.md#adding-a-method", "exec"), namespace)
    return namespace["Median"]


def _noisy(image):
    task = make_task("denoise", sigma=25)
    return task.degrade(task.prepare_gt(image[:32, :32]), np.random.default_rng(0))


def test_the_readme_example_is_a_method_the_registry_runs(unregister, smooth_rgb):
    median = _readme_median()
    assert get_method("median") is median
    assert all(median.supports(task) for task in ("denoise", "flash", "jpeg"))  # its problem kind, not names
    assert not median.supports("sr") and not median.supports("inpaint")
    with pytest.raises(ConfigError, match="does not support task 'sr'"):
        median("sr")
    with pytest.raises(ConfigError):
        median.resolve_params("denoise", {"size": 0})  # param_rules: 1..31
    obs = _noisy(smooth_rgb)
    method = get_method("median")("denoise", **median.resolve_params("denoise", {}, smoke=True))
    (result,) = run_method(method, obs, [RunContext(seed=0)])  # the output contract of every job
    assert result.image.shape == obs.output_shape and result.info == {"window_px": 3}
    assert psnr(obs.gt, result.image) > psnr(obs.gt, obs.y) + 3  # it denoises
    assert not median.uses_seed("denoise")


def test_the_example_plugin_matches_the_readme_and_runs_from_the_command_line(unregister, smooth_rgb, tmp_path):
    readme = _readme_median()
    declared = {key: getattr(readme, key) for key in DECLARED}
    readme_out = readme("denoise").restore(_noisy(smooth_rgb), RunContext()).image
    _REGISTRY.pop("median")
    noisy = tmp_path / "noisy.png"
    Image.fromarray(np.rint(_noisy(smooth_rgb).y * 255).astype(np.uint8)).save(noisy)
    out = tmp_path / "out.png"
    assert main(["restore", str(noisy), "--task", "denoise", "--method", "median", "--plugin", str(EXAMPLE),
                 "-o", str(out), "--quiet"]) == 0  # README's command line
    assert out.is_file()
    example = get_method("median")
    assert example is not readme and {key: getattr(example, key) for key in DECLARED} == declared
    assert set(example.param_rules) == set(readme.param_rules)
    np.testing.assert_array_equal(example("denoise").restore(_noisy(smooth_rgb), RunContext()).image, readme_out)
