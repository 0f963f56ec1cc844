from pathlib import Path

import pytest

from dipbench.errors import ConfigError
from dipbench.pipeline.plan import load_config

BASE = {
    "experiments": {
        "dn": {"task": {"name": "denoise", "sigma": 25}, "datasets": ["builtin"], "methods": ["dip", "bm3d"]},
    }
}


def _with(**changes):
    exp = {**BASE["experiments"]["dn"], **changes}
    return {"experiments": {"dn": exp}}


def test_defaults_filled_and_runs_enumerated():
    plan = load_config(BASE)
    assert plan.config["device"] == "auto" and plan.protocols == ["dip_paper"]
    runs = list(plan.runs())
    assert len(runs) == 2 * 3  # two methods x three built-in images x one seed
    assert plan.observation_path(runs[0]).startswith("observations/denoise_")
    # both methods share one observation
    assert len({plan.observation_path(r) for r in runs if r.image == runs[0].image}) == 1


def test_fuse_seeds_groups_only_dip_family_labels_with_several_seeds():
    methods = ["dip", "dip_es", "bm3d"]
    assert load_config(_with(methods=methods, seeds=[0, 1])).fused_labels("dn") == []  # off by default
    fused = {**_with(methods=methods, seeds=[0, 1]), "fuse_seeds": "true"}  # as `snakemake --config` passes it
    assert load_config(fused).fused_labels("dn") == ["dip", "dip_es"]
    assert load_config({**_with(methods=methods), "fuse_seeds": True}).fused_labels("dn") == []  # one seed
    with pytest.raises(ConfigError, match="fuse_seeds"):
        load_config({**BASE, "fuse_seeds": "maybe"})


@pytest.mark.parametrize("config, message", [
    (_with(methods=["dip", "dpi"]), "unknown method 'dpi'"),
    (_with(task={"name": "deblur"}), "invalid config at experiments/dn/task/name"),
    (_with(task={"name": "denoise", "sigmaa": 3}), "unknown parameter"),
    (_with(datasets=["set6"]), "unknown dataset 'set6'"),
    (_with(methods=["bicubic"]), "does not support task 'denoise'"),
    (_with(params={"dip": {"stepz": 3}}), "unknown parameter"),
    (_with(images={"builtin": ["lena"]}), "has no image"),
    ({"experiments": {}}, "invalid config"),
    ({**BASE, "colour": "blue"}, "Additional properties"),
])
def test_bad_configs_give_one_line_errors(config, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(config)
    assert "\n" not in str(info.value)


def test_paper_config_plans_every_dataset_and_method():
    plan = load_config("config/config.yaml")
    runs = list(plan.runs())
    datasets = {r.dataset for r in runs}
    methods = {plan.method_entry(r.label)["method"] for r in runs}
    assert {"set5", "set14", "dip_denoise9", "inpaint11"} <= datasets
    assert {"dip", "bm3d", "nlm", "tv", "bicubic"} <= methods


@pytest.mark.parametrize("path", ["config/demo.yaml", "config/published.yaml"])
def test_shipped_configs_are_valid(path):
    plan = load_config(Path(__file__).resolve().parents[1] / path)
    assert list(plan.runs())


def test_plugin_method_from_a_file(tmp_path):
    plugin = tmp_path / "median_plugin.py"
    plugin.write_text(
        "from dipbench.methods import Method, Restoration, register\n"
        "@register\n"
        "class Median(Method):\n"
        "    name = 'median_test'\n"
        "    tasks = ('denoise',)\n"
        "    defaults = {'size': 3}\n"
        "    def restore(self, obs, ctx):\n"
        "        from scipy.ndimage import median_filter\n"
        "        return Restoration(median_filter(obs.y, size=(self.params['size'],) * 2 + (1,)))\n"
    )
    plan = load_config({"plugins": [str(plugin)], **_with(methods=["median_test"])})
    assert plan.method_params("dn", "median_test") == {"size": 3}


def test_deterministic_methods_run_once_per_image():
    plan = load_config({"experiments": {"e": {"task": {"name": "denoise"}, "datasets": ["builtin"],
                                              "images": {"builtin": ["coffee"]}, "seeds": [0, 1, 2],
                                              "methods": ["dip", "bm3d", "input", "tv"]}}})
    seeds = {}
    for run in plan.runs():
        seeds.setdefault(run.label, []).append(run.seed)
    assert seeds == {"dip": [0, 1, 2], "bm3d": [0], "input": [0], "tv": [0]}  # tv denoising is Chambolle's
    sr = load_config({"experiments": {"e": {"task": {"name": "sr"}, "datasets": ["builtin"], "seeds": [0, 1],
                                            "images": {"builtin": ["coffee"]}, "methods": ["tv", "bicubic"]}}})
    assert sorted((r.label, r.seed) for r in sr.runs()) == [("bicubic", 0), ("tv", 0), ("tv", 1)]


def test_a_sweep_expands_into_one_labelled_row_per_value():
    plan = load_config({
        "methods": {"dlr": {"method": "dip", "display": "DIP", "params": {"steps": 50},
                            "sweep": {"lr": [0.001, 0.01], "reg_noise_std": [0.0, 0.05]}}},
        "experiments": {"e": {"task": {"name": "denoise"}, "datasets": ["builtin"], "methods": ["dlr", "bm3d"],
                              "params": {"dlr": {"log_every": 5}}}}})
    labels = plan.experiments["e"]["methods"]
    assert labels == ["dlr-lr0p001-reg_noise_std0", "dlr-lr0p001-reg_noise_std0p05", "dlr-lr0p01-reg_noise_std0",
                      "dlr-lr0p01-reg_noise_std0p05", "bm3d"]
    params = plan.method_params("e", "dlr-lr0p01-reg_noise_std0p05")
    assert (params["lr"], params["reg_noise_std"], params["steps"], params["log_every"]) == (0.01, 0.05, 50, 5)
    sweeps = plan.sweeps("e")
    assert sweeps["dlr"]["DIP (lr=0.01, reg_noise_std=0.05)"] == {"lr": 0.01, "reg_noise_std": 0.05}
    with pytest.raises(ConfigError, match="'lr' is 'x'"):
        load_config({"methods": {"d": {"method": "dip", "sweep": {"lr": ["x"]}}},
                     "experiments": {"e": {"task": {"name": "denoise"}, "datasets": ["builtin"], "methods": ["d"]}}})
