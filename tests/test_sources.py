"""The sources plugin: ``lfsplug sources fetch`` and ``run --fetch``, against a real HTTP server.

The server runs in a thread of the test process on 127.0.0.1 (no other network): it serves
real tarballs (made here with :mod:`tarfile`) under paths that behave as servers do: ``files/``
with HTTP Range support, ``norange/`` that ignores Range, ``badrange/`` that answers a Range
request with the file from its start, ``slow/`` that sends in small blocks with pauses,
``stall/`` that sends nothing for a while, ``truncated/`` whose first answer stops halfway
through the Content-Length it announced (then resumes with Range), ``broken/`` that always does,
``missing/`` (404) and ``mirror/`` (a second server's copy). Each test checks the files left,
the lines said and the exit code.
"""

from __future__ import annotations

import hashlib
import io
import os
import pty
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lfsplug.testing import Lfsplugger, RunResult

#: Fast retries for the tests (the default backoff is a second).
FAST = "[sources]\nbackoff = 0.01\n"


def tarball(name: str, size: int = 300_000) -> bytes:
    """A real ``.tar.gz`` of ``name/`` holding a file of ``size`` bytes that do not compress."""
    data = hashlib.shake_256(name.encode()).digest(size)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"{name}/README")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        folder = tarfile.TarInfo(f"{name}/build")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
    return buffer.getvalue()


class Server:
    """What the handler serves and what it saw."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.lock = threading.Lock()
        self.active = 0
        self.most_active = 0
        self.url = ""

    def add(self, name: str, content: bytes | None = None) -> bytes:
        self.files[name] = tarball(name.partition(".tar")[0]) if content is None else content
        return self.files[name]

    def seen(self, name: str) -> list[tuple[str, str | None]]:
        with self.lock:
            return [r for r in self.requests if r[0].endswith("/" + name)]


class Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        state: Server = self.server.state  # type: ignore[attr-defined]
        _, kind, name = self.path.split("/", 2)
        with state.lock:
            state.requests.append((self.path, self.headers.get("Range")))
            state.active += 1
            state.most_active = max(state.most_active, state.active)
        try:
            self.answer(state, kind, name)
        finally:
            with state.lock:
                state.active -= 1

    def answer(self, state: Server, kind: str, name: str) -> None:
        data = state.files.get(name)
        if data is None or kind == "missing":
            self.send_error(404, "Not Found")
            return
        asked = self.headers.get("Range")
        if kind == "badrange" and asked:  # 206, but from the start: not the rest asked for
            self.send_response(206)
            self.send_header("Content-Range", f"bytes 0-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if kind in ("files", "mirror", "truncated") and asked:
            start = int(asked.removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind in ("truncated", "broken"):  # half of what was announced, then the end
            self.wfile.write(data[:len(data) // 2])
        elif kind == "slow":
            step = len(data) // 10 + 1
            for at in range(0, len(data), step):
                self.wfile.write(data[at:at + step])
                self.wfile.flush()
                time.sleep(0.05)
        elif kind == "crawl":  # minutes: until the client goes
            step = len(data) // 1000 + 1
            try:
                for at in range(0, len(data), step):
                    self.wfile.write(data[at:at + step])
                    time.sleep(0.1)
            except OSError:
                pass
        elif kind == "stall":
            self.wfile.flush()
            time.sleep(1.0)
            self.wfile.write(data)
        else:
            self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.state = state  # type: ignore[attr-defined]
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def sources(lfsplugger: Lfsplugger) -> Path:
    """``$LFS/sources``, empty, and a fast-retry configuration beside the tree."""
    folder = lfsplugger.path / "lfs" / "sources"
    folder.mkdir(parents=True)
    lfsplugger.make_config(FAST)
    return folder


def fetch(lfsplugger: Lfsplugger, *args: str) -> RunResult:
    return lfsplugger.run("sources", "fetch", "--lfs", str(lfsplugger.path / "lfs"), *args)


def said(result: RunResult) -> list[str]:
    return [line for line in result.errlines if line.startswith("lfsplug: sources: ")]


def write_list(folder: Path, *urls: str) -> None:
    (folder / "wget-list").write_text("".join(f"{u}\n" for u in urls))


def write_sums(folder: Path, sums: dict[str, bytes], algorithm: str = "md5",
               file: str = "md5sums") -> None:
    lines = [f"{hashlib.new(algorithm, data).hexdigest()}  {name}\n"
             for name, data in sums.items()]
    (folder / file).write_text("".join(lines))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# -- the wget-list ------------------------------------------------------------------------------


def test_the_wget_list_is_fetched_in_parallel_and_checked(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    names = [f"pkg{i}-1.0.tar.gz" for i in range(4)]
    blobs = {name: server.add(name) for name in names}
    write_list(sources, *(f"{server.url}/slow/{name}" for name in names))
    write_sums(sources, blobs)
    result = fetch(lfsplugger, "-j", "4")
    assert result.ret == 0, result.errlines
    for name, data in blobs.items():
        assert (sources / name).read_bytes() == data
    assert leftovers(sources) == []
    lines = said(result)
    for name in names:
        assert any(line.startswith(f"lfsplug: sources: fetched {name} (") and
                   f"from {server.url}/slow/{name})" in line for line in lines), lines
    assert lines[-1] == (f"lfsplug: sources: 4 fetched, 0 from the cache, 0 already there, "
                         f"0 failed, in {sources}")
    assert server.most_active >= 2  # the slow downloads overlapped

    again = fetch(lfsplugger)
    assert again.ret == 0
    assert said(again)[-1].startswith("lfsplug: sources: 0 fetched, 0 from the cache, 4 already "
                                      "there")
    assert len(server.requests) == 4  # nothing asked again


def test_a_404_says_which_file_and_url_and_exits_1(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    server.add("gone-1.0.tar.gz")
    good = server.add("here-1.0.tar.gz")
    write_list(sources, f"{server.url}/missing/gone-1.0.tar.gz",
               f"{server.url}/files/here-1.0.tar.gz")
    result = fetch(lfsplugger)
    assert result.ret == 1
    assert f"lfsplug: sources: {sources}/gone-1.0.tar.gz failed: " \
           f"{server.url}/missing/gone-1.0.tar.gz: HTTP 404 Not Found" in result.errlines
    assert not (sources / "gone-1.0.tar.gz").exists()
    assert (sources / "here-1.0.tar.gz").read_bytes() == good  # the others still come
    assert said(result)[-1].startswith("lfsplug: sources: 1 fetched, 0 from the cache, 0 already "
                                       "there, 1 failed")
    assert len(server.seen("gone-1.0.tar.gz")) == 1  # a 404 is not retried


def test_a_mirror_gives_the_file_its_own_url_does_not(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("m4-1.4.19.tar.gz")
    write_list(sources, f"{server.url}/missing/m4-1.4.19.tar.gz")
    write_sums(sources, {"m4-1.4.19.tar.gz": data})
    mirrors = f'mirrors = ["{server.url}/missing/old", "{server.url}/mirror/"]\n'
    lfsplugger.make_config(FAST + mirrors)
    result = fetch(lfsplugger)
    assert result.ret == 0, result.errlines
    assert (sources / "m4-1.4.19.tar.gz").read_bytes() == data
    assert any(f"from {server.url}/mirror/m4-1.4.19.tar.gz)" in line for line in said(result))
    assert [r[0] for r in server.requests] == [
        "/missing/m4-1.4.19.tar.gz", "/missing/old/m4-1.4.19.tar.gz", "/mirror/m4-1.4.19.tar.gz"]


@pytest.mark.parametrize("algorithm,file", [("md5", "md5sums"), ("sha256", "sha256sums")])
def test_a_wrong_checksum_fails_and_leaves_no_file(
    lfsplugger: Lfsplugger, sources: Path, server: Server, algorithm: str, file: str
) -> None:
    server.add("sed-4.9.tar.gz")
    write_list(sources, f"{server.url}/files/sed-4.9.tar.gz")
    write_sums(sources, {"sed-4.9.tar.gz": b"not this"}, algorithm, file)
    result = fetch(lfsplugger)
    assert result.ret == 1
    expected = hashlib.new(algorithm, b"not this").hexdigest()
    got = hashlib.new(algorithm, server.files["sed-4.9.tar.gz"]).hexdigest()
    assert (f"lfsplug: sources: {sources}/sed-4.9.tar.gz failed: "
            f"{server.url}/files/sed-4.9.tar.gz: {algorithm} mismatch: {sources}/{file}:1 says "
            f"{expected}, the file has {got}") in result.errlines
    assert sorted(p.name for p in sources.iterdir()) == [file, "wget-list"]


def test_a_present_file_that_does_not_match_is_fetched_again(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("grep-3.11.tar.gz")
    (sources / "grep-3.11.tar.gz").write_bytes(data[:1000])  # a corrupted copy
    write_list(sources, f"{server.url}/files/grep-3.11.tar.gz")
    write_sums(sources, {"grep-3.11.tar.gz": data})
    result = fetch(lfsplugger)
    assert result.ret == 0, result.errlines
    assert (sources / "grep-3.11.tar.gz").read_bytes() == data
    assert any(line.startswith(f"lfsplug: sources: {sources}/grep-3.11.tar.gz: md5 mismatch")
               and line.endswith(": fetching it again") for line in said(result))


# -- broken connections, resume -------------------------------------------------------------------


def test_a_truncated_download_is_retried_and_resumed_with_range(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("gawk-5.3.tar.gz")
    write_list(sources, f"{server.url}/truncated/gawk-5.3.tar.gz")
    write_sums(sources, {"gawk-5.3.tar.gz": data})
    result = fetch(lfsplugger)
    assert result.ret == 0, result.errlines
    assert (sources / "gawk-5.3.tar.gz").read_bytes() == data
    half = len(data) // 2
    assert (f"lfsplug: sources: gawk-5.3.tar.gz: truncated: the connection closed after {half} "
            f"of {len(data)} bytes from {server.url}/truncated/gawk-5.3.tar.gz; trying again "
            f"in 0.01 s (attempt 2 of 4)") in result.errlines
    assert server.seen("gawk-5.3.tar.gz") == [
        ("/truncated/gawk-5.3.tar.gz", None), ("/truncated/gawk-5.3.tar.gz", f"bytes={half}-")]
    assert leftovers(sources) == []


def test_a_download_that_always_breaks_fails_after_the_retries_and_keeps_its_part(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("diffutils-3.10.tar.gz")
    write_list(sources, f"{server.url}/broken/diffutils-3.10.tar.gz")
    lfsplugger.make_config(FAST + "retries = 2\n")
    result = fetch(lfsplugger)
    assert result.ret == 1
    half = len(data) // 2
    assert (f"lfsplug: sources: {sources}/diffutils-3.10.tar.gz failed: "
            f"{server.url}/broken/diffutils-3.10.tar.gz: truncated: the connection closed after "
            f"{half} of {len(data)} bytes (3 attempts)") in result.errlines
    assert len(server.seen("diffutils-3.10.tar.gz")) == 3
    assert not (sources / "diffutils-3.10.tar.gz").exists()
    assert (sources / "diffutils-3.10.tar.gz.part").read_bytes() == data[:half]  # to resume


def test_a_part_left_by_an_interrupted_fetch_is_resumed(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("hello-2.12.tar.gz")
    (sources / "hello-2.12.tar.gz.part").write_bytes(data[:5000])
    write_list(sources, f"{server.url}/files/hello-2.12.tar.gz")
    write_sums(sources, {"hello-2.12.tar.gz": data})
    result = fetch(lfsplugger)
    assert result.ret == 0, result.errlines
    assert (sources / "hello-2.12.tar.gz").read_bytes() == data
    assert server.seen("hello-2.12.tar.gz") == [("/files/hello-2.12.tar.gz", "bytes=5000-")]


def test_a_server_that_ignores_range_restarts_the_file_cleanly(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("make-4.4.tar.gz")
    (sources / "make-4.4.tar.gz.part").write_bytes(b"x" * 7000)  # would corrupt an append
    write_list(sources, f"{server.url}/norange/make-4.4.tar.gz")
    result = fetch(lfsplugger)  # no checksum: only the restart keeps the file right
    assert result.ret == 0, result.errlines
    assert (sources / "make-4.4.tar.gz").read_bytes() == data
    assert (f"lfsplug: sources: make-4.4.tar.gz: {server.url}/norange/make-4.4.tar.gz does not "
            f"resume (it ignores HTTP Range): downloading it from the start") in result.errlines


def test_a_206_from_another_offset_is_not_appended(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("xz-5.6.tar.gz")
    (sources / "xz-5.6.tar.gz.part").write_bytes(data[:3000])
    write_list(sources, f"{server.url}/badrange/xz-5.6.tar.gz")
    result = fetch(lfsplugger)  # no checksum: only the restart keeps the file right
    assert result.ret == 0, result.errlines
    assert (sources / "xz-5.6.tar.gz").read_bytes() == data
    assert [r[1] for r in server.seen("xz-5.6.tar.gz")] == ["bytes=3000-", None]


def test_a_resumed_part_that_does_not_match_is_downloaded_again_from_the_start(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("bison-3.8.tar.gz")
    (sources / "bison-3.8.tar.gz.part").write_bytes(b"y" * 4000)  # not a prefix of the file
    write_list(sources, f"{server.url}/files/bison-3.8.tar.gz")
    write_sums(sources, {"bison-3.8.tar.gz": data})
    result = fetch(lfsplugger)
    assert result.ret == 0, result.errlines
    assert (sources / "bison-3.8.tar.gz").read_bytes() == data
    assert [r[1] for r in server.seen("bison-3.8.tar.gz")] == ["bytes=4000-", None]


def test_a_slow_server_is_waited_for_and_a_silent_one_times_out(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    slow, _ = server.add("slow-1.0.tar.gz"), server.add("silent-1.0.tar.gz")
    write_list(sources, f"{server.url}/slow/slow-1.0.tar.gz",
               f"{server.url}/stall/silent-1.0.tar.gz")
    lfsplugger.make_config(FAST + "timeout = 0.3\nretries = 1\n")
    result = fetch(lfsplugger)
    assert result.ret == 1
    assert (sources / "slow-1.0.tar.gz").read_bytes() == slow  # 50 ms pauses < 0.3 s
    assert (f"lfsplug: sources: {sources}/silent-1.0.tar.gz failed: "
            f"{server.url}/stall/silent-1.0.tar.gz: timed out (no data for 0.3 s) after 0 bytes "
            f"of {len(server.files['silent-1.0.tar.gz'])} (2 attempts)") in result.errlines


# -- the cache ----------------------------------------------------------------------------------


def test_the_cache_is_filled_then_used_and_a_bad_copy_in_it_is_not(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("zlib-1.3.tar.gz")
    cache = lfsplugger.path / "cache"
    write_list(sources, f"{server.url}/files/zlib-1.3.tar.gz")
    write_sums(sources, {"zlib-1.3.tar.gz": data})
    assert fetch(lfsplugger, "--cache", str(cache)).ret == 0
    assert (cache / "zlib-1.3.tar.gz").read_bytes() == data

    (sources / "zlib-1.3.tar.gz").unlink()
    result = fetch(lfsplugger, "--cache", str(cache))
    assert result.ret == 0
    assert (sources / "zlib-1.3.tar.gz").read_bytes() == data
    assert f"lfsplug: sources: copied zlib-1.3.tar.gz from the cache {cache}" in result.errlines
    assert len(server.requests) == 1

    (sources / "zlib-1.3.tar.gz").unlink()
    (cache / "zlib-1.3.tar.gz").write_bytes(b"rotten")
    lfsplugger.make_config(FAST + f'cache = "{cache}"\n')  # the setting, not the option
    result = fetch(lfsplugger)
    assert result.ret == 0
    assert any(line.startswith(f"lfsplug: sources: {cache}/zlib-1.3.tar.gz: md5 mismatch")
               and line.endswith(": not used") for line in result.errlines)
    assert (sources / "zlib-1.3.tar.gz").read_bytes() == data
    assert (cache / "zlib-1.3.tar.gz").read_bytes() == data  # mended
    assert len(server.requests) == 2


# -- what the scripts need; run --fetch ---------------------------------------------------------

PKG_SCRIPT = "# lfsplug: unpack=pkg-1.0.tar.gz\ntest -f README\necho built > $LFS/built"


def test_the_wget_list_a_tree_ships_is_fetched_and_its_md5sums_placed(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    """As lfsplug-book writes the book's scripts: wget-list and md5sums at the tree's root, and
    none in the sources directory yet (the book's chapter 3: fetch them there first)."""
    blobs = {name: server.add(name) for name in ("pkg-1.0.tar.gz", "fix-1.patch")}
    tree = lfsplugger.path / "scripts"
    lfsplugger.make_tree({"scripts/01-pkg.sh": "# lfsplug: unpack=pkg-1.0.tar.gz\ntrue"})
    write_list(tree, *(f"{server.url}/files/{name}" for name in blobs))
    write_sums(tree, blobs)
    result = fetch(lfsplugger, str(tree))
    assert result.ret == 0, result.errlines
    for name, data in blobs.items():  # the patch too: the list, not only what is unpacked
        assert (sources / name).read_bytes() == data
    assert (sources / "md5sums").read_text() == (tree / "md5sums").read_text()
    assert not (sources / "wget-list").exists()


def test_run_fetch_fetches_the_missing_tarball_then_builds(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("pkg-1.0.tar.gz")
    write_list(sources, f"{server.url}/files/pkg-1.0.tar.gz")
    write_sums(sources, {"pkg-1.0.tar.gz": data})
    lfsplugger.make_tree({"scripts/01-pkg.sh": PKG_SCRIPT})
    lfs = lfsplugger.path / "lfs"
    result = lfsplugger.run("run", "scripts", "--lfs", str(lfs), "--fetch", "--shellcheck",
                            "off", "--host-check", "off")
    assert result.ret == 0, result.errlines
    assert (sources / "pkg-1.0.tar.gz").read_bytes() == data
    assert (lfs / "built").read_text() == "built\n"
    assert any(line.startswith("lfsplug: sources: fetched pkg-1.0.tar.gz (")
               for line in result.errlines)


def test_run_fetch_that_fails_builds_nothing_and_exits_1(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    write_list(sources, f"{server.url}/missing/pkg-1.0.tar.gz")
    lfsplugger.make_tree({"scripts/01-pkg.sh": PKG_SCRIPT})
    lfs = lfsplugger.path / "lfs"
    result = lfsplugger.run("run", "scripts", "--lfs", str(lfs), "--fetch", "--shellcheck",
                            "off", "--host-check", "off")
    assert result.ret == 1
    assert (f"lfsplug: sources: {sources}/pkg-1.0.tar.gz failed: "
            f"{server.url}/missing/pkg-1.0.tar.gz: HTTP 404 Not Found") in result.errlines
    assert result.errlines[-1] == ("lfsplug: sources: 1 file(s) could not be fetched (each "
                                   "said above); nothing was built")
    assert result.statuses() == {}
    assert not (lfs / "built").exists()


def test_an_unpack_tarball_no_list_names_comes_from_a_mirror_or_is_said(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("pkg-1.0.tar.gz")
    lfsplugger.make_tree({"scripts/01-pkg.sh": PKG_SCRIPT})
    result = fetch(lfsplugger, "scripts")
    assert result.ret == 1
    assert (f"lfsplug: sources: {sources}/pkg-1.0.tar.gz failed: no URL: the wget-list does "
            f"not list it and no [sources] mirrors are set (needed by 01-pkg.sh:2 "
            f"unpack=pkg-1.0.tar.gz)") in result.errlines
    lfsplugger.make_config(FAST + f'mirrors = ["{server.url}/mirror"]\n')
    result = fetch(lfsplugger, "scripts")
    assert result.ret == 0, result.errlines
    assert (sources / "pkg-1.0.tar.gz").read_bytes() == data


def test_a_glob_unpack_takes_the_wget_list_file_it_matches_and_a_dry_run_fetches_nothing(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("gawk-5.3.1.tar.gz")
    write_list(sources, f"{server.url}/files/gawk-5.3.1.tar.gz")
    lfsplugger.make_tree({"scripts/01-gawk.sh": "# lfsplug: unpack=gawk-*.tar.gz\ntest -f README"})
    lfs = lfsplugger.path / "lfs"
    args = ("run", "scripts", "--lfs", str(lfs), "--fetch", "--shellcheck", "off",
            "--host-check", "off")
    result = lfsplugger.run(*args, "--dry-run")
    assert result.ret == 0, result.errlines
    assert (f"lfsplug: sources: would fetch {sources}/gawk-5.3.1.tar.gz from "
            f"{server.url}/files/gawk-5.3.1.tar.gz") in result.errlines
    assert server.requests == []
    assert not (sources / "gawk-5.3.1.tar.gz").exists()
    result = lfsplugger.run(*args)
    assert result.ret == 0, result.errlines
    assert (sources / "gawk-5.3.1.tar.gz").read_bytes() == data
    assert result.statuses() == {"gawk": "passed"}


def test_blocked_the_plugin_leaves_no_command_and_no_option(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"scripts/01-a.sh": "true"})
    result = lfsplugger.run("-p", "no:sources", "run", "scripts", "--fetch")
    assert result.ret == 4
    assert result.errlines[-1] == "lfsplug: error: No such option '--fetch'."
    result = lfsplugger.run("-p", "no:sources", "sources", "fetch")
    assert result.ret == 4
    assert result.errlines[-1] == "lfsplug: error: No such command 'sources'."


# -- bad input ----------------------------------------------------------------------------------


def test_bad_lists_and_settings_are_usage_errors_at_their_line(
    lfsplugger: Lfsplugger, sources: Path
) -> None:
    (sources / "wget-list").write_text("# the book's list\nhttps://ftp.gnu.org/gnu/m4/m4.tar.xz\n"
                                       "m4-1.4.19.tar.xz\n")
    result = fetch(lfsplugger)
    assert result.ret == 4
    assert result.errlines[-1] == (f"lfsplug: {sources}/wget-list:3: not a URL: "
                                   f"'m4-1.4.19.tar.xz' (a wget-list has one URL per line)")
    write_list(sources, "https://ftp.gnu.org/gnu/m4/m4.tar.xz")
    (sources / "md5sums").write_text("abc  m4.tar.xz\n")
    result = fetch(lfsplugger)
    assert result.ret == 4
    assert result.errlines[-1] == (f"lfsplug: {sources}/md5sums:1: expected `HASH  FILE` with "
                                   f"an MD5 (32 hex digits) or SHA-256 (64) hash, got "
                                   f"'abc  m4.tar.xz'")
    assert fetch(lfsplugger, "--list", "nowhere").errlines[-1] == (
        f"lfsplug: --list: {lfsplugger.path}/nowhere: no such file")
    lfsplugger.make_config(FAST + 'mirrors = ["ftp.gnu.org/gnu"]\n')
    result = fetch(lfsplugger)
    assert result.ret == 4
    assert result.errlines[-1] == (f"lfsplug: {lfsplugger.path}/lfsplug.toml:3: [sources] "
                                   f"mirrors: 'ftp.gnu.org/gnu' is not a base URL (it must start "
                                   f"with http://, https://, ftp://, file://)")
    lfsplugger.make_config(FAST)
    result = lfsplugger.run("sources", "get")
    assert result.ret == 4
    assert result.errlines[-1] == ("lfsplug: lfsplug sources get: unknown action 'get' "
                                   "(known: fetch)")


def test_nothing_to_fetch_exits_5(lfsplugger: Lfsplugger, sources: Path) -> None:
    result = fetch(lfsplugger)
    assert result.ret == 5
    assert said(result) == [f"lfsplug: sources: nothing to fetch: no {sources}/wget-list and "
                            f"no script under {lfsplugger.path} unpacks a tarball"]


def test_the_real_command_prints_plain_lines_in_a_pipe(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    data = server.add("m4-1.4.19.tar.gz")
    write_list(sources, f"{server.url}/files/m4-1.4.19.tar.gz")
    result = lfsplugger.run_subprocess("sources", "fetch", "--lfs", str(lfsplugger.path / "lfs"),
                                       env={"TERM": "xterm"})
    assert result.ret == 0, result.errlines
    assert (sources / "m4-1.4.19.tar.gz").read_bytes() == data
    assert all(line.startswith("lfsplug: ") for line in result.errlines), result.errlines
    assert sorted(os.listdir(sources)) == ["m4-1.4.19.tar.gz", "wget-list"]
    assert "\x1b[" not in "".join(result.errlines)  # no bars, no colours: a pipe


def test_a_terminal_gets_progress_bars(lfsplugger: Lfsplugger, sources: Path,
                                       server: Server) -> None:
    data = server.add("bars-1.0.tar.gz")
    write_list(sources, f"{server.url}/slow/bars-1.0.tar.gz")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LFSPLUG_") and k != "NO_COLOR"}
    env["TERM"] = "xterm"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lfsplug", "sources", "fetch", "--lfs", str(sources.parent)],
        cwd=lfsplugger.path, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            block = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not block:
            break
        chunks.append(block)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in text and "bars-1.0.tar.gz" in text and "1/1 files" in text, text
    assert "lfsplug: sources: fetched bars-1.0.tar.gz (" in text
    assert (sources / "bars-1.0.tar.gz").read_bytes() == data


def test_ctrl_c_exits_2_and_keeps_the_part_for_the_next_fetch(
    lfsplugger: Lfsplugger, sources: Path, server: Server
) -> None:
    server.add("crawl-1.0.tar.gz")
    write_list(sources, f"{server.url}/crawl/crawl-1.0.tar.gz")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LFSPLUG_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lfsplug", "sources", "fetch", "--lfs", str(sources.parent)],
        cwd=lfsplugger.path, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    part = sources / "crawl-1.0.tar.gz.part"
    deadline = time.monotonic() + 30
    while not (part.is_file() and part.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert err.splitlines()[-1] == "lfsplug: interrupted"
    assert part.stat().st_size > 0
    assert not (sources / "crawl-1.0.tar.gz").exists()
