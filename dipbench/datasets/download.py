"""Fetching one registered file: mirrors in order, retries with back-off, sha256 check, atomic rename.

A *mirror* is a local folder or a base URL laid out like the shared data mirror, ``<mirror>/<folder>/<file>``.
Sources are tried in order: each mirror (each of the entry's ``mirror_paths`` under it), then the entry's
canonical URL (a commit-pinned raw.githubusercontent.com address). Bytes are streamed to a temporary file
beside the destination, hashed on the way, and renamed onto it only when the sha256 matches; a file that
does not match is deleted and never used; the temporary file is removed on every exit that is not a
success (errors, a deadline, KeyboardInterrupt), and the ones a killed process left are removed by the next
fetch of that file (:func:`remove_stale_parts`).

Every transfer is bounded twice: ``timeout`` limits each wait for the network (connect, one read), and
``deadline`` limits the whole transfer of one file from one source, so a server that trickles bytes forever
is abandoned (reported as "stalled") and the next source is tried.
"""

from __future__ import annotations

import glob
import hashlib
import http.client
import math
import numbers
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

from .. import __version__
from ..atomic import atomic_open
from ..errors import ChecksumError, ConfigError, DownloadError

CHUNK = 1 << 16  # bytes per read
USER_AGENT = f"dipbench/{__version__}"
DEADLINE = 300.0  # default seconds for the whole transfer of one file from one source


class CacheWarning(UserWarning):
    """A cached file did not have its registered sha256; it was discarded and fetched again."""


@dataclass(frozen=True)
class FileEntry:
    """What is needed to fetch and check one file.

    name: how messages name the file, e.g. ``set5/baby.png``.
    sha256: expected hex digest (64 lower-case hex characters).
    size: expected size in bytes (0 = unknown); a source sending more is cut off early.
    url: canonical URL, tried after every mirror ('' = none).
    mirror_paths: paths relative to a mirror root where the file may be, tried in order.
    """

    name: str
    sha256: str
    size: int = 0
    url: str = ""
    mirror_paths: tuple[str, ...] = ()


class _NotThere(Exception):
    """The source does not have the file (missing in a folder, HTTP 404): try the next source at once."""


class _Permanent(Exception):
    """The source refused for good (HTTP 403, unknown host, redirect loop, stalled transfer): try the next
    source, no retry."""


class _Cancelled(Exception):
    """The caller's ``cancel`` event was set: stop at once (the temporary file is removed)."""


def check_options(
    *,
    retries: object = 0,
    backoff: object = 0.0,
    timeout: object = 1.0,
    deadline: object = DEADLINE,
    prefix: str = "",
) -> None:
    """Reject invalid download settings up front with a :class:`ConfigError` naming the option and value:
    ``retries`` must be a whole number >= 0, ``backoff`` a finite number >= 0, ``timeout`` and ``deadline``
    finite numbers > 0. ``prefix`` is put before the option names in messages (``"--"`` for the CLI)."""
    if isinstance(retries, bool) or not isinstance(retries, numbers.Integral) or retries < 0:
        raise ConfigError(f"{prefix}retries must be a whole number >= 0, got {retries!r}")
    for name, value, strict in (("backoff", backoff, False), ("timeout", timeout, True), ("deadline", deadline, True)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
            or (value <= 0 if strict else value < 0)
        ):
            bound = "> 0" if strict else ">= 0"
            raise ConfigError(f"{prefix}{name} must be a finite number of seconds {bound}, got {value!r}")


def is_url(mirror: str) -> bool:
    """True for ``scheme://...`` mirrors (http, https, file), False for local folders."""
    return "://" in mirror


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sources(entry: FileEntry, mirrors: Iterable[str] = (), canonical: bool = True) -> list[str]:
    """Every place ``entry`` is looked for, in order: each mirror x each mirror path, then the canonical URL."""
    found = []
    for mirror in mirrors:
        mirror = str(mirror)
        for rel in entry.mirror_paths:
            if is_url(mirror):
                found.append(mirror.rstrip("/") + "/" + urllib.parse.quote(rel))
            else:
                found.append(str(Path(mirror).expanduser() / rel))
    if canonical and entry.url:
        found.append(entry.url)
    return found


def fetch_file(
    entry: FileEntry,
    dest: str | os.PathLike,
    mirrors: Sequence[str] = (),
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
    canonical: bool = True,
    deadline: float = DEADLINE,
    cancel: threading.Event | None = None,
) -> Path:
    """Make ``dest`` a verified copy of ``entry`` and return its path.

    A ``dest`` that already has the registered sha256 is returned without any fetch. One that does not is
    reported with a :class:`CacheWarning`, deleted, and fetched again.

    mirrors: local folders or base URLs, tried in order before the canonical URL (skipped if ``canonical``
        is False).
    retries: further attempts on one source after a transient failure (timeout, connection error,
        truncated transfer, HTTP 5xx/408/429); the k-th retry waits ``backoff * 2**k`` seconds.
        A missing file (HTTP 404) or a checksum mismatch moves on to the next source at once.
    timeout: seconds without progress (connect or read) before an attempt is abandoned.
    deadline: seconds one transfer from one source may take in all; a source still sending then (a
        server trickling bytes) is abandoned as "stalled", without retry, and the next source is tried.
        It is checked after every read, so an attempt ends within ``deadline + timeout`` seconds.
    cancel: an event that, once set, stops the transfer at its next read (:class:`DownloadError`).

    Invalid settings (``retries`` < 0, ``timeout`` or ``deadline`` <= 0, non-numbers) raise
    :class:`ConfigError` before anything is done. Raises :class:`ChecksumError` if no source had the right
    bytes and at least one had wrong ones (a wrong size is named as such), :class:`DownloadError` if no
    source could deliver the file at all, or if ``dest`` is a folder or cannot be read. The temporary file
    is removed on every exit but success, KeyboardInterrupt included.
    """
    check_options(retries=retries, backoff=backoff, timeout=timeout, deadline=deadline)
    dest = Path(dest)
    if dest.exists() and not dest.is_file():
        kind = "a folder" if dest.is_dir() else "not a regular file"
        raise DownloadError(
            f"{dest} is {kind}, but the cached file {entry.name} belongs there: remove it and try again"
        )
    if dest.parent.is_dir():
        remove_stale_parts(dest, older_than=deadline + timeout)
    if dest.exists():
        try:
            actual = sha256_of(dest)
        except OSError as exc:
            raise DownloadError(f"cannot read the cached file {dest}: {exc.strerror or exc}") from None
        if actual == entry.sha256:
            return dest
        warnings.warn(
            f"cached file {dest} has sha256 {actual}, expected {entry.sha256}: discarded, fetching it again",
            CacheWarning,
            stacklevel=2,
        )
        try:
            dest.unlink(missing_ok=True)
        except OSError as exc:
            raise DownloadError(f"cannot remove the bad cached file {dest}: {exc.strerror or exc}") from None

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the cache folder {dest.parent}: {exc.strerror or exc}") from None

    failures: list[str] = []
    checksum_error: ChecksumError | None = None
    candidates = sources(entry, mirrors, canonical)
    for source in candidates:
        for attempt in range(retries + 1):
            try:
                _copy_verified(source, entry, dest, timeout, deadline, cancel)
                return dest
            except ChecksumError as exc:
                checksum_error = exc
                failures.append(f"{source}: {'size' if str(exc).startswith('size') else 'sha256'} mismatch")
                break
            except _NotThere:
                failures.append(f"{source}: not found")
                break
            except _Permanent as exc:
                failures.append(f"{source}: {exc}")
                break
            except _Cancelled:
                raise DownloadError(f"fetching {entry.name} was cancelled") from None
            except (OSError, http.client.HTTPException) as exc:
                if attempt == retries:
                    failures.append(f"{source}: {_describe(exc)} ({attempt + 1} attempts)")
                    break
                time.sleep(backoff * 2**attempt)

    if checksum_error is not None:
        others = len(failures) - 1
        suffix = f" (and {others} other source(s) failed)" if others else ""
        raise ChecksumError(f"{checksum_error}{suffix}")
    if not candidates:
        raise DownloadError(f"no source for {entry.name}: no mirror given and no canonical URL")
    raise DownloadError(f"could not fetch {entry.name}: " + "; ".join(failures))


def remove_stale_parts(dest: Path, older_than: float) -> list[Path]:
    """Delete the temporary files a killed fetch of ``dest`` left beside it (``.<name>.*.part``, see
    :func:`dipbench.atomic.atomic_open`) that were last written more than ``older_than`` seconds ago: a live
    transfer writes its file at least every ``timeout`` seconds and ends within ``deadline + timeout``, so
    such a file belongs to no running fetch. Returns the files removed."""
    removed = []
    cutoff = time.time() - older_than
    for part in dest.parent.glob(f".{glob.escape(dest.name)}.*.part"):
        try:
            if part.is_file() and not part.is_symlink() and part.stat().st_mtime < cutoff:
                part.unlink()
                removed.append(part)
        except OSError:  # gone already (another fetch cleaned it), or not ours to remove
            continue
    return removed


def _copy_verified(
    source: str,
    entry: FileEntry,
    dest: Path,
    timeout: float,
    deadline: float = DEADLINE,
    cancel: threading.Event | None = None,
) -> None:
    """Stream ``source`` into a temporary file beside ``dest``; rename it onto ``dest`` if the size and hash
    match. The temporary file is deleted on any other exit (``atomic_open``)."""
    started = time.monotonic()
    with _open_source(source, min(timeout, deadline)) as stream:
        announced = getattr(stream, "length", None)  # an HTTP response's Content-Length, if it sent one
        # read1 returns what has arrived (one system call): a trickle cannot hold a read past the deadline
        read = getattr(stream, "read1", None) or stream.read
        with atomic_open(dest, "wb") as out:
            digest = hashlib.sha256()
            size = 0
            limit = entry.size + 1 if entry.size else None
            cut_off = False
            while True:
                if cancel is not None and cancel.is_set():
                    raise _Cancelled(entry.name)
                if time.monotonic() - started > deadline:
                    raise _Permanent(
                        f"stalled: transfer not complete within the {deadline:g} s deadline "
                        f"({size} of {entry.size or announced or 'unknown'} bytes received)"
                    )
                chunk = read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
                if limit is not None and size >= limit:
                    cut_off = True  # more than registered: cannot match, stop reading
                    break
            if not cut_off and announced is not None and size < announced:
                raise ConnectionError(f"truncated transfer ({size} of {announced} bytes)")  # transient: retried
            actual = digest.hexdigest()
            if entry.size and (cut_off or size != entry.size):
                got = announced if cut_off and announced else (f"more than {entry.size}" if cut_off else size)
                raise ChecksumError(
                    f"size mismatch for {entry.name} from {source}: expected {entry.size} bytes, got {got} "
                    f"(expected sha256 {entry.sha256}, got {actual} for the {size} bytes read)"
                )
            if actual != entry.sha256:
                # raising inside atomic_open deletes the temporary file: bad bytes are never used
                raise ChecksumError(
                    f"checksum mismatch for {entry.name} from {source}: expected sha256 {entry.sha256}, "
                    f"got {actual} ({size} bytes, expected {entry.size or 'unknown'})"
                )


def _open_source(source: str, timeout: float) -> BinaryIO:
    if not is_url(source):
        try:
            return open(source, "rb")
        except FileNotFoundError:
            raise _NotThere(source) from None
        except IsADirectoryError:
            raise _NotThere(source) from None
    request = urllib.request.Request(source, headers={"User-Agent": USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (404, 410):
            raise _NotThere(source) from None
        if exc.code in (408, 429) or exc.code >= 500:
            raise ConnectionError(f"HTTP {exc.code}") from None
        if 300 <= exc.code < 400:
            if str(exc.msg or "").startswith(urllib.request.HTTPRedirectHandler.inf_msg):
                raise _Permanent(
                    f"redirect loop (HTTP {exc.code}: redirected more than "
                    f"{urllib.request.HTTPRedirectHandler.max_redirections} times or back to the same address)"
                ) from None
            reason = " ".join(str(exc.msg or "").split())
            raise _Permanent(f"HTTP {exc.code} redirect not followed ({reason or 'no usable Location'})") from None
        raise _Permanent(f"HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, FileNotFoundError):  # file:// URL
            raise _NotThere(source) from None
        if isinstance(exc.reason, socket.gaierror):  # unknown host / offline: retrying will not help
            raise _Permanent(f"cannot resolve host ({exc.reason.strerror or exc.reason})") from None
        raise


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, http.client.IncompleteRead):
        return f"truncated transfer ({len(exc.partial)} bytes read, {exc.expected} more expected)"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0] if text else type(exc).__name__
