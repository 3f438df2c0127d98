"""Test fixtures for plugin authors: what pytester is to pytest.

Installed as a pytest plugin (entry point ``pytest11``), so any project that depends on lfsplug
has the ``lfsplugger`` fixture::

    def test_my_plugin(lfsplugger):
        lfsplugger.make_tree({"01-hello.sh": "echo hello"})
        result = lfsplugger.run("run", "-p", "my_plugin")
        assert result.ret == 0
        result.stdout.fnmatch_lines(["*passed*hello*"])
        assert result.getcalls("lfsplug_script_finish")

``run`` runs lfsplug in this process (fast, and hook calls are recorded);
``run_subprocess`` runs the real command in a child process (for signals, entry points and
anything that must not share this interpreter).
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import lfsplug
from lfsplug._model import ScriptResult, Status

__all__ = ["HookCall", "HookRecorder", "Lfsplugger", "LineMatcher", "RunResult", "lfsplugger"]

#: Environment variables that change what lfsplug does; cleared for every test run.
ISOLATED_ENV = ("LFSPLUG_ADDOPTS", "LFSPLUG_PLUGINS", "LFSPLUG_DISABLE_PLUGIN_AUTOLOAD")


@dataclass
class HookCall:
    """One recorded hook call: its name and keyword arguments."""

    name: str
    kwargs: dict[str, Any]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.kwargs[key]
        except KeyError:
            raise AttributeError(key) from None


class HookRecorder:
    """A plugin that records every hook call it sees (and keeps the session's results)."""

    def __init__(self) -> None:
        self.calls: list[HookCall] = []
        self.results: dict[str, ScriptResult] = {}
        self.exitstatus: int | None = None

    @lfsplug.hookimpl
    def lfsplug_plugin_registered(self, plugin: object, manager: Any) -> None:
        if plugin is self:  # from here on, every hook call is recorded
            manager.add_hookcall_monitoring(self._before, lambda *args: None)

    def _before(self, hook_name: str, _impls: Any, kwargs: Mapping[str, Any]) -> None:
        self.calls.append(HookCall(hook_name, dict(kwargs)))

    @lfsplug.hookimpl(trylast=True)
    def lfsplug_sessionfinish(self, session: Any, exitstatus: int) -> None:
        self.results = dict(session.results)
        self.exitstatus = exitstatus

    def getcalls(self, *names: str) -> list[HookCall]:
        """The calls of the named hooks (all calls when no name is given), in order."""
        return [c for c in self.calls if not names or c.name in names]

    def hooknames(self) -> list[str]:
        return [c.name for c in self.calls]


class LineMatcher:
    """Match output lines against glob or regular-expression patterns, in order."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def _match(self, patterns: Sequence[str], test: Any, how: str) -> None:
        position = 0
        for pattern in patterns:
            for index in range(position, len(self.lines)):
                if test(self.lines[index], pattern):
                    position = index + 1
                    break
            else:
                shown = "\n".join(f"    {line}" for line in self.lines) or "    (no output)"
                pytest.fail(f"no line {how}es {pattern!r} (after line {position}) in:\n{shown}")

    def fnmatch_lines(self, patterns: Sequence[str]) -> None:
        """Each glob pattern matches a line, in the given order (other lines may come between)."""
        self._match(patterns, fnmatch.fnmatch, "fnmatch")

    def re_match_lines(self, patterns: Sequence[str]) -> None:
        """Each regular expression matches (``re.match``) a line, in order."""
        self._match(patterns, lambda line, pat: re.match(pat, line) is not None, "re.match")

    def no_fnmatch_line(self, pattern: str) -> None:
        """No line matches the glob pattern."""
        for line in self.lines:
            if fnmatch.fnmatch(line, pattern):
                pytest.fail(f"line {line!r} matches {pattern!r}, which it should not")


@dataclass
class RunResult:
    """What one run of lfsplug did: exit code, output lines, hook calls, script results."""

    ret: int
    outlines: list[str]
    errlines: list[str]
    duration: float
    recorder: HookRecorder | None = None
    results: dict[str, ScriptResult] = field(default_factory=dict)

    @property
    def stdout(self) -> LineMatcher:
        return LineMatcher(self.outlines)

    @property
    def stderr(self) -> LineMatcher:
        return LineMatcher(self.errlines)

    def getcalls(self, *names: str) -> list[HookCall]:
        """Recorded hook calls (in-process runs only)."""
        if self.recorder is None:
            raise ValueError("hook calls are recorded only by in-process runs (run())")
        return self.recorder.getcalls(*names)

    def statuses(self) -> dict[str, str]:
        """Each script's final status (in-process runs only)."""
        return {name: str(r.status) for name, r in self.results.items()}

    def assert_outcomes(self, **expected: int) -> None:
        """``assert_outcomes(passed=2, failed=1)``; use ``not_run`` for ``not-run``."""
        counts = {str(s).replace("-", "_"): 0 for s in Status}
        for result in self.results.values():
            counts[str(result.status).replace("-", "_")] += 1
        got = {key: counts[key] for key in expected}
        assert got == expected, f"outcomes {got} != {expected}\n{self.outlines}"


class Lfsplugger:
    """Builds script trees in a temporary directory and runs lfsplug on them."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self._monkeypatch = monkeypatch
        for name in ISOLATED_ENV:
            monkeypatch.delenv(name, raising=False)
        # the index of the builds run (status without PATH) is the test's, not the user's
        monkeypatch.setenv("XDG_STATE_HOME", str(path.with_name(f"{path.name}-state")))
        monkeypatch.chdir(path)

    def make_tree(self, files: Mapping[str, str], executable: bool = True) -> Path:
        """Write ``{relative path: content}``; scripts get a shebang unless they have one."""
        for rel, given in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            is_script = not rel.endswith((".py", ".toml", ".txt", ".md"))
            shebang = "#!/bin/bash\n" if is_script and not given.startswith("#!") else ""
            newline = "\n" if given and not given.endswith("\n") else ""
            target.write_text(shebang + given + newline, encoding="utf-8")
            if is_script and executable:
                target.chmod(0o755)
        return self.path

    def make_lfsconf(self, source: str, subdir: str = "") -> Path:
        """Write an ``lfsconf.py`` (in ``subdir`` of the tree)."""
        target = self.path / subdir / "lfsconf.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
        return target

    def make_config(self, toml: str) -> Path:
        """Write ``lfsplug.toml`` at the root of the tree."""
        target = self.path / "lfsplug.toml"
        target.write_text(toml, encoding="utf-8")
        return target

    def setenv(self, name: str, value: str) -> None:
        self._monkeypatch.setenv(name, value)

    def run(self, *args: str | os.PathLike[str], plugins: Sequence[object] = ()) -> RunResult:
        """Run lfsplug in this process, recording hook calls; output is captured."""
        recorder = HookRecorder()
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            ret = lfsplug.main([os.fspath(a) for a in args], plugins=[recorder, *plugins])
        return RunResult(
            int(ret), out.getvalue().splitlines(), err.getvalue().splitlines(),
            time.perf_counter() - started, recorder, recorder.results,
        )

    def run_subprocess(
        self, *args: str | os.PathLike[str], timeout: float = 120, env: Mapping[str, str] = {}
    ) -> RunResult:
        """Run the real ``lfsplug`` command (``python -m lfsplug``) in a child process."""
        argv = [sys.executable, "-m", "lfsplug", *(os.fspath(a) for a in args)]
        child_env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
        child_env.update(env)
        started = time.perf_counter()
        proc = subprocess.run(argv, cwd=self.path, env=child_env, capture_output=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        return RunResult(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace").splitlines(),
            proc.stderr.decode("utf-8", "replace").splitlines(),
            time.perf_counter() - started,
        )


@pytest.fixture
def lfsplugger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lfsplugger]:
    """A :class:`Lfsplugger` working in ``tmp_path`` (the current directory during the test)."""
    yield Lfsplugger(tmp_path, monkeypatch)
