"""dipbench.datasets.download: mirrors, retries, checksums and the cache, against a local HTTP server."""

from __future__ import annotations

import collections
import hashlib
import http.server
import threading
import time
from pathlib import Path

import pytest

from dipbench.datasets import download
from dipbench.datasets.download import CacheWarning, FileEntry, fetch_file, sources
from dipbench.errors import ChecksumError, DownloadError

GOOD = bytes(range(256)) * 64  # 16 KiB
SHA = hashlib.sha256(GOOD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes: /good/..., /corrupt/..., /truncated/..., /slow/..., /flaky/... serve GOOD (or break it);
    anything else is a 404. Every request is counted in server.hits."""

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
        elif kind == "slow":
            time.sleep(server.delay)
        elif kind == "flaky" and hits <= server.flaky_failures:
            return self._send(503, b"busy")
        elif kind == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.write(GOOD[: len(GOOD) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        elif kind not in ("good", "flaky"):
            return self._send(404, b"not found")
        self._send(200, body)

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


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.hits = collections.Counter()
    httpd.lock = threading.Lock()
    httpd.delay = 1.0
    httpd.flaky_failures = 2
    httpd.handle_error = lambda request, address: None
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


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
