"""``dipbench datasets list | fetch | verify``: the command line of :mod:`dipbench.datasets`.

:func:`add_parser` adds the ``datasets`` command to the main CLI's subparsers; each sub-command stores its
handler in ``args.func`` (called as ``args.func(args)``, returning the exit status). :func:`main` runs the
command on its own: ``main(["fetch", "--all", "--mirror", "../shared/datasets"])``.

Exit status: 0 done, 1 a failure (a file missing or bad, no source had it), 2 a usage mistake (an
unknown dataset, ``--retries -1``, ``--timeout 0``), 130 interrupted. Every error is one line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..errors import ConfigError, DipbenchError
from . import bulk, settings
from . import registry as datasets
from .download import DEADLINE, check_options

USAGE_ERROR = 2  # an invalid option value, as argparse reports its own usage errors


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``datasets`` (with ``list``, ``fetch``, ``verify``) to ``subparsers``; return its parser."""
    parser = subparsers.add_parser(
        "datasets",
        help="list, fetch and verify the registered datasets",
        description="List, fetch and verify the registered datasets (registry: dipbench/datasets/data/index.yaml).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--mirror",
        action="append",
        metavar="FOLDER|URL",
        help="a local folder or base URL laid out as <mirror>/<dataset>/<file>, tried before the canonical "
        "URLs (repeatable; also $DIPBENCH_MIRROR)",
    )
    common.add_argument(
        "--data", metavar="DIR", help="cache folder (default: $DIPBENCH_DATA, else datasets/cache)"
    )
    sub = parser.add_subparsers(dest="datasets_command", metavar="{list,fetch,verify}", required=True)

    p_list = sub.add_parser("list", parents=[common], help="table of the datasets and what is cached")
    p_list.set_defaults(func=cmd_list)

    p_fetch = sub.add_parser(
        "fetch",
        parents=[common],
        help="download and verify datasets into the cache",
        description="Download and verify datasets. --all = every benchmark dataset (ground truth and "
        "published inputs); the published results (dip_paper_assets) only when named.",
    )
    _add_names(p_fetch)
    # parsed by cmd_fetch, so that a bad value is one line of error (exit status 2), not argparse's usage text
    p_fetch.add_argument("--jobs", default="4", metavar="N", help="files fetched at once (default 4)")
    p_fetch.add_argument("--retries", default="3", metavar="N", help="retries per source, >= 0 (default 3)")
    p_fetch.add_argument(
        "--timeout", default="30", metavar="SECONDS", help="seconds without progress, > 0 (default 30)"
    )
    p_fetch.add_argument(
        "--deadline",
        default=f"{DEADLINE:g}",
        metavar="SECONDS",
        help=f"seconds one file's transfer from one source may take in all, > 0 (default {DEADLINE:g})",
    )
    p_fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    p_fetch.set_defaults(func=cmd_fetch)

    p_verify = sub.add_parser(
        "verify", parents=[common], help="check the cached files' sha256 (no download)"
    )
    _add_names(p_verify)
    p_verify.set_defaults(func=cmd_verify)
    return parser


def _add_names(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="dataset names (see `datasets list`)")
    parser.add_argument("--all", action="store_true", help="every benchmark dataset")


def _selected(args: argparse.Namespace) -> list[str]:
    if args.all and args.names:
        raise ConfigError("give dataset names or --all, not both")
    if args.all:
        return [ds.name for ds in datasets.list_datasets("benchmark")]
    if not args.names:
        raise ConfigError("name at least one dataset, or use --all")
    for name in args.names:
        datasets.get_dataset(name)  # unknown names fail before any download
    return list(args.names)


def cmd_list(args: argparse.Namespace) -> int:
    rows = [("name", "kind", "images", "channels", "files", "cached")]
    for ds in datasets.list_datasets():
        cached = "built-in" if ds.builtin else f"{bulk.cached_count(ds.name, args.data)}/{len(ds.files)}"
        channels = "mixed" if ds.channels is None else str(ds.channels)
        rows.append((ds.name, ds.kind, str(len(ds.images)), channels, str(len(ds.files)), cached))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(f"cache: {settings.cache_dir(args.data)}")
    return 0


def _number(value: str, option: str, kind: type) -> int | float:
    """``value`` of ``option`` as ``kind`` (int or float); a :class:`ConfigError` naming both if it is not."""
    try:
        return kind(str(value).strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number of seconds"
        raise ConfigError(f"{option} must be {what}, got {value!r}") from None


def fetch_options(args: argparse.Namespace) -> dict:
    """The validated ``--jobs``, ``--retries``, ``--timeout`` and ``--deadline`` of ``args``; an invalid
    value raises :class:`ConfigError` naming the option and the value."""
    options = dict(
        jobs=_number(args.jobs, "--jobs", int),
        retries=_number(args.retries, "--retries", int),
        timeout=_number(args.timeout, "--timeout", float),
        deadline=_number(args.deadline, "--deadline", float),
    )
    if options["jobs"] < 1:
        raise ConfigError(f"--jobs must be a whole number >= 1, got {args.jobs}")
    for name in ("retries", "timeout", "deadline"):
        try:
            check_options(**{name: options[name]}, prefix="--")
        except ConfigError as exc:  # name the value as it was typed (0, not 0.0)
            raise ConfigError(f"{str(exc).rsplit(', got ', 1)[0]}, got {getattr(args, name)}") from None
    return options


def cmd_fetch(args: argparse.Namespace) -> int:
    options = fetch_options(args)
    names = _selected(args)
    bulk.fetch(
        names,
        mirror=args.mirror,
        cache=args.data,
        progress=False if args.no_progress else None,
        **options,
    )
    for name in names:
        print(f"{name}: {len(datasets.get_dataset(name).files)} files verified")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    report = bulk.verify(_selected(args), cache=args.data)
    print(report.summary())
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dipbench datasets <argv>``; a :class:`DipbenchError` is printed on one line (exit status 2 for
    a usage mistake, a :class:`ConfigError`, as in ``dipbench``; 1 for a failure), an interrupt as one line
    (exit status 130)."""
    top = argparse.ArgumentParser(prog="dipbench")
    add_parser(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["datasets", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except DipbenchError as exc:
        print(f"dipbench: error: {exc}", file=sys.stderr)
        return USAGE_ERROR if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        print("dipbench: error: interrupted (no partial file was kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
