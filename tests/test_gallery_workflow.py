"""The paper's figure experiments through the workflow: config/gallery.yaml plans offline, and every
figure task runs at tiny size in a real Snakemake run (the authors' images from the shared mirror)."""

import math
import os
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


TINY_FIGURES = {
    "results": "out",
    "smoke": True,
    "protocols": ["dip_paper"],
    "mirror": str(SHARED),
    "methods": {"input": {"display": "input"}, "dip": {"display": "DIP"}, "tv": {"display": "TV"}},
    "experiments": {
        "text": {"task": {"name": "inpaint_holes", "kind": "text"}, "datasets": ["dip_repo"],
                 "images": {"dip_repo": ["kate"]}, "image_size": 48, "methods": ["input", "dip", "tv"]},
        "region": {"task": {"name": "inpaint_holes", "kind": "region"}, "datasets": ["dip_repo"],
                   "images": {"dip_repo": ["vase"]}, "image_size": 48, "methods": ["dip"]},
        "holes": {"task": {"name": "inpaint_holes", "kind": "large_hole"}, "datasets": ["builtin"],
                  "images": {"builtin": ["chelsea"]}, "image_size": 48, "methods": ["dip"]},
        "sparse": {"task": {"name": "sparse", "keep": 0.2}, "datasets": ["builtin"],
                   "images": {"builtin": ["coffee"]}, "image_size": 48, "methods": ["dip", "tv"]},
        "snail": {"task": {"name": "jpeg"}, "datasets": ["dip_repo"], "images": {"dip_repo": ["snail"]},
                  "image_size": 48, "methods": ["input", "dip", "tv"]},
        "cave": {"task": {"name": "flash"}, "datasets": ["dip_repo"], "images": {"dip_repo": ["cave01"]},
                 "image_size": 48, "methods": ["input", "dip", "tv"]},
        "impedance_shuffled": {"task": {"name": "impedance", "target": "shuffled"}, "datasets": ["builtin"],
                               "images": {"builtin": ["astronaut"]}, "image_size": 48, "seeds": [0, 1],
                               "methods": ["dip"]},
        "impedance_image": {"task": {"name": "impedance", "target": "image"}, "datasets": ["builtin"],
                            "images": {"builtin": ["astronaut"]}, "image_size": 48, "seeds": [0, 1],
                            "methods": ["dip"]},
        "preimage": {"task": {"name": "inversion", "weights": "random"}, "datasets": ["builtin"],
                     "images": {"builtin": ["astronaut"]}, "image_size": 64, "methods": ["dip"]},
    },
}


@pytest.mark.slow
def test_every_figure_task_runs_through_the_workflow(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY_FIGURES))
    result = _snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    runs = pd.read_csv(tmp_path / "out/tables/runs.csv")
    assert set(runs["task"]) == FIGURE_TASKS
    no_reference = runs[runs["experiment"].isin(["snail", "cave", "impedance_shuffled", "impedance_image"])]
    assert not no_reference["reference"].any() and no_reference["psnr"].isna().all()
    scored = runs[~runs.index.isin(no_reference.index)]
    assert scored["reference"].all() and all(math.isfinite(v) for v in scored["psnr"])
    # the authors' masks and flash photo came from the dataset; the built-in images got synthetic ones
    source = runs.groupby("experiment")["input_source"].first()
    assert (source["text"], source["region"], source["cave"], source["holes"]) == (
        "published", "published", "published", "simulated")
    networks = {exp: yaml.safe_load(runs[runs["experiment"] == exp]["params_resolved"].dropna().iloc[0])["network"]
                for exp in ("text", "region", "holes", "sparse", "snail", "cave", "preimage")}
    assert networks == {"text": "text_inpainting", "region": "region_inpainting", "holes": "large_holes",
                        "sparse": "sparse_pixels", "snail": "jpeg", "cave": "flash", "preimage": "feature_inversion"}
    preimage = runs[runs["experiment"] == "preimage"].iloc[0]
    assert yaml.safe_load(preimage["task_params"])["weights"] == "random"
