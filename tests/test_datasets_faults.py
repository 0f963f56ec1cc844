"""Nothing bad gets in, nothing gets lost: registry validation, verified built-in images, the CLI's option
checks, folders in the cache and cancelled bulk fetches. Offline; no server needed (download faults against
a local HTTP server are in test_download.py)."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from dipbench import cli as main_cli
from dipbench.datasets import cli as datasets_cli
from dipbench.datasets import bulk
from dipbench.datasets import registry as datasets
from dipbench.datasets.download import CacheWarning
from dipbench.errors import ChecksumError, ConfigError, DownloadError

SHA = "ab" * 32
URL = "https://raw.githubusercontent.com/o/r/0123abc/a.png"
GOOD_ROW = ["a", "gt", "a.png", SHA, "100", "10", "10", "RGB", URL, ""]
INDEX = """\
datasets:
  {name}:
    kind: benchmark
    channels: 3
    description: a test dataset
    licence: none
    citation: none
    mirror_folders: {folders}
"""


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Offline, no mirror from the environment, a fresh cache per test, and the real registry afterwards."""
    monkeypatch.setenv("DIPBENCH_OFFLINE", "1")
    monkeypatch.delenv("DIPBENCH_MIRROR", raising=False)
    monkeypatch.setenv("DIPBENCH_DATA", str(tmp_path / "cache"))
    datasets._registry.cache_clear()
    yield
    datasets._registry.cache_clear()


def write_registry(folder: Path, rows, name="demo", folders="[demo]") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.yaml").write_text(INDEX.format(name=name, folders=folders), encoding="utf-8")
    lines = ["\t".join(datasets.COLUMNS)] + ["\t".join(row) for row in rows]
    (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def registry_at(monkeypatch, tmp_path):
    """Point the loader at a temporary registry (REGISTRY_DIR; the lru_cache is cleared around it)."""

    def use(rows, **kwargs) -> None:
        monkeypatch.setattr(datasets, "REGISTRY_DIR", write_registry(tmp_path / "registry", rows, **kwargs))
        datasets._registry.cache_clear()

    return use


def with_value(column: str, value: str) -> list[str]:
    row = list(GOOD_ROW)
    row[datasets.COLUMNS.index(column)] = value
    return row


# ----------------------------------------------------------------------------------------- registry rows


def test_valid_temporary_registry_loads(registry_at):
    second = with_value("image", "SR/Set5/x4/b")
    second[datasets.COLUMNS.index("file")] = "sub/dir/b.png"
    registry_at([GOOD_ROW, second])
    dataset = datasets.get_dataset("demo")
    assert [f.file for f in dataset.files] == ["a.png", "sub/dir/b.png"]
    assert dataset.images == ["a", "SR/Set5/x4/b"]


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("file", "/etc/passwd", "absolute path"),
        ("file", "../escape.png", "'..'"),
        ("file", "sub/../../escape.png", "'..'"),
        ("file", "./a.png", "'.'"),
        ("file", "..\\escape.png", "backslash"),
        ("file", "sub\\a.png", "backslash"),
        ("file", "C:/a.png", "':'"),
        ("file", "", "empty"),
        ("file", "sub//a.png", "empty name"),
        ("file", "sub/", "empty name"),
        ("image", "../a", "'..'"),
        ("sha256", "abc", "64 hexadecimal digits"),
        ("sha256", "g" * 64, "64 hexadecimal digits"),
        ("bytes", "-5", "whole number >= 0"),
        ("bytes", "12.5", "whole number >= 0"),
        ("bytes", "", "whole number >= 0"),
        ("width", "ten", "whole number >= 0"),
        ("url", "file:///etc/passwd", "https://"),
    ],
)
def test_invalid_registry_row_is_a_config_error(registry_at, column, value, reason):
    registry_at([GOOD_ROW, with_value(column, value)])
    with pytest.raises(ConfigError) as info:
        datasets.get_dataset("demo")
    message = str(info.value)
    assert "dataset 'demo'" in message and "row 3" in message and "image " in message  # which row
    assert f"{column} {value!r}" in message and "allowed:" in message and reason in message
    assert "\n" not in message
    if column == "file":
        assert "relative path inside the dataset folder" in message
    with pytest.raises(ConfigError):  # every way in is guarded: listing loads the registry too
        datasets.image_names("demo")


def test_short_registry_row_is_a_config_error(registry_at):
    registry_at([GOOD_ROW, GOOD_ROW[:4]])
    with pytest.raises(ConfigError, match=r"dataset 'demo', row 3: 4 tab-separated fields, expected 10"):
        datasets.list_datasets()


@pytest.mark.parametrize(
    "name, folders, expected",
    [("demo", "['../up']", "mirror folder '../up'"), ("demo", "['/abs']", "mirror folder '/abs'"),
     ("'..'", "[x]", "dataset name '..'")],
)
def test_invalid_dataset_name_or_mirror_folder(registry_at, name, folders, expected):
    registry_at([GOOD_ROW], name=name.strip("'"), folders=folders)
    with pytest.raises(ConfigError, match=expected):
        datasets.list_datasets()


# ----------------------------------------------------------------------------------------- built-in images

GENUINE: dict[str, Path] = {}  # file -> scikit-image's own copy


@pytest.fixture
def tampered_astronaut(monkeypatch, tmp_path) -> Path:
    """scikit-image's astronaut.png replaced by other bytes (the path function is pointed at a copy)."""
    real = datasets._skimage_path
    row = datasets.registry_file("builtin", "astronaut")
    GENUINE["astronaut.png"] = real(row)
    good = real(row).read_bytes()
    tampered = tmp_path / "skimage-data" / "astronaut.png"
    tampered.parent.mkdir()
    tampered.write_bytes(good[:-16] + b"\0" * 16)
    monkeypatch.setattr(datasets, "_skimage_path", lambda r: tampered if r.file == "astronaut.png" else real(r))
    return tampered


def test_replaced_builtin_image_is_never_ground_truth(tampered_astronaut, monkeypatch):
    monkeypatch.setattr(datasets, "read_image", lambda *a: pytest.fail("a tampered file must not be read"))
    with pytest.raises(ChecksumError) as info:
        datasets.load_gt("builtin", "astronaut")
    message = str(info.value)
    expected = datasets.registry_file("builtin", "astronaut").sha256
    actual = hashlib.sha256(tampered_astronaut.read_bytes()).hexdigest()
    assert str(tampered_astronaut) in message and expected in message and actual in message
    assert "\n" not in message


def test_replaced_builtin_image_fails_verify(tampered_astronaut, capsys):
    report = bulk.verify(["builtin", "builtin_gray"])
    assert not report.ok
    assert [(f.image, f.status) for f in report.problems()] == [("astronaut", "bad")]
    assert datasets_cli.main(["verify", "builtin"]) == 1
    out = capsys.readouterr().out
    assert "1 bad" in out and str(tampered_astronaut) in out
    assert main_cli.main(["datasets", "verify", "builtin", "builtin_gray"]) == 1  # `dipbench datasets verify`
    assert datasets_cli.main(["verify", "builtin_gray"]) == 0


def test_replaced_builtin_image_uses_a_verified_copy_if_one_exists(tampered_astronaut, tmp_path):
    row = datasets.registry_file("builtin", "astronaut")
    mirror = tmp_path / "mirror"
    (mirror / "builtin").mkdir(parents=True)
    shutil.copy(GENUINE["astronaut.png"], mirror / "builtin" / "astronaut.png")
    with pytest.warns(CacheWarning, match="astronaut.png"):
        image = datasets.load_gt("builtin", "astronaut", mirror=str(mirror))
    assert image.shape == (512, 512, 3) and np.isfinite(image).all()
    cached = tmp_path / "cache" / "builtin" / "astronaut.png"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == row.sha256
    report = bulk.verify("builtin")
    assert report.ok and report.files[0].status == "differs"


# ----------------------------------------------------------------------------------------- CLI options


@pytest.mark.parametrize(
    "option, value, shown",
    [("--retries", "-1", "-1"), ("--timeout", "0", "0"), ("--timeout", "-3", "-3"), ("--timeout", "abc", "'abc'"),
     ("--retries", "two", "'two'"), ("--deadline", "0", "0"), ("--jobs", "0", "0")],
)
def test_cli_rejects_bad_fetch_options_in_one_line(monkeypatch, capsys, option, value, shown):
    monkeypatch.setattr(bulk, "fetch", lambda *a, **k: pytest.fail("nothing is fetched"))
    assert datasets_cli.main(["fetch", "set5", option, value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"dipbench: error: {option} must be") and err.endswith(f"got {shown}") and "\n" not in err
    assert main_cli.main(["datasets", "fetch", "set5", option, value]) == 2  # `dipbench datasets fetch`
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_api_rejects_bad_settings_before_anything(monkeypatch):
    monkeypatch.setattr(datasets, "fetch_file", lambda *a, **k: pytest.fail("nothing is fetched"))
    with pytest.raises(ConfigError, match="retries must be a whole number >= 0, got -1"):
        bulk.fetch("set5", retries=-1, progress=False)
    with pytest.raises(ConfigError, match="jobs must be a whole number >= 1, got 0"):
        bulk.fetch("set5", jobs=0, progress=False)
    with pytest.raises(ConfigError, match="timeout must be .* got 0"):
        datasets.file_path("builtin", "astronaut", timeout=0)  # even where no download is needed


# ----------------------------------------------------------------------------------------- cache folder


def test_folder_where_a_cached_file_belongs(tmp_path, capsys):
    blocker = tmp_path / "cache" / "set5" / "baby.png"
    blocker.mkdir(parents=True)
    with pytest.raises(DownloadError) as info:
        datasets.gt_path("set5", "baby", mirror=str(tmp_path / "empty"))
    message = str(info.value)
    assert str(blocker) in message and "folder" in message and "\n" not in message
    assert blocker.is_dir()
    report = bulk.verify("set5")
    assert report.files[0].status == "bad" and "folder" in report.files[0].detail
    assert datasets_cli.main(["verify", "set5"]) == 1
    assert "bad" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------- bulk fetch


def test_interrupted_bulk_fetch_cancels_the_rest(monkeypatch):
    calls, events = [], []

    def file_path(name, image, role, **kwargs):
        calls.append(image)
        events.append(kwargs["cancel"])
        raise KeyboardInterrupt

    monkeypatch.setattr(bulk, "file_path", file_path)
    with pytest.raises(KeyboardInterrupt):
        bulk.fetch("dip_paper_assets", progress=False, jobs=1)
    assert 1 <= len(calls) <= 3  # not 449: the queued files were cancelled
    assert all(isinstance(e, threading.Event) and e.is_set() for e in events)  # files in flight are told to stop
