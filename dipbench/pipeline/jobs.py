"""The workflow's jobs, one function each: make an observation, restore it with one method (or several
seeds at once), average runs, evaluate a restored image.

These are what the workflow's rules and the CLI call. Every output is written atomically, and the JSON
record is written last, so a killed job leaves nothing that looks finished.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..atomic import atomic_open, write_json
from ..datasets import registry as datasets
from ..imaging.io import read_image, write_png
from ..imaging.geometry import center_box
from ..imaging.resize import square_resize
from ..metrics import score
from ..metrics.registry import PROTOCOL_METRICS
from ..provenance import run_provenance
from ..seeding import derive_seed
from .integrity import check_restored, vouch
from ..tasks import Observation, make_task
from ..threads import set_threads as _set_threads

def make_observation(spec: "ObservationSpec", dataset: str, image: str, seed: int,
                     mirror: str | None = None) -> Observation:
    """Load a ground truth, prepare it for the task and degrade it with a seed derived from its identity.

    Where the dataset carries the DIP authors' published input for this task (``Task.published_input``:
    sigma 25 noisy images, 50% masked images) and ``spec.published_inputs`` is true, that input is used
    instead of a new draw. Files of the dataset named in ``Task.extra_inputs`` (a ``mask``, a ``flash``
    photo) are passed to the task; ``spec.centre_crop`` and ``spec.image_size`` crop and resize them
    with the ground truth (binary images, i.e. masks, with nearest-neighbour resampling).
    """
    task = make_task(**spec.task)
    gt = datasets.load_gt(dataset, image, mirror=mirror)
    inputs = _dataset_inputs(task, dataset, image, mirror)
    published = _published_input(spec, task, dataset, image, mirror)
    if spec.centre_crop:
        box = center_box(*gt.shape[:2], spec.centre_crop)  # the notebooks' centre crop to a multiple of k
        gt = box.slice(gt)
        inputs = {name: box.slice(array) for name, array in inputs.items()}
    if spec.image_size:
        gt = square_resize(gt, spec.image_size)
        inputs = {name: square_resize(array, spec.image_size, nearest=_is_binary(array))
                  for name, array in inputs.items()}
        published = None
    gt = task.prepare_gt(gt)
    rng = np.random.default_rng(derive_seed("observation", spec.id, dataset, image, seed))
    if published is not None:
        inputs.update(task.published_inputs(published, gt))
    obs = task.degrade(gt, rng, **inputs)
    obs.dataset, obs.image, obs.seed = dataset, image, seed
    obs.source = "simulated" if published is None and not inputs else "published"
    return obs


def _dataset_inputs(task, dataset: str, image: str, mirror) -> dict[str, np.ndarray]:
    """The dataset's files for the task's extra inputs (e.g. ``mask``), by input name."""
    roles = datasets.get_dataset(dataset).roles
    found = {}
    for name in task.extra_inputs:
        if name in roles:
            array = datasets.load_input(dataset, image, name, mirror=mirror)
            if array is not None:
                found[name] = array
    return found


def _is_binary(array: np.ndarray) -> bool:
    return bool(np.isin(array, (0.0, 1.0)).all())


def _published_input(spec, task, dataset, image, mirror):
    if not spec.published_inputs or task.published_input is None:
        return None
    param, value, role = task.published_input
    if task.params[param] != value or role not in datasets.get_dataset(dataset).roles:
        return None
    path = datasets.input_path(dataset, image, role, mirror=mirror)
    if path is None:
        return None
    channels = datasets.get_dataset(dataset).channels
    return read_image(path, "to_rgb" if channels == 3 else "to_gray")


def prepare(spec: "ObservationSpec", dataset: str, image: str, seed: int, out: str | os.PathLike,
            mirror: str | None = None) -> Observation:
    """Make an observation and save it to ``out`` (.npz), with a viewable ``<out stem>.png`` beside it."""
    obs = make_observation(spec, dataset, image, seed, mirror)
    out = Path(out)
    write_png(out.with_suffix(".png"), obs.y)
    obs.save(out)
    return obs


def restore(obs_path: str | os.PathLike, method: str, params: dict[str, Any], seed: int, out_dir: str | os.PathLike,
            *, device: str = "auto", threads: int | None = None, progress: bool = False,
            identity: dict[str, Any] | None = None, config_hash: str | None = None) -> dict[str, Any]:
    """Restore one observation; writes ``restored.png``, ``curve.csv`` (maybe empty) and ``run.json``.

    The method's seed is derived from the run identity (method, task and its parameters, dataset, image,
    observation seed, run seed), so the same run gives the same CPU result on any machine. Returns the
    run record.
    """
    return restore_seeds(obs_path, method, params, [seed], [out_dir], device=device, threads=threads,
                         progress=progress, identity=identity, config_hash=config_hash)[0]


def restore_seeds(obs_path: str | os.PathLike, method: str, params: dict[str, Any], seeds: Sequence[int],
                  out_dirs: Sequence[str | os.PathLike], *, device: str = "auto", threads: int | None = None,
                  progress: bool = False, identity: dict[str, Any] | None = None,
                  config_hash: str | None = None) -> list[dict[str, Any]]:
    """Restore one observation once per seed, writing run k's files to ``out_dirs[k]``; returns the records.

    Each record carries the run's provenance (:func:`dipbench.provenance.run_provenance`): the code's
    commit, ``config_hash`` (the SHA-256 of the resolved configuration that planned the run), the hardware.

    The runs go through :meth:`Method.restore_many`, which fuses them into one fit for methods that can
    (DIP: one grouped network, equal to separate runs up to rounding) and runs them one by one
    otherwise. Each run's seed is derived exactly as in :func:`restore`.
    """
    from ..methods import RunContext, get_method
    from ..methods.contract import run_method

    if len(seeds) != len(out_dirs) or not seeds:
        raise ValueError("restore_seeds needs one output folder per seed, and at least one seed")
    if threads:
        _set_threads(threads)
    obs = Observation.load(obs_path)
    cls = get_method(method)
    instance = cls(obs.task, **params)
    if threads:
        _set_threads(threads)  # again: the method's module may have imported torch
    task_slug = make_task(obs.task, **obs.task_params).slug
    run_seeds = [derive_seed("run", method, task_slug, obs.dataset, obs.image, obs.seed, seed) for seed in seeds]
    contexts = [RunContext(seed=run_seed, device=device, progress=progress, threads=threads) for run_seed in run_seeds]
    start = time.perf_counter()
    results = run_method(instance, obs, contexts)  # the output contract: dipbench.methods.contract
    runtime = (time.perf_counter() - start) / len(seeds)  # a fused fit's time is shared by its runs
    records = []
    for seed, run_seed, result, out_dir in zip(seeds, run_seeds, results, out_dirs):
        image = result.image
        out_dir = Path(out_dir)
        write_png(out_dir / "restored.png", image)
        with atomic_open(out_dir / "curve.csv", "w") as handle:
            if result.curve is not None:
                result.curve.to_csv(handle, index=False)
        record = {
            **(identity or {}),
            "task": obs.task,
            "task_params": obs.task_params,
            "dataset": obs.dataset,
            "image": obs.image,
            "method": method,
            "method_version": cls.version,
            "seeded": cls.uses_seed(obs.task),
            "params": instance.params,
            "seed": seed,
            "run_seed": run_seed,
            "runtime_s": runtime,
            "device": str(result.info.get("device", device if device != "auto" else "cpu")),
            "precision": result.info.get("precision", "fp32"),
            **run_provenance(result.info.get("device", device if device != "auto" else "cpu"), config_hash),
            "python": platform.python_version(),
            "info": {k: v for k, v in result.info.items() if k not in ("device", "precision")},
            "observation": str(obs_path),
        }
        vouch(record, out_dir / "restored.png")  # the record names its image's sha256 (pipeline/integrity.py)
        write_json(out_dir / "run.json", record)
        if result.info.get("diverged"):
            print(f"dipbench: warning: {result.info['divergence']} ({out_dir})", file=sys.stderr)
        records.append(record)
    return records


def evaluate(obs_path: str | os.PathLike, restored: str | os.PathLike, run_json: str | os.PathLike, protocol: str,
             out: str | os.PathLike) -> dict[str, Any]:
    """Score a restored PNG under ``protocol`` and write the flat result record (run record + metrics).

    An observation without a ground truth (a given JPEG, a real flash / no-flash pair, noise impedance)
    is a no-reference run: its record has ``reference: false`` and NaN metrics, which tables show as
    blanks and averages skip.
    """
    obs = Observation.load(obs_path)
    record = json.loads(Path(run_json).read_text())
    check_restored(restored, record, run_json)  # a damaged image is refused; the next plan redoes its run
    pred = read_image(restored, "to_rgb" if obs.channels == 3 else "to_gray")
    if obs.gt is None:
        metrics = {**{name: float("nan") for name in PROTOCOL_METRICS}, "protocol": protocol}
    else:
        metrics = score(obs.gt, pred, obs.task, protocol, scale=obs.task_params.get("scale"), target=obs.target,
                        mask=obs.mask)
    flat = {k: v for k, v in record.items() if k not in ("params", "task_params", "info")}
    flat.update(metrics)
    flat["params"] = json.dumps(record["params"], sort_keys=True)
    flat["task_params"] = json.dumps(record["task_params"], sort_keys=True)
    for key, value in record["params"].items():  # every parameter as its own column, e.g. param_bn_init
        flat[f"param_{key}"] = value if isinstance(value, (int, float, str, bool)) or value is None else json.dumps(value)
    for key, value in record.get("info", {}).items():
        if isinstance(value, (int, float, str, bool)) or value is None:
            flat[key] = value
        else:
            flat[key] = json.dumps(value, sort_keys=True)
    flat["task_slug"] = make_task(obs.task, **obs.task_params).slug
    flat["input_source"] = obs.source
    flat["reference"] = obs.gt is not None
    if obs.gt is not None and obs.y.shape == obs.output_shape:  # denoising, inpainting: the input's own score
        flat["input_psnr"] = score(obs.gt, obs.y, obs.task, protocol, target=obs.target)["psnr"]
    flat["restored"] = str(restored)
    flat["curve"] = str(Path(restored).with_name("curve.csv"))
    write_json(out, flat)
    return flat


def ensemble(member_images: list[str | os.PathLike], member_records: list[str | os.PathLike],
             out_dir: str | os.PathLike, identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """Average restored images over runs (the paper's "average of two runs"); writes a run like restore."""
    records = [json.loads(Path(path).read_text()) for path in member_records]
    for path, record, record_path in zip(member_images, records, member_records):
        check_restored(path, record, record_path)
    images = [read_image(path) for path in member_images]
    first = records[0]
    out_dir = Path(out_dir)
    write_png(out_dir / "restored.png", np.mean(images, axis=0))
    with atomic_open(out_dir / "curve.csv", "w"):
        pass
    record = {
        **first,
        **(identity or {}),
        "method": f"ensemble:{first['method']}",
        "seed": 0,
        "run_seed": None,
        "runtime_s": float(sum(r["runtime_s"] for r in records)),
        "info": {"ensemble_of": (identity or {}).get("of", first.get("label")), "ensemble_size": len(records),
                 "ensemble_seeds": json.dumps([r["seed"] for r in records])},
    }
    vouch(record, out_dir / "restored.png")
    write_json(out_dir / "run.json", record)
    return record
