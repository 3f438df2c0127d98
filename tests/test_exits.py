"""Exit codes that tell the truth (issue 12): a ``SystemExit`` from a plugin or ``lfsconf.py``
is a plugin failure (exit 3, naming plugin and hook or file and line); skipped build steps are
errors; and the database records the code the process exits with."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lfsplug import Event, SampleTaken, hookimpl
from lfsplug import _hookspec as hookspecs
from lfsplug.testing import Lfsplugger

#: every hook a ``run`` calls (a failing script for classify/recover, --report for the writer)
RUN_HOOKS = sorted(name for name in dir(hookspecs)
                   if name.startswith("lfsplug_") and name != "lfsplug_estimate")

#: hooks called once the build is over: its RunFinished event keeps the build's own code
AFTER_THE_BUILD = ("lfsplug_sessionfinish", "lfsplug_terminal_summary", "lfsplug_unconfigure",
                   "lfsplug_write_report")


def _exiter(hook: str, code: object = 0) -> object:
    def impl(*_args: Any, **_kwargs: Any) -> None:
        sys.exit(code)  # type: ignore[arg-type]

    plugin = type("Exiter", (), {})()
    impl.__name__ = hook
    setattr(plugin, hook, hookimpl(_bind(hook, impl)))
    return plugin


def _bind(hook: str, impl: Any) -> Any:
    """A function with the hook's parameters (pluggy passes arguments by name)."""
    spec = getattr(hookspecs, hook)
    params = ", ".join(spec.__code__.co_varnames[:spec.__code__.co_argcount])
    namespace: dict[str, Any] = {"impl": impl}
    exec(f"def {hook}({params}):\n    impl()\n", namespace)
    return namespace[hook]


def _tree(lfsplugger: Lfsplugger) -> Path:
    return lfsplugger.make_tree({"t/01-one.sh": "true", "t/02-two.sh": "exit 1"})


def _last_run(state: Path) -> tuple[Any, ...] | None:
    """The state and exit code of the last run recorded under ``state``, if any."""
    if not (state / "state.db").exists():
        return None
    with sqlite3.connect(state / "state.db") as conn:
        row = conn.execute("SELECT state, exit_code FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else tuple(row)


@pytest.mark.parametrize("hook", RUN_HOOKS)
def test_sys_exit_in_any_hook_is_a_plugin_failure(lfsplugger: Lfsplugger, hook: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if hook == "lfsplug_progress":  # called for work that outlasts a second: at once here
        import lfsplug._reporting

        monkeypatch.setattr(lfsplug._reporting, "PROGRESS_DELAY", 0.0)
    _tree(lfsplugger)
    plugin = _exiter(hook)
    state = lfsplugger.path / "st"
    result = lfsplugger.run("run", "t", "--keep-going", "--state-dir", state,
                            "--report", f"json:{lfsplugger.path / 'r.json'}", "--plain",
                            plugins=[plugin])
    assert result.ret == 3, (hook, result.errlines)
    text = "\n".join(result.errlines)
    assert f"failed in hook {hook}" in text and "Exiter" in text, text
    assert "SystemExit" in text
    if _last_run(state) is not None:  # a run was recorded: with the code lfsplug exits with
        assert _last_run(state) == ("finished", 3)
        with sqlite3.connect(state / "state.db") as conn:
            ends = conn.execute("SELECT payload FROM events WHERE kind = 'run-finish'").fetchall()
        if hook in AFTER_THE_BUILD:  # the build's own end (RunFinished), then the failure
            return
        assert all(json.loads(payload)["exit_code"] == 3 for payload, in ends), ends


def test_sys_exit_in_the_estimate_of_list_is_a_plugin_failure(lfsplugger: Lfsplugger) -> None:
    _tree(lfsplugger)
    result = lfsplugger.run("list", "t", "--json", plugins=[_exiter("lfsplug_estimate")])
    assert result.ret == 3
    assert "failed in hook lfsplug_estimate: SystemExit: 0" in result.errlines[-1]


def test_sys_exit_in_lfsconf_names_file_and_line(lfsplugger: Lfsplugger) -> None:
    _tree(lfsplugger)
    conf = lfsplugger.make_lfsconf("import sys\nsys.exit(0)\n", "t")
    result = lfsplugger.run("run", "t", "--state-dir", lfsplugger.path / "st")
    assert result.ret == 3
    assert result.errlines[-1].startswith(f"lfsplug: {conf}:2: "), result.errlines
    assert "SystemExit" in result.errlines[-1]


def test_sys_exit_in_a_hook_of_lfsconf_names_file(lfsplugger: Lfsplugger) -> None:
    _tree(lfsplugger)
    lfsplugger.make_lfsconf("import sys, lfsplug\n@lfsplug.hookimpl\n"
                            "def lfsplug_script_env(script, env):\n    sys.exit(0)\n", "t")
    result = lfsplugger.run_subprocess("run", "t", "--state-dir", "st")
    assert result.ret == 3, result.errlines
    assert "failed in hook lfsplug_script_env" in "\n".join(result.errlines)
    assert _last_run(lfsplugger.path / "st") == ("finished", 3)


def test_plugin_registered_failure_names_plugin_and_hook(lfsplugger: Lfsplugger) -> None:
    class Boom:
        @hookimpl
        def lfsplug_plugin_registered(self, plugin_name: str) -> None:
            raise RuntimeError("boom")

    result = lfsplugger.run("plugins", plugins=[Boom()])
    assert result.ret == 3
    assert "internal error" not in result.errlines[-1]
    assert "failed in hook lfsplug_plugin_registered" in result.errlines[-1]
    assert "'Boom'" in result.errlines[-1], result.errlines


@pytest.mark.parametrize("hook", ["lfsplug_sessionstart", "lfsplug_report_header",
                                  "lfsplug_sessionfinish", "lfsplug_terminal_summary",
                                  "lfsplug_unconfigure"])
def test_database_records_the_exit_code(lfsplugger: Lfsplugger, hook: str) -> None:
    """A failure before or after the build still ends the recorded run with exit 3."""
    _tree(lfsplugger)
    spec = getattr(hookspecs, hook)
    params = ", ".join(spec.__code__.co_varnames[:spec.__code__.co_argcount])
    source = (f"import lfsplug\n@lfsplug.hookimpl\ndef {hook}({params}):\n"
              f"    raise RuntimeError('late')\n")
    lfsplugger.make_tree({"p/late_plugin.py": source})
    lfsplugger.setenv("PYTHONPATH", str(lfsplugger.path / "p"))
    result = lfsplugger.run_subprocess("-p", "late_plugin", "run", "t", "--state-dir", "st",
                                       "--plain")
    assert result.ret == 3, result.errlines
    assert f"plugin 'late_plugin' failed in hook {hook}" in "\n".join(result.errlines)
    assert _last_run(lfsplugger.path / "st") == ("finished", 3)


class SampleExit:
    """Leaves the build once sampling has started."""

    @hookimpl
    def lfsplug_events(self, events: list[Event]) -> None:
        if any(isinstance(e.record, SampleTaken) for e in events):
            sys.exit(0)


def test_sys_exit_on_a_sample_is_a_plugin_failure(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"t/01-one.sh": "sleep 0.6"})
    result = lfsplugger.run("run", "t", "--state-dir", "st", "--plain",
                            "--sample-interval", "0.1", plugins=[SampleExit()])
    assert result.ret == 3, result.errlines
    assert "failed in hook lfsplug_events" in "\n".join(result.errlines)
    assert _last_run(lfsplugger.path / "st") == ("finished", 3)


def test_sys_exit_in_the_sampler_is_a_plugin_failure(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lfsplug_monitor import sampler

    calls: list[str] = []

    def statvfs(path: str) -> Any:
        calls.append(path)
        if len(calls) > 3:  # in the sampler's thread, not the first tick
            sys.exit(0)
        return os.statvfs(path)

    monkeypatch.setattr(sampler, "statvfs", statvfs)
    lfsplugger.make_tree({"t/01-one.sh": "sleep 0.6"})
    started = time.monotonic()
    result = lfsplugger.run("run", "t", "--state-dir", "st", "--plain",
                            "--sample-interval", "0.1")
    assert result.ret == 3, result.errlines
    assert result.errlines[-1].startswith("lfsplug: plugin 'monitor-sampler' failed in hook "
                                          "lfsplug_run_plan: SystemExit"), result.errlines
    assert _last_run(lfsplugger.path / "st") == ("finished", 3)
    assert time.monotonic() - started < 30


def test_every_unconfigure_runs_when_one_raises(lfsplugger: Lfsplugger) -> None:
    """lfsconf.py's unconfigure runs first and raises: the state plugin's still closes the
    database and releases its lock, so that the next run in this process is not blocked."""
    _tree(lfsplugger)
    conf = lfsplugger.make_lfsconf("import lfsplug\n@lfsplug.hookimpl\n"
                                   "def lfsplug_unconfigure(config):\n"
                                   "    raise RuntimeError('late')\n", "t")
    state = lfsplugger.path / "st"
    calls: list[str] = []

    class Later:
        @hookimpl
        def lfsplug_unconfigure(self) -> None:
            calls.append("later")
            raise RuntimeError("later")  # a second failure: the first is the one reported

    for number in (1, 2):
        result = lfsplugger.run("run", "t", "--state-dir", state, "--plain", plugins=[Later()])
        assert result.ret == 3, result.errlines
        assert calls == ["later"] * number
        assert [line for line in result.errlines if "late" in line] == [
            f"lfsplug: plugin '{conf}' failed in hook lfsplug_unconfigure: RuntimeError: late"]
        assert result.statuses()["one"] == "passed"  # not stopped by the first run's lock
        with sqlite3.connect(state / "state.db") as conn:
            runs = conn.execute("SELECT id, state, exit_code FROM runs").fetchall()
        assert runs[-1] == (number, "finished", 3)
