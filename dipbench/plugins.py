"""Plugins: methods and tasks from the user's own files or installed packages, in every process that needs
them.

Three ways in, all loaded wherever methods or tasks are looked up:
  - files or dotted module names: the config's ``plugins:`` list (the workflow hands it to every job as
    ``--plugin``), the CLI's ``--plugin FILE`` (repeatable);
  - ``$DIPBENCH_PLUGINS``: paths or module names separated by the OS path separator (``:`` on POSIX);
  - installed packages: an entry point in the group ``dipbench.methods`` (``[project.entry-points."dipbench.methods"]
    my_method = "my_package.methods"``), imported on first registry access with no configuration at all.
A plugin that fails to import (an error, or ``sys.exit``) is one :class:`ConfigError` line naming it, the
line that failed and the error; what its methods then return is checked by :mod:`dipbench.methods.contract`,
and :mod:`dipbench.methods.registry` refuses a plugin's method under a name already taken.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
import traceback
from pathlib import Path
from typing import Iterable

from .errors import ConfigError, DipbenchError

ENV = "DIPBENCH_PLUGINS"
ENTRY_POINT_GROUP = "dipbench.methods"
_PACKAGE = Path(__file__).resolve().parent
_entry_points_loaded = False


def load_plugins(plugins: Iterable[str]) -> None:
    """Import each plugin: a ``.py`` file (by path) or a dotted module name. Importing registers its
    methods and tasks (their ``@register`` / ``@register_task`` decorators)."""
    for plugin in plugins:
        if str(plugin).endswith(".py"):
            _load_file(Path(plugin))
        else:
            try:
                importlib.import_module(plugin)
            except DipbenchError:
                raise
            except (Exception, SystemExit) as exc:
                raise ConfigError(f"cannot import plugin {plugin!r}{_line_in(None, exc)}: {_one_line(exc)}") from None


def _load_file(path: Path) -> None:
    if not path.is_file():
        raise ConfigError(f"plugin file not found: {path}")
    resolved = path.resolve()
    # one module per file, whatever its name: two plugins called methods.py in two folders both load
    name = f"dipbench_plugin_{resolved.stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, resolved)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except DipbenchError:  # e.g. the registry refusing a name: its message names the file and line
        del sys.modules[name]
        raise
    except (Exception, SystemExit) as exc:  # any error in the user's file: one line naming it and the line
        del sys.modules[name]
        raise ConfigError(f"plugin {path} failed to import{_line_in(resolved, exc)}: {_one_line(exc)}") from None


def env_plugins() -> list[str]:
    """The plugins named in ``$DIPBENCH_PLUGINS`` (separated by ``os.pathsep``)."""
    return [p for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip()]


def load_entry_points() -> None:
    """Import every installed package's ``dipbench.methods`` entry point (once per process)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except DipbenchError:
            raise
        except (Exception, SystemExit) as exc:
            raise ConfigError(f"plugin entry point {entry.name!r} ({entry.value}) failed to import"
                              f"{_line_in(None, exc)}: {_one_line(exc)}") from None


@functools.lru_cache(maxsize=None)
def source_hash(cls: type) -> str:
    """The sha256 (16 hex digits) of the file that defines ``cls`` when it comes from a plugin, so that
    editing a plugin reruns its jobs; "" for dipbench's own classes (their ``version`` does that). Cached:
    the workflow asks once per job while it builds the DAG."""
    try:
        source = Path(inspect.getsourcefile(cls) or "").resolve()
    except TypeError:
        return ""
    if not source.is_file() or _PACKAGE in source.parents:
        return ""
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]


def _one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, with the line number for a syntax error."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError at line {exc.lineno}: {exc.msg}"
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


def _line_in(source: Path | None, exc: BaseException) -> str:
    """`` at FILE line N``: the last traceback frame in ``source`` (or, for ``None``, in any file outside
    dipbench and the import machinery), i.e. the plugin's line that failed; "" if there is none (a syntax
    error names its line itself)."""
    if isinstance(exc, SyntaxError):
        return ""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if (Path(frame.filename).resolve() == source if source is not None
                  else not frame.filename.startswith("<") and _PACKAGE not in Path(frame.filename).resolve().parents
                  and "importlib" not in frame.filename)]
    if not frames:
        return ""
    return f" at line {frames[-1].lineno}" if source is not None else f" at {frames[-1].filename} line {frames[-1].lineno}"
