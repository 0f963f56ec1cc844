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
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import yaml

from ..datasets import registry as datasets
from ..errors import ConfigError
from ..plugins import env_plugins, load_plugins
from ..metrics import protocol_names
from ..tasks import make_task, task_names

SCHEMA_PATH = Path(__file__).resolve().parent / "config.schema.yaml"


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
    schema = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
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
        path = Path(source)
        try:
            config = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    validator = _validator()
    for key, sub in validator.schema["properties"].items():  # `snakemake --config key=true` passes a string
        if sub.get("type") == "boolean" and isinstance(config.get(key), str):
            config[key] = {"true": True, "false": False}.get(config[key].lower(), config[key])
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise ConfigError(f"invalid config at {where}: {first.message}")
    expand_sweeps(config)
    plan = Plan(config)
    plan.check()
    return plan


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
        threads = self.config["threads"]
        return int(threads.get(label, threads.get("default", 1)))

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

    def check(self) -> None:
        """Check names and parameters against the registries (raises :class:`ConfigError`)."""
        from ..methods import get_method

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
