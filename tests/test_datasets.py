"""dipbench.datasets, its CLI and the ``published`` method.

Tests that need the benchmark images use the shared data mirror beside the repository (../shared/datasets)
and are skipped when it is absent. Nothing here touches the internet: DIPBENCH_OFFLINE is set.
"""

from __future__ import annotations

import csv
import functools
import http.server
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dipbench.datasets import cli as datasets_cli
from dipbench.datasets import bulk, settings
from dipbench.datasets import registry as datasets
from dipbench.datasets.download import CacheWarning
from dipbench.errors import ConfigError, DownloadError
from dipbench.methods import RunContext, get_method
from dipbench.methods.published import SOURCES, Published, published_asset
from dipbench.tasks import make_task
from dipbench.tasks.inpaint import mask_from_masked

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
needs_shared = pytest.mark.skipif(
    not (SHARED / "set5" / "MANIFEST.tsv").is_file(), reason="shared data mirror ../shared/datasets not found"
)
BENCHMARKS = ["set5", "set14", "dip_denoise9", "inpaint11", "kodak24", "dip_repo"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Offline, no mirror from the environment, and a fresh cache per test."""
    monkeypatch.setenv("DIPBENCH_OFFLINE", "1")
    monkeypatch.delenv("DIPBENCH_MIRROR", raising=False)
    monkeypatch.setenv("DIPBENCH_DATA", str(tmp_path / "cache"))
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def shared_mirror(monkeypatch):
    if not (SHARED / "set5" / "MANIFEST.tsv").is_file():
        pytest.skip("shared data mirror ../shared/datasets not found")
    monkeypatch.setenv("DIPBENCH_MIRROR", str(SHARED))
    return SHARED


# ----------------------------------------------------------------------------------------- registry


def test_registry_lists_the_datasets():
    names = [ds.name for ds in datasets.list_datasets()]
    assert names[:6] == BENCHMARKS
    assert {"dip_paper_assets", "builtin", "builtin_gray"} <= set(names)
    assert [ds.name for ds in datasets.list_datasets("benchmark")] == BENCHMARKS
    assert len(datasets.get_dataset("dip_paper_assets").files) == 449
    for ds in datasets.list_datasets():
        assert ds.description and ds.licence and ds.citation, ds.name
        assert ds.channels in (1, 3, None)
        assert all(len(f.sha256) == 64 and f.bytes > 0 for f in ds.files)
        assert ds.builtin or all(f.url.startswith("https://raw.githubusercontent.com/") for f in ds.files)


def test_image_names_fixed_order_and_roles():
    assert datasets.image_names("dip_denoise9") == [
        "house", "peppers", "lena", "baboon", "f16", "kodim01", "kodim02", "kodim03", "kodim12",
    ]
    assert sorted(datasets.image_names("inpaint11")) == [
        "barbara", "boat", "cameraman", "couple", "fingerprint", "hill", "house", "lena", "man", "montage",
        "peppers",
    ]
    assert datasets.image_names("set5") == ["baby", "bird", "butterfly", "head", "woman"]
    assert len(datasets.image_names("set14")) == 14 and len(datasets.image_names("kodak24")) == 24
    assert datasets.image_names("builtin") == ["astronaut", "coffee", "chelsea"]
    assert len(datasets.image_names("builtin_gray")) == 3
    assert datasets.get_dataset("dip_denoise9").roles == ("gt", "noisy_s25")
    assert datasets.get_dataset("inpaint11").roles == ("gt", "masked_50p")
    assert datasets.get_dataset("inpaint11").channels == 1
    assert "lena" in datasets.get_dataset("inpaint11").caveats
    assert "lenna" in datasets.get_dataset("set14").caveats


def test_image_names_never_downloads(monkeypatch, tmp_path):
    def forbidden(*args, **kwargs):
        raise AssertionError("image_names must not fetch")

    monkeypatch.setattr(datasets, "fetch_file", forbidden)
    monkeypatch.setenv("DIPBENCH_DATA", str(tmp_path / "never"))
    for ds in datasets.list_datasets():
        assert datasets.image_names(ds.name)
    assert not (tmp_path / "never").exists()


def test_unknown_names_raise_config_error():
    with pytest.raises(ConfigError, match="known datasets: set5, set14"):
        datasets.get_dataset("set6")
    with pytest.raises(ConfigError, match="no image 'lena'"):
        datasets.gt_path("set5", "lena")
    with pytest.raises(ConfigError, match="unknown input role"):
        datasets.input_path("dip_denoise9", "house", "noisy_s15")
    with pytest.raises(ConfigError, match="unknown dataset kind"):
        datasets.list_datasets("nope")


def test_registry_has_no_absolute_paths():
    for path in sorted([*(REPO / "datasets").glob("*"), *datasets.REGISTRY_DIR.glob("*")]):
        if path.is_file() and path.suffix in (".tsv", ".yaml", ".md", ".py"):
            assert str(REPO.parent) not in path.read_text(encoding="utf-8"), path.name


@needs_shared
def test_registry_matches_the_shared_manifests():
    for ds in datasets.list_datasets():
        if ds.builtin:
            continue
        manifest = SHARED / ds.name / "MANIFEST.tsv"
        with open(manifest, newline="", encoding="utf-8") as handle:
            rows = {r["file"]: r for r in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)}
        if ds.name == "dip_repo":  # a selection of the repository's data folder (index.yaml `files`)
            rows = {file: row for file, row in rows.items() if file in {f.file for f in ds.files}}
            assert len(rows) == len(ds.files) == 13
        assert sorted(rows) == sorted(f.file for f in ds.files), ds.name
        for f in ds.files:
            row = rows[f.file]
            assert (f.sha256, str(f.bytes), f.url, f.mode) == (row["sha256"], row["bytes"], row["url"], row["mode"])


# ----------------------------------------------------------------------------------------- settings


def test_mirror_setting_parsing(monkeypatch):
    assert settings.parse_mirrors(None) == []
    assert settings.parse_mirrors("a;b") == ["a", "b"]
    assert settings.parse_mirrors(f"/x{os.pathsep}/y") == ["/x", "/y"]
    assert settings.parse_mirrors("http://127.0.0.1:8000/data;/local") == ["http://127.0.0.1:8000/data", "/local"]
    assert settings.parse_mirrors(["a;b", Path("c")]) == ["a", "b", "c"]
    monkeypatch.setenv("DIPBENCH_MIRROR", "env1;arg")
    assert settings.mirrors("arg") == ["arg", "env1"]  # argument first, no duplicates


def test_cache_dir_setting(monkeypatch, tmp_path):
    assert settings.cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("DIPBENCH_DATA", str(tmp_path / "env"))
    assert settings.cache_dir() == tmp_path / "env"
    monkeypatch.delenv("DIPBENCH_DATA")
    assert settings.cache_dir() == REPO / "datasets" / "cache"


# ----------------------------------------------------------------------------------------- files


def test_builtin_images_need_no_download(monkeypatch):
    monkeypatch.setattr(datasets, "fetch_file", lambda *a, **k: pytest.fail("builtin images are not fetched"))
    rgb = datasets.load_gt("builtin", "astronaut")
    assert rgb.shape == (512, 512, 3) and rgb.dtype == np.float32 and 0 <= rgb.min() and rgb.max() <= 1
    gray = datasets.load_gt("builtin_gray", "camera")
    assert gray.shape == (512, 512, 1)
    assert datasets.gt_path("builtin", "coffee").name == "coffee.png"
    assert bulk.verify(["builtin", "builtin_gray"]).ok


def test_gt_and_inputs_from_a_folder_mirror(shared_mirror, tmp_path):
    house = datasets.load_gt("dip_denoise9", "house")
    assert house.shape == (256, 256, 3) and house.dtype == np.float32
    noisy = datasets.input_path("dip_denoise9", "house", "noisy_s25")
    assert noisy == tmp_path / "cache" / "dip_denoise9" / "noisy_s25" / "house.png"
    assert datasets.input_path("set5", "baby", "noisy_s25") is None
    assert datasets.input_path("dip_denoise9", "house", "masked_50p") is None
    bridge = datasets.load_gt("set14", "bridge")  # stored gray: replicated for an RGB dataset
    assert bridge.shape == (512, 512, 3)
    gt = datasets.load_gt("inpaint11", "montage")
    masked = datasets.load_input("inpaint11", "montage", "masked_50p")
    assert gt.shape == masked.shape == (256, 256, 1)
    assert 0.45 < mask_from_masked(masked, gt).mean() < 0.56


def test_fetch_all_from_the_shared_mirror_via_cli(shared_mirror, tmp_path, capsys):
    cache = tmp_path / "cli-cache"
    assert datasets_cli.main(["fetch", "--all", "--no-progress", "--mirror", str(SHARED), "--data", str(cache)]) == 0
    report = bulk.verify(BENCHMARKS, cache=cache)
    assert report.ok and len(report.files) == 5 + 14 + 18 + 22 + 24 + 13
    assert not (cache / "dip_paper_assets").exists()  # --all leaves the published results alone
    assert datasets_cli.main(["verify", "--all", "--data", str(cache)]) == 0
    capsys.readouterr()
    assert datasets_cli.main(["list", "--data", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "kodak24" in out and "24/24" in out and "0/449" in out and "built-in" in out


def test_cli_errors_are_one_line(capsys):
    assert datasets_cli.main(["fetch", "set6"]) == 2
    assert "unknown dataset 'set6'" in capsys.readouterr().err
    assert datasets_cli.main(["fetch"]) == 2
    assert datasets_cli.main(["verify", "set5"]) == 1  # nothing cached
    assert "5 missing" in capsys.readouterr().out


def test_tampered_cached_file_is_reported_and_replaced(shared_mirror, tmp_path):
    bulk.fetch("set5", progress=False)
    path = datasets.gt_path("set5", "bird")
    good = path.read_bytes()
    path.write_bytes(good[:-10] + b"0123456789")
    report = bulk.verify("set5")
    assert not report.ok and [f.image for f in report.problems()] == ["bird"]
    assert report.problems()[0].status == "bad"
    with pytest.warns(CacheWarning, match="bird.png"):
        assert datasets.gt_path("set5", "bird").read_bytes() == good
    assert bulk.verify("set5").files[1].status == "ok"


def test_url_mirror_serving_the_shared_folder(shared_mirror, monkeypatch, tmp_path):
    monkeypatch.delenv("DIPBENCH_MIRROR")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SHARED))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.timeout = 0.05
    stop = threading.Event()

    def serve(max_requests=50, lifetime=30.0):  # bounded: stops by itself after 50 requests or 30 s
        end = time.monotonic() + lifetime
        try:
            for _ in range(int(lifetime / httpd.timeout) + max_requests):
                if stop.is_set() or time.monotonic() > end or httpd.requests >= max_requests:
                    break
                httpd.handle_request()
        finally:
            httpd.server_close()

    httpd.requests = 0
    httpd.verify_request = lambda request, address: setattr(httpd, "requests", httpd.requests + 1) or True
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        paths = bulk.fetch("set5", mirror=url, progress=False)
        assert [p.name for p in paths] == [f"{n}.png" for n in datasets.image_names("set5")]
        assert bulk.verify("set5").ok
        # dip_paper_assets: looked for in dip_paper_assets/ then dip_paper_outputs/ under the mirror
        path = datasets.file_path("dip_paper_assets", "SR/Set5/x4/baby_deep_prior", "asset", mirror=url)
        assert path.is_file()
    finally:
        stop.set()
        thread.join(timeout=2.0)


def test_missing_everywhere_offline_is_a_download_error(tmp_path):
    empty = str(tmp_path / "empty")
    with pytest.raises(DownloadError, match="set5/baby.png"):
        datasets.gt_path("set5", "baby", mirror=empty)
    with pytest.raises(DownloadError) as info:
        bulk.fetch("set5", mirror=empty, progress=False, jobs=2)
    assert "5 of 5 files" in str(info.value) and "\n" not in str(info.value)


# ----------------------------------------------------------------------------------------- published


def test_published_asset_names_cover_every_image():
    for dataset in ("set5", "set14"):
        for image in datasets.image_names(dataset):
            for scale in (4, 8):
                for source in SOURCES[("sr", scale)] + ("deep_prior",):
                    published_asset(dataset, image, "sr", {"scale": scale}, source)
    for image in datasets.image_names("dip_denoise9"):
        for sigma in (25, 50.0):
            for source in SOURCES[("denoise", None)]:
                published_asset("dip_denoise9", image, "denoise", {"sigma": sigma}, source)
    for image in datasets.image_names("inpaint11"):
        for source in SOURCES[("inpaint", None)]:
            published_asset("inpaint11", image, "inpaint", {"keep": 0.5}, source)
    assert published_asset("dip_denoise9", "house", "denoise", {"sigma": 25}, "bm3d") == "Denoising/Color/25/hill_bm3d"
    assert published_asset("set5", "baby", "sr", {"scale": 8}, "deep_prior") == "SR/Set5/x8/baby_deep_prior_005"


def test_published_unknown_combinations():
    assert get_method("published") is Published
    with pytest.raises(ConfigError, match="no source 'glasner' for sr x8"):
        published_asset("set5", "baby", "sr", {"scale": 8}, "glasner")
    with pytest.raises(ConfigError, match="no SR results"):
        published_asset("kodak24", "kodim01", "sr", {"scale": 4}, "deep_prior")
    with pytest.raises(ConfigError, match="sigma"):
        published_asset("dip_denoise9", "house", "denoise", {"sigma": 15}, "deep_prior")
    with pytest.raises(ConfigError, match="keep"):
        published_asset("inpaint11", "house", "inpaint", {"keep": 0.2}, "deep_prior")
    with pytest.raises(ConfigError, match="no source 'magic'"):
        Published("denoise", source="magic")


def _observation(task, dataset, image, **params):
    t = make_task(task, **params)
    obs = t.degrade(t.prepare_gt(datasets.load_gt(dataset, image)), np.random.default_rng(0))
    obs.dataset, obs.image = dataset, image
    return obs


@pytest.mark.parametrize(
    "task, dataset, image, params, source, min_psnr",
    [
        ("sr", "set14", "comic", {"scale": 4}, "deep_prior", 20),  # 361x250: modcrop and centre 32-crop
        ("denoise", "dip_denoise9", "house", {"sigma": 25}, "bm3d", 30),
        ("inpaint", "inpaint11", "cameraman", {"keep": 0.5}, "deep_prior", 27),
    ],
)
def test_published_method_returns_the_target_shape(shared_mirror, task, dataset, image, params, source, min_psnr):
    obs = _observation(task, dataset, image, **params)
    result = Published(task, source=source).restore(obs, RunContext())
    assert result.image.shape == obs.output_shape and result.image.dtype == np.float32
    reference = obs.target.slice(obs.gt)
    psnr = 10 * np.log10(1.0 / np.mean((result.image - reference) ** 2))
    assert psnr > min_psnr, psnr  # a restoration of this very image
    shifted = np.roll(reference, 1, axis=1)
    assert psnr > 10 * np.log10(1.0 / np.mean((result.image - shifted) ** 2)) + 0.5  # and aligned with the box
    assert result.info["published_file"].endswith(".png")
    if task == "sr":  # the DIP output fills the whole target box (no black border)
        assert result.image[0].max() > 0 and result.image[-1].max() > 0
        assert result.image[:, 0].max() > 0 and result.image[:, -1].max() > 0
