"""The executor plugin: the clean build environment, process groups, timeouts and logs."""

from __future__ import annotations

import contextlib
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from lfsplug.testing import Lfsplugger, RunResult

#: Variables that bash adds by itself to the environment of the commands it runs.
BASH_ADDS = {"PWD", "SHLVL", "_", "OLDPWD"}
CLEAN = {"HOME", "TERM", "LFS", "LC_ALL", "LFS_TGT", "PATH", "CONFIG_SITE", "MAKEFLAGS"}


def log_of(lfsplugger: Lfsplugger, name: str, state: str = ".lfsplug") -> str:
    return (lfsplugger.path / state / "logs" / f"{name}.log").read_text(errors="replace")


def env_seen(lfsplugger: Lfsplugger, result: RunResult, name: str = "env") -> dict[str, str]:
    """The environment a script printed with ``env`` (read back from its log)."""
    assert result.ret == 0, result.outlines
    seen = {}
    for line in log_of(lfsplugger, name).splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("# lfsplug:"):
            seen[key] = value
    return seen


def survivors(marker: str) -> list[psutil.Process]:
    """Live processes whose command line contains ``marker``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if marker in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def left_running(marker: str, grace: float = 10.0) -> list[list[str]]:
    """The command lines of processes with ``marker`` still alive after ``grace`` seconds (a
    killed process may take a moment to be reaped); any found are killed, so that none outlives
    the test."""
    deadline = time.monotonic() + grace
    while (found := survivors(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for proc in found:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    return [proc.info["cmdline"] for proc in found]


# -- the clean environment ----------------------------------------------------------------------


def test_clean_environment(lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKY", "1")
    monkeypatch.setenv("CFLAGS", "-O0")
    lfsplugger.make_tree({"01-env.sh": "env"})
    env = env_seen(lfsplugger, lfsplugger.run("run"))
    assert set(env) - BASH_ADDS == CLEAN
    assert "LEAKY" not in env and "CFLAGS" not in env
    assert env["LC_ALL"] == "POSIX"
    assert env["LFS"] == "/mnt/lfs"
    assert env["PATH"].startswith("/mnt/lfs/tools/bin:")
    assert env["LFS_TGT"].endswith("-lfs-linux-gnu")
    assert env["CONFIG_SITE"] == "/mnt/lfs/usr/share/config.site"
    assert env["MAKEFLAGS"].startswith("-j")
    assert env["HOME"] == os.environ.get("HOME", "/root")


def test_clean_environment_in_a_real_child_process(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-env.sh": "env"})
    result = lfsplugger.run_subprocess("run", env={"LEAKY": "1"})
    env = env_seen(lfsplugger, result)
    assert set(env) - BASH_ADDS == CLEAN


def test_lfs_option_sets_lfs_and_path(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    lfs = tmp_path / "lfs root"
    lfsplugger.make_tree({"01-env.sh": "env"})
    env = env_seen(lfsplugger, lfsplugger.run("run", "--lfs", str(lfs)))
    assert env["LFS"] == str(lfs)
    assert env["PATH"].startswith(f"{lfs}/tools/bin:")
    assert env["CONFIG_SITE"] == f"{lfs}/usr/share/config.site"


def test_config_env_adds_a_variable(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-env.sh": "env"})
    lfsplugger.make_config('[env]\nBUILD_DOCS = "no"\nMAKEFLAGS = "-j1"\n')
    env = env_seen(lfsplugger, lfsplugger.run("run"))
    assert env["BUILD_DOCS"] == "no"
    assert env["MAKEFLAGS"] == "-j1"
    assert set(env) - BASH_ADDS == CLEAN | {"BUILD_DOCS"}


def test_lfsconf_script_env_shapes_the_environment(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-env.sh": "env", "02-other.sh": "env"})
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_script_env(script, env, config):\n"
        "    env['FOR_SCRIPT'] = script.name\n"
        "    if script.name == 'env':\n"
        "        env['MAKEFLAGS'] = '-j1'\n"
        "        del env['CONFIG_SITE']\n"
    )
    result = lfsplugger.run("run")
    env = env_seen(lfsplugger, result)
    assert env["FOR_SCRIPT"] == "env"
    assert env["MAKEFLAGS"] == "-j1"
    assert "CONFIG_SITE" not in env
    other = env_seen(lfsplugger, result, "other")
    assert other["FOR_SCRIPT"] == "other"
    assert "CONFIG_SITE" in other


def test_umask_hashing_and_working_directory(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "sub/dir/01-shell.sh": "umask\nset -o | grep hashall\npwd\ntouch made\nls -l made",
    })
    old = os.umask(0o077)  # the umask of lfsplug's own process must not matter
    try:
        result = lfsplugger.run("run")
    finally:
        os.umask(old)
    assert result.ret == 0
    lines = log_of(lfsplugger, "shell").splitlines()
    assert lines[0] == "0022"
    assert lines[1].split() == ["hashall", "off"]
    assert Path(lines[2]).resolve() == (lfsplugger.path / "sub" / "dir").resolve()
    assert lines[3].startswith("-rw-r--r--")


def test_stdin_is_not_a_terminal_and_read_gets_eof(lfsplugger: Lfsplugger) -> None:
    """lfsplug itself runs on a terminal that nobody types into: a script must not see it."""
    lfsplugger.make_tree({
        "01-ask.sh": "if [ -t 0 ]; then echo tty; else echo no-tty; fi\n"
                     "if read -r answer; then echo got:$answer; else echo eof; fi",
    })
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "lfsplug", "run", "-p", "no:terminal"], cwd=lfsplugger.path,
            stdin=slave, capture_output=True, timeout=30, check=False,
        )
    finally:
        os.close(slave)
        os.close(master)  # ends a script that would still wait on the terminal
    assert proc.returncode == 0, proc.stderr
    assert log_of(lfsplugger, "ask").splitlines()[:2] == ["no-tty", "eof"]


def test_scripts_run_with_bash_errexit(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo before\nfalse\necho SHOULD-NOT-RUN"})
    result = lfsplugger.run("run")
    assert result.ret == 1
    log = log_of(lfsplugger, "a")
    assert "before" in log
    assert "SHOULD-NOT-RUN" not in log


# -- logs ---------------------------------------------------------------------------------------


def test_log_per_script_with_stdout_and_stderr(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "echo to-stdout\necho to-stderr >&2\necho again",
        "02-b.sh": "echo b-out",
    })
    result = lfsplugger.run("run")
    assert result.ret == 0
    a = log_of(lfsplugger, "a").splitlines()
    assert a[:3] == ["to-stdout", "to-stderr", "again"]
    assert log_of(lfsplugger, "b").splitlines()[0] == "b-out"
    logs = lfsplugger.path / ".lfsplug" / "logs"
    assert result.results["a"].log_path == logs / "1" / "a.log"  # run 1's; logs/a.log links it
    assert (logs / "latest").is_symlink()
    assert (logs / "latest").resolve() == (logs / "b.log").resolve()


def test_state_dir_option_puts_logs_there(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo hello"})
    result = lfsplugger.run("run", "--state-dir", "build-state")
    assert result.ret == 0
    assert log_of(lfsplugger, "a", "build-state").startswith("hello\n")
    assert not (lfsplugger.path / ".lfsplug").exists()
    elsewhere = tmp_path / "elsewhere"
    assert lfsplugger.run("run", "--state-dir", str(elsewhere)).ret == 0
    assert (elsewhere / "logs" / "a.log").read_text().startswith("hello\n")


@pytest.mark.parametrize("redirect", [
    pytest.param("", id="on-stdout"),
    pytest.param(" >&2", id="on-stderr"),
])
def test_output_without_trailing_newline_is_logged_and_reaches_the_tail(
    lfsplugger: Lfsplugger, redirect: str,
) -> None:
    lfsplugger.make_tree({"01-a.sh": f"echo first\nprintf 'last words'{redirect}\nexit 3"})
    result = lfsplugger.run("run")
    assert result.ret == 1
    assert log_of(lfsplugger, "a").startswith("first\nlast words")
    assert result.results["a"].tail[-2:] == ["first", "last words"]
    result.stdout.fnmatch_lines(["    first", "    last words"])


# -- failures -----------------------------------------------------------------------------------


def test_failing_script_stops_the_build(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-ok.sh": "echo ok",
        "02-bad.sh": "echo about to fail\nexit 7",
        "03-later.sh": "touch later.ran",
    })
    result = lfsplugger.run("run")
    assert result.ret == 1
    assert result.statuses() == {"ok": "passed", "bad": "failed", "later": "not-run"}
    assert result.results["bad"].exit_code == 7
    log = lfsplugger.path / ".lfsplug" / "logs" / "1" / "bad.log"
    text = "\n".join(result.outlines)
    assert "bad" in text
    assert str(log) in text
    assert not (lfsplugger.path / "later.ran").exists()
    assert not (lfsplugger.path / ".lfsplug" / "logs" / "later.log").exists()


def test_keep_going_in_graph_mode(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "exit 1",
        "02-b.sh": "# lfsplug: depends=a\ntouch b.ran",
        "03-c.sh": "touch c.ran",
        "04-d.sh": "# lfsplug: depends=b\ntouch d.ran",
        "05-e.sh": "# lfsplug: depends=c\ntouch e.ran",
    })
    result = lfsplugger.run("run", "--order", "graph", "--keep-going")
    assert result.ret == 1
    assert result.statuses() == {
        "a": "failed", "b": "skipped", "c": "passed", "d": "skipped", "e": "passed",
    }
    assert "a" in (result.results["d"].message or "")
    assert [p.name for p in sorted(lfsplugger.path.glob("*.ran"))] == ["c.ran", "e.ran"]


def test_without_keep_going_graph_mode_stops(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "exit 1", "02-c.sh": "touch c.ran"})
    result = lfsplugger.run("run", "--order", "graph")
    assert result.ret == 1
    assert result.statuses() == {"a": "failed", "c": "not-run"}


def test_timeout_ends_the_whole_process_group(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-slow.sh": "sleep 1234.5 &\necho started\nsleep 1234.6\necho SHOULD-NOT-RUN",
        "02-next.sh": "touch next.ran",
    })
    result = lfsplugger.run("run", "--timeout", "1")
    assert result.ret == 1
    assert result.statuses() == {"slow": "failed", "next": "not-run"}
    assert "timed out" in (result.results["slow"].message or "")
    result.stdout.fnmatch_lines(["*failed*slow*timed out*"])
    assert left_running("sleep 1234.") == []
    log = log_of(lfsplugger, "slow")
    assert "started" in log and "SHOULD-NOT-RUN" not in log


def test_header_timeout(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-slow.sh": "# lfsplug: timeout=0.5\nsleep 1234.7"})
    result = lfsplugger.run("run")
    assert result.ret == 1
    assert "timed out" in (result.results["slow"].message or "")
    assert left_running("sleep 1234.7") == []


def test_background_child_does_not_keep_a_finished_script_running(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({
        "01-daemon.sh": "sleep 1234.8 &\necho done",
        "02-next.sh": "touch next.ran",
    })
    try:
        # --timeout only bounds the test when the bug is present; the script itself is instant
        result = lfsplugger.run("run", "--timeout", "1")
    finally:
        left_running("sleep 1234.8", grace=0)
    assert result.ret == 0, result.outlines
    assert result.statuses() == {"daemon": "passed", "next": "passed"}


def test_without_the_executor_plugin(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "touch a.ran"})
    result = lfsplugger.run("run", "-p", "no:executor")
    assert result.ret == 4
    assert any("executor" in line for line in result.errlines), result.errlines
    assert not (lfsplugger.path / "a.ran").exists()


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_timeout_must_be_a_positive_number(lfsplugger: Lfsplugger, value: str) -> None:
    lfsplugger.make_tree({"01-a.sh": "sleep 0.2\ntouch a.ran"})
    result = lfsplugger.run("run", "--timeout", value)
    assert result.ret == 4
    assert any("--timeout" in line for line in result.errlines), result.errlines
    assert not (lfsplugger.path / ".lfsplug" / "logs").exists()


def test_very_long_timeout(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo quick"})
    result = lfsplugger.run("run", "--timeout", "1e10")
    assert result.ret == 0, result.errlines
    assert result.statuses() == {"a": "passed"}


def test_the_clean_environment_is_the_one_the_kernel_names(tmp_path: Path) -> None:
    """Discovery, the executor and validation agree on what every script gets (BOOK_ENV)."""
    import lfsplug
    from lfsplug_executor import clean_env

    class Options:
        lfs = str(tmp_path)

    assert set(clean_env(Options())) == lfsplug.BOOK_ENV  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["", ":", " "])
def test_an_empty_path_in_env_is_a_usage_error_at_its_line(lfsplugger: Lfsplugger,
                                                           path: str) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    config = lfsplugger.make_config(f'[env]\nFOO = "x"\nPATH = "{path}"\n')
    for command in (("run", "--shellcheck", "off"), ("check", "--shellcheck", "off")):
        result = lfsplugger.run(*command)
        assert (result.ret, result.errlines) == (4, [
            f"lfsplug: {config}:3: [env] PATH is empty: no script could find bash or any "
            f"command; remove it to keep the book's PATH, or give directories "
            f'(PATH = "/usr/bin:/bin")']), command
        assert result.results == {}  # nothing ran
