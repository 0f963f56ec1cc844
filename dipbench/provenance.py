"""Where a result came from: the code, the configuration and the hardware that made it.

Every run record carries :func:`run_provenance` (flat fields, so they become columns of ``runs.csv``):

- ``git_commit`` / ``git_dirty``: the commit of the dipbench checkout the code ran from and whether its
  tracked or untracked, non-ignored files differed from it (both None when dipbench is installed, not run
  from a checkout: ``dipbench_version`` then names the code);
- ``config_sha256``: the SHA-256 of the resolved configuration that planned the run (:func:`config_sha256`:
  the workflow's resolved experiment, or the CLI's task, method and parameters);
- ``cpu_model``, ``gpu_name`` (None on the CPU), ``torch_version``, ``cuda_version`` (torch's CUDA build,
  None for a CPU build), ``threads`` (torch's intra-op threads when the run started).

The precision a run actually used is the record's ``precision`` (the method reports it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import __version__

#: The provenance fields of a run record, in the order the report lists them.
PROVENANCE_FIELDS = ("git_commit", "git_dirty", "dipbench_version", "config_sha256", "cpu_model", "gpu_name",
                     "torch_version", "cuda_version", "threads", "precision")

_SOURCE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def _cpuinfo() -> dict[str, str]:
    """The first processor's ``key: value`` lines of /proc/cpuinfo (empty where there is none)."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    if info:
                        break  # the first processor's block is enough
                    continue
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``platform.processor()``), e.g. "AMD EPYC"."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where it is unreadable)."""
    return frozenset(_cpuinfo().get("flags", "").split())


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(_SOURCE.parent), *args], capture_output=True, text=True,
                              timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@functools.lru_cache(maxsize=None)
def code_version() -> dict[str, Any]:
    """``{"git_commit", "git_dirty", "dipbench_version"}`` of the running code. The commit is that of the
    git work tree holding this package (only when the package's folder is that tree's ``dipbench/``, so an
    installed copy inside some other repository does not borrow its commit)."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != _SOURCE.parent:
        return {"git_commit": None, "git_dirty": None, "dipbench_version": __version__}
    commit = (_git("rev-parse", "HEAD") or "").strip() or None
    status = _git("status", "--porcelain")
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status.strip()),
            "dipbench_version": __version__}


def config_sha256(config: Any) -> str:
    """The SHA-256 (hex) of ``config`` as canonical JSON (sorted keys, no whitespace; values JSON cannot
    hold as their ``str``), so equal configurations hash equally however their mappings are ordered."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hardware(device: Any = "cpu") -> dict[str, Any]:
    """``{"cpu_model", "gpu_name", "torch_version", "cuda_version", "threads"}`` for a run on ``device``
    (a torch device or its name; the GPU name only for a CUDA device)."""
    torch = sys.modules.get("torch")
    gpu = None
    if torch is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(torch.device(str(device)))
    return {
        "cpu_model": cpu_model(),
        "gpu_name": gpu,
        "torch_version": getattr(torch, "__version__", None),
        "cuda_version": getattr(getattr(torch, "version", None), "cuda", None),
        "threads": torch.get_num_threads() if torch is not None else None,
    }


def run_provenance(device: Any, config_hash: str | None) -> dict[str, Any]:
    """The provenance fields of one run record (:data:`PROVENANCE_FIELDS` but ``precision``)."""
    return {**code_version(), "config_sha256": config_hash, **hardware(device)}


def short(value: Any) -> str:
    """A provenance value as a table shows it: commits and hashes to 12 characters, None as "–"."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    text = str(value)
    return text[:12] if len(text) == 64 or (len(text) == 40 and all(c in "0123456789abcdef" for c in text)) else text
