"""Workflow configuration: validation with defaults, and the static list of jobs it implies.

``load_config`` checks a config (a YAML path or a dict) against ``config.schema.yaml`` beside this module
(package data; its task and protocol enums are filled in from the registries), fills defaults, then checks every task, method label, method parameter and dataset against the registries,
so a typo fails at once with one line. ``Plan`` enumerates observations and runs from the registry alone
(no download), which lets Snakemake build the whole DAG offline.

File layout under ``results``::

    observations/<observation id>/<dataset>/<image>/seed<seed>.npz   one degraded input, shared by methods
    runs/<experiment>/<label>/<dataset>/<image>/seed<seed>/{restored.png,curve.csv,run.json}
    metrics/<protocol>/<experiment>/<label>/<dataset>/<image>/seed<seed>.json
    tables/, figures/
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import jsonschema

from ..datasets import registry as datasets
from ..errors import ConfigError
from ..plugins import env_plugins, load_plugins
from ..metrics import protocol_names
from ..tasks import make_task, task_names
from ..yamlio import load_yaml_file

SCHEMA_PATH = Path(__file__).resolve().parent / "config.schema.yaml"
#: The repository this package was installed from (an editable install), if it is one, and its folders
#: that hold source rather than outputs: a results folder there would mix outputs into the code.
REPOSITORY = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = (".git", "benchmarks", "config", "datasets", "dipbench", "docs", "examples", "profiles", "tests",
                  "workflow")


def check_results_folder(value: Any) -> Path:
    """The ``results`` folder, refused with a :class:`ConfigError` when it is empty, the filesystem root,
    the current directory (``.``, where Snakemake runs), the repository or one of its source folders (or
    inside one), or an existing file. Relative paths are taken from the current directory."""
    text = str(value)
    if not text.strip():
        raise ConfigError("results is empty: name a folder for the outputs, e.g. results")
    resolved = Path(text).expanduser().resolve()
    why = None
    if resolved == Path(resolved.anchor):
        why = "the filesystem root"
    elif (REPOSITORY / "Snakefile").is_file() and resolved == REPOSITORY:
        why = "the repository itself"
    elif (REPOSITORY / "Snakefile").is_file():
        for name in SOURCE_FOLDERS:
            folder = REPOSITORY / name
            if resolved == folder or folder in resolved.parents:
                why = f"inside the repository's source folder {name}/"
    if why is None and resolved == Path.cwd().resolve():
        why = "the current directory; the outputs need a folder of their own"
    if why is None and resolved.exists() and not resolved.is_dir():
        why = "an existing file"
    if why:
        raise ConfigError(f"results {text!r} is {why}: choose another folder, e.g. results")
    return resolved


@dataclass(frozen=True)
class RunKey:
    """The identity of one restore run; ``seed`` is the user-facing seed index (0, 1, ...)."""

    experiment: str
    label: str
    dataset: str
    image: str
    seed: int

    @property
    def run_dir(self) -> str:
        return f"runs/{self.experiment}/{self.label}/{self.dataset}/{self.image}/seed{self.seed}"

    def metrics_path(self, protocol: str) -> str:
        return f"metrics/{protocol}/{self.experiment}/{self.label}/{self.dataset}/{self.image}/seed{self.seed}.json"


@dataclass(frozen=True)
class ObservationSpec:
    """How to make one observation: task parameters, optional centre crop to a multiple of
    ``centre_crop`` px, optional demo resize, published inputs or not."""

    task: dict[str, Any]
    image_size: int | None
    published_inputs: bool
    centre_crop: int | None = None

    @property
    def id(self) -> str:
        task = make_task(**self.task)
        parts = [task.slug]
        if self.centre_crop:
            parts.append(f"crop{self.centre_crop}")
        if self.image_size:
            parts.append(f"size{self.image_size}")
        if not self.published_inputs:
            parts.append("simulated")
        return "_".join(parts)


def config_schema() -> dict[str, Any]:
    """The config's JSON schema, with the registered task names and metric protocols as its enums."""
    schema = load_yaml_file(SCHEMA_PATH, "config schema")
    schema["properties"]["protocols"]["items"] = {"enum": protocol_names()}
    experiment = schema["properties"]["experiments"]["additionalProperties"]
    experiment["properties"]["task"]["properties"]["name"] = {"enum": task_names()}
    return schema


def _validator():
    schema = config_schema()
    base = jsonschema.Draft202012Validator

    def set_defaults(validator, properties, instance, schema):
        for name, sub in properties.items():
            if isinstance(instance, dict) and "default" in sub and name not in instance:
                instance[name] = copy.deepcopy(sub["default"])
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    extended = jsonschema.validators.extend(base, {"properties": set_defaults})
    return extended(schema)


def load_config(source: str | os.PathLike | dict) -> "Plan":
    """Validate a config (YAML path or dict) and return its :class:`Plan`; errors are :class:`ConfigError`."""
    if isinstance(source, dict):
        config = copy.deepcopy(source)
    else:
        config = load_yaml_file(source) or {}  # a duplicate key is an error (dipbench.yamlio)
    validator = _validator()
    for key, sub in validator.schema["properties"].items():  # `snakemake --config key=true` passes a string
        if sub.get("type") == "boolean" and isinstance(config.get(key), str):
            config[key] = {"true": True, "false": False}.get(config[key].lower(), config[key])
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise ConfigError(f"invalid config at {where}: {first.message}")
    check_no_repeats(config)
    expand_sweeps(config)
    plan = Plan(config)
    plan.check()
    return plan


def check_no_repeats(config: dict[str, Any]) -> None:
    """Refuse a value listed twice where each entry makes its own rows or jobs: an experiment's methods,
    seeds and datasets, an image subset, the protocols, the plugins, a sweep's values (:class:`ConfigError`
    naming where and what)."""
    lists = [("protocols", config["protocols"]), ("plugins", config["plugins"])]
    for name, exp in config["experiments"].items():
        lists += [(f"experiment {name!r} {key}", exp.get(key, [])) for key in ("methods", "seeds", "datasets")]
        lists += [(f"experiment {name!r} images of {dataset!r}", images) for dataset, images in exp.get("images", {}).items()]
    for label, entry in config["methods"].items():
        for param, values in ((entry or {}).get("sweep") or {}).items():
            lists.append((f"method {label!r} sweep of {param!r}", values))
    for where, values in lists:
        seen = set()
        for value in values:
            key = json.dumps(value, sort_keys=True, default=str)
            if key in seen:
                raise ConfigError(f"{where} lists {value!r} twice: each entry may appear once")
            seen.add(key)


def expand_sweeps(config: dict[str, Any]) -> None:
    """Replace each method label with a ``sweep`` by one label per value (per combination of values):
    ``<label>-<param><value>`` with those parameters set, its display ``<display> (<param>=<value>)``, and
    ``swept`` recording the base label and values; experiments listing the base label get all of them."""
    expanded: dict[str, list[str]] = {}
    for label, entry in list(config["methods"].items()):
        if not entry or "sweep" not in entry:
            continue
        sweep = entry.pop("sweep")
        names = sorted(sweep)
        del config["methods"][label]
        expanded[label] = []
        for combination in itertools.product(*(sweep[name] for name in names)):
            values = dict(zip(names, combination))
            suffix = "-".join(f"{name}{_label_value(value)}" for name, value in values.items())
            new_label = f"{label}-{suffix}"
            if new_label in config["methods"]:  # e.g. values 1 and 1.0, or a label of that name already there
                raise ConfigError(f"method {label!r}: sweep values {values} make the label {new_label!r}, "
                                  "which another sweep value or method already has")
            shown = ", ".join(f"{name}={value}" for name, value in values.items())
            config["methods"][new_label] = {
                "method": entry.get("method", label), "params": {**entry.get("params", {}), **values},
                "display": f"{entry.get('display', label)} ({shown})", "swept": {"of": label, "values": values}}
            expanded[label].append(new_label)
    for exp in config["experiments"].values():
        exp["methods"] = [new for label in exp["methods"] for new in expanded.get(label, [label])]
        for label in list(exp["params"]):
            for new in expanded.get(label, []):
                exp["params"].setdefault(new, exp["params"][label])
            if label in expanded:
                del exp["params"][label]


def _label_value(value: Any) -> str:
    """A swept value as label characters: 0.01 -> 0p01, -1 -> m1, True -> 1."""
    text = "1" if value is True else "0" if value is False else f"{value:g}" if isinstance(value, float) else str(value)
    return "".join(c if c.isalnum() else {".": "p", "-": "m"}.get(c, "_") for c in text)


class Plan:
    """A validated configuration and the jobs it implies."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        config["plugins"] = [str(Path(p).resolve()) if p.endswith(".py") else p for p in config["plugins"]]
        load_plugins(config["plugins"] + env_plugins())

    @property
    def results(self) -> Path:
        return Path(self.config["results"])

    @property
    def protocols(self) -> list[str]:
        return list(self.config["protocols"])

    @property
    def experiments(self) -> dict[str, dict[str, Any]]:
        return self.config["experiments"]

    def method_entry(self, label: str) -> dict[str, Any]:
        """``{"method": registry name, "params": {...}, "display": str, "swept": {...} or None}`` for a label."""
        entry = self.config["methods"].get(label) or {}
        return {"method": entry.get("method", label), "params": dict(entry.get("params", {})),
                "display": entry.get("display", label), "swept": entry.get("swept")}

    def sweeps(self, experiment: str) -> dict[str, dict[str, Any]]:
        """The experiment's swept rows by base label: ``{label: {display: {param: value}}}`` (display names,
        as the tables and figures show them)."""
        found: dict[str, dict[str, Any]] = {}
        for label in self.experiments[experiment]["methods"]:
            entry = self.method_entry(label)
            if entry["swept"]:
                found.setdefault(entry["swept"]["of"], {})[entry["display"]] = entry["swept"]["values"]
        return found

    def report_settings(self) -> dict[str, Any]:
        """What the report step needs beyond the records (:func:`dipbench.report.build.build_report`'s
        options), JSON values: ``protocol`` (tables for each, figures for the first), ``displays`` (label ->
        display name), ``exclude_images``, ``references`` and ``orders`` (by experiment, as display names),
        ``sweeps`` (:meth:`sweeps`) and ``reference_check`` (an absolute path, or None). The workflow's report
        rule passes them, and the manifest keeps them so that ``dipbench report`` rebuilds from the results
        folder alone."""
        check = self.config.get("reference_check")
        return {
            "protocol": self.protocols,
            "displays": {label: self.method_entry(label)["display"]
                         for exp in self.experiments.values() for label in exp["methods"]},
            "exclude_images": list(self.config["exclude_images"]),
            "references": {name: self.method_entry(self.reference(name))["display"]
                           for name in self.experiments if self.reference(name)},
            "orders": {name: [self.method_entry(label)["display"] for label in [*exp["methods"], *exp["ensembles"]]]
                       for name, exp in self.experiments.items()},
            "sweeps": {name: self.sweeps(name) for name in self.experiments if self.sweeps(name)},
            "reference_check": str(Path(check).resolve()) if check else None,
        }

    def metrics_paths(self) -> list[str]:
        """Every record the report reads, relative to the results folder (one per run and protocol)."""
        return [run.metrics_path(protocol) for run in self.runs() for protocol in self.protocols]

    def method_params(self, experiment: str, label: str) -> dict[str, Any]:
        """Parameters of a label in an experiment, resolved against the method's defaults (smoke included)."""
        from ..methods import get_method

        entry = self.method_entry(label)
        overrides = {**entry["params"], **self.experiments[experiment]["params"].get(label, {})}
        cls = get_method(entry["method"])
        for key in ("precision", "environment"):  # config-wide values for every label that takes them
            value = self.config.get(key)
            if value and key in cls.defaults and key not in overrides:
                overrides[key] = value
        return cls.resolve_params(self.experiments[experiment]["task"]["name"], overrides,
                                  smoke=self.config["smoke"])

    def observation_spec(self, experiment: str, label: str) -> ObservationSpec:
        exp = self.experiments[experiment]
        label = exp["ensembles"].get(label, {}).get("of", label)
        task = {**exp["task"], **exp["task_overrides"].get(label, {})}
        return ObservationSpec(task=task, image_size=exp["image_size"], published_inputs=exp["published_inputs"],
                               centre_crop=exp["centre_crop"])

    def images(self, experiment: str, dataset: str) -> list[str]:
        subset = self.experiments[experiment]["images"].get(dataset)
        names = datasets.image_names(dataset)
        if subset is None:
            return names
        unknown = sorted(set(subset) - set(names))
        if unknown:
            raise ConfigError(f"experiment {experiment!r}: dataset {dataset!r} has no image(s) {unknown}")
        return list(subset)

    def reference(self, experiment: str) -> str | None:
        """The label the experiment's other methods are compared with: its ``reference``, else ``dip``
        where it has that label, else none."""
        exp = self.experiments[experiment]
        return exp.get("reference") or ("dip" if "dip" in exp["methods"] else None)

    def threads(self, label: str) -> int:
        """CPU threads of a label's jobs: its ``threads`` entry, else its sweep base label's, else ``default``."""
        threads = self.config["threads"]
        base = (self.method_entry(label)["swept"] or {}).get("of")
        return int(threads.get(label, threads.get(base, threads.get("default", 1))))

    def run_seeds(self, experiment: str, label: str) -> list[int]:
        """The seeds a label runs: every seed of the experiment, or only the first for a method whose
        result does not depend on the seed (``Method.seeded``); the report counts that one run once per image."""
        from ..methods import get_method

        seeds = list(self.experiments[experiment]["seeds"])
        task = self.experiments[experiment]["task"]["name"]
        return seeds if get_method(self.method_entry(label)["method"]).uses_seed(task) else seeds[:1]

    def runs(self) -> Iterator[RunKey]:
        """Every run: each method label x dataset x image x seed (one seed for deterministic methods),
        then each ensemble label at seed 0."""
        for name, exp in self.experiments.items():
            seeds = {label: self.run_seeds(name, label) for label in exp["methods"]}
            for dataset in exp["datasets"]:
                for image in self.images(name, dataset):
                    for label in exp["methods"]:
                        for seed in seeds[label]:
                            yield RunKey(name, label, dataset, image, seed)
                    for label in exp["ensembles"]:
                        yield RunKey(name, label, dataset, image, 0)

    def fused_labels(self, experiment: str) -> list[str]:
        """Labels of ``experiment`` whose seeds run as one fused job (``fuse_seeds``, more than one seed,
        and a method that fuses runs)."""
        from ..methods import get_method

        exp = self.experiments[experiment]
        if not self.config["fuse_seeds"] or len(exp["seeds"]) < 2:
            return []
        return [label for label in exp["methods"]
                if getattr(get_method(self.method_entry(label)["method"]), "fuses_runs", False)]

    def ensemble_members(self, key: RunKey) -> list[RunKey]:
        """The runs whose restored images an ensemble run averages."""
        exp = self.experiments[key.experiment]
        of = exp["ensembles"][key.label]["of"]
        return [RunKey(key.experiment, of, key.dataset, key.image, seed) for seed in exp["seeds"]]

    @property
    def ensemble_labels(self) -> list[str]:
        return sorted({label for exp in self.experiments.values() for label in exp["ensembles"]})

    @cached_property
    def observations(self) -> dict[str, ObservationSpec]:
        """Every observation id the runs need, with its spec."""
        specs: dict[str, ObservationSpec] = {}
        for name, exp in self.experiments.items():
            for label in exp["methods"]:
                spec = self.observation_spec(name, label)
                specs[spec.id] = spec
        return specs

    def observation_path(self, key: RunKey) -> str:
        spec = self.observation_spec(key.experiment, key.label)
        seed = self.experiments[key.experiment]["observation_seed"]
        return f"observations/{spec.id}/{key.dataset}/{key.image}/seed{seed}.npz"

    def _check_label_maps(self) -> None:
        """Keys of per-label maps must be labels: ``threads`` (besides ``default``) of some experiment's
        method or ensemble, or of a swept label's base; an experiment's ``images`` one of its datasets."""
        labels = {label for exp in self.experiments.values() for label in [*exp["methods"], *exp["ensembles"]]}
        labels |= {entry["swept"]["of"] for entry in self.config["methods"].values() if entry and entry.get("swept")}
        unknown = sorted(set(self.config["threads"]) - labels - {"default"})
        if unknown:
            raise ConfigError(f"threads: {unknown[0]!r} is not a method label of any experiment "
                              f"(labels: {', '.join(sorted(labels))}; or 'default')")
        for name, exp in self.experiments.items():
            extra = sorted(set(exp["images"]) - set(exp["datasets"]))
            if extra:
                raise ConfigError(f"experiment {name!r}: images given for dataset {extra[0]!r}, which is not in its "
                                  "datasets")

    def check(self) -> None:
        """Check names and parameters against the registries (raises :class:`ConfigError`)."""
        from ..methods import get_method

        check_results_folder(self.config["results"])
        self._check_label_maps()
        known = {d.name for d in datasets.list_datasets()}
        for name, exp in self.experiments.items():
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ConfigError(f"experiment name {name!r}: use letters, digits, '_' and '-' only")
            task_name = exp["task"]["name"]
            for dataset in exp["datasets"]:
                if dataset not in known:
                    raise ConfigError(f"experiment {name!r}: unknown dataset {dataset!r}; known: {', '.join(sorted(known))}")
                self.images(name, dataset)
            for label, ensemble in exp["ensembles"].items():
                if ensemble["of"] not in exp["methods"]:
                    raise ConfigError(f"experiment {name!r}: ensemble {label!r} averages {ensemble['of']!r}, "
                                      "which is not in its methods")
                if label in exp["methods"]:
                    raise ConfigError(f"experiment {name!r}: {label!r} is both a method and an ensemble")
            reference = exp.get("reference")
            if reference and reference not in list(exp["methods"]) + list(exp["ensembles"]):
                raise ConfigError(f"experiment {name!r}: reference {reference!r} is not one of its methods")
            for label in list(exp["params"]) + list(exp["task_overrides"]):
                if label not in exp["methods"]:
                    raise ConfigError(f"experiment {name!r}: parameters given for {label!r}, which is not in its methods")
            for label in exp["methods"]:
                if not label.replace("_", "").replace("-", "").isalnum():
                    raise ConfigError(f"method label {label!r}: use letters, digits, '_' and '-' only")
                cls = get_method(self.method_entry(label)["method"])
                if not cls.supports(task_name):
                    raise ConfigError(
                        f"experiment {name!r}: method {label!r} does not support task {task_name!r} "
                        f"(supports: {cls.tasks_text()})"
                    )
                params = self.method_params(name, label)
                self.observation_spec(name, label).id  # validates task parameters
                min_side = getattr(cls, "min_image_side", None)
                task = self.observation_spec(name, label).task
                if exp["image_size"] and min_side is not None and exp["image_size"] < min_side(params, task):
                    raise ConfigError(
                        f"experiment {name!r}: image_size {exp['image_size']} is too small for {label!r}, "
                        f"which needs at least {min_side(params, task)} px per side")
