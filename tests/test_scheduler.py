"""The executor's scheduler: -j N, priorities, the jobserver, floors, selection, dry runs,
silence timeouts, hard stops and staged interrupts."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

import lfsplug
from lfsplug import Plan, Script, Session
from lfsplug.testing import Lfsplugger
from lfsplug_executor.jobserver import Jobserver
from lfsplug_executor.orphans import ProcessBook, end_orphans, start_time
from lfsplug_executor.scheduler import Throttled, bottom_levels

RUN = ("run", "--shellcheck", "off", "--host-check", "off")
GRAPH = (*RUN, "--order", "graph")


def rendezvous(me: str, other: str) -> str:
    """A script that passes only if ``other`` runs at the same time (each waits, up to 20 s,
    for the other's mark): concurrency proved without timing anything."""
    return (f"# lfsplug: name={me}\n"
            f"touch ../{me}.here\n"
            f"for i in $(seq 200); do [ -e ../{other}.here ] && exit 0; sleep 0.1; done\n"
            f"echo '{other} never ran beside {me}'; exit 1\n")


def test_two_independent_scripts_run_at_once_with_j2(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"s/1-a.sh": rendezvous("a", "b"), "s/2-b.sh": rendezvous("b", "a")})
    result = lfsplugger.run(*GRAPH, "-j", "2", "s")
    assert result.ret == 0, result.outlines
    result.assert_outcomes(passed=2)


def test_j1_keeps_plan_order_and_runs_one_at_a_time(lfsplugger: Lfsplugger) -> None:
    files = {f"s/{i}-{n}.sh": f"# lfsplug: name={n}\necho start {n} >> ../trace\nsleep 0.05\n"
             f"echo end {n} >> ../trace" for i, n in enumerate(("c", "a", "b"))}
    lfsplugger.make_tree(files)
    result = lfsplugger.run(*GRAPH, "s")
    assert result.ret == 0
    order = [c.kwargs["script"].name for c in result.getcalls("lfsplug_script_start")]
    assert order == [s.name for s in result.getcalls("lfsplug_run_plan")[0].kwargs["plan"].scripts]
    trace = (lfsplugger.path / "trace").read_text().split("\n")
    assert trace[:-1] == [f"{w} {n}" for n in order for w in ("start", "end")]


def test_the_longest_remaining_path_starts_first(lfsplugger: Lfsplugger) -> None:
    # plan order puts the short scripts first; the head of the long chain must still start
    # in the first pair
    lfsplugger.make_tree({
        "s/1-x.sh": "# lfsplug: name=short1 sbu=1\ntrue",
        "s/2-x.sh": "# lfsplug: name=short2 sbu=1\ntrue",
        "s/3-x.sh": "# lfsplug: name=head sbu=1\ntrue",
        "s/4-x.sh": "# lfsplug: name=tail depends=head sbu=20\ntrue",
    })
    result = lfsplugger.run(*GRAPH, "-j", "2", "s")
    assert result.ret == 0
    plan = result.getcalls("lfsplug_run_plan")[0].kwargs["plan"]
    assert [s.name for s in plan.scripts].index("head") >= 2  # not first by plan order
    first_two = {c.kwargs["script"].name for c in result.getcalls("lfsplug_script_start")[:2]}
    assert "head" in first_two


def test_j_on_a_single_chain_says_nothing_can_run_in_parallel(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": "true"})
    result = lfsplugger.run(*RUN, "-j", "4")
    assert result.ret == 0
    assert any(line.startswith("lfsplug: -j 4, but the plan is one chain") for line in
               result.errlines), result.errlines
    graph = lfsplugger.run(*GRAPH, "-j", "4")
    assert not any("one chain" in line for line in graph.errlines)


def test_bottom_levels_add_the_longest_chain_after_each_script() -> None:
    names = ["a", "b", "c", "d"]
    scripts = [Script(n, Path(f"/t/{n}"), Path("/t")) for n in names]
    plan = Plan(scripts, durations={"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0})
    succs = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}
    assert bottom_levels(plan, succs) == {"d": 1.0, "c": 3.0, "b": 6.0, "a": 7.0}


def test_keep_going_with_j2_skips_only_what_depends_on_the_failure(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({
        "s/1-a.sh": "# lfsplug: name=a\nexit 3",
        "s/2-b.sh": "# lfsplug: name=b depends=a\ntrue",
        "s/3-c.sh": "# lfsplug: name=c depends=b\ntrue",
        "s/4-d.sh": "# lfsplug: name=d\ntrue",
        "s/5-e.sh": "# lfsplug: name=e depends=d\ntrue",
    })
    result = lfsplugger.run(*GRAPH, "-j", "2", "--keep-going", "s")
    assert result.ret == 1
    assert result.statuses() == {"a": "failed", "b": "skipped", "c": "skipped", "d": "passed",
                                 "e": "passed"}
    assert result.results["c"].message == "dependency failed: a"


# -- the jobserver -----------------------------------------------------------------------------


def test_jobserver_tokens_are_taken_and_given_back() -> None:
    server = Jobserver(3)
    try:
        assert [server.take(), server.take(), server.take()] == [True, True, False]
        server.give()
        assert server.take()
        assert server.makeflags() == (f"-j3 --jobserver-auth={server.read_fd},"
                                      f"{server.write_fd}")
        # the scripts' end of the pipe stays blocking, as make expects
        assert os.get_blocking(server.read_fd)
    finally:
        server.close()


MAKEFILE = """\
JOBS := $(shell seq 8)
all: $(addprefix job,$(JOBS))
job%:
\t@flock ../count.lock sh -c 'n=$$(($$(cat ../now) + 1)); echo $$n > ../now; \\
\t  echo $$n >> ../peaks'
\t@sleep 0.3
\t@flock ../count.lock sh -c 'echo $$(($$(cat ../now) - 1)) > ../now'
"""


@pytest.mark.skipif(not (shutil.which("make") and shutil.which("flock")),
                    reason="needs GNU make and flock")
def test_parallel_scripts_share_one_jobserver(lfsplugger: Lfsplugger) -> None:
    script = "# lfsplug: name={n}\nmake -f ../Makefile all\n"
    lfsplugger.make_tree({"s/1-a.sh": script.format(n="a"), "s/2-b.sh": script.format(n="b")})
    (lfsplugger.path / "Makefile").write_text(MAKEFILE)
    (lfsplugger.path / "now").write_text("0\n")
    result = lfsplugger.run(*GRAPH, "-j", "2", "s")
    assert result.ret == 0, result.outlines
    peaks = [int(x) for x in (lfsplugger.path / "peaks").read_text().split()]
    slots = max(os.cpu_count() or 1, 2)
    # two makes of 8 jobs each: without the jobserver up to 2 x cpus at once
    assert len(peaks) == 16 and max(peaks) <= slots
    env = {c.kwargs["script"].name: c.kwargs["env"]
           for c in result.getcalls("lfsplug_script_command")}
    assert env["a"]["MAKEFLAGS"].startswith(f"-j{slots} --jobserver-auth=")


def test_the_slot_of_a_finished_first_script_passes_to_the_next(lfsplugger: Lfsplugger) -> None:
    # x starts first, on the jobserver's implicit slot; when it ends, a, b and c must be able to
    # run together (each waits for the other two): the slot x held is free again, no token lost
    wait = ("touch ../{me}.here\nfor i in $(seq 200); do [ -e ../a.here ] && [ -e ../b.here ] "
            "&& [ -e ../c.here ] && exit 0; sleep 0.1; done\nexit 1\n")
    lfsplugger.make_tree({
        "s/1-x.sh": "# lfsplug: name=x sbu=9\ntrue",
        **{f"s/{i}-{n}.sh": f"# lfsplug: name={n} sbu=1\n" + wait.format(me=n)
           for i, n in enumerate("abc", 2)},
    })
    result = lfsplugger.run(*GRAPH, "-j", "3", "s")
    assert result.ret == 0, result.outlines
    # x went first (the longest path); the third of a, b, c could only start on x's slot
    # (which worker thread reaches the start hook first is up to the threads: not asserted)
    times = result.results
    third = max("abc", key=lambda n: times[n].started or 0.0)
    assert (times[third].started or 0.0) >= (times["x"].finished or float("inf"))


def test_without_j_makeflags_is_the_books(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"1-a.sh": "echo $MAKEFLAGS"})
    result = lfsplugger.run(*RUN)
    assert result.results["a"].tail[0] == f"-j{os.cpu_count()}"


# -- floors ------------------------------------------------------------------------------------


def test_a_memory_floor_lets_one_script_run_at_a_time(lfsplugger: Lfsplugger) -> None:
    files = {f"s/{i}-{n}.sh": f"# lfsplug: name={n}\necho start >> ../trace\nsleep 0.1\n"
             f"echo end >> ../trace" for i, n in enumerate("abc")}
    lfsplugger.make_tree(files)
    result = lfsplugger.run(*GRAPH, "-j", "3", "--min-free-memory", "1000T", "s")
    assert result.ret == 0
    assert (lfsplugger.path / "trace").read_text().split() == ["start", "end"] * 3
    throttles = [e.record for c in result.getcalls("lfsplug_events") for e in c.events
                 if isinstance(e.record, Throttled) and e.record.reason]
    assert throttles and "available memory" in (throttles[0].reason or "")


def test_a_size_option_rejects_nonsense(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"1-a.sh": "true"})
    result = lfsplugger.run(*RUN, "--min-free-disk", "lots")
    assert result.ret == 4
    assert "--min-free-disk" in result.errlines[-1] and "'lots' is not a size" in \
        result.errlines[-1]


# -- selection ---------------------------------------------------------------------------------

FIVE = {f"0{i}-{n}.sh": f"echo {n}" for i, n in enumerate("abcde", 1)}


@pytest.mark.parametrize(("args", "ran", "why"), [
    (("--only", "b", "--only", "d"), "bd", "not named by --only"),
    (("--from", "c"), "cde", "before --from c"),
    (("--until", "b"), "ab", "after --until b"),
    (("--from", "b", "--until", "d"), "bcd", None),
])
def test_only_from_until(lfsplugger: Lfsplugger, args: tuple[str, ...], ran: str,
                         why: str | None) -> None:
    lfsplugger.make_tree(FIVE)
    result = lfsplugger.run(*RUN, *args)
    assert result.ret == 0
    assert {n for n, s in result.statuses().items() if s == "passed"} == set(ran)
    skipped = [r for r in result.results.values() if r.status == "skipped"]
    assert len(skipped) == 5 - len(ran)
    if why is not None:
        assert all(r.message == why for r in skipped)


@pytest.mark.parametrize("option", ["--only", "--from", "--until"])
def test_selection_must_name_a_script(lfsplugger: Lfsplugger, option: str) -> None:
    lfsplugger.make_tree(FIVE)
    result = lfsplugger.run(*RUN, option, "zz")
    assert result.ret == 4
    assert result.errlines[-1] == f"lfsplug: {option} zz: no script named 'zz'"


def test_from_after_until_is_refused(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(FIVE)
    result = lfsplugger.run(*RUN, "--from", "d", "--until", "b")
    assert result.ret == 4
    assert "--from d comes after --until b" in result.errlines[-1]


# -- dry run -----------------------------------------------------------------------------------


def test_dry_run_shows_order_commands_and_environment_and_runs_nothing(
    lfsplugger: Lfsplugger,
) -> None:
    tree = lfsplugger.make_tree({**FIVE, "lfsplug.toml": '[env]\nFOO = "bar"\n'})
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_script_env(script, env, config):\n"
        "    env['MAKEFLAGS'] = '-j1'\n"
        "    env.pop('CONFIG_SITE')\n")
    result = lfsplugger.run(*RUN, "--dry-run", "--until", "d")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "[[]1/5] run    a",
        f"         $ bash +h -e {tree / '01-a.sh'}",
        "         - CONFIG_SITE",
        "         + FOO=bar",
        f"         ~ MAKEFLAGS=-j1 (book: -j{os.cpu_count()})",
        "[[]2/5] run    b",
        "*",
        "[[]5/5] skip   e (after --until d)",
        "dry run: 4 would run, 0 would be reused, 1 left out; nothing was run",
    ])
    assert not (tree / ".lfsplug" / "logs").exists()
    assert set(result.statuses().values()) == {"not-run"}
    assert result.getcalls("lfsplug_run_script") == []


# -- timeouts and stops ------------------------------------------------------------------------


def test_silence_timeout_ends_a_quiet_script_and_everything_it_started(
    lfsplugger: Lfsplugger,
) -> None:
    marker = f"quiet-{os.getpid()}-{time.monotonic_ns()}"
    lfsplugger.make_tree({"1-a.sh": f"echo working\nbash -c 'sleep 120 # {marker}' &\n"
                                  f"for i in 1 2 3; do echo tick; sleep 0.2; done\n"
                                  f"sleep 120 # {marker}"})
    result = lfsplugger.run(*RUN, "--silence-timeout", "1")
    assert result.ret == 1
    failed = result.results["a"]
    assert failed.message == "no output for 1 s"
    assert failed.tail[:4] == ["working", "tick", "tick", "tick"]
    assert _left_running(marker) == []


class HardStopOnStart:
    """Stops the build hard as soon as ``b`` starts (what a disk HALT does)."""

    @lfsplug.hookimpl
    def lfsplug_events(self, session: Session, events: list[lfsplug.Event]) -> None:
        if any(e.script == "b" and isinstance(e.record, lfsplug.ScriptOutput)
               and "started" in e.record.lines for e in events):
            session.stop("disk at /mnt/lfs is full", hard=True)


def test_a_hard_stop_ends_the_running_script_and_starts_nothing(
    lfsplugger: Lfsplugger,
) -> None:
    marker = f"halt-{os.getpid()}-{time.monotonic_ns()}"
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": f"echo started\nsleep 120 # {marker}",
                          "03-c.sh": "true"})
    result = lfsplugger.run(*RUN, plugins=[HardStopOnStart()])
    assert result.ret == 2
    assert result.statuses() == {"a": "passed", "b": "failed", "c": "not-run"}
    assert result.results["b"].message == "ended: disk at /mnt/lfs is full"
    assert _left_running(marker) == []


def test_running_scripts_are_registered_with_their_process_group(
    lfsplugger: Lfsplugger,
) -> None:
    seen: list[tuple[str, int, int]] = []

    class Watch:
        @lfsplug.hookimpl
        def lfsplug_events(self, session: Session, events: list[lfsplug.Event]) -> None:
            for event in events:  # delivered while the script still sleeps
                if isinstance(event.record, lfsplug.ScriptOutput) and event.script:
                    running = session.running[event.script]
                    seen.append((running.name, os.getpgid(running.pid), running.pid))
                    assert running.last_line == event.record.lines[-1]

    lfsplugger.make_tree({"1-a.sh": "echo hi\nsleep 0.5"})
    result = lfsplugger.run(*RUN, plugins=[Watch()])
    assert result.ret == 0
    (name, pgid, pid), = seen
    assert name == "a" and pgid == pid
    resources = result.results["a"].resources
    assert {"utime", "stime", "inblock", "oublock"} <= resources.keys()


# -- interrupts (a real lfsplug process and real signals) --------------------------------------


def _left_running(marker: str, grace: float = 10.0) -> list[str]:
    deadline = time.monotonic() + grace
    while True:
        found = [p for p in psutil.process_iter(["cmdline", "status"])
                 if marker in " ".join(p.info["cmdline"] or [])
                 and p.info["status"] != psutil.STATUS_ZOMBIE]
        if not found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for proc in found:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    return [" ".join(p.info["cmdline"]) for p in found]


def _start(tree: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "lfsplug", *GRAPH, "-j", "2", *args],
                            cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            out, err = proc.communicate()
            pytest.fail(f"{path.name} never appeared: {out!r} {err!r}")
        time.sleep(0.05)


def _status(tree: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "lfsplug", "status", "--json", "--state-dir",
                          "s/.lfsplug"], cwd=tree,
                         capture_output=True, check=True).stdout
    return {s["name"]: s for s in json.loads(out)["scripts"]}


def _interrupt_tree(lfsplugger: Lfsplugger, marker: str) -> Path:
    hold = "for i in $(seq 600); do [ -e ../release ] && exit 0; sleep 0.1; done; exit 1"
    return lfsplugger.make_tree({
        "s/1-a.sh": f"# lfsplug: name=a\ntouch ../a.up\nbash -c 'sleep 120 # {marker}' &\n{hold}",
        "s/2-b.sh": f"# lfsplug: name=b\ntouch ../b.up\n{hold}",
        "s/3-c.sh": "# lfsplug: name=c depends=a,b\ntouch ../c.ran",
    })


@pytest.mark.e2e
def test_first_interrupt_lets_running_scripts_finish_and_starts_nothing(
    lfsplugger: Lfsplugger,
) -> None:
    marker = f"int1-{os.getpid()}-{time.monotonic_ns()}"
    tree = _interrupt_tree(lfsplugger, marker)
    proc = _start(tree, "s")
    try:
        _wait_for(tree / "a.up", proc)
        _wait_for(tree / "b.up", proc)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None  # still waiting for a and b
        (tree / "release").touch()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, err
    assert b"interrupted: no new script starts; waiting for 2 running scripts to finish" in err
    assert not (tree / "c.ran").exists()
    status = _status(tree)
    assert {n: s["status"] for n, s in status.items()} == {"a": "passed", "b": "passed",
                                                            "c": "not-run"}
    assert _left_running(marker) == []


@pytest.mark.e2e
@pytest.mark.parametrize("signals", [2, 3])
def test_second_and_third_interrupts_end_the_running_scripts(
    lfsplugger: Lfsplugger, signals: int,
) -> None:
    marker = f"int{signals}-{os.getpid()}-{time.monotonic_ns()}"
    tree = _interrupt_tree(lfsplugger, marker)
    proc = _start(tree, "s")
    try:
        _wait_for(tree / "a.up", proc)
        _wait_for(tree / "b.up", proc)
        for _ in range(signals):
            proc.send_signal(signal.SIGTERM if signals == 3 else signal.SIGINT)
            time.sleep(0.3)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, err
    assert _left_running(marker) == []
    assert not (tree / "c.ran").exists()
    status = _status(tree)
    assert status["c"]["status"] == "not-run"
    if signals == 2:
        assert b"interrupted again: ending the running scripts" in err
        assert {status[n]["status"] for n in "ab"} == {"failed"}
    # the next run builds what the interrupt stopped
    (tree / "release").touch()
    again = lfsplugger.run(*GRAPH, "s")
    assert again.ret == 0 and again.statuses() == dict.fromkeys("abc", "passed")


# -- scripts a dead lfsplug left running ----------------------------------------------------


def test_orphans_of_a_dead_lfsplug_are_ended_and_live_ones_kept(tmp_path: Path) -> None:
    marker = f"orphan-{os.getpid()}-{time.monotonic_ns()}"
    sleeper = subprocess.Popen(["bash", "-c", f"sleep 120 # {marker}"],
                               start_new_session=True)
    book = ProcessBook(tmp_path)
    keeper = 2 ** 22 + 9  # a keeper that is gone: the group alone is left to end
    book.add("gcc", keeper=keeper)
    path = tmp_path / "running" / f"k{keeper}"
    assert json.loads(path.read_text())["pgid"] is None  # noted before the script starts
    book.started(keeper, sleeper.pid)
    note = json.loads(path.read_text())
    assert note["start"] == start_time(sleeper.pid) and note["owner"] == os.getpid()
    # a note of another lfsplug that still runs (here: our parent): its groups are left alone
    path.write_text(json.dumps({**note, "owner": os.getppid(),
                                "owner_start": start_time(os.getppid())}))
    assert end_orphans(tmp_path) == []
    assert sleeper.poll() is None and path.exists()
    # the note of an lfsplug that died (a pid that is gone)
    note["owner"], note["owner_start"] = 2 ** 22 + 7, 1
    path.write_text(json.dumps(note))
    found = end_orphans(tmp_path, grace=2.0)
    assert [(o.pgid, o.script, o.ended) for o in found] == [(sleeper.pid, "gcc", True)]
    assert sleeper.wait(timeout=10) == -signal.SIGTERM
    assert not path.exists()


def test_what_is_left_of_a_group_whose_leader_exited_is_ended(tmp_path: Path) -> None:
    marker = f"leftover-{os.getpid()}-{time.monotonic_ns()}"
    leader = subprocess.Popen(["bash", "-c", f"bash -c 'sleep 120; : {marker}' & exit 0"],
                              start_new_session=True)
    note = {"pgid": leader.pid, "start": start_time(leader.pid), "script": "check",
            "owner": 2 ** 22 + 7, "owner_start": 1}
    assert leader.wait(timeout=10) == 0  # reaped: no process has the group's number as pid
    assert start_time(leader.pid) is None
    folder = tmp_path / "running"
    folder.mkdir()
    (folder / str(leader.pid)).write_text(json.dumps(note))
    assert [(o.script, o.ended) for o in end_orphans(tmp_path, grace=2.0)] == [("check", True)]
    assert _left_running(marker, grace=5.0) == []


def test_a_recycled_pid_is_never_killed(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        folder = tmp_path / "running"
        folder.mkdir()
        (folder / str(sleeper.pid)).write_text(json.dumps({
            "pgid": sleeper.pid, "start": (start_time(sleeper.pid) or 0) - 1, "script": "x",
            "owner": 2 ** 22 + 7, "owner_start": 1}))
        assert [o.ended for o in end_orphans(tmp_path)] == [False]
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
