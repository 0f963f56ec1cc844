"""The package's shape: no import cycles, no module over 600 lines, registries that refuse duplicates, and a
wheel that works outside the checkout (registry, schema and paper numbers shipped as package data)."""

import ast
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import dipbench
from dipbench.errors import ConfigError
from dipbench.methods import Method, Restoration, get_method, register
from dipbench.tasks import get_task_class, register_task

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(dipbench.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The dipbench modules that ``path`` imports anywhere in its body (module or function level)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("dipbench")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("dipbench"):
                continue
            for alias in node.names:  # `from pkg import module` imports the module
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_source_module(candidate) else base)
    return found


def _is_source_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def test_no_import_cycles():
    graph = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target == node or target not in graph:
                continue
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


#: The most lines a module of dipbench may have: a longer one mixes concepts and is split by concept.
MAX_MODULE_LINES = 600


def test_no_module_is_over_600_lines():
    counts = {path.relative_to(REPO).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
              for path in sorted(PACKAGE.rglob("*.py"))}
    offenders = {name: n for name, n in counts.items() if n > MAX_MODULE_LINES}
    assert not offenders, f"modules over {MAX_MODULE_LINES} lines (split them by concept): " + ", ".join(
        f"{name} ({n} lines)" for name, n in sorted(offenders.items(), key=lambda item: -item[1]))


def test_every_package_says_what_it_owns():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"{init.relative_to(REPO)} needs a docstring saying what it owns"


def test_duplicate_method_registration_is_an_error():
    get_method("dip")

    class Imposter(Method):
        name = "dip"
        tasks = ("denoise",)

        def restore(self, obs, ctx):
            return Restoration(obs.y)

    with pytest.raises(ConfigError, match="'dip' is registered twice"):
        register(Imposter)
    assert get_method("dip").__name__ == "DIP"


def test_duplicate_task_registration_is_an_error():
    original = get_task_class("denoise")

    class Denoise(original):
        pass

    with pytest.raises(ConfigError, match="'denoise' is registered twice"):
        register_task(Denoise)
    assert get_task_class("denoise") is original


def test_docstrings_cite_a_document_that_exists():
    cited = set()
    for path in PACKAGE.rglob("*.py"):
        cited |= set(__import__("re").findall(r"docs/[\w.-]+\.md", path.read_text(encoding="utf-8")))
    assert cited, "the protocol document is cited"
    for doc in cited:
        assert (REPO / doc).is_file(), doc


# ------------------------------------------------------------------------------------------------ the wheel
PACKAGE_DATA = ("dipbench/datasets/data/index.yaml", "dipbench/datasets/data/set5.tsv",
                "dipbench/pipeline/config.schema.yaml", "dipbench/report/paper_numbers.yaml")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-w", str(out), "-q"]
    if _is_module("setuptools"):
        command.append("--no-build-isolation")  # build with the setuptools already here, no download
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=out)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = out.glob("dipbench-*.whl")
    return path


def test_wheel_carries_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in PACKAGE_DATA:
        assert data in names, data
    assert not any(name.startswith(("tests/", "datasets/", "workflow/")) for name in names)


def test_cli_runs_from_the_installed_wheel_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    rng = np.random.default_rng(0)
    clean = (rng.random((40, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(clean).save(work / "clean.png")
    env = {**os.environ, "PYTHONPATH": str(site), "DIPBENCH_DATA": str(tmp_path / "cache"), "DIPBENCH_OFFLINE": "1"}

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "dipbench.cli", *args], cwd=work, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    where = subprocess.run([sys.executable, "-c", "import dipbench; print(dipbench.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), where
    assert "dip_es" in run("methods")
    listing = run("datasets", "list")
    assert "set5" in listing and "dip_denoise9" in listing
    run("restore", "clean.png", "--task", "denoise", "--simulate", "--method", "tv", "--quiet", "-o", "out.png")
    assert "PSNR" in run("score", "--gt", "clean.png", "--pred", "out.png", "--task", "denoise")
