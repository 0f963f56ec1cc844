"""The paper's reported numbers, as data, and their lookup by experiment and method label.

The numbers live in ``dipbench/report/paper_numbers.yaml`` with their source ("Table 2", "paper text",
"supplement"), and, where known, the value recomputed from the authors' published result images. Lookup::

    >>> reported_value("sr", "set5", {"scale": 4}, "dip")
    (29.9, 'Table 2')

Method labels are mapped to the paper's method names by :func:`paper_method_name` (``dip`` and
``published:deep_prior`` -> ``DIP``, ``bm3d`` -> ``CBM3D``, ...); a record may override the mapping with an
explicit ``paper_method`` field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping

from ..tasks import available_tasks
from ..yamlio import load_yaml, load_yaml_file

PUBLISHED_PREFIX = "published:"

# dipbench method label (lower case, without "published:") -> the paper's method name
LABEL_TO_PAPER: dict[str, str] = {
    "dip": "DIP",
    "deep_prior": "DIP",
    "bm3d": "CBM3D",
    "cbm3d": "CBM3D",
    "nlm": "NLM",
    "bicubic": "bicubic",
    "srresnet-mse": "SRResNet",
    "srresnet_mse": "SRResNet",
    "srresnet": "SRResNet",
    "papyan": "Papyan et al.",
    "tv": "TV prior",
    "tv_prior": "TV prior",
    "no_prior": "no prior",
}


Kind = Literal["paper", "recomputed", "any"]


@dataclass(frozen=True)
class Reported:
    """One method's numbers for one experiment of the paper."""

    experiment_id: str
    paper_method: str
    paper: float | None
    source: str
    recomputed: float | None
    note: str = ""
    protocol: str = "dip_paper"
    metric: str = "psnr"
    per_image: Mapping[str, float] | None = None

    def value(self, kind: Kind = "paper") -> tuple[float, str] | None:
        """``(value, source)`` of the requested kind, or None.

        ``paper``: the value reported in the paper; ``recomputed``: recomputed from the authors' published
        images; ``any``: the paper's value, else the recomputed one.
        """
        if kind in ("paper", "any") and self.paper is not None:
            return self.paper, self.source
        if kind in ("recomputed", "any") and self.recomputed is not None:
            return self.recomputed, RECOMPUTED_SOURCE
        return None


RECOMPUTED_SOURCE = "recomputed from the authors' published images"


def load_paper_numbers(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed YAML (the package's ``report/paper_numbers.yaml`` unless ``path`` is given)."""
    if path is not None:
        return load_yaml_file(path, "reported numbers")
    return _default_numbers()


@lru_cache(maxsize=1)
def _default_numbers() -> dict[str, Any]:
    text = resources.files("dipbench.report").joinpath("paper_numbers.yaml").read_text(encoding="utf-8")
    return load_yaml(text, "reported numbers paper_numbers.yaml")


def all_reported(numbers: Mapping[str, Any] | None = None) -> list[Reported]:
    """Every (experiment, method) entry of the paper's numbers."""
    numbers = numbers if numbers is not None else load_paper_numbers()
    out = []
    for exp in numbers.get("experiments", []):
        for name, entry in (exp.get("methods") or {}).items():
            out.append(_entry(exp, name, entry))
    return out


def _entry(exp: Mapping[str, Any], name: str, entry: Mapping[str, Any]) -> Reported:
    def num(value):
        return None if value is None else float(value)

    per_image = entry.get("per_image") or None
    return Reported(
        experiment_id=str(exp["id"]),
        paper_method=str(name),
        paper=num(entry.get("paper")),
        source=str(entry.get("source", "")),
        recomputed=num(entry.get("recomputed")),
        note=str(entry.get("note", "") or ""),
        protocol=str(exp.get("protocol", "dip_paper")),
        metric=str(exp.get("metric", "psnr")),
        per_image={str(k): float(v) for k, v in per_image.items()} if per_image else None,
    )


def paper_method_name(label: str, paper_method: str | None = None) -> str | None:
    """The paper's name for a dipbench method label, or None when the paper reports no such method.

    ``paper_method`` (e.g. a record's explicit ``paper_method`` field) wins when given and non-empty.
    """
    if isinstance(paper_method, str) and paper_method.strip():
        return paper_method.strip()
    if not isinstance(label, str):
        return None
    key = label.strip()
    if key.lower().startswith(PUBLISHED_PREFIX):
        key = key[len(PUBLISHED_PREFIX) :]
    return LABEL_TO_PAPER.get(key.lower())


def _json_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return dict(parsed) if isinstance(parsed, Mapping) else {}
    return {}


def method_params_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's method parameters: its ``params`` (dict or JSON), completed by ``param_<name>`` fields."""
    params = _json_dict(record.get("params"))
    for key, value in record.items():
        if isinstance(key, str) and key.startswith("param_") and key[6:] not in params:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            params[key[6:]] = value
    return params


def paper_method_of(record: Mapping[str, Any]) -> str | None:
    """The paper's name for the method that made a result record, or None when the paper reports none.

    In order: an explicit ``paper_method`` field; ``published`` runs by their ``source`` parameter
    (``deep_prior`` -> DIP, ``bm3d`` -> CBM3D, ...); an ``ensemble:dip`` run -> DIP (the paper's denoising
    31.00 dB is the mean of two runs' outputs); a single ``dip`` run for denoising -> "DIP (EMA)" or
    "DIP (single run)" by its ``output`` parameter; ``bicubic`` for SR only with a bicubic LR input (the
    paper's baseline; a variant fed DIP's Lanczos LR is not what the paper reported); otherwise the method
    name through :data:`LABEL_TO_PAPER`. A record without a method falls back to its label.
    """
    explicit = record.get("paper_method")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()
    method = record.get("method")
    label = record.get("label")
    if not isinstance(method, str) or not method:
        return paper_method_name(label) if isinstance(label, str) else None
    ensemble = method.startswith("ensemble:")
    base = method.split(":", 1)[1] if ensemble else method
    params = method_params_of(record)
    if base == "published":
        source = params.get("source")
        if isinstance(source, str) and source:
            return paper_method_name(source)
        return paper_method_name(label) if isinstance(label, str) else None
    name = paper_method_name(base)
    if ensemble:
        return "DIP" if name == "DIP" else None
    task = record.get("task")
    if name == "DIP" and task == "denoise":
        output = params.get("output")
        return {"ema": "DIP (EMA)", "last": "DIP (single run)"}.get(output, "DIP")
    if name == "bicubic" and task == "sr":
        kernel = task_params_of(record).get("lr_kernel")
        if isinstance(kernel, str) and kernel != "bicubic":
            return None
    return name


def reported_for_record(
    record: Mapping[str, Any], *, metric: str = "psnr", numbers: Mapping[str, Any] | None = None
) -> Reported | None:
    """The paper's entry for the experiment and method of a result record (see :func:`paper_method_of`)."""
    name = paper_method_of(record)
    if name is None:
        return None
    protocol = record.get("protocol")
    return reported_entry(
        str(record.get("task")), str(record.get("dataset")), task_params_of(record), "", metric=metric,
        protocol=protocol if isinstance(protocol, str) else None, paper_method=name, numbers=numbers,
    )


def task_params_from_slug(task_slug: str) -> dict[str, float]:
    """The identifying task parameters (scale, sigma, keep) parsed from a task slug such as
    ``sr_crop_multiple32_lr_kernellanczos_scale4`` or ``denoise_clip1_quantize0_sigma25``."""
    out: dict[str, float] = {}
    if not isinstance(task_slug, str):
        return out
    for key in ("scale", "sigma", "keep"):
        match = re.search(rf"(?:^|_){key}(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?=_|$)", task_slug)
        if match:
            out[key] = float(match.group(1))
    return out


def task_params_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The task parameters of a result record: its ``task_params`` field (dict or JSON) if present, else
    parsed from ``task_slug``."""
    params = record.get("task_params")
    if isinstance(params, str) and params.strip():
        try:
            params = json.loads(params)
        except ValueError:
            params = None
    if isinstance(params, Mapping) and params:
        return dict(params)
    return task_params_from_slug(record.get("task_slug", ""))


def _dataset_matches(exp: Mapping[str, Any], dataset: str) -> bool:
    names = [exp.get("dataset", "")] + list(exp.get("dataset_aliases") or [])
    return str(dataset).strip().lower() in {str(n).lower() for n in names}


def _key_params(task: str) -> tuple[str, ...]:
    """The task parameters that identify a reported number (``Task.key_params``); none for unknown tasks."""
    cls = available_tasks().get(task)
    return cls.key_params if cls is not None else ()


def _params_match(exp: Mapping[str, Any], task: str, params: Mapping[str, Any] | None) -> bool:
    params = params or {}
    for key in _key_params(task):
        want = (exp.get("params") or {}).get(key)
        if want is None:
            continue
        have = params.get(key)
        try:
            if have is None or not math.isclose(float(have), float(want), rel_tol=1e-9, abs_tol=1e-9):
                return False
        except (TypeError, ValueError):
            return False
    return True


def find_experiment(
    task: str, dataset: str, params: Mapping[str, Any] | None, numbers: Mapping[str, Any] | None = None
) -> Mapping[str, Any] | None:
    """The paper experiment matching task, dataset and identifying parameters, or None."""
    numbers = numbers if numbers is not None else load_paper_numbers()
    for exp in numbers.get("experiments", []):
        if exp.get("task") == task and _dataset_matches(exp, dataset) and _params_match(exp, task, params):
            return exp
    return None


def reported_entry(
    task: str,
    dataset: str,
    params: Mapping[str, Any] | None,
    method_label: str,
    *,
    metric: str = "psnr",
    protocol: str | None = None,
    paper_method: str | None = None,
    numbers: Mapping[str, Any] | None = None,
) -> Reported | None:
    """The paper's entry for this experiment and method label (see :class:`Reported`), or None.

    A ``protocol`` other than the one the paper's numbers were made with (``dip_paper``) gives None: numbers
    under different protocols are not comparable.
    """
    name = paper_method_name(method_label, paper_method)
    if name is None:
        return None
    exp = find_experiment(task, dataset, params, numbers)
    if exp is None or exp.get("metric", "psnr") != metric:
        return None
    if protocol is not None and isinstance(protocol, str) and protocol != exp.get("protocol", "dip_paper"):
        return None
    methods = exp.get("methods") or {}
    if name not in methods:
        return None
    return _entry(exp, name, methods[name])


def reported_value(
    task: str, dataset: str, params: Mapping[str, Any] | None, method_label: str, *, kind: Kind = "paper",
    **query: Any,
) -> tuple[float, str] | None:
    """``(value, source)`` the paper reports for this method on this experiment, or None.

    task: ``sr`` / ``denoise`` / ``inpaint``; dataset: a dipbench dataset name (``set5``, ``set14``,
    ``dip_denoise9``, ``inpaint11``); params: task parameters, of which ``scale`` / ``sigma`` / ``keep`` must
    match; method_label: a dipbench label (``dip``, ``published:bm3d``, ...). ``kind`` picks the paper's value
    (default), the value recomputed from the published images, or ``any`` (paper, else recomputed).
    ``query`` takes the keywords of :func:`reported_entry` (metric, protocol, paper_method, numbers).
    """
    entry = reported_entry(task, dataset, params, method_label, **query)
    return None if entry is None else entry.value(kind)
