"""README "Adding a task": the example module, executed here, is a task everywhere dipbench looks."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dipbench.cli import main
from dipbench.errors import ConfigError
from dipbench.methods import RunContext, get_method
from dipbench.metrics import score
from dipbench.pipeline.plan import config_schema, load_config
from dipbench.tasks import get_task_class, make_task, task_names, task_title

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def darken():
    section = README.read_text(encoding="utf-8").split("## Adding a task", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    namespace = {"__name__": "readme_adding_a_task"}
    exec(compile(code, "README.md#adding-a-task", "exec"), namespace)
    return namespace["Darken"]


def test_the_example_registers_a_task(darken):
    assert get_task_class("darken") is darken and "darken" in task_names()
    assert task_title("darken") == "Low-light restoration"
    with pytest.raises(ConfigError, match="gain must be in"):
        make_task("darken", gain=2.0)


def test_degradation_and_operator_agree(darken):
    import torch

    task = make_task("darken", gain=0.5, sigma=0.0)
    gt = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    obs = task.degrade(gt, np.random.default_rng(1))
    x = torch.as_tensor(gt).permute(2, 0, 1)[None]
    np.testing.assert_allclose(task.operator(obs)(x)[0].permute(1, 2, 0).numpy(), obs.y, atol=1e-6)


def test_config_schema_and_plan_accept_the_task(darken):
    enum = config_schema()["properties"]["experiments"]["additionalProperties"]["properties"]["task"]
    assert "darken" in enum["properties"]["name"]["enum"]
    config = {"experiments": {"dark": {"task": {"name": "darken", "gain": 0.4}, "datasets": ["builtin"],
                                       "methods": ["dip", "dip_es"]}}}
    plan = load_config(config)
    assert {run.label for run in plan.runs()} == {"dip", "dip_es"}
    with pytest.raises(ConfigError, match="darken: gain"):
        load_config({"experiments": {"dark": {"task": {"name": "darken", "gain": 0}, "datasets": ["builtin"],
                                              "methods": ["dip"]}}})
    with pytest.raises(ConfigError, match="does not support task 'darken'"):
        load_config({"experiments": {"dark": {"task": {"name": "darken"}, "datasets": ["builtin"],
                                              "methods": ["bm3d"]}}})


def test_dip_restores_it_with_the_task_settings(darken):
    gt = np.random.default_rng(0).random((48, 48, 3)).astype(np.float32)
    obs = make_task("darken").degrade(gt, np.random.default_rng(0))
    dip = get_method("dip")("darken", **get_method("dip").smoke)
    result = dip.restore(obs, RunContext(seed=0))
    assert result.image.shape == (48, 48, 3)
    assert result.info["params_resolved"]["lr"] == 0.01  # from the example's register_dip_settings
    assert np.isfinite(score(gt, result.image, "darken")["psnr"])


def test_cli_offers_its_options(darken, tmp_path, capsys):
    clean = (np.random.default_rng(0).random((48, 48, 3)) * 255).astype(np.uint8)
    Image.fromarray(clean).save(tmp_path / "clean.png")
    code = main(["restore", str(tmp_path / "clean.png"), "--task", "darken", "--gain", "0.5", "--simulate",
                 "--method", "dip", "--steps", "2", "--param", "channels=8", "--param", "scales=3",
                 "--param", "input_depth=4", "--quiet", "-o", str(tmp_path / "out.png")])
    assert code == 0
    assert "PSNR" in capsys.readouterr().out
