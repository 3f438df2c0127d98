"""End-to-end tests of contrib/lfsplug-notify, installed as the separate distribution it is.

The plugin is installed once per session with pip into a private directory (never the global
site-packages); the real ``lfsplug`` command then runs as a subprocess with that directory on
PYTHONPATH, so it finds the plugin the way a user's lfsplug would: through its entry point. The
tests look only at what a user sees: exit codes, lines printed, what a local HTTP server
received and what a notify command wrote.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

CONTRIB = Path(__file__).resolve().parent.parent / "contrib" / "lfsplug-notify"
RUN_TIMEOUT = 60

# `python -m lfsplug` that takes Ctrl-C as a terminal delivers it, even when pytest runs as a
# background job: there SIGINT is ignored, and a Python started so would ignore it too.
INTERRUPTIBLE_LFSPLUG = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('lfsplug', run_name='__main__', alter_sys=True)"
)

# A notify command: writes its arguments, its stdin and the LFSPLUG_* variables to argv[1].
RECORDER = """\
import json, os, sys
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump({"argv": sys.argv[2:], "stdin": sys.stdin.read(),
               "env": {k: v for k, v in os.environ.items() if k.startswith("LFSPLUG_")}}, out)
"""


# -- installing the plugin ---------------------------------------------------------------------


def _missing_build_tools() -> str | None:
    """Why pip cannot build the plugin here without network access, or None."""
    for module in ("pip", "setuptools"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    setuptools_version = importlib.metadata.version("setuptools")
    major, minor = (int(p) for p in setuptools_version.split(".")[:2])
    if (major, minor) < (61, 0):
        return f"setuptools {setuptools_version} cannot read PEP 621 metadata (61 or later needed)"
    if (major, minor) < (70, 1) and importlib.util.find_spec("wheel") is None:
        return f"setuptools {setuptools_version} needs the wheel package to build a wheel"
    return None


@pytest.fixture(scope="session")
def notify_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding lfsplug-notify as pip installed it (with its entry point metadata)."""
    missing = _missing_build_tools()
    if missing:
        pytest.skip(f"cannot install contrib/lfsplug-notify: {missing}")
    base = tmp_path_factory.mktemp("notify-install")
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in contrib/.
    source = base / "source"
    shutil.copytree(CONTRIB, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = base / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--no-compile", "--disable-pip-version-check", "--quiet",
         "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return site


# -- running lfsplug ---------------------------------------------------------------------------


def _env(site: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the child: the plugin on PYTHONPATH, no stray lfsplug settings or
    proxies (the local server must be reached directly)."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("LFSPLUG_") and not k.lower().endswith("_proxy")
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def run_lfsplug(site: Path, cwd: Path, *args: str,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``lfsplug`` command line in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "lfsplug", *args], cwd=cwd, env=_env(site, env),
        capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )


Lfsplug = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def lfsplug(notify_site: Path, tmp_path: Path) -> Lfsplug:
    """``lfsplug(*args, env=None)``: run lfsplug in tmp_path with the plugin installed."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_lfsplug(notify_site, tmp_path, *args, env=env)

    return run


def notify_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("lfsplug-notify:")]


# -- script trees ------------------------------------------------------------------------------


def make_tree(root: Path, failing: bool) -> Path:
    """Two passing scripts; or a passing one, one that prints 25 lines and exits 3, and one
    that never runs."""
    root.mkdir(parents=True)
    (root / "01-a.sh").write_text("echo hi\n")
    if failing:
        (root / "02-b.sh").write_text('for i in {1..25}; do echo "line $i"; done\nexit 3\n')
        (root / "03-c.sh").write_text("echo never\n")
    else:
        (root / "02-b.sh").write_text("echo there\n")
    return root


@pytest.fixture
def passing_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "passing", failing=False)


@pytest.fixture
def failing_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "failing", failing=True)


# -- receivers ---------------------------------------------------------------------------------


@dataclass
class Received:
    """One request the sink received."""

    method: str
    path: str
    content_type: str | None
    user_agent: str | None
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


class HttpSink:
    """An HTTP server on 127.0.0.1 (a free port) that records each POST and answers ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.received: list[Received] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A short poll interval makes shutdown() quick.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.received.append(Received("POST", self.path, self.headers["Content-Type"],
                                              self.headers["User-Agent"], raw))
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        return Handler

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> HttpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with HttpSink() as server:
        yield server


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL whose port is bound but not listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A URL whose server accepts the connection and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


def recorder_command(tmp_path: Path, *extra: str) -> tuple[str, Path]:
    """A --notify-command that records what it gets into a file; returns it and the file."""
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    out = tmp_path / "recorded.json"
    words = [sys.executable, str(script), str(out), *extra]
    return shlex.join(words), out


# -- the plugin is found through its entry point -----------------------------------------------


def test_plugins_lists_notify_from_its_entry_point(lfsplug: Lfsplug) -> None:
    done = lfsplug("plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)["plugins"]}
    notify = rows["notify"]
    assert notify["origin"] == "entrypoint"
    assert notify["distribution"] == "lfsplug-notify"
    assert notify["version"] == "0.1.0"
    assert notify["module"] == "lfsplug_notify"
    assert {"lfsplug_addoption", "lfsplug_configure", "lfsplug_unconfigure"} <= set(
        notify["hooks"]
    )


def test_p_no_notify_blocks_it(lfsplug: Lfsplug, passing_tree: Path, sink: HttpSink) -> None:
    done = lfsplug("-p", "no:notify", "plugins", "--json")
    assert done.returncode == 0, done.stderr
    assert "lfsplug_notify" not in {row["module"] for row in json.loads(done.stdout)["plugins"]}
    # Blocked, it adds no options: asking for a notification is a usage error, and none is sent.
    done = lfsplug("-p", "no:notify", "run", str(passing_tree), "--notify-url", sink.url())
    assert done.returncode == 4
    assert "--notify-url" in done.stderr
    assert sink.received == []


# -- POSTing the summary -----------------------------------------------------------------------


def test_passing_build_posts_its_summary(lfsplug: Lfsplug, passing_tree: Path,
                                         sink: HttpSink) -> None:
    done = lfsplug("run", str(passing_tree), "--notify-url", sink.url("/lfs/build"))
    assert done.returncode == 0, done.stderr
    assert notify_lines(done.stderr) == []
    [request] = sink.received
    assert (request.method, request.path) == ("POST", "/lfs/build")
    assert request.content_type == "application/json"
    assert request.user_agent == "lfsplug-notify/0.1.0"
    body = request.body
    assert body["exit_code"] == 0
    assert body["status"] == "passed"
    assert body["counts"] == {"passed": 2, "failed": 0, "skipped": 0, "not-run": 0}
    assert body["failed"] == []
    assert body["host"] == socket.gethostname()
    started = datetime.fromisoformat(body["started"])
    finished = datetime.fromisoformat(body["finished"])
    assert started.tzinfo is not None
    assert started <= finished
    assert body["duration_s"] >= 0


@dataclass
class FailedBuild:
    """One failing build notified both by command and by URL, shared by the tests below."""

    done: subprocess.CompletedProcess[str]
    received: list[Received]
    recorded: dict[str, Any]
    tree: Path


@pytest.fixture(scope="module")
def failed_build(notify_site: Path, tmp_path_factory: pytest.TempPathFactory) -> FailedBuild:
    tmp_path = tmp_path_factory.mktemp("failed-build")
    tree = make_tree(tmp_path / "tree", failing=True)
    # Words a shell would expand or split on: they must arrive as they are.
    command, out = recorder_command(tmp_path, "$HOME;echo x", "two words")
    with HttpSink() as server:
        done = run_lfsplug(notify_site, tmp_path, "run", str(tree),
                           "--notify-url", server.url(), "--notify-command", command)
    assert out.is_file(), f"the notify command did not run:\n{done.stdout}\n{done.stderr}"
    return FailedBuild(done, server.received, json.loads(out.read_text()), tree)


def test_failing_build_posts_the_failed_script_and_its_log_tail(
    failed_build: FailedBuild,
) -> None:
    assert failed_build.done.returncode == 1
    assert notify_lines(failed_build.done.stderr) == []
    [request] = failed_build.received
    body = request.body
    assert body["exit_code"] == 1
    assert body["status"] == "failed"
    assert body["counts"] == {"passed": 1, "failed": 1, "skipped": 0, "not-run": 1}
    [failed] = body["failed"]
    assert failed["name"] == "b"
    assert failed["exit_code"] == 3
    assert "failure_class" in failed
    assert failed["tail"] == [f"line {i}" for i in range(6, 26)]
    log = Path(failed["log"])
    assert log.is_file()
    assert "line 25" in log.read_text()


def test_notify_command_gets_the_summary_and_env_without_a_shell(
    failed_build: FailedBuild,
) -> None:
    recorded = failed_build.recorded
    assert recorded["argv"] == ["$HOME;echo x", "two words"]
    assert recorded["env"] == {
        "LFSPLUG_EXIT_CODE": "1",
        "LFSPLUG_STATUS": "failed",
        "LFSPLUG_FAILED": "b",
    }
    summary = json.loads(recorded["stdin"])
    assert summary["exit_code"] == 1
    assert [f["name"] for f in summary["failed"]] == ["b"]
    # The command and the POST tell the same story.
    assert summary == failed_build.received[0].body


def test_interrupted_build_is_notified_as_interrupted(
    notify_site: Path, tmp_path: Path, sink: HttpSink
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "01-long.sh").write_text("echo started\nsleep 10\n")
    child = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE_LFSPLUG, "run", str(tree), "--notify-url", sink.url()],
        cwd=tmp_path, env=_env(notify_site), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:  # Ctrl-C once the script is running
        if "start" in line and "long" in line:
            child.send_signal(signal.SIGINT)
            break
    _, stderr = child.communicate(timeout=RUN_TIMEOUT)
    assert child.returncode == 2, stderr
    [request] = sink.received
    assert (request.body["exit_code"], request.body["status"]) == (2, "interrupted")


@pytest.mark.parametrize(("failing", "notify_on"), [(False, "failure"), (True, "success")])
def test_notify_on_leaves_the_other_outcome_alone(
    lfsplug: Lfsplug, tmp_path: Path, sink: HttpSink, failing: bool, notify_on: str
) -> None:
    tree = make_tree(tmp_path / "tree", failing)
    done = lfsplug("run", str(tree), "--notify-url", sink.url(), "--notify-on", notify_on)
    assert done.returncode == (1 if failing else 0), done.stderr
    assert sink.received == []


# -- a failure to notify never changes the outcome ---------------------------------------------


def test_refused_connection_and_missing_command_print_one_line_each(
    lfsplug: Lfsplug, passing_tree: Path, refused_url: str
) -> None:
    done = lfsplug("run", str(passing_tree), "--notify-url", refused_url,
                   "--notify-command", "no-such-notifier-xyz --now")
    assert done.returncode == 0
    assert "Traceback" not in done.stderr
    assert notify_lines(done.stderr) == [
        "lfsplug-notify: command no-such-notifier-xyz --now failed: not found",
        f"lfsplug-notify: POST {refused_url} failed: Connection refused",
    ]


def test_http_error_keeps_the_builds_exit_code(lfsplug: Lfsplug, failing_tree: Path) -> None:
    with HttpSink(status=500) as server:
        done = lfsplug("run", str(failing_tree), "--notify-url", server.url("/hook?token=s3cret"),
                       "--notify-command", shlex.join([sys.executable, "-c", "exit(7)"]))
    assert done.returncode == 1
    assert len(server.received) == 1
    lines = notify_lines(done.stderr)
    assert lines[0].endswith("failed: exited with status 7")
    # The query string, where tokens live, is not printed.
    assert lines[1:] == [
        f"lfsplug-notify: POST {server.url('/hook')}?... failed: HTTP 500 Internal Server Error"
    ]


def test_silent_server_times_out(lfsplug: Lfsplug, passing_tree: Path, silent_url: str) -> None:
    done = lfsplug("run", str(passing_tree), "--notify-url", silent_url,
                   "--notify-timeout", "0.3")
    assert done.returncode == 0
    assert notify_lines(done.stderr) == [
        f"lfsplug-notify: POST {silent_url} failed: timed out after 0.3 s"
    ]


# -- configuration -----------------------------------------------------------------------------


def test_config_file_keys_and_command_line_precedence(
    lfsplug: Lfsplug, failing_tree: Path, sink: HttpSink
) -> None:
    (failing_tree / "lfsplug.toml").write_text(
        f'notify_url = "{sink.url("/from-file")}"\nnotify_on = "failure"\n'
    )
    done = lfsplug("run", str(failing_tree))
    assert done.returncode == 1, done.stderr
    assert [r.path for r in sink.received] == ["/from-file"]
    assert sink.received[0].body["status"] == "failed"
    # The command line wins over the file.
    done = lfsplug("run", str(failing_tree), "--notify-on", "success")
    assert done.returncode == 1, done.stderr
    assert len(sink.received) == 1


def test_bad_url_is_a_usage_error_before_anything_runs(
    lfsplug: Lfsplug, passing_tree: Path
) -> None:
    (passing_tree / "lfsplug.toml").write_text('# tell the team\nnotify_url = "ftp://example.org/x"\n')
    done = lfsplug("run", str(passing_tree))
    assert done.returncode == 4
    assert done.stderr.strip() == (
        f"lfsplug: {passing_tree / 'lfsplug.toml'}:2: notify_url ftp://example.org/x: "
        "only http:// and https:// URLs can be notified"
    )
    assert not (passing_tree / ".lfsplug" / "logs").exists()
