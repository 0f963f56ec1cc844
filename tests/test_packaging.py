"""pyproject.toml and environment.yml name the same dependencies; configs validate; README commands exist."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from dipbench.pipeline.plan import load_config

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {CONDA_NAMES.get(_name(r), _name(r)) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["test"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
    conda = {_name(d) for d in env if isinstance(d, str)}
    pip = {_name(d) for block in env if isinstance(block, dict) for d in block["pip"] if not d.startswith("-e")}
    assert wanted == (conda | pip) - {"python", "pip"}
    assert "torch>=2.1" in project["dependencies"]


@pytest.mark.parametrize("config", sorted(p.name for p in (REPO / "config").glob("*.yaml")))
def test_shipped_configs_validate(config):
    load_config(REPO / "config" / config)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_tests():
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick, flags=re.S)
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert "config/demo.yaml" in commands[0] and "pytest" in commands[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert "pytest" in ci and "torch==2.13.0" in ci
