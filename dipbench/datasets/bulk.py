"""Whole datasets at once: fetch every file of the named datasets concurrently into the cache
(:func:`fetch`), check every cached file against the registry without fetching (:func:`verify`), and count
the cached files (:func:`cached_count`). One file at a time: :func:`.registry.file_path`."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import ChecksumError, ConfigError, DownloadError
from .download import DEADLINE, check_options
from .registry import Dataset, RegistryFile, check_file, file_path, get_dataset, local_path
from .settings import MirrorSpec, cache_dir


def _resolve_names(names: str | Iterable[str]) -> list[Dataset]:
    if isinstance(names, str):
        names = [names]
    return [get_dataset(name) for name in names]


def fetch(
    names: str | Iterable[str],
    *,
    roles: Iterable[str] | None = None,
    mirror: MirrorSpec = None,
    cache: str | os.PathLike | None = None,
    progress: bool | None = None,
    jobs: int = 4,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
    deadline: float = DEADLINE,
) -> list[Path]:
    """Fetch and verify every file of the named datasets (only ``roles`` if given) into the cache.

    Files already cached and verified are not fetched again. ``jobs`` files are fetched concurrently; a
    tqdm bar shows progress (``progress`` None: only on a terminal). Every file is attempted; then a
    single failure is re-raised, several are summed up in one :class:`DownloadError` (a
    :class:`ChecksumError` if all were checksum mismatches). Returns the local paths in registry order.

    Invalid settings (``jobs`` < 1, ``retries`` < 0, ``timeout``/``deadline`` <= 0) raise
    :class:`ConfigError` before anything is fetched. On KeyboardInterrupt (or any other exception) the
    files not started are cancelled and those in flight stop at their next read; no partial file is left.
    """
    from tqdm.auto import tqdm

    check_options(retries=retries, backoff=backoff, timeout=timeout, deadline=deadline)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be a whole number >= 1, got {jobs!r}")

    wanted = None if roles is None else set(roles)
    rows = [row for ds in _resolve_names(names) for row in ds.files if wanted is None or row.role in wanted]

    stop = threading.Event()

    def one(row: RegistryFile) -> Path | None:
        if stop.is_set():  # another file was interrupted: start nothing new
            return None
        try:
            return file_path(
                row.dataset, row.image, row.role, mirror=mirror, cache=cache, retries=retries, backoff=backoff,
                timeout=timeout, deadline=deadline, cancel=stop,
            )
        except DownloadError:
            raise
        except BaseException:  # an interrupt or a bug: stop the other workers before the main thread sees it
            stop.set()
            raise

    paths: dict[int, Path] = {}
    failures: list[DownloadError] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool, tqdm(
        total=len(rows), unit="file", desc="fetch", disable=(None if progress is None else not progress)
    ) as bar:
        futures = {pool.submit(one, row): i for i, row in enumerate(rows)}
        try:
            for future in as_completed(futures):
                try:
                    paths[futures[future]] = future.result()
                except DownloadError as exc:
                    failures.append(exc)
                bar.update(1)
        except BaseException:
            stop.set()  # transfers in flight stop at their next read (their temporary files are removed)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if len(failures) == 1:
        raise failures[0]
    if failures:
        cls = ChecksumError if all(isinstance(f, ChecksumError) for f in failures) else DownloadError
        raise cls(f"{len(failures)} of {len(rows)} files could not be fetched; first: {failures[0]}")
    return [paths[i] for i in range(len(rows))]


@dataclass(frozen=True)
class FileStatus:
    """The state of one cached file: ``ok``, ``missing``, ``bad`` (wrong sha256, a folder, unreadable), or
    for a built-in image ``differs`` (scikit-image's file has other bytes than registered, but a verified
    copy in the cache is used instead: not an error). A built-in image whose scikit-image file is wrong
    and that has no verified cached copy is ``bad``."""

    dataset: str
    image: str
    role: str
    path: Path
    status: str
    detail: str = ""


@dataclass
class VerifyReport:
    """What :func:`verify` found, one :class:`FileStatus` per registered file."""

    files: list[FileStatus]

    @property
    def ok(self) -> bool:
        """True when no file is missing or bad."""
        return not self.problems()

    def problems(self) -> list[FileStatus]:
        return [f for f in self.files if f.status in ("missing", "bad")]

    def counts(self) -> dict[str, dict[str, int]]:
        """dataset -> status -> number of files."""
        counts: dict[str, dict[str, int]] = {}
        for f in self.files:
            per = counts.setdefault(f.dataset, {})
            per[f.status] = per.get(f.status, 0) + 1
        return counts

    def summary(self) -> str:
        """One line per dataset, then one per problem."""
        lines = [
            f"{name}: " + ", ".join(f"{n} {status}" for status, n in sorted(per.items()))
            for name, per in self.counts().items()
        ]
        lines += [f"  {f.status}: {f.path}{' (' + f.detail + ')' if f.detail else ''}" for f in self.problems()]
        return "\n".join(lines)


def verify(names: str | Iterable[str], *, cache: str | os.PathLike | None = None) -> VerifyReport:
    """Check every cached file of the named datasets against its sha256, without fetching anything.
    Built-in images are checked in scikit-image's data folder (then in the cache, where a verified copy
    replaces a scikit-image file with other bytes)."""
    statuses = []
    for dataset in _resolve_names(names):
        for row in dataset.files:
            path = local_path(dataset.name, row.image, row.role, cache)
            status, found = check_file(path, row)
            detail = f"{found}, expected {row.sha256}" if found.startswith("sha256") else found
            if dataset.builtin and status != "ok":
                cached = cache_dir(cache) / dataset.name / row.file
                if check_file(cached, row)[0] == "ok":
                    if status == "missing":
                        path, status, detail = cached, "ok", ""
                    else:
                        status, detail = "differs", f"{detail}; the verified copy {cached} is used"
            statuses.append(FileStatus(dataset.name, row.image, row.role, path, status, detail))
    return VerifyReport(statuses)


def cached_count(name: str, cache: str | os.PathLike | None = None) -> int:
    """How many of the dataset's files are present in the cache (presence only; see :func:`verify`)."""
    dataset = get_dataset(name)
    return sum(local_path(name, row.image, row.role, cache).is_file() for row in dataset.files)
