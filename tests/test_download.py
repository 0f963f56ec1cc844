"""dipbench.datasets.download: mirrors, retries, checksums and the cache, against a local HTTP server."""

from __future__ import annotations

import collections
import hashlib
import http.client
import http.server
import threading
import time
from pathlib import Path

import pytest

from dipbench.datasets import download
from dipbench.datasets.download import CacheWarning, FileEntry, fetch_file, sources
from dipbench.errors import ChecksumError, ConfigError, DownloadError

GOOD = bytes(range(256)) * 64  # 16 KiB
SHA = hashlib.sha256(GOOD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes: /good/..., /corrupt/..., /bigger/..., /short/..., /truncated/..., /slow/..., /flaky/...,
    /trickle/..., /half/..., /loop/... serve GOOD (or break it); anything else is a 404. Every request is
    counted in server.hits. Every handler ends by itself within a few seconds."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server API)
        server = self.server
        with server.lock:
            server.hits[self.path] += 1
            hits = server.hits[self.path]
        kind = self.path.strip("/").split("/")[0]
        body = GOOD
        if kind == "corrupt":
            body = b"X" + GOOD[1:]
        elif kind == "bigger":
            body = GOOD + b"extra bytes"
        elif kind == "short":
            body = GOOD[:-100]
        elif kind == "slow":
            time.sleep(server.delay)
        elif kind == "flaky" and hits <= server.flaky_failures:
            return self._send(503, b"busy")
        elif kind == "loop":  # redirects to itself: urllib gives up after a few rounds
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif kind in ("truncated", "half", "trickle"):
            return self._send_partly(kind)
        elif kind not in ("good", "flaky"):
            return self._send(404, b"not found")
        self._send(200, body)

    def _send_partly(self, kind):
        """truncated: half of GOOD, then close; half: half of GOOD, then hold the connection for up to 1 s;
        trickle: one byte every 20 ms for at most server.trickle_for seconds (never the whole file)."""
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            if kind == "trickle":
                end = time.monotonic() + self.server.trickle_for
                for i in range(len(GOOD) - 1):
                    if time.monotonic() > end:
                        break
                    self.wfile.write(GOOD[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.02)
            else:
                self.wfile.write(GOOD[: len(GOOD) // 2])
                self.wfile.flush()
                if kind == "half":
                    time.sleep(1.0)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up
            pass
        self.close_connection = True

    def _send(self, code, body):
        try:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def log_message(self, *args):  # keep test output quiet
        pass


class BoundedServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that accepts at most ``max_requests`` connections and runs at most
    ``lifetime`` seconds, then closes by itself (or when the test calls :meth:`stop`)."""

    daemon_threads = True

    def __init__(self, handler, max_requests=60, lifetime=30.0):
        super().__init__(("127.0.0.1", 0), handler)
        self.timeout = 0.05  # handle_request waits at most this long for a connection
        self.max_requests = max_requests
        self.accepted = 0
        self.end = time.monotonic() + lifetime
        self.stopping = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self._run, daemon=True)

    def verify_request(self, request, client_address):
        self.accepted += 1
        return self.accepted <= self.max_requests

    def _run(self):
        try:
            while not self.stopping.is_set() and self.accepted < self.max_requests and time.monotonic() < self.end:
                self.handle_request()
        finally:
            self.server_close()

    def handle_error(self, request, client_address):
        pass

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=2.0)


@pytest.fixture
def server():
    httpd = BoundedServer(_Handler)
    httpd.hits = collections.Counter()
    httpd.lock = threading.Lock()
    httpd.delay = 1.0
    httpd.flaky_failures = 2
    httpd.trickle_for = 3.0
    httpd.start()
    yield httpd
    httpd.stop()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def entry(url: str = "", size: int = len(GOOD), sha: str = SHA) -> FileEntry:
    return FileEntry(name="demo/file.png", sha256=sha, size=size, url=url, mirror_paths=("demo/file.png",))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


FAST = dict(retries=2, backoff=0.0, timeout=5.0)


def test_good_file_from_url_mirror(server, tmp_path):
    dest = tmp_path / "cache" / "demo" / "file.png"
    path = fetch_file(entry(), dest, [server.url + "/good"], **FAST)
    assert path == dest and dest.read_bytes() == GOOD
    assert leftovers(dest.parent) == []
    assert server.hits["/good/demo/file.png"] == 1


def test_verified_file_is_not_fetched_again(server, tmp_path):
    dest = tmp_path / "file.png"
    fetch_file(entry(), dest, [server.url + "/good"], **FAST)
    fetch_file(entry(), dest, [server.url + "/good"], **FAST)
    fetch_file(entry(), dest, [], **FAST)  # no source at all: must not be needed
    assert server.hits["/good/demo/file.png"] == 1


def test_checksum_mismatch_raises_and_leaves_nothing(server, tmp_path):
    dest = tmp_path / "file.png"
    with pytest.raises(ChecksumError) as info:
        fetch_file(entry(), dest, [server.url + "/corrupt"], **FAST)
    message = str(info.value)
    bad_sha = hashlib.sha256(b"X" + GOOD[1:]).hexdigest()
    assert "demo/file.png" in message and SHA in message and bad_sha in message
    assert "\n" not in message
    assert not dest.exists() and leftovers(tmp_path) == []
    assert server.hits["/corrupt/demo/file.png"] == 1  # a wrong checksum is not retried on the same source


def test_corrupt_mirror_then_good_mirror(server, tmp_path):
    dest = tmp_path / "file.png"
    fetch_file(entry(), dest, [server.url + "/corrupt", server.url + "/good"], **FAST)
    assert dest.read_bytes() == GOOD


def test_oversized_download_is_cut_off(server, tmp_path):
    with pytest.raises(ChecksumError, match="expected sha256"):
        fetch_file(entry(), tmp_path / "file.png", [server.url + "/bigger"], **FAST)
    assert leftovers(tmp_path) == []


def test_truncated_transfer_is_retried_then_next_mirror(server, tmp_path):
    dest = tmp_path / "file.png"
    fetch_file(entry(), dest, [server.url + "/truncated", server.url + "/good"], **FAST)
    assert dest.read_bytes() == GOOD
    assert server.hits["/truncated/demo/file.png"] == FAST["retries"] + 1
    with pytest.raises(DownloadError, match="truncated"):
        fetch_file(entry(), tmp_path / "other.png", [server.url + "/truncated"], **FAST)
    assert not (tmp_path / "other.png").exists() and leftovers(tmp_path) == []


def test_404_moves_on_without_retry(server, tmp_path):
    dest = tmp_path / "file.png"
    fetch_file(entry(), dest, [server.url + "/missing", server.url + "/good"], **FAST)
    assert dest.read_bytes() == GOOD
    assert server.hits["/missing/demo/file.png"] == 1


def test_all_sources_fail_one_line_error(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        fetch_file(entry(server.url + "/nowhere/x.png"), tmp_path / "f.png", [server.url + "/missing"], **FAST)
    message = str(info.value)
    assert "demo/file.png" in message and "not found" in message and "\n" not in message
    assert not isinstance(info.value, ChecksumError)


def test_slow_server_times_out_then_next_mirror(server, tmp_path):
    server.delay = 1.5
    dest = tmp_path / "file.png"
    start = time.monotonic()
    fetch_file(entry(), dest, [server.url + "/slow", server.url + "/good"], retries=1, backoff=0.0, timeout=0.3)
    assert dest.read_bytes() == GOOD
    assert server.hits["/slow/demo/file.png"] == 2  # first try + one retry, both timed out
    assert time.monotonic() - start < 1.4


def test_transient_errors_are_retried_with_exponential_backoff(server, tmp_path, monkeypatch):
    delays = []
    monkeypatch.setattr(download.time, "sleep", delays.append)
    dest = tmp_path / "file.png"
    fetch_file(entry(), dest, [server.url + "/flaky"], retries=3, backoff=0.5, timeout=5.0)
    assert dest.read_bytes() == GOOD
    assert server.hits["/flaky/demo/file.png"] == 3
    assert delays == [0.5, 1.0]


def test_canonical_url_is_tried_last(server, tmp_path):
    e = entry(server.url + "/good/canonical.png")
    assert sources(e, ["/some/folder", "http://h:1/base/"]) == [
        str(Path("/some/folder/demo/file.png")),
        "http://h:1/base/demo/file.png",
        e.url,
    ]
    assert sources(e, [], canonical=False) == []
    dest = tmp_path / "file.png"
    fetch_file(e, dest, [server.url + "/missing"], **FAST)
    assert dest.read_bytes() == GOOD
    assert server.hits["/missing/demo/file.png"] == 1 and server.hits["/good/canonical.png"] == 1


def test_tampered_cache_file_is_reported_and_replaced(server, tmp_path):
    dest = tmp_path / "file.png"
    dest.write_bytes(b"tampered")
    with pytest.warns(CacheWarning, match="expected " + SHA):
        path = fetch_file(entry(), dest, [server.url + "/good"], **FAST)
    assert path.read_bytes() == GOOD
    assert server.hits["/good/demo/file.png"] == 1


def test_tampered_cache_file_is_never_returned_even_if_refetch_fails(tmp_path):
    dest = tmp_path / "file.png"
    dest.write_bytes(b"tampered")
    with pytest.warns(CacheWarning), pytest.raises(DownloadError):
        fetch_file(entry(), dest, [str(tmp_path / "empty-mirror")], **FAST)
    assert not dest.exists()


def test_folder_mirror_and_second_mirror_path(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "outputs").mkdir(parents=True)
    (mirror / "outputs" / "file.png").write_bytes(GOOD)
    e = FileEntry("assets/file.png", SHA, len(GOOD), "", ("assets/file.png", "outputs/file.png"))
    dest = tmp_path / "cache" / "file.png"
    fetch_file(e, dest, [str(tmp_path / "nothing-here"), str(mirror)], **FAST)
    assert dest.read_bytes() == GOOD


def test_no_source_at_all(tmp_path):
    with pytest.raises(DownloadError, match="no source"):
        fetch_file(entry(), tmp_path / "f.png", [], **FAST)


# ----------------------------------------------------------------------------------------- faults


def test_trickling_server_is_stopped_by_the_deadline(server, tmp_path):
    folder = tmp_path / "cache"
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        fetch_file(entry(), folder / "file.png", [server.url + "/trickle"], retries=2, backoff=0.0, timeout=2.0,
                   deadline=0.4)
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert "stalled" in message and "0.4 s deadline" in message and "\n" not in message
    assert elapsed < 1.5  # the socket timeout alone (2 s per read) would never fire: bytes keep coming
    assert server.hits["/trickle/demo/file.png"] == 1  # a stalled source is not retried
    assert list(folder.iterdir()) == []


def test_trickling_mirror_then_good_mirror(server, tmp_path):
    dest = tmp_path / "file.png"
    fetch_file(entry(), dest, [server.url + "/trickle", server.url + "/good"], retries=0, timeout=2.0, deadline=0.3)
    assert dest.read_bytes() == GOOD and leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_transfer_leaves_no_partial_file(server, tmp_path, monkeypatch, error):
    """Half the bytes arrive, then the read is interrupted: the temporary file is removed on the way out."""
    folder = tmp_path / "cache"
    real_read1 = http.client.HTTPResponse.read1
    received, partial_sizes = [], []

    def read1(self, n=-1):
        if sum(received) >= len(GOOD) // 2:
            partial_sizes.extend(p.stat().st_size for p in folder.iterdir() if p.name.endswith(".part"))
            raise error("interrupted in the middle of the transfer")
        data = real_read1(self, n)
        received.append(len(data))
        return data

    monkeypatch.setattr(http.client.HTTPResponse, "read1", read1)
    with pytest.raises(error):
        fetch_file(entry(), folder / "file.png", [server.url + "/half"], **FAST)
    assert len(partial_sizes) == 1  # there was a partial file (its bytes partly still buffered) ...
    assert list(folder.iterdir()) == []  # ... and nothing is left of it
    assert server.hits["/half/demo/file.png"] == 1  # neither is retried


def test_server_closing_early_leaves_no_partial_file(server, tmp_path):
    folder = tmp_path / "cache"
    with pytest.raises(DownloadError, match="truncated"):
        fetch_file(entry(), folder / "file.png", [server.url + "/truncated"], retries=1, backoff=0.0, timeout=5.0)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    "option, value, shown",
    [
        ("retries", -1, "-1"),
        ("retries", 1.5, "1.5"),
        ("retries", "3", "'3'"),
        ("timeout", 0, "0"),
        ("timeout", -2.0, "-2.0"),
        ("timeout", "30", "'30'"),
        ("timeout", float("nan"), "nan"),
        ("deadline", 0, "0"),
        ("backoff", -1, "-1"),
    ],
)
def test_invalid_settings_are_rejected_up_front(tmp_path, option, value, shown):
    folder = tmp_path / "cache"
    settings = dict(FAST, **{option: value})
    with pytest.raises(ConfigError) as info:
        fetch_file(entry(), folder / "file.png", ["http://127.0.0.1:9/never"], **settings)
    message = str(info.value)
    assert message.startswith(f"{option} must be") and message.endswith(f"got {shown}") and "\n" not in message
    assert not folder.exists()  # nothing was done


def test_redirect_loop_is_named(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        fetch_file(entry(), tmp_path / "file.png", [server.url + "/loop"], **FAST)
    message = str(info.value)
    assert "redirect loop" in message and "HTTP 302" in message and "\n" not in message
    assert 1 < server.hits["/loop/demo/file.png"] <= 11  # urllib's own bound; not retried on top of it
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind, got", [("short", len(GOOD) - 100), ("bigger", len(GOOD) + 11)])
def test_size_mismatch_is_named(server, tmp_path, kind, got):
    with pytest.raises(ChecksumError) as info:
        fetch_file(entry(), tmp_path / "file.png", [server.url + "/" + kind], **FAST)
    message = str(info.value)
    assert f"expected {len(GOOD)} bytes, got {got}" in message and "size mismatch" in message
    assert "\n" not in message and list(tmp_path.iterdir()) == []


def test_size_mismatch_from_a_folder_mirror(tmp_path):
    (tmp_path / "mirror" / "demo").mkdir(parents=True)
    (tmp_path / "mirror" / "demo" / "file.png").write_bytes(GOOD[:1000])
    with pytest.raises(ChecksumError, match=f"expected {len(GOOD)} bytes, got 1000"):
        fetch_file(entry(), tmp_path / "cache" / "file.png", [str(tmp_path / "mirror")], **FAST)


def test_folder_where_the_cached_file_belongs(server, tmp_path):
    dest = tmp_path / "cache" / "file.png"
    (dest / "inside").mkdir(parents=True)
    with pytest.raises(DownloadError) as info:
        fetch_file(entry(), dest, [server.url + "/good"], **FAST)
    message = str(info.value)
    assert str(dest) in message and "folder" in message and "\n" not in message
    assert not isinstance(info.value, ChecksumError)
    assert (dest / "inside").is_dir()  # a folder is never deleted
    assert server.hits["/good/demo/file.png"] == 0


def test_a_killed_fetch_leaves_a_part_file_that_the_next_fetch_removes(tmp_path):
    """SIGKILL inside atomic_open (what a killed download is) leaves `.<name>.*.part`; the next fetch of that
    file removes it once it is older than a live transfer can be, and keeps a fresh one (a running fetch)."""
    import os
    import subprocess
    import sys

    cache = tmp_path / "cache"
    cache.mkdir()
    dest = cache / "file.png"
    killed = subprocess.run(
        [sys.executable, "-c", "import os, signal, sys\nfrom dipbench.atomic import atomic_open\n"
         "writing = atomic_open(sys.argv[1], 'wb')\nhandle = writing.__enter__()\nhandle.write(b'half a file')\nhandle.flush()\n"
         "os.kill(os.getpid(), signal.SIGKILL)\n", str(dest)], timeout=60)
    assert killed.returncode == -9
    (stale,) = cache.glob(".file.png.*.part")
    fresh = cache / ".file.png.running.part"
    fresh.write_bytes(b"being written")
    other = cache / ".other.png.old.part"
    other.write_bytes(b"another file's")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    (mirror / "demo" / "file.png").write_bytes(GOOD)
    fetch_file(entry(), dest, [str(mirror)], **FAST)
    assert dest.read_bytes() == GOOD
    assert leftovers(cache) == [".file.png.running.part", ".other.png.old.part"]
    os.utime(fresh, (old, old))
    fetch_file(entry(), dest, [str(mirror)], **FAST)  # already verified: still cleans up beside it
    assert leftovers(cache) == [".other.png.old.part"]
