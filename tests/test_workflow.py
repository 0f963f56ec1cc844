"""A real Snakemake run of a tiny config in a temporary folder (about a minute on 2 cores)."""

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

TINY = {
    "results": "out",
    "smoke": True,
    "protocols": ["dip_paper", "basicsr"],
    "methods": {"dip": {"display": "DIP"}, "bm3d": {"display": "CBM3D"}},
    "experiments": {
        "dn": {"task": {"name": "denoise", "sigma": 25}, "datasets": ["builtin"], "image_size": 32,
               "images": {"builtin": ["astronaut", "coffee"]}, "methods": ["input", "dip", "bm3d", "nlm"]},
        "sr": {"task": {"name": "sr", "scale": 4}, "datasets": ["builtin"], "image_size": 32,
               "images": {"builtin": ["chelsea"]}, "methods": ["bicubic", "dip"]},
    },
}


def _snakemake(workdir: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    command = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile",
               str(workdir / "tiny.yaml"), "--cores", "2", "--keep-going", *args]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_tiny_workflow_runs_resumes_and_isolates_a_missing_bm3d(tmp_path):
    assert SNAKEMAKE, "snakemake is not installed"
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    # A bm3d that cannot be imported: only the bm3d jobs may fail, with a one-line message.
    broken = tmp_path / "broken"
    (broken / "bm3d").mkdir(parents=True)
    (broken / "bm3d" / "__init__.py").write_text("raise ImportError('simulated missing bm3d')\n")
    first = _snakemake(tmp_path, env={"PYTHONPATH": str(broken)})
    assert first.returncode != 0
    out = tmp_path / "out"
    bm3d_log = (out / "logs/runs/dn/bm3d/builtin/astronaut/seed0.log").read_text()
    assert "dipbench: error: method 'bm3d' needs the package 'bm3d'" in bm3d_log
    assert "Traceback" not in bm3d_log
    assert (out / "metrics/dip_paper/dn/nlm/builtin/astronaut/seed0.json").is_file()
    assert (out / "metrics/basicsr/sr/dip/builtin/chelsea/seed0.json").is_file()

    second = _snakemake(tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    runs = pd.read_csv(out / "tables/runs.csv")
    assert len(runs) == 2 * (2 * 4 + 1 * 2)  # protocols x runs
    for column in ("task", "dataset", "image", "method", "seed", "psnr", "ssim", "runtime_s", "protocol"):
        assert column in runs.columns
    assert set(runs["protocol"]) == {"dip_paper", "basicsr"}
    summary = pd.read_csv(out / "tables/summary.csv")
    assert {"psnr_mean", "label"} <= set(summary.columns)
    assert "| CBM3D |" in (out / "tables/dn_builtin.md").read_text()
    assert (out / "tables/dn_builtin.tex").read_text().count("\\textbf") >= 1
    for figure in ("dn_builtin_psnr.png", "dn_builtin_DIP_curves.png", "sr_builtin_chelsea_grid.png"):
        assert (out / "figures" / figure).stat().st_size > 10_000
    assert (out / "runs/dn/dip/builtin/astronaut/seed0/restored.png").is_file()
    _check_provenance_and_statistics(out, runs)

    # The report rebuilds from the results folder alone (the plan written at the start), to the same tables.
    tables = {path.name: path.read_text() for path in (out / "tables").glob("*.md")}
    shutil.rmtree(out / "tables")
    rebuilt = subprocess.run([str(Path(sys.executable).parent / "dipbench"), "report", str(out)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert f"from {len(runs)} of {len(runs)} planned records" in rebuilt.stdout
    assert {path.name: path.read_text() for path in (out / "tables").glob("*.md")} == tables

    # Resuming: nothing left to do.
    third = _snakemake(tmp_path, "-n")
    assert third.returncode == 0 and "Nothing to be done" in third.stdout + third.stderr

    # The HTML report holds every table and figure, each on a page with its caption and settings.
    _check_html_report(tmp_path, out)


def _check_provenance_and_statistics(out: Path, runs: pd.DataFrame) -> None:
    """Every record names its commit, config hash and hardware; the tables' n and Δ agree with a hand
    computation from runs.csv."""
    import json

    from dipbench.provenance import code_version

    manifest = json.loads((out / "logs/plan.json").read_text())
    assert set(runs["config_sha256"]) == set(manifest["config_sha256"].values()) and len(manifest["config_sha256"]) == 2
    for experiment, digest in manifest["config_sha256"].items():
        assert set(runs.loc[runs["experiment"] == experiment, "config_sha256"]) == {digest}
    assert runs["cpu_model"].notna().all() and runs["torch_version"].notna().all() and (runs["threads"] >= 1).all()
    assert set(runs["precision"]) <= {"fp32", "bf16"}
    if code_version()["git_commit"]:
        assert set(runs["git_commit"]) == {code_version()["git_commit"]}
    provenance = (out / "tables/provenance.md").read_text()
    assert code_version()["dipbench_version"] in provenance and "Config SHA-256" in provenance
    for tex in (out / "tables").glob("dn_builtin*.tex"):
        assert "Made by dipbench" in tex.read_text(), tex.name
    # the versus-DIP table of dn, by hand from runs.csv: per-image means (one seed here), paired by image
    dn = runs[(runs["experiment"] == "dn") & (runs["protocol"] == "dip_paper")]
    means = dn.groupby(["image", "label"])["psnr"].mean().unstack()
    delta = (means["nlm"] - means["dip"]).mean()
    md = (out / "tables/dn_builtin.md").read_text()
    assert f"| nlm | 2 | " in md and f" | {delta:+.2f} | " in md and "n too small (≥ 0.5)" in md
    assert "| DIP | " in (out / "tables/dn_builtin.md").read_text().split("per image, mean ± standard")[1]


def _check_html_report(workdir: Path, out: Path) -> None:
    report = _snakemake(workdir, "--report", "report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (workdir / "report.html").read_text(encoding="utf-8")
    pages = sorted((out / "report_pages").glob("*.html"))
    tables = sorted((out / "tables").glob("*.html"))
    figures = sorted((out / "figures").glob("*.png"))
    assert tables and figures and len(pages) == len(tables) + len(figures)
    for page in pages:
        assert page.name in html, page.name
        text = page.read_text(encoding="utf-8")
        assert "<h2>" in text and ("<table" in text or "data:image/" in text)
        if not page.name.startswith("all."):
            assert "Protocol:" in text and "Seeds:" in text and "Method settings" in text
    assert any(page.name.startswith("dn.builtin.1.") for page in pages)  # the PSNR table of dn
    assert "dipbench-overview" in html  # the first page: the results overview (dipbench.report.overview)


@pytest.mark.slow
def test_fuse_seeds_runs_all_seeds_of_dip_in_one_job(tmp_path):
    config = {"results": "out", "smoke": True, "fuse_seeds": True, "methods": {"dip": {"display": "DIP"}},
              "experiments": {"dn": {"task": {"name": "denoise", "sigma": 25}, "datasets": ["builtin"],
                                     "image_size": 32, "images": {"builtin": ["coffee"]}, "seeds": [0, 1],
                                     "methods": ["input", "dip", "dip_es"],
                                     "ensembles": {"dip_avg2": {"of": "dip"}}}}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    result = _snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "restore_fused_dn" in result.stdout + result.stderr
    out = tmp_path / "out"
    assert (out / "logs/runs/dn/dip/builtin/coffee/fused.log").is_file()
    runs = pd.read_csv(out / "tables/runs.csv")
    dip = runs[runs["label"] == "dip"]
    assert sorted(dip["seed"]) == [0, 1] and (dip["fused_runs"] == 2).all()
    assert dip["psnr"].nunique() == 2  # two seeds, two different runs
    assert (runs["label"] == "dip_avg2").sum() == 1 and (runs["label"] == "input").sum() == 1  # deterministic: once
    assert (runs.loc[runs["label"] == "dip_es", "fused_runs"] == 2).all()  # early stopping runs fused too
    assert "early stopping of dip_es (ES-WMV)" in (out / "tables/dn_builtin.md").read_text()


def test_bad_config_fails_with_one_line_before_any_job(tmp_path):
    bad = {"experiments": {"dn": {"task": {"name": "denoise"}, "datasets": ["builtin"], "methods": ["dip", "dpi"]}}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(bad))
    result = _snakemake(tmp_path, "-n")
    assert result.returncode != 0
    assert "dipbench: unknown method 'dpi'" in result.stderr
    assert "Traceback" not in result.stderr


def test_default_config_plans_the_paper_offline(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DIPBENCH_OFFLINE": "1", "DIPBENCH_DATA": str(tmp_path / "empty-cache")}
    result = subprocess.run([SNAKEMAKE, "-n", "--cores", "8"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for rule in ("observation", "restore", "ensemble", "evaluate", "report"):
        assert f"\n{rule} " in result.stdout
    for dataset in ("set5", "set14", "dip_denoise9", "inpaint11"):
        assert f"/{dataset}/" in result.stdout
    for label in ("/dip/", "/bm3d/", "/nlm/", "/tv/", "/bicubic/"):
        assert label in result.stdout
    assert not (tmp_path / "empty-cache").exists()  # planning downloads nothing


@pytest.mark.slow
def test_a_deterministic_run_over_three_images_and_three_seeds_reports_n_3_and_no_p_below_a_quarter(tmp_path):
    """The issue's case, on the user's path: two deterministic methods and three seeds count three images,
    not nine (image, seed) pairs, and the exact test cannot print a p below 2/2^3."""
    config = {"results": "out", "smoke": True,
              "experiments": {"dn": {"task": {"name": "denoise", "sigma": 25}, "datasets": ["builtin"],
                                     "image_size": 32, "images": {"builtin": ["astronaut", "coffee", "chelsea"]},
                                     "seeds": [0, 1, 2], "methods": ["input", "nlm", "tv"], "reference": "nlm"}}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    result = _snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    runs = pd.read_csv(out / "tables/runs.csv")
    assert len(runs[runs["protocol"] == "dip_paper"]) == 3 * 3  # each method once per image
    md = (out / "tables/dn_builtin.md").read_text()
    versus = md.split("versus nlm, paired by image")[1]
    for row in ("tv", "input"):
        line = next(line for line in versus.splitlines() if line.startswith(f"| {row} |"))
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[1] == "3" and cells[7] == "n too small (≥ 0.25)" and cells[8] == "–", line
    assert "p < 0.05 needs at least 6 images" in versus
