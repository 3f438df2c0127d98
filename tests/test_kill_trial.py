"""The kill trial (issue 12): ``kill -9`` of ``lfsplug run`` at random moments, then resume.

A tree of scripts, each of which starts escapees (``setsid``, ``setsid -f``, ``env -i setsid``,
a job of ``set -m``, a double fork, ``nohup``: every kind in every three scripts; in the first
round's last script also one that ignores SIGTERM), is built by the real command in a child
process, killed with SIGKILL after a random delay drawn over lfsplug's start-up and what is left
of the build, and run again until the build completes; a completed build starts a new round (a
fresh tree and state directory) until :data:`KILLS` kills have landed, with ``-j 1`` (``--order
sequence``) and with ``-j 4`` (``--order graph``): 20 in all. Each script appends ``start`` and
``done`` to a ledger with the pid of the lfsplug that started it, and notes which processes of
the trial are alive as it starts. At the end of each round:

- no process of the trial is alive (every command line carries the marker), after a short
  bounded wait;
- ``status --json``: the last run finished with exit code 0, every script ``passed``;
- the state database holds what docs/state.md and docs/executor.md promise: no run or result
  left ``running``; every run but the last ``crashed`` (finished and exit code NULL) or, when the
  kill came after its end was recorded, ``finished`` with exit code 0; a crashed run has at most
  ``-j`` scripts ``interrupted``, and a later run said so, naming them; each script passed (ran,
  not reused) in exactly one run and is reused by every later run that got to it; no
  ``running/`` note is left;
- the ledger agrees with the database: a script that passed in a run started and finished
  exactly once in it; a reused or not-run script did not run; nothing ran after it passed;
- no script ever started beside an earlier copy of itself, or beside what a copy left running
  (with ``-j 1``: beside any process of the trial at all).

The seed is printed and named in every assertion; ``LFSPLUG_TRIAL_SEED=N`` replays its choices
(the timing of a machine is not replayed). ``pytest -s`` shows where each kill landed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import alive

pytestmark = pytest.mark.e2e

#: Kills per parametrisation: 20 in all, half with ``-j 1``, half with ``-j 4``; at most
#: :data:`PER_ROUND` in one round (then it is built to the end), so that later kills come
#: while a fresh build runs, not only while lfsplug starts; fewer in the first round, where
#: the escapee that ignores SIGTERM makes each kill cost up to two grace periods (5 s each).
KILLS, PER_ROUND, FIRST_ROUND = 10, 5, 2
#: Scripts per round, and what each sleeps (seconds, drawn per script).
SCRIPTS = 8
DURATION = (0.05, 0.3)
#: What lfsplug takes before its first script starts, about (seconds; measured as the trial
#: goes), and what a script costs beyond its sleep (its escapees, the keeper's end of it).
STARTUP, OVERHEAD = 0.6, 0.1
#: The short bounded wait for survivors after a round's last run (which ends what killed
#: runs left before it starts anything, and what each of its scripts left when it ends).
SETTLE = 2.0
RUN = ("run", "--shellcheck", "off", "--host-check", "off", "--plain")

#: The escapees, one per kind: each command line carries ``ARG``, ``MARK.RRSSK`` (round, script,
#: kind), so that every survivor is found in /proc; kind 7 ignores SIGTERM (only in the first
#: round's last script: it costs the keeper's whole grace each time it is ended).
ESCAPEES = {
    1: "setsid sleep {arg} &",
    2: "setsid -f sleep {arg}",
    3: "env -i setsid sleep {arg} &",
    4: "set -m; sleep {arg} & set +m",
    5: "( ( sleep {arg} & ) & )",
    6: "nohup sleep {arg} >/dev/null 2>&1 &",
    7: "setsid -f bash -c \"trap '' TERM; sleep {arg}\"",
}

#: The script: note the marked processes alive, write ``start`` (with the pid of the lfsplug
#: that started it, from ``lfsconf.py``), start its escapees, work, write ``done``.
TEMPLATE = """\
#!/bin/bash
# lfsplug: name={name}{depends}
pgrep -af -- '{mark}[.]' > {seen}/{name}.$$ || true
echo "start {name} $TRIAL_LFSPLUG $$ $EPOCHREALTIME" >> {ledger}
{escapees}
sleep {duration}
echo "done {name} $TRIAL_LFSPLUG $$ $EPOCHREALTIME" >> {ledger}
"""

#: Each script learns which lfsplug started it (a script may start just after it was killed),
#: a variable that does not change the resume key.
LFSCONF = """\
import os

from lfsplug import hookimpl


@hookimpl
def lfsplug_script_env(script, env, config):
    env["TRIAL_LFSPLUG"] = str(os.getpid())
"""
CONFIG = """\
[state]
env_ignore = ["TERM", "MAKEFLAGS", "TRIAL_LFSPLUG"]
"""


def settle(pattern: str, timeout: float = SETTLE) -> list[tuple[int, str]]:
    """What carries ``pattern`` after up to ``timeout`` s of waiting for it to end; any such
    process is then killed, so that a failure leaves nothing behind."""
    deadline = time.monotonic() + timeout
    while (found := alive(pattern)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, _ in found:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return found


@dataclass
class Launch:
    """One ``lfsplug run`` of the trial."""

    pid: int
    started: float
    delay: float | None
    killed: bool
    returncode: int
    err: str
    took: float


@dataclass
class Round:
    """A fresh tree built to the end, with the kills that landed in it."""

    number: int
    path: Path
    names: list[str]
    durations: dict[str, float]
    depends: dict[str, list[str]]
    stubborn: bool
    launches: list[Launch] = field(default_factory=list)

    @property
    def ledger(self) -> Path:
        return self.path.parent / f"ledger-{self.number}"

    @property
    def seen(self) -> Path:
        return self.path.parent / f"seen-{self.number}"


def make_round(base: Path, number: int, mark: str, jobs: int, rng: random.Random, *,
               stubborn: bool) -> Round:
    """A fresh tree; with ``stubborn``, its last script starts the escapee that ignores
    SIGTERM too."""
    tree = base / f"round{number}-{mark}.d"  # the scripts' command lines carry the marker
    tree.mkdir()
    names = [f"s{i:02d}" for i in range(1, SCRIPTS + 1)]
    durations = {name: round(rng.uniform(*DURATION), 3) for name in names}
    depends: dict[str, list[str]] = {name: [] for name in names}
    if jobs > 1:  # three chains that meet in the last script
        for i, name in enumerate(names[3:-1], start=3):
            depends[name] = [names[i - 3]]
        depends[names[-1]] = names[-4:-1]
    else:  # the whole tree is one sequence; the last script still waits for all
        depends[names[-1]] = names[:-1]
    result = Round(number, tree, names, durations, depends, stubborn)
    result.seen.mkdir()
    (tree / "lfsconf.py").write_text(LFSCONF)
    (tree / "lfsplug.toml").write_text(CONFIG)
    kinds = [k for k in ESCAPEES if k != 7]
    for i, name in enumerate(names, start=1):
        chosen = [kinds[(2 * i) % len(kinds)], kinds[(2 * i + 1) % len(kinds)]]
        if name == names[-1] and stubborn:
            chosen.append(7)
        lines = [ESCAPEES[k].format(arg=f"{mark}.{number:02d}{i:02d}{k}") for k in chosen]
        script = tree / f"{i:02d}-{name}.sh"
        script.write_text(TEMPLATE.format(
            name=name, depends=f" depends={','.join(depends[name])}" if depends[name] else "",
            mark=mark, seen=result.seen, ledger=result.ledger, escapees="\n".join(lines),
            duration=durations[name]))
        script.chmod(0o755)
    return result


def ledger_lines(trial: Round) -> list[tuple[str, str, int, int]]:
    """``(what, name, lfsplug pid, script pid)`` of every ledger line."""
    return [(what, name, owner, pid) for what, name, owner, pid, _ in timed_lines(trial)]


def timed_lines(trial: Round) -> list[tuple[str, str, int, int, float]]:
    """The ledger's lines with their times (``$EPOCHREALTIME``)."""
    if not trial.ledger.exists():
        return []
    lines = []
    for line in trial.ledger.read_text().splitlines():
        what, name, owner, pid, when = line.split()
        lines.append((what, name, int(owner), int(pid), float(when)))
    return lines


def window(trial: Round, jobs: int, startup: float) -> float:
    """The span the kill's delay is drawn from: lfsplug's start-up, then what is left of the
    build's work, but no less than half of all of it (so that a kill may come after what is
    left is done: then the build completes, and a new round starts). In the round with the
    escapee that ignores SIGTERM, the work of its script is left out: a kill in the grace
    period of its end (a kill then costs up to two) stays possible, not likely."""
    done = {line[1] for line in timed_lines(trial) if line[0] == "done"}
    counted = trial.names[:-1] if trial.stubborn else trial.names
    work = [trial.durations[n] + OVERHEAD for n in counted]
    left = sum(trial.durations[n] + OVERHEAD for n in counted if n not in done)
    return startup + max(left, sum(work) / 2) / min(jobs, 3)


def startup_of(trials: list[Round]) -> float:
    """How long lfsplug took from launch to its first script, by the median of the runs that
    got so far (:data:`STARTUP` before any did)."""
    seen = []
    for trial in trials:
        for launch_ in trial.launches:
            first = [when for what, _, owner, _, when in timed_lines(trial)
                     if what == "start" and owner == launch_.pid]
            if first:
                seen.append(min(first) - launch_.started)
    return statistics.median(seen) if seen else STARTUP


def launch(trial: Round, jobs: int, delay: float | None, out: Path) -> Launch:
    """Run lfsplug on the round's tree; SIGKILL it after ``delay`` s unless it ended first."""
    order = ("--order", "graph") if jobs > 1 else ("--order", "sequence")
    n = len(trial.launches) + 1
    err_path = out / f"round{trial.number}-run{n}.err"
    with open(out / f"round{trial.number}-run{n}.out", "wb") as stdout, \
            open(err_path, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "lfsplug", *RUN, "-j", str(jobs),
                                 *order], cwd=trial.path, stdin=subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr)
        killed, started = False, time.time()
        try:
            proc.wait(timeout=120 if delay is None else delay)
        except subprocess.TimeoutExpired:
            if delay is None:
                proc.kill()
                proc.wait()
                raise
            proc.send_signal(signal.SIGKILL)
            killed = proc.wait(timeout=30) == -signal.SIGKILL
    done = Launch(proc.pid, started, delay, killed, proc.returncode,
                  err_path.read_text(errors="replace"), time.time() - started)
    trial.launches.append(done)
    return done


def status_json(trial: Round) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-m", "lfsplug", "status", "--json"],
                          cwd=trial.path, capture_output=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def check_round(trial: Round, jobs: int, mark: str, why: str) -> None:
    """Everything the round must end with (the module's docstring)."""
    tag = f"{why}, round {trial.number}"
    left = settle(f"{mark}.")
    assert left == [], f"{tag}: processes of the trial survived: {left}"
    check_status(trial, tag)
    runs, rows = check_database(trial, jobs, tag)
    check_ledger(trial, runs, rows, tag)
    check_beside(trial, jobs, mark, tag)


def check_status(trial: Round, tag: str) -> None:
    """``status --json``: the last run finished with 0, every script passed, once each."""
    status = status_json(trial)
    run = status["run"]
    assert isinstance(run, dict) and run["state"] == "finished" and run["exit_code"] == 0, \
        f"{tag}: {run}"
    scripts = status["scripts"]
    assert isinstance(scripts, list)
    assert sorted(s["name"] for s in scripts) == sorted(trial.names), f"{tag}: {scripts}"
    assert {s["name"]: s["status"] for s in scripts} == dict.fromkeys(trial.names, "passed"), \
        f"{tag}: {scripts}"


Runs = list[tuple[int, int, str, float | None, int | None]]
Rows = list[tuple[int, int, str, str, int, int | None]]


def check_database(trial: Round, jobs: int, tag: str) -> tuple[Runs, Rows]:
    """The runs and results of ``state.db`` as docs/state.md and docs/executor.md describe
    them after kills; no ``running/`` note left. Returns the runs and results rows."""
    state = trial.path / ".lfsplug"
    with contextlib.closing(sqlite3.connect(f"file:{state / 'state.db'}?mode=ro",
                                            uri=True)) as db:
        runs: Runs = db.execute("SELECT id, pid, state, finished, exit_code FROM runs "
                                "ORDER BY id").fetchall()
        rows: Rows = db.execute("SELECT id, run_id, name, status, cached, reused_from "
                                "FROM results ORDER BY run_id, position").fetchall()
    pids = {launch.pid: launch for launch in trial.launches}
    owner = {run_id: pid for run_id, pid, *_ in runs}
    assert len(set(owner.values())) == len(runs), f"{tag}: a pid began two runs: {runs}"
    assert set(owner.values()) <= set(pids), f"{tag}: a run of no launch: {runs}"
    last = trial.launches[-1]
    assert runs[-1][1] == last.pid and not last.killed and last.returncode == 0, \
        f"{tag}: {runs[-1]} {last}"
    assert runs[-1][2] == "finished" and runs[-1][3] is not None and runs[-1][4] == 0, \
        f"{tag}: {runs[-1]}"
    crashed = set()
    for run_id, pid, run_state, finished, exit_code in runs[:-1]:
        assert pids[pid].killed, f"{tag}: run {run_id} was not killed: {pids[pid]}"
        if run_state == "crashed":
            assert finished is None and exit_code is None, f"{tag}: {run_id} {runs}"
            crashed.add(run_id)
        else:  # killed after its end was recorded
            assert run_state == "finished" and exit_code == 0, f"{tag}: {run_id} {runs}"
    assert not [row for row in rows if row[3] == "running"], f"{tag}: {rows}"
    assert not [row for row in rows if row[3] in ("failed", "skipped")], f"{tag}: {rows}"
    order = [launch.pid for launch in trial.launches]
    for run_id, *_ in runs:
        cut = [row[2] for row in rows if row[1] == run_id and row[3] == "interrupted"]
        assert len(cut) <= (jobs if run_id in crashed else 0), f"{tag}: run {run_id}: {cut}"
        if run_id not in crashed:
            continue
        # a later run said so, naming the scripts it was running
        said = f"lfsplug: run {run_id} did not finish (killed or crashed)"
        if cut:
            said += f" while running {', '.join(cut)}, which run{'s' * (len(cut) == 1)} again"
        later = trial.launches[order.index(owner[run_id]) + 1:]
        assert any(f"{said}\n" in launch.err for launch in later), \
            f"{tag}: nobody said {said!r}: {[launch.err for launch in later]}"
    # the notes of running scripts (a dot file is one being written: not a note yet)
    notes = [p.name for p in (state / "running").glob("[!.]*")]
    assert notes == [], f"{tag}: notes left in running/: {notes}"
    return runs, rows


def check_ledger(trial: Round, runs: Runs, rows: Rows, tag: str) -> None:
    """Each script passed (really ran) in one run, which started and finished it once; every
    later run reused that pass or did not get to it, and none ran it again; a run ran only
    the scripts it recorded as passed or interrupted."""
    owner = {run_id: pid for run_id, pid, *_ in runs}
    lines = ledger_lines(trial)
    for name in trial.names:
        mine = [row for row in rows if row[2] == name]
        passes = [row for row in mine if row[3] == "passed" and not row[4]]
        assert len(passes) == 1, f"{tag}: {name} passed (ran) {len(passes)} times: {mine}"
        pass_id, pass_run = passes[0][0], passes[0][1]
        for row_id, run_id, _, row_status, cached, reused in mine:
            if run_id > pass_run:
                assert row_status == "not-run" or (
                    row_status == "passed" and cached and reused == pass_id), \
                    f"{tag}: {name} after it passed in run {pass_run}: {mine}"
            ran = [ln for ln in lines if ln[1] == name and ln[2] == owner[run_id]]
            starts = {ln[3] for ln in ran if ln[0] == "start"}
            dones = {ln[3] for ln in ran if ln[0] == "done"}
            assert len(ran) == len(starts) + len(dones) and len(starts) <= 1, \
                f"{tag}: {name} in run {run_id}: {ran}"
            assert dones <= starts, f"{tag}: {name} in run {run_id}: {ran}"
            if row_id == pass_id:
                assert len(starts) == len(dones) == 1, \
                    f"{tag}: {name} passed in run {run_id}, its ledger says {ran}"
            elif row_status != "interrupted":
                assert ran == [], f"{tag}: {name} is {row_status} in run {run_id}: {ran}"
        later = {owner[r] for r in owner if r > pass_run}
        again = [ln for ln in lines if ln[1] == name and ln[2] in later]
        assert again == [], f"{tag}: {name} ran again after it passed in run {pass_run}"
    ran_by = {ln[2] for ln in lines}
    assert ran_by <= set(owner.values()), \
        f"{tag}: a script ran under an lfsplug that recorded no run: {ran_by} {runs}"


def check_beside(trial: Round, jobs: int, mark: str, tag: str) -> None:
    """No script started beside an earlier copy of itself or what one left running; with
    ``-j 1``, beside no process of the trial at all (what ran before it was ended)."""
    for what, name, _, pid in ledger_lines(trial):
        if what != "start":
            continue
        i = trial.names.index(name) + 1
        others = []
        for line in (trial.seen / f"{name}.{pid}").read_text().splitlines():
            other, _, cmd = line.partition(" ")
            if int(other) != pid and (jobs == 1 or cmd.endswith(f"/{i:02d}-{name}.sh")
                                      or f"{mark}.{trial.number:02d}{i:02d}" in cmd):
                others.append(line)
        assert others == [], f"{tag}: {name} (pid {pid}) started beside {others}"


def moments(trial: Round) -> list[str]:
    """Where each kill of the round landed: before any script, or with which scripts
    started (``s03+``) or done (``s03.``) by then."""
    lines = timed_lines(trial)
    found = []
    for launch_ in trial.launches:
        if not launch_.killed:
            continue
        mine = [f"{name}{'+' if what == 'start' else '.'}"
                for what, name, owner, _, _ in lines if owner == launch_.pid]
        found.append(" ".join(mine) or "start-up")
    return found


@pytest.mark.parametrize("jobs", [1, 4])
def test_kill_9_at_random_moments_then_resume(tmp_path: Path, jobs: int) -> None:
    seed = int(os.environ.get("LFSPLUG_TRIAL_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    mark = str(random.SystemRandom().randrange(10**6, 10**7))  # not the seed's: never reused
    why = f"seed {seed} (LFSPLUG_TRIAL_SEED={seed}), -j {jobs}, marker {mark}"
    print(why)
    out = tmp_path / "out"
    out.mkdir()
    kills, trials = 0, []
    try:
        while kills < KILLS:
            # the escapee that ignores SIGTERM costs the keeper's grace each time it is
            # ended: in the first round only
            trial = make_round(tmp_path, len(trials) + 1, mark, jobs, rng, stubborn=not trials)
            trials.append(trial)
            here = min(PER_ROUND if len(trials) > 1 else FIRST_ROUND, KILLS - kills)
            while True:
                delay = None
                if sum(launch_.killed for launch_ in trial.launches) < here:
                    delay = rng.uniform(0.0, window(trial, jobs, startup_of(trials)))
                done = launch(trial, jobs, delay, out)
                kills += done.killed
                if not done.killed:
                    assert done.returncode == 0, \
                        f"{why}, round {trial.number}: exit {done.returncode}: {done.err}"
                    break
            took = [round(launch_.took, 1) for launch_ in trial.launches]
            print(f"round {trial.number}: kills at {moments(trial)}; runs took {took} s")
            check_round(trial, jobs, mark, why)
    finally:
        left = settle(f"{mark}.", timeout=0)
    assert left == [], f"{why}: {left}"
    assert kills == KILLS


def test_the_next_run_names_every_script_a_killed_run_was_running(tmp_path: Path) -> None:
    """Two scripts running at once when lfsplug is killed: the next run names both, in plan
    order, and says that they run again (plural)."""
    hold = tmp_path / "hold"
    tree = tmp_path / "tree"
    tree.mkdir()
    for i, name in enumerate(["a", "b", "c"], start=1):
        script = tree / f"{i:02d}-{name}.sh"
        script.write_text(f"#!/bin/bash\nwhile [ -e {hold} ]; do sleep 0.02; done\n")
        script.chmod(0o755)
    hold.touch()
    db = tree / ".lfsplug" / "state.db"
    argv = [sys.executable, "-m", "lfsplug", *RUN, "-j", "2", "--order", "graph"]
    proc = subprocess.Popen(argv, cwd=tree, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        running: list[str] = []
        while len(running) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            with contextlib.suppress(sqlite3.Error), \
                    contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                running = [row[0] for row in conn.execute(
                    "SELECT name FROM results WHERE status = 'running' ORDER BY position")]
        assert running == ["a", "b"]
    finally:
        proc.kill()
        proc.wait()
    hold.unlink()
    again = subprocess.run(argv, cwd=tree, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=120, check=False)
    err = again.stderr.decode()
    assert again.returncode == 0, err
    assert ("lfsplug: run 1 did not finish (killed or crashed) while running a, b, which run "
            "again\n") in err
