"""The rows of ``dipbench methods``, cached between calls.

Listing the methods imports every method module, and with them torch: about 1 s on an idle 2-core
machine and 4-8 s on a busy one, for a table that only changes with the code. So the rows are kept in
``$XDG_CACHE_HOME/dipbench/methods-table.json`` (default ``~/.cache/dipbench``) under a key made of
dipbench's version and every package source file's path, size and modification time; any change to the
code, or any plugin (``--plugin``, ``$DIPBENCH_PLUGINS``, an installed entry point), lists them afresh.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path

from . import __version__
from .atomic import write_text
from .plaintext import first_line
from .plugins import ENTRY_POINT_GROUP, ENV

PACKAGE = Path(__file__).resolve().parent

Row = tuple[str, str, str, str]


def cache_file() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dipbench" / "methods-table.json"


def cache_key(plugins: bool) -> str | None:
    """The sources' key, or None where plugins may add methods (nothing is cached then)."""
    if plugins or os.environ.get(ENV, "").strip() or list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)):
        return None
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(PACKAGE)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def listed_rows() -> list[Row]:
    """(name, version, tasks, first line of the docstring) of every registered method, by importing them."""
    from .methods import available_methods

    return [(name, str(cls.version), cls.tasks_text(), first_line(cls.__doc__))
            for name, cls in available_methods().items()]


def method_rows(plugins: bool = False) -> list[Row]:
    """The rows, from the cache where its key matches, else :func:`listed_rows` (then cached)."""
    key = cache_key(plugins)
    if key is not None:
        try:
            cached = json.loads(cache_file().read_text(encoding="utf-8"))
            if cached.get("key") == key:
                return [tuple(row) for row in cached["rows"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    rows = listed_rows()
    if key is not None:
        try:
            cache_file().parent.mkdir(parents=True, exist_ok=True)
            write_text(cache_file(), json.dumps({"key": key, "rows": rows}) + "\n")
        except OSError:
            pass  # a read-only home: list afresh next time
    return rows
