"""Containment (issue 12): no process of a script survives it, whatever its session or group.

Each test runs real bash scripts that start every kind of escapee (``setsid``, ``setsid -f``,
``env -i setsid``, jobs of ``set -m``, a double fork, ``nohup``) and then looks in ``/proc``
for any survivor.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import alive
from lfsplug.testing import Lfsplugger, RunResult

RUN = ("run", "--shellcheck", "off", "--host-check", "off")

#: The escapees, one per kind: sleep MARK.N, N their number.
ESCAPEES = {
    1: "setsid sleep {m}.1 &",
    2: "setsid -f sleep {m}.2",
    3: "env -i setsid sleep {m}.3 &",
    4: "set -m; sleep {m}.4 & set +m",
    5: "( ( sleep {m}.5 & ) & )",
    6: "nohup sleep {m}.6 >/dev/null 2>&1 &",
}


def marker() -> str:
    return str(random.randint(20000, 99999))


def escapees(m: str) -> str:
    """The script lines that start them, then wait until each runs its ``sleep`` (so that
    the log names each by it, not by the shell it forked from)."""
    return "\n".join([*(line.format(m=m) for line in ESCAPEES.values()),
                      f"until [ $(pgrep -fc 'sleep {m}[.]') -ge {len(ESCAPEES)} ]; do "
                      "sleep 0.01; done"])


def survivors(m: str) -> list[tuple[int, str]]:
    """The escapees of MARK alive now (none may be); any found are killed."""
    found = alive(f"sleep {m}.")
    for pid, _ in found:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return found


def wait_for(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail("timed out waiting")


def assert_log_names_them(log: str, m: str, kinds: object = ESCAPEES) -> None:
    lines = [ln for ln in log.splitlines() if ln.startswith("# lfsplug: ended pid ")]
    for n in kinds:  # type: ignore[attr-defined]
        assert any(f"sleep {m}.{n}" in ln for ln in lines), (n, log)


@pytest.mark.parametrize("how", ["exit", "timeout", "silence"])
def test_no_escapee_survives(lfsplugger: Lfsplugger, how: str) -> None:
    m = marker()
    tail = {"exit": "echo done", "timeout": f"sleep {m}.9", "silence": f"sleep {m}.9"}[how]
    lfsplugger.make_tree({"01-a.sh": f"{escapees(m)}\necho ready\n{tail}"})
    options = {"exit": (), "timeout": ("--timeout", "3"),
               "silence": ("--silence-timeout", "1")}[how]
    try:
        result = lfsplugger.run(*RUN, *options)
    finally:
        left = survivors(m)
    assert left == []
    log = (lfsplugger.path / ".lfsplug" / "logs" / "a.log").read_text()
    assert_log_names_them(log, m)
    if how == "exit":
        assert result.ret == 0, result.outlines
        assert "left running by the script" in log
        assert "ended the processes it left running" in log
        message = result.results["a"].message or ""
        assert re.search(r"ended \d+ process\(es\) it left running", message), message
    else:
        assert result.ret == 1
        assert "still running" in log


def test_an_escapee_that_ignores_term_is_killed(lfsplugger: Lfsplugger) -> None:
    m = marker()
    lfsplugger.make_tree({"01-a.sh": f"setsid -f bash -c 'trap \"\" TERM; sleep {m}.7'"})
    try:
        result = lfsplugger.run(*RUN)
    finally:
        left = survivors(m)
    assert left == [] and result.ret == 0
    assert_log_names_them((lfsplugger.path / ".lfsplug" / "logs" / "a.log").read_text(), m, [7])


def test_interrupts_end_every_escapee(lfsplugger: Lfsplugger) -> None:
    m = marker()
    tree = lfsplugger.make_tree({"01-a.sh": f"{escapees(m)}\necho ready\nsleep {m}.9"})
    log = tree / ".lfsplug" / "logs" / "a.log"
    proc = subprocess.Popen([sys.executable, "-m", "lfsplug", *RUN], cwd=tree,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(alive(f"sleep {m}.")) == len(ESCAPEES) + 1)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        left = survivors(m)
    assert proc.returncode == 2, err
    assert left == []
    assert_log_names_them(log.read_text(), m)


def test_the_note_is_written_before_the_script_runs(lfsplugger: Lfsplugger,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The script's first command already sees its ``running/`` note, however slow lfsplug is
    to write it (lfsplug dying in between would otherwise leave an orphan nobody knows)."""
    from lfsplug_executor.orphans import ProcessBook

    add = ProcessBook.add

    def slow_add(self: ProcessBook, *args: object, **kwargs: object) -> None:
        time.sleep(0.5)
        add(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ProcessBook, "add", slow_add)
    running = lfsplugger.path / ".lfsplug" / "running"
    seen = lfsplugger.path / "seen"
    lfsplugger.make_tree({"01-a.sh": f"ls {running} > {seen}"})
    result = lfsplugger.run(*RUN)
    assert result.ret == 0, result.outlines
    assert len(seen.read_text().split()) == 1


FIND_LFSPLUG = (
    "p=$PPID\n"
    "until tr '\\0' ' ' < /proc/$p/cmdline | grep -q 'lfsplug run'; do\n"
    "  [ \"$p\" -gt 1 ] || exit 9\n"
    "  p=$(cut -d' ' -f4 /proc/$p/stat)\n"
    "done\n")


def killed_then_again(lfsplugger: Lfsplugger, tree: Path, hold: Path, m: str,
                      settled: Callable[[], bool]) -> tuple[RunResult, list[tuple[int, str]]]:
    """Run lfsplug in ``tree`` until its script kills it (-9) while ``hold`` exists; wait until
    ``settled()``; then run again without ``hold``: that run, and the escapees of MARK alive
    just after it (all are killed before returning)."""
    hold.touch()
    proc = subprocess.Popen([sys.executable, "-m", "lfsplug", *RUN], cwd=tree,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    try:
        assert proc.wait(timeout=60) == -signal.SIGKILL
        wait_for(settled)
        hold.unlink()
        again = lfsplugger.run(*RUN)
        time.sleep(0.2)
        left = alive(f"sleep {m}.")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        survivors(m)
    return again, left


def test_a_killed_lfsplug_takes_its_scripts_with_it(lfsplugger: Lfsplugger) -> None:
    """lfsplug is killed (-9) by its own script: the keeper, its parent gone, ends the script
    and every escapee (TERM, then KILL after the grace), as ``--die-with-parent`` would; the next
    run builds the script again."""
    m = marker()
    hold = lfsplugger.path / "hold"
    tree = lfsplugger.make_tree({"01-a.sh": (
        f"if [ -e {hold} ]; then\n{escapees(m)}\n{FIND_LFSPLUG}"
        f"  kill -9 $p\n  sleep {m}.9\nfi\necho second")})
    # the keeper ends them within its grace (TERM: at once), before the next run starts
    again, left = killed_then_again(lfsplugger, tree, hold, m,
                                    lambda: not alive(f"sleep {m}."))
    assert left == []
    assert again.ret == 0 and again.statuses() == {"a": "passed"}


def test_a_killed_lfsplug_and_keeper_leave_nothing_the_next_run_misses(
        lfsplugger: Lfsplugger) -> None:
    """lfsplug and the script's keeper both killed (-9), with an escapee that left the script's
    session: the next run ends the script's group from its ``running/`` note before it starts
    anything, and the escapee through the keeper's cgroup where there is one (without a cgroup
    nothing can find a process that left both the group and a dead keeper's tree)."""
    from lfsplug_executor.process import make_cgroup

    probe = make_cgroup()
    if probe is not None:
        os.rmdir(probe)
    m = marker()
    hold = lfsplugger.path / "hold"
    tree = lfsplugger.make_tree({"01-a.sh": (
        f"if [ -e {hold} ]; then\n  setsid -f sleep {m}.1\n{FIND_LFSPLUG}"
        f"  kill -STOP $PPID\n  kill -9 $p\n  kill -9 $PPID\n  sleep {m}.2\nfi\necho second")})
    # nobody is left to end them: both run on until the next run
    again, left = killed_then_again(lfsplugger, tree, hold, m,
                                    lambda: len(alive(f"sleep {m}.")) == 2)
    assert [cmd for _, cmd in left] == ([] if probe is not None else [f"sleep {m}.1"])
    # named by its cgroup's keeper where there is a cgroup, else by its process group
    which = "its keeper, pid " if probe is not None else "process group "
    assert any(line.startswith(f"lfsplug: ended the processes of a ({which}")
               for line in again.errlines), again.errlines
    assert again.ret == 0 and again.statuses() == {"a": "passed"}


def _pid_namespaces() -> str | None:
    """Why lfsplug cannot be run as PID 1 here, or None."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True, check=False)
    return None if probe.returncode == 0 else "unshare --pid is not permitted here"


@pytest.mark.e2e
def test_as_pid_1_a_background_child_costs_no_grace_period(lfsplugger: Lfsplugger) -> None:
    why = _pid_namespaces()
    if why:
        pytest.skip(why)
    m = marker()
    tree = lfsplugger.make_tree({
        "01-a.sh": f"sleep {m}.1 &\nsetsid -f sleep {m}.2\nsleep 0.5\necho done",
        "02-b.sh": "echo b"})
    started = time.monotonic()
    try:
        proc = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable,
                               "-m", "lfsplug", *RUN], cwd=tree, capture_output=True,
                              timeout=120, check=False, stdin=subprocess.DEVNULL)
    finally:
        left = survivors(m)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr.decode()
    assert left == []
    assert took < 5.0, took  # no zombie holds the script's group through the 2 x 5 s grace
    assert_log_names_them((tree / ".lfsplug" / "logs" / "a.log").read_text(), m, [1, 2])


def test_a_cgroup_gives_exact_resources(lfsplugger: Lfsplugger) -> None:
    from lfsplug_executor.process import make_cgroup

    probe = make_cgroup()
    if probe is None:
        pytest.skip("no writable cgroup v2 here: the keeper contains scripts alone")
    os.rmdir(probe)
    lfsplugger.make_tree({"01-a.sh": "for i in $(seq 20000); do :; done"})
    result = lfsplugger.run(*RUN)
    assert result.ret == 0
    figures = result.results["a"].resources
    assert figures["cgroup_usage_usec"] > 0
    assert figures["utime"] + figures["stime"] > 0


def test_each_scripts_resources_are_its_own(lfsplugger: Lfsplugger) -> None:
    """One keeper runs a slot's scripts one after another: the figures of each are that
    script's alone, not the keeper's running totals."""
    lfsplugger.make_tree({"01-busy.sh": "for i in $(seq 300000); do :; done",
                          "02-idle.sh": "true", "03-rest.sh": "true"})
    result = lfsplugger.run(*RUN, "-j", "1")
    assert result.ret == 0
    cpu = {name: r.resources["utime"] + r.resources["stime"]
           for name, r in result.results.items()}
    assert cpu["busy"] > 0.1, cpu
    assert cpu["idle"] < cpu["busy"] / 5 and cpu["rest"] < cpu["busy"] / 5, cpu
    for name in ("idle", "rest"):
        usec = result.results[name].resources.get("cgroup_usage_usec")
        assert usec is None or usec < cpu["busy"] * 1e6 / 5, (name, usec, cpu)


def test_a_missing_command_fails_the_script_with_a_line_in_its_log(
        lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a",
                          "lfsconf.py": (
                              "from lfsplug import hookimpl\n"
                              "@hookimpl(tryfirst=True)\n"
                              "def lfsplug_script_command(script, env, config):\n"
                              "    return ['/nonexistent/lfsplug-shell', str(script.path)]\n")})
    result = lfsplugger.run(*RUN)
    assert result.ret == 1
    log = (lfsplugger.path / ".lfsplug" / "logs" / "a.log").read_text()
    assert "lfsplug: cannot run /nonexistent/lfsplug-shell: No such file or directory" in log
    assert "exit status 127" in log


def test_a_killed_keeper_leaves_the_script_to_its_group_and_cgroup(
        lfsplugger: Lfsplugger) -> None:
    """The documented fallback: the keeper itself killed, lfsplug ends the leader's group and,
    where there is one, the cgroup (which holds the ``setsid`` escapee too)."""
    from lfsplug_executor.process import make_cgroup

    probe = make_cgroup()
    if probe is not None:
        os.rmdir(probe)
    m = marker()
    lfsplugger.make_tree({"01-a.sh": f"setsid -f sleep {m}.1\nkill -9 $PPID\nsleep {m}.2"})
    try:
        result = lfsplugger.run(*RUN)
        time.sleep(0.2)
        left = alive(f"sleep {m}.")
    finally:
        survivors(m)
    assert result.ret == 1
    assert result.results["a"].signal == signal.SIGKILL
    expected = [] if probe is not None else [f"sleep {m}.1"]
    assert [cmd for _, cmd in left] == expected


@pytest.mark.parametrize("cgroup", [True, False])
def test_the_note_gets_the_group_only_without_a_cgroup(lfsplugger: Lfsplugger,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       cgroup: bool) -> None:
    """A cgroup holds every process of the script, so its note names the keeper and the cgroup;
    without one, the script's process group is added as soon as it has started."""
    from lfsplug_executor import process
    from lfsplug_executor.orphans import ProcessBook

    if cgroup:
        probe = process.make_cgroup()
        if probe is None:
            pytest.skip("no writable cgroup v2 here")
        os.rmdir(probe)
    else:
        monkeypatch.setattr(process, "make_cgroup", lambda: None)
    added: list[int] = []
    started = ProcessBook.started

    def spy(self: ProcessBook, keeper: int, pgid: int) -> None:
        added.append(pgid)
        started(self, keeper, pgid)

    monkeypatch.setattr(ProcessBook, "started", spy)
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": "true"})
    assert lfsplugger.run(*RUN).ret == 0
    assert (added == []) if cgroup else (len(added) == 2 and all(pid > 0 for pid in added))
