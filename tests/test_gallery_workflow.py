"""The paper's figure experiments through the workflow: config/gallery.yaml plans offline, every figure
task runs at tiny size in a real Snakemake run on built-in images (offline), and the authors' own images
(dataset ``dip_repo``) run where the shared mirror or the network gives them (skipped otherwise)."""

import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from test_workflow import REPO, SNAKEMAKE, _snakemake

SHARED = REPO.parent / "shared" / "datasets"
FIGURE_TASKS = {"inpaint_holes", "sparse", "jpeg", "flash", "impedance", "inversion"}


def _plan(configfile: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DIPBENCH_OFFLINE": "1", "DIPBENCH_DATA": str(tmp_path / "empty-cache")}
    return subprocess.run([SNAKEMAKE, "-n", "--cores", "8", "--configfile", str(configfile)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_gallery_config_plans_every_figure_experiment_offline(tmp_path):
    config = yaml.safe_load((REPO / "config/gallery.yaml").read_text())
    assert FIGURE_TASKS <= {exp["task"]["name"] for exp in config["experiments"].values()}
    result = _plan(REPO / "config/gallery.yaml", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in config["experiments"]:
        assert f"/runs/{name}/dip/dip_repo/" in result.stdout, name
    assert not (tmp_path / "empty-cache").exists()  # planning downloads nothing


def test_demo_has_a_small_version_of_every_figure_task():
    config = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    experiments = config["experiments"].values()
    assert FIGURE_TASKS <= {exp["task"]["name"] for exp in experiments}
    assert all(set(exp["datasets"]) <= {"builtin", "builtin_gray"} for exp in experiments)  # offline


def _dip_repo_source() -> str | None:
    """Where the authors' ``dip_repo`` files can come from: the shared mirror folder, else the network
    (their canonical GitHub URLs); None when neither is there."""
    if (SHARED / "dip_repo").is_dir():
        return str(SHARED)
    try:
        socket.create_connection(("raw.githubusercontent.com", 443), timeout=3).close()
    except OSError:
        return None
    return ""


def _tiny(experiments: dict, mirror: str | None = None) -> dict:
    config = {"results": "out", "smoke": True, "protocols": ["dip_paper"],
              "methods": {"input": {"display": "input"}, "dip": {"display": "DIP"}, "tv": {"display": "TV"}},
              "experiments": experiments}
    return {**config, "mirror": mirror} if mirror else config


def _experiment(task: dict, dataset: str, image: str, methods: list[str], size: int = 48, **extra) -> dict:
    return {"task": task, "datasets": [dataset], "images": {dataset: [image]}, "image_size": size,
            "methods": methods, **extra}


#: Every figure task on built-in images: synthetic masks, a simulated JPEG and flash pair (offline).
BUILTIN_FIGURES = {
    "text": _experiment({"name": "inpaint_holes", "kind": "text"}, "builtin", "chelsea", ["input", "dip", "tv"]),
    "holes": _experiment({"name": "inpaint_holes", "kind": "large_hole"}, "builtin", "chelsea", ["dip"]),
    "sparse": _experiment({"name": "sparse", "keep": 0.2}, "builtin", "coffee", ["dip", "tv"]),
    "jpeg": _experiment({"name": "jpeg", "quality": 10}, "builtin", "astronaut", ["input", "dip", "tv"]),
    "flash": _experiment({"name": "flash"}, "builtin", "coffee", ["input", "dip", "tv"]),
    "impedance_shuffled": _experiment({"name": "impedance", "target": "shuffled"}, "builtin", "astronaut", ["dip"],
                                      seeds=[0, 1]),
    "impedance_image": _experiment({"name": "impedance", "target": "image"}, "builtin", "astronaut", ["dip"],
                                   seeds=[0, 1]),
    "preimage": _experiment({"name": "inversion", "weights": "random"}, "builtin", "astronaut", ["dip"], size=64),
}
#: The figure tasks whose inputs come from the authors' repository: their masks and flash photo.
DIP_REPO_FIGURES = {
    "text": _experiment({"name": "inpaint_holes", "kind": "text"}, "dip_repo", "kate", ["input", "dip", "tv"]),
    "region": _experiment({"name": "inpaint_holes", "kind": "region"}, "dip_repo", "vase", ["dip"]),
    "snail": _experiment({"name": "jpeg"}, "dip_repo", "snail", ["input", "dip", "tv"]),
    "cave": _experiment({"name": "flash"}, "dip_repo", "cave01", ["input", "dip", "tv"]),
}


def _networks(runs: pd.DataFrame) -> dict[str, str]:
    return {exp: yaml.safe_load(rows["params_resolved"].dropna().iloc[0])["network"]
            for exp, rows in runs[runs["method"] == "dip"].groupby("experiment")}


@pytest.mark.slow
def test_every_figure_task_runs_through_the_workflow(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(_tiny(BUILTIN_FIGURES)))
    result = _snakemake(tmp_path, env={"DIPBENCH_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-4000:]
    runs = pd.read_csv(tmp_path / "out/tables/runs.csv")
    assert set(runs["task"]) == FIGURE_TASKS
    impedance = runs[runs["task"] == "impedance"]
    assert not impedance["reference"].any() and impedance["psnr"].isna().all()
    scored = runs[runs["task"] != "impedance"]  # simulated from a clean image: a ground truth to score against
    assert scored["reference"].all() and all(math.isfinite(v) for v in scored["psnr"])
    assert set(runs.groupby("experiment")["input_source"].first()) == {"simulated"}
    assert _networks(runs) == {"text": "text_inpainting", "holes": "large_holes", "sparse": "sparse_pixels",
                               "jpeg": "jpeg", "flash": "flash", "preimage": "feature_inversion",
                               "impedance_image": "default", "impedance_shuffled": "default"}
    preimage = runs[runs["experiment"] == "preimage"].iloc[0]
    assert yaml.safe_load(preimage["task_params"])["weights"] == "random"


@pytest.mark.slow
def test_the_authors_figure_inputs_run_through_the_workflow(tmp_path):
    source = _dip_repo_source()
    if source is None:
        pytest.skip(f"the authors' dip_repo files need the shared mirror ({SHARED}) or the network "
                    "(raw.githubusercontent.com), and neither is there")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(_tiny(DIP_REPO_FIGURES, mirror=source)))
    result = _snakemake(tmp_path, env={"DIPBENCH_DATA": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr[-4000:]
    runs = pd.read_csv(tmp_path / "out/tables/runs.csv")
    no_reference = runs[runs["experiment"].isin(["snail", "cave"])]  # a given JPEG, a real flash pair
    assert not no_reference["reference"].any() and no_reference["psnr"].isna().all()
    scored = runs[~runs.index.isin(no_reference.index)]
    assert scored["reference"].all() and all(math.isfinite(v) for v in scored["psnr"])
    # the authors' masks and flash photo came from the dataset (the snail is the given JPEG itself)
    source = runs.groupby("experiment")["input_source"].first()
    assert (source["text"], source["region"], source["cave"]) == ("published", "published", "published")
    assert _networks(runs) == {"text": "text_inpainting", "region": "region_inpainting", "snail": "jpeg",
                               "cave": "flash"}
