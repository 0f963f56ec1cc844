"""Reading YAML for every configuration dipbench reads: a duplicate key is an error, never a silent
last-one-wins.

:func:`load_yaml` parses text with PyYAML's safe loader, refusing a mapping that repeats a key (YAML 1.2
forbids it; PyYAML keeps the last value). Merge keys (``<<: *base``) may still be overridden by a key
written out, as YAML intends. Errors are one :class:`~dipbench.errors.ConfigError` line naming the file, the
line and the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import yaml

from .errors import ConfigError

_MERGE = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping repeats a key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a mapping that repeats a key."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base class says so
                    break
                if first is not None:
                    raise DuplicateKeyError(None, None, f"duplicate key {key!r} (first at line {first})",
                                            key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, source: str = "YAML text") -> Any:
    """Parse ``text``; :class:`ConfigError` naming ``source`` for invalid YAML or a duplicate key."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        if isinstance(exc, DuplicateKeyError):
            raise ConfigError(f"{source}{where}: {problem}; a key may appear once per mapping") from None
        raise ConfigError(f"{source}{where} is not valid YAML: {problem}") from None


def load_yaml_file(path: str | os.PathLike, what: str = "config file") -> Any:
    """Read and parse a YAML file (:func:`load_yaml`); a missing or unreadable file is a :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    return load_yaml(text, f"{what} {path}")


def check_yaml_files(paths: Iterable[str | os.PathLike]) -> None:
    """Parse each file only to refuse a duplicate key or invalid YAML: Snakemake reads ``--configfile`` with
    a loader that keeps the last of two equal keys, so the workflow checks the files themselves."""
    for path in paths:
        load_yaml_file(path)
