"""The per-script protocol: cached results, retries, skips, classification, hook order."""

from __future__ import annotations

import lfsplug
from lfsplug import (
    FailureClass,
    Recovery,
    Script,
    ScriptOutput,
    ScriptResult,
    ScriptRetry,
    Status,
)
from lfsplug.testing import Lfsplugger


class FlakyRecovery:
    """Retries a failed script once with an extra variable, then lets it stand."""

    @lfsplug.hookimpl
    def lfsplug_classify_failure(self, result: ScriptResult) -> FailureClass | None:
        if any("flaky" in line for line in result.tail):
            return FailureClass("flaky", "the script says it is flaky", transient=True)
        return None

    @lfsplug.hookimpl
    def lfsplug_recover(self, result: ScriptResult,
                        failure: FailureClass | None) -> Recovery | None:
        if failure is not None and failure.transient and result.attempts < 2:
            return Recovery("retry", "transient", delay=0.0, env={"SECOND_TRY": "1"})
        return None


def test_hooks_run_in_protocol_order(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    result = lfsplugger.run("run")
    assert result.ret == 0
    protocol = [n for n in result.recorder.hooknames() if n in {  # type: ignore[union-attr]
        "lfsplug_sessionstart", "lfsplug_collect_path", "lfsplug_script_metadata",
        "lfsplug_collection_modifyscripts", "lfsplug_collection_finish",
        "lfsplug_validate_scripts", "lfsplug_validate_script", "lfsplug_validate_host",
        "lfsplug_validation_modifyfindings", "lfsplug_script_edges", "lfsplug_build_plan",
        "lfsplug_run_plan", "lfsplug_script_cached", "lfsplug_script_env",
        "lfsplug_script_command", "lfsplug_script_start", "lfsplug_run_script",
        "lfsplug_script_finish", "lfsplug_sessionfinish", "lfsplug_unconfigure"}]
    assert protocol == [
        "lfsplug_sessionstart", "lfsplug_collect_path", "lfsplug_script_metadata",
        "lfsplug_collection_modifyscripts", "lfsplug_collection_finish",
        "lfsplug_validate_scripts", "lfsplug_validate_script", "lfsplug_validate_host",
        "lfsplug_validation_modifyfindings", "lfsplug_script_edges", "lfsplug_build_plan",
        "lfsplug_run_plan", "lfsplug_script_env", "lfsplug_script_cached",
        "lfsplug_script_command", "lfsplug_script_start", "lfsplug_run_script",
        "lfsplug_script_finish", "lfsplug_sessionfinish", "lfsplug_unconfigure",
    ]
    output = [e.record for c in result.getcalls("lfsplug_events") for e in c.events
              if isinstance(e.record, ScriptOutput)]
    assert output == [ScriptOutput(("a",))]  # the script's output: events, not a hook


def test_retry_after_classified_transient_failure(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-flaky.sh": '[ -n "$SECOND_TRY" ] || { echo flaky; exit 1; }\n'
                                         "echo steady now"})
    result = lfsplugger.run("run", plugins=[FlakyRecovery()])
    assert result.ret == 0
    final = result.results["flaky"]
    assert (final.status, final.attempts) == (Status.PASSED, 2)
    logs = lfsplugger.path / ".lfsplug/logs"
    assert "flaky" in (logs / "1" / "flaky.log").read_text()
    assert "steady now" in (logs / "1" / "flaky.2.log").read_text()
    assert (logs / "flaky.2.log").resolve() == (logs / "1" / "flaky.2.log").resolve()  # a link
    result.stdout.fnmatch_lines(["*start   flaky", "*start   flaky (attempt 2)", "*passed  flaky*"])
    starts = [c.attempt for c in result.getcalls("lfsplug_script_start")]
    assert starts == [1, 2]
    [retry] = [e for c in result.getcalls("lfsplug_events") for e in c.events
               if isinstance(e.record, ScriptRetry)]
    assert retry.script == "flaky"
    assert isinstance(retry.record, ScriptRetry)
    assert (retry.record.attempt, retry.record.reason, retry.record.env) == (
        1, "transient", {"SECOND_TRY": "1"})
    assert retry.record.started is not None and retry.record.started <= retry.time


def test_failure_class_shown_and_not_retried_twice(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-flaky.sh": "echo flaky; exit 1"})
    # the kernel's protocol alone: the recovery plugin would retry a transient class again
    result = lfsplugger.run("run", "-p", "no:recovery", plugins=[FlakyRecovery()])
    assert result.ret == 1
    final = result.results["flaky"]
    assert (final.attempts, final.failure_class) == (2, "flaky")
    result.stdout.fnmatch_lines(["flaky: failed (flaky, exit status 1) — see .lfsplug/logs/1/flaky.2.log"])


def test_recover_skip_goes_on(lfsplugger: Lfsplugger) -> None:
    class SkipOptional:
        @lfsplug.hookimpl
        def lfsplug_recover(self, script: Script) -> Recovery | None:
            return Recovery("skip", "optional package") if script.name == "opt" else None

    lfsplugger.make_tree({"01-opt.sh": "exit 2", "02-next.sh": "echo next"})
    result = lfsplugger.run("run", plugins=[SkipOptional()])
    assert result.ret == 0
    assert result.statuses() == {"opt": "skipped", "next": "passed"}


def test_a_bad_recovery_action_is_a_one_line_plugin_error(lfsplugger: Lfsplugger) -> None:
    class Untyped:  # as a lfsconf.py that no type checker reads
        @lfsplug.hookimpl
        def lfsplug_recover(self) -> Recovery:
            return Recovery("again", "typo")  # type: ignore[arg-type]

    lfsplugger.make_tree({"01-a.sh": "exit 1"})
    result = lfsplugger.run("run", "-p", "no:terminal", plugins=[Untyped()])
    assert result.ret == 3
    assert result.errlines == [
        "lfsplug: plugin 'Untyped' failed in hook lfsplug_recover while running script 'a': "
        "ValueError: 'again' is not a recovery action (retry, skip or stop)"]


def test_cached_result_is_reused(lfsplugger: Lfsplugger) -> None:
    class Cache:
        @lfsplug.hookimpl
        def lfsplug_script_cached(self, script: Script) -> ScriptResult | None:
            if script.name == "done":
                return ScriptResult(script.name, Status.PASSED, exit_code=0)
            return None

    lfsplugger.make_tree({"01-done.sh": "exit 9", "02-todo.sh": "echo todo"})
    result = lfsplugger.run("run", plugins=[Cache()])
    assert result.ret == 0
    assert result.results["done"].cached
    assert not (lfsplugger.path / ".lfsplug/logs/done.log").exists()
    result.stdout.fnmatch_lines(["*passed  done*unchanged, from an earlier run*"])


def test_script_command_may_be_replaced(lfsplugger: Lfsplugger) -> None:
    class Sh:
        @lfsplug.hookimpl
        def lfsplug_script_command(self, script: Script) -> list[str]:
            return ["sh", "-c", 'echo "via sh: $0"', script.name]

    lfsplugger.make_tree({"01-a.sh": "exit 1"})
    result = lfsplugger.run("run", plugins=[Sh()])
    assert result.ret == 0
    assert "via sh: a" in (lfsplugger.path / ".lfsplug/logs/a.log").read_text()


def test_retry_guard_stops_endless_retries(lfsplugger: Lfsplugger) -> None:
    class Forever:
        @lfsplug.hookimpl
        def lfsplug_recover(self) -> Recovery:
            return Recovery("retry", "always")

    lfsplugger.make_tree({"01-a.sh": "exit 1"})
    result = lfsplugger.run("run", "-p", "no:terminal", plugins=[Forever()])
    assert result.ret == 1
    from lfsplug._session import MAX_ATTEMPTS

    assert result.results["a"].attempts == MAX_ATTEMPTS


def test_samples_and_alerts_reach_plugins_as_typed_events(lfsplugger: Lfsplugger) -> None:
    from lfsplug import Alert, AlertLevel, AlertRaised, Sample, SampleTaken

    sample, alert = Sample(1.0, {"cpu": 50.0}, "a"), Alert("disk", AlertLevel.WARN, "low", 1.0)
    seen: list[lfsplug.Event] = []

    class Monitor:
        @lfsplug.hookimpl
        def lfsplug_script_start(self, session: lfsplug.Session) -> None:
            session.sample(sample)
            session.alert(alert)

        @lfsplug.hookimpl
        def lfsplug_events(self, events: list[lfsplug.Event]) -> None:
            seen.extend(e for e in events if isinstance(e.record, SampleTaken | AlertRaised))

    lfsplugger.make_tree({"01-a.sh": "echo a"})
    assert lfsplugger.run("run", "-p", "no:monitor", plugins=[Monitor()]).ret == 0
    assert [(e.kind, e.script, e.record) for e in seen] == [  # the alert first: its priority
        ("alert", None, AlertRaised(alert)), ("sample", "a", SampleTaken(sample))]


def test_report_header_and_terminal_summary(lfsplugger: Lfsplugger) -> None:
    class Extra:
        @lfsplug.hookimpl
        def lfsplug_report_header(self) -> list[str]:
            return ["extra header line"]

        @lfsplug.hookimpl
        def lfsplug_terminal_summary(self, exitstatus: int, write: object) -> None:
            write(f"extra summary, exit {exitstatus}")  # type: ignore[operator]

    lfsplugger.make_tree({"01-a.sh": "echo a"})
    result = lfsplugger.run("run", plugins=[Extra()])
    result.stdout.fnmatch_lines(["extra header line", "*passed  a*", "extra summary, exit 0",
                                 "==== 1 passed in *"])


def test_expected_durations_shape_the_critical_path(lfsplugger: Lfsplugger) -> None:
    seen: dict[str, list[str]] = {}

    class History:
        @lfsplug.hookimpl
        def lfsplug_expected_duration(self, script: Script) -> float | None:
            return {"slow": 100.0, "fast": 1.0}.get(script.name)

        @lfsplug.hookimpl
        def lfsplug_sessionfinish(self, session: object) -> None:
            seen["path"] = session.plan.critical_path  # type: ignore[attr-defined]

    lfsplugger.make_tree({"01-base.sh": "# lfsplug: sbu=2", "02-slow.sh": "# lfsplug: after=base",
                          "03-fast.sh": "# lfsplug: after=base",
                          "04-end.sh": "# lfsplug: after=slow, fast"})
    assert lfsplugger.run("list", "--order", "graph", plugins=[History()]).ret == 0
    assert seen["path"] == ["base", "slow", "end"]


def test_failing_event_subscriber_stops_the_build_before_the_next_script(
    lfsplugger: Lfsplugger,
) -> None:
    class Broken:
        @lfsplug.hookimpl
        def lfsplug_events(self, events: list[lfsplug.Event]) -> None:
            if any(e.kind == "script-output" for e in events):
                raise SystemExit("subscriber gave up")

    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "sleep 0.5", "03-c.sh": "echo c",
                          "04-d.sh": "echo d"})
    result = lfsplugger.run("run", "-p", "no:terminal", plugins=[Broken()])
    assert result.ret == 3
    assert result.errlines == ["lfsplug: plugin 'Broken' failed in hook lfsplug_events: "
                               "SystemExit: subscriber gave up"]
    assert result.results["d"].status == "not-run"
