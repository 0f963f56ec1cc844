"""Benchmark datasets: the registry of images and their files (:mod:`.registry`, its tables under
``data/``, which ship with the package), where the cache and mirrors are (:mod:`.settings`), verified
downloads (:mod:`.download`), whole datasets fetched and verified at once (:mod:`.bulk`) and the
``dipbench datasets`` command (:mod:`.cli`)."""

from .bulk import fetch, verify
from .registry import (
    Dataset,
    RegistryFile,
    get_dataset,
    gt_path,
    image_names,
    input_path,
    list_datasets,
    load_gt,
    load_input,
)
from .settings import cache_dir

__all__ = ["Dataset", "RegistryFile", "cache_dir", "fetch", "get_dataset", "gt_path", "image_names",
           "input_path", "list_datasets", "load_gt", "load_input", "verify"]
