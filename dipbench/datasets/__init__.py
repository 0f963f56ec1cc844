"""Benchmark datasets: the registry of images and their files (:mod:`.registry`, its tables under
``data/``, which ship with the package), verified downloads (:mod:`.download`) and the
``dipbench datasets`` command (:mod:`.cli`)."""

from .registry import (
    Dataset,
    RegistryFile,
    cache_dir,
    fetch,
    get_dataset,
    gt_path,
    image_names,
    input_path,
    list_datasets,
    load_gt,
    load_input,
    verify,
)

__all__ = ["Dataset", "RegistryFile", "cache_dir", "fetch", "get_dataset", "gt_path", "image_names",
           "input_path", "list_datasets", "load_gt", "load_input", "verify"]
