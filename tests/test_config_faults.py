"""Configs as a careless user writes them: a results folder that points at the code or the whole disk, a
duplicate YAML key, a label, seed or sweep value listed twice, a typo'd label in a per-label map. Each is
one ConfigError line at plan time (what `snakemake -n` runs), naming where and what."""

import os

import pytest

from dipbench.errors import ConfigError
from dipbench.pipeline.plan import REPOSITORY, load_config
from dipbench.yamlio import check_yaml_files, load_yaml


def _config(**top):
    experiment = top.pop("experiment", {})
    return {**top, "experiments": {"e": {"task": {"name": "denoise"}, "datasets": ["builtin"],
                                         "methods": ["input", "tv"], **experiment}}}


def _refused(config, *words):
    with pytest.raises(ConfigError) as error:
        load_config(config)
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


# ------------------------------------------------------------------------------------------ results folder
@pytest.mark.parametrize("results, words", [
    ("/", "the filesystem root"),
    ("", "results is empty"),
    ("   ", "results is empty"),
    (str(REPOSITORY), "the repository itself"),
    (str(REPOSITORY / "workflow"), "source folder workflow/"),
    (str(REPOSITORY / "dipbench"), "source folder dipbench/"),
    (str(REPOSITORY / "tests" / "out"), "source folder tests/"),
    (str(REPOSITORY / "config"), "source folder config/"),
])
def test_a_results_folder_that_is_not_a_folder_of_its_own_is_refused(results, words):
    if not (REPOSITORY / "Snakefile").is_file() and ("repository" in words or "source folder" in words):
        pytest.skip("dipbench is not installed from its repository here")
    _refused(_config(results=results), words)


def test_results_relative_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refused(_config(results="."), "the current directory")
    _refused(_config(results="./"), "the current directory")
    _refused(_config(results="sub/.."), "the current directory")
    (tmp_path / "file").write_text("x")
    _refused(_config(results="file"), "an existing file")
    assert load_config(_config(results="out")).results.name == "out"
    if (REPOSITORY / "Snakefile").is_file():
        monkeypatch.chdir(REPOSITORY / "config")
        _refused(_config(results="results"), "source folder config/")


# --------------------------------------------------------------------------------------------- YAML keys
def test_a_duplicate_yaml_key_is_an_error_naming_file_line_and_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("results: out\nmethods:\n  tv: {params: {weight_factor: 1.0}}\n  tv: {params: {}}\n"
                    "experiments:\n  e: {task: {name: denoise}, datasets: [builtin], methods: [tv]}\n")
    with pytest.raises(ConfigError, match=rf"config file {path} line 4: duplicate key 'tv' \(first at line 3\)"):
        load_config(path)
    path.write_text("results: out\nresults: elsewhere\n")
    with pytest.raises(ConfigError, match="line 2: duplicate key 'results'"):
        check_yaml_files([path])
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        load_yaml("{a: 1, a: 2}")
    assert load_yaml("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")["use"] == {"x": 1, "y": 3}  # merge keys


def test_every_yaml_file_of_the_project_has_unique_keys():
    files = [*REPOSITORY.glob("config/**/*.yaml"), *REPOSITORY.glob("profiles/**/*.yaml"),
             *REPOSITORY.glob("dipbench/**/*.yaml")]
    if not files:
        pytest.skip("no repository here")
    check_yaml_files(files)


# ------------------------------------------------------------------------------------- repeated entries
@pytest.mark.parametrize("config, words", [
    (_config(experiment={"methods": ["input", "tv", "input"]}), ["experiment 'e' methods lists 'input' twice"]),
    (_config(experiment={"seeds": [0, 1, 0]}), ["experiment 'e' seeds lists 0 twice"]),
    (_config(experiment={"datasets": ["builtin", "builtin"]}), ["datasets lists 'builtin' twice"]),
    (_config(experiment={"images": {"builtin": ["coffee", "coffee"]}}), ["images of 'builtin' lists 'coffee' twice"]),
    (_config(protocols=["dip_paper", "dip_paper"]), ["protocols lists 'dip_paper' twice"]),
    (_config(methods={"tv": {"sweep": {"weight_factor": [0.5, 1.0, 0.5]}}}),
     ["method 'tv' sweep of 'weight_factor' lists 0.5 twice"]),
    (_config(methods={"tv": {"sweep": {"weight_factor": [1, 1.0]}}}), ["make the label 'tv-weight_factor1'"]),
])
def test_an_entry_listed_twice_is_an_error(config, words):
    _refused(config, *words)


# ------------------------------------------------------------------------------------- per-label maps
def test_an_unknown_label_in_threads_is_an_error_and_a_sweep_base_label_counts():
    _refused(_config(threads={"default": 1, "tvv": 2}), "threads: 'tvv' is not a method label", "input, tv")
    plan = load_config(_config(threads={"default": 1, "tv": 2},
                               methods={"tv": {"sweep": {"weight_factor": [0.5, 1.0]}}}))
    assert plan.threads("tv-weight_factor0p5") == 2 and plan.threads("input") == 1


def test_images_for_a_dataset_the_experiment_does_not_use_is_an_error():
    _refused(_config(experiment={"images": {"set5": ["baby"]}}), "images given for dataset 'set5'")
