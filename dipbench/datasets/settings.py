"""Where dataset files are kept and fetched from: the cache folder, the mirrors and the offline switch.

Each setting is an explicit argument, else the environment:

- cache folder: argument ``cache``, else ``$DIPBENCH_DATA``, else ``datasets/cache/`` of the repository
  when dipbench runs from a checkout, else ``$XDG_CACHE_HOME/dipbench`` (``~/.cache/dipbench``);
- mirrors: argument ``mirror`` (a folder or base URL, a list of them, or a string of several separated
  by ``;``, or by ``os.pathsep`` when no URL is involved), then ``$DIPBENCH_MIRROR`` (same syntax),
  then each file's canonical commit-pinned URL, unless ``$DIPBENCH_OFFLINE`` is set to 1 (:func:`offline`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

ENV_DATA = "DIPBENCH_DATA"
ENV_MIRROR = "DIPBENCH_MIRROR"
ENV_OFFLINE = "DIPBENCH_OFFLINE"

MirrorSpec = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]], None]


def default_cache_dir() -> Path:
    """``datasets/cache`` of the repository when dipbench runs from a checkout (editable install), else the
    user's cache folder (``$XDG_CACHE_HOME/dipbench``, default ``~/.cache/dipbench``)."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "Snakefile").is_file() and (checkout / "datasets").is_dir():
        return checkout / "datasets" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dipbench"


def cache_dir(cache: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``cache``, else ``$DIPBENCH_DATA``, else :func:`default_cache_dir`."""
    if cache is not None:
        return Path(cache).expanduser()
    env = os.environ.get(ENV_DATA)
    return Path(env).expanduser() if env else default_cache_dir()


def parse_mirrors(spec: MirrorSpec) -> list[str]:
    """Split a mirror setting into a list: ``;`` always separates; ``os.pathsep`` separates pieces that
    contain no URL (so ``/a:/b`` is two folders on POSIX but ``http://host:8000/x`` stays one URL)."""
    if spec is None:
        return []
    if isinstance(spec, (str, os.PathLike)):
        mirrors = []
        for piece in str(spec).split(";"):
            pieces = [piece] if "://" in piece else piece.split(os.pathsep)
            mirrors.extend(p.strip() for p in pieces if p.strip())
        return mirrors
    return [m for item in spec for m in parse_mirrors(item)]


def mirrors(mirror: MirrorSpec = None) -> list[str]:
    """The mirrors to try, in order: those of the argument, then those of ``$DIPBENCH_MIRROR``."""
    found = parse_mirrors(mirror) + parse_mirrors(os.environ.get(ENV_MIRROR))
    return list(dict.fromkeys(found))


def offline() -> bool:
    """Whether ``$DIPBENCH_OFFLINE`` forbids the canonical URLs (1, true or yes): only the cache and mirrors."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes")
