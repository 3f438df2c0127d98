"""The per-run object of the tests plugin: which scripts have a test phase, their results after
each attempt, their counts while a suite runs, and the summary's lines."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import (
    FailureClass,
    Script,
    ScriptOutput,
    ScriptResult,
    Status,
    hookimpl,
)
from lfsplug_tests import DETECT, POLICIES, POLICY
from lfsplug_tests.known import KnownFailure
from lfsplug_tests.parsers import LiveCounter, parse
from lfsplug_tests.results import Tally, has_test_phase, tally, trend

if TYPE_CHECKING:
    from lfsplug import Config, Event, RunRequest, Session

__all__ = ["FAILURE", "META_KEYS", "TestSuites"]

META_KEYS = ("tests",)
#: The failure class of a script failed by its policy (its commands passed).
FAILURE = "test-suite"
#: How often a running suite's counts are said to the dashboard, at most (seconds).
LIVE_EVERY = 0.5
#: How many earlier runs are looked through for a script's last test results.
LOOK_BACK = 20
_OFF = {"no", "none", "off", "false"}


class TestSuites:
    """The tests plugin for one ``run``."""

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, config: Config) -> None:
        self.config = config
        self.detect = config.get(DETECT)
        self.policy = config.get(POLICY)
        self.policies: Mapping[str, str] = config.get(POLICIES)
        #: the test command of each script that has one (by name)
        self.phase: dict[str, str] = {}
        self.tallies: dict[str, Tally] = {}
        self.failed_by_policy: set[str] = set()
        self._live: dict[str, tuple[LiveCounter, float]] = {}
        #: the running scripts whose counts changed since their note
        self._unsaid: set[str] = set()
        self._lock = threading.Lock()
        self._previous: dict[str, tuple[int, dict[str, Any]]] | None = None

    # -- which scripts test ------------------------------------------------------------------

    @hookimpl
    def lfsplug_collection_finish(self, session: Session) -> None:
        session.claim_metadata(*META_KEYS)

    @hookimpl
    def lfsplug_script_start(self, session: Session, script: Script, attempt: int) -> None:
        """Whether the script tests, read when it starts (only the scripts that run are)."""
        if attempt == 1 and script.name not in self.phase:
            command = self.test_command(script)
            if command is not None:
                with self._lock:
                    self.phase[script.name] = command

    def test_command(self, script: Script) -> str | None:
        said = script.meta.get("tests", "").strip()
        if said:
            return None if said.lower() in _OFF else said
        if self.policy_of(script) == "off":
            return None
        if self.detect == "all":
            return "any"
        try:
            text = script.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        return has_test_phase(text)

    def policy_of(self, script: Script) -> str:
        return self.policies.get(script.package.lower(), self.policy)

    # -- while a suite runs: its counts so far -----------------------------------------------

    @hookimpl
    def lfsplug_events(self, session: Session, events: list[Event]) -> None:
        from lfsplug import ScriptNote

        now = time.monotonic()
        with self._lock:
            for event in events:
                record = event.record
                name = event.script
                if not isinstance(record, ScriptOutput) or name not in self.phase:
                    continue
                counter, said = self._live.get(name, (None, 0.0))
                if counter is None:
                    counter = LiveCounter()
                for line in record.lines:
                    if counter.feed(line):
                        self._unsaid.add(name)
                self._live[name] = (counter, said)
            # what changed is said at most every LIVE_EVERY s; what waits is said with a later
            # batch (the monitor's samples come every second), so the row is never left stale
            notes: dict[str, str] = {}
            for name in list(self._unsaid):
                counter, said = self._live[name]
                if now - said >= LIVE_EVERY:
                    notes[name] = _live_note(counter)
                    self._live[name] = (counter, now)
                    self._unsaid.discard(name)
        for name, text in notes.items():  # emitted unlocked: a bus not started delivers at once
            session.emit(ScriptNote(text), name)

    # -- after each attempt ------------------------------------------------------------------

    @hookimpl(wrapper=True)
    def lfsplug_run_script(self, session: Session,
                           request: RunRequest) -> Generator[None, ScriptResult | None,
                                                             ScriptResult | None]:
        result = yield
        script = request.script
        with self._lock:
            self._live.pop(script.name, None)
            self._unsaid.discard(script.name)
        if result is None or script.name not in self.phase:
            return result
        found = self.read(session, script, request.log_path)
        if found is None:
            return result
        result.resources["tests"] = found.to_dict()
        self.tallies[script.name] = found
        _append(request.log_path, [f"lfsplug: {found.line()}"]
                + [f"lfsplug: test started failing: {n}" for n in found.started_failing])
        if (result.status is Status.PASSED and found.unexpected
                and self.policy_of(script) == "fail"):
            result.status = Status.FAILED
            result.message = (f"{found.unexpected} test(s) failed that are not known to: "
                              f"{', '.join(found.failed[:5])}")
            self.failed_by_policy.add(script.name)
        return result

    def read(self, session: Session, script: Script, log: Path) -> Tally | None:
        try:
            with open(log, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return None
        summaries = parse(lines)
        if not summaries:
            return None
        found = tally(summaries, self.known(session, script), lines)
        previous = self.previous(session).get(script.name)
        if previous is not None:
            trend(found, previous[1], previous[0])
        first = min(s.first_line for s in summaries)
        last = max(s.last_line for s in summaries)
        stem = log.name.removesuffix(".log")
        _write(log.with_name(stem + ".tests.log"),
               "".join(line + "\n" for line in lines[first:last + 1]))
        cases = [[c.suite, c.name, c.outcome, c.detail] for s in summaries for c in s.cases]
        _write(log.with_name(stem + ".tests.json"),
               json.dumps({"tests": found.to_dict(), "cases": cases}) + "\n")
        return found

    def known(self, session: Session, script: Script) -> list[KnownFailure]:
        answers = session.hook.lfsplug_known_test_failures(script=script, config=self.config)
        seen: dict[tuple[Any, ...], KnownFailure] = {}
        for answer in answers:
            for entry in answer or ():
                key = (entry.package, entry.tests, entry.count, entry.source)
                seen.setdefault(key, entry)
        return list(seen.values())

    def previous(self, session: Session) -> dict[str, tuple[int, dict[str, Any]]]:
        """The last earlier run's ``tests`` of each script, with that run's number."""
        if self._previous is not None:
            return self._previous
        found: dict[str, tuple[int, dict[str, Any]]] = {}
        service = session.hook.lfsplug_state_service(config=self.config)
        current = service.current_run() if service is not None else None
        if service is not None and current is not None:
            for run_id in range(current.id - 1, max(current.id - LOOK_BACK, 0), -1):
                try:
                    results = service.results(run_id)
                except (LookupError, ValueError):
                    continue
                for stored in results:
                    tests = (stored.resources or {}).get("tests")
                    if tests and stored.name not in found:
                        found[stored.name] = (run_id, tests)
        self._previous = found
        return found

    @hookimpl(tryfirst=True)
    def lfsplug_classify_failure(self, session: Session, script: Script,
                                 result: ScriptResult) -> FailureClass | None:
        if script.name not in self.failed_by_policy:
            return None
        found = self.tallies[script.name]
        return FailureClass(FAILURE, f"{found.unexpected} test(s) failed that no known failure "
                            f"explains ([tests.policies] {script.package} = \"fail\")", False,
                            tuple(f"FAIL: {name}" for name in found.failed[:10]),
                            "fix the package, or add the tests to [tests.known_failures]")

    @hookimpl
    def lfsplug_terminal_summary(self, session: Session, exitstatus: int,
                                 write: Callable[[str], None]) -> None:
        for name, found in self.tallies.items():
            write(f"{name}: {found.line()}")
            if found.started_failing:
                write(f"{name}: started failing since run {found.previous_run}: "
                      f"{', '.join(found.started_failing[:10])}")
            if found.fixed:
                write(f"{name}: passing again since run {found.previous_run}: "
                      f"{', '.join(found.fixed[:10])}")


def _live_note(counter: LiveCounter) -> str:
    counts = counter.counts
    words = [f"{counts.get('pass', 0) + counts.get('xpass', 0)} passed"]
    if counts.get("fail"):
        words.append(f"{counts['fail']} failed")
    if counts.get("xfail"):
        words.append(f"{counts['xfail']} expected")
    if counts.get("skip"):
        words.append(f"{counts['skip']} skipped")
    last = counter.last
    if last is not None and last.outcome == "fail":
        words.append(f"last failure {last.name}")
    return "tests: " + ", ".join(words)


def _append(log: Path, lines: list[str]) -> None:
    try:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
    except OSError:
        pass


def _write(path: Path, text: str) -> None:
    try:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass

