"""The session: collection, silencing of findings, exit codes, one channel per fact."""

from __future__ import annotations

from pathlib import Path

import pytest

import lfsplug
from lfsplug import Finding, Script, Severity
from lfsplug.testing import Lfsplugger


def test_two_plugins_returning_one_file_keep_one(lfsplugger: Lfsplugger) -> None:
    class Again:
        @lfsplug.hookimpl
        def lfsplug_collect_path(self, path: Path) -> list[Script]:
            target = path / "01-a.sh"
            return [Script(name="again", path=target, root=path)]

    lfsplugger.make_tree({"01-a.sh": "echo a"})
    result = lfsplugger.run("list", plugins=[Again()])
    assert result.ret == 0
    assert len(result.outlines) == 1


def test_duplicate_names_are_an_error(lfsplugger: Lfsplugger) -> None:
    # names from file names are told apart (config@ch5, config@ch6); headers' are the user's
    lfsplugger.make_tree({"ch5/01-config.sh": "# lfsplug: name=config\necho",
                          "ch6/01-config.sh": "# lfsplug: name=config\necho"})
    result = lfsplugger.run("check")
    assert result.ret == 6
    result.stdout.fnmatch_lines(["*DISC001*two scripts are named 'config': ch5/01-config.sh and "
                                 "ch6/01-config.sh"])


def test_findings_silenced_per_script_and_globally(lfsplugger: Lfsplugger) -> None:
    class Nag:
        @lfsplug.hookimpl
        def lfsplug_validate_script(self, script: Script) -> list[Finding]:
            return [Finding("NAG001", Severity.ERROR, "nag", str(script.path), 1)]

        @lfsplug.hookimpl
        def lfsplug_validate_host(self) -> list[Finding]:
            return [Finding("HOST999", Severity.WARNING, "host nag")]

    lfsplugger.make_tree({"01-a.sh": "# lfsplug: disable=NAG001", "02-b.sh": "echo"})
    only_nag = ("-p", "no:validation", "-p", "no:hostreqs")
    result = lfsplugger.run("check", "--json", *only_nag, plugins=[Nag()])
    import json

    codes = [(f["code"], Path(f["path"]).name if f["path"] else None)
             for f in json.loads("\n".join(result.outlines))["findings"]]
    assert sorted(codes, key=str) == [("HOST999", None), ("NAG001", "02-b.sh")]
    assert result.ret == 6
    lfsplugger.make_config('disable = ["NAG001"]\n')
    assert lfsplugger.run("check", *only_nag, plugins=[Nag()]).ret == 0


def test_modifyfindings_can_downgrade(lfsplugger: Lfsplugger) -> None:
    class Lenient:
        @lfsplug.hookimpl
        def lfsplug_validation_modifyfindings(self, findings: list[Finding]) -> None:
            findings[:] = [Finding(f.code, Severity.WARNING, f.message, f.path, f.line)
                           for f in findings]

    lfsplugger.make_tree({"01-a.sh": "if then"})
    assert lfsplugger.run("run", plugins=[Lenient()]).ret == 1  # ran, and bash failed


def test_each_script_is_read_and_hashed_once_per_run(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation, resume and the record of passes share one digest per script."""
    import hashlib

    hashed: list[bytes] = []
    real = hashlib.sha256

    class Counting:
        """A sha256 that notes each hash whose first data is one of the scripts."""

        def __init__(self, data: bytes = b"", **kwargs: object) -> None:
            self._hash = real(**kwargs)  # type: ignore[arg-type]
            self._seen = False
            self.update(data)

        def update(self, data: bytes) -> None:
            if data and not self._seen:
                self._seen = True
                if data.startswith(b"#!/bin/bash\necho"):
                    hashed.append(data)
            self._hash.update(data)

        def hexdigest(self) -> str:
            return self._hash.hexdigest()

    monkeypatch.setattr(hashlib, "sha256", Counting)
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    result = lfsplugger.run("run", "--shellcheck", "off", "-p", "no:hostreqs")
    assert result.ret == 0
    assert sorted(hashed) == [b"#!/bin/bash\necho a\n", b"#!/bin/bash\necho b\n"]


def test_each_fact_has_one_channel(lfsplugger: Lfsplugger) -> None:
    """A script's start and end reach plugins through their hooks, in the scheduler's thread;
    what happens meanwhile (output, a stop) only as events carrying typed records."""
    hooks: list[str] = []
    seen: list[lfsplug.Event] = []

    class Watch:
        @lfsplug.hookimpl
        def lfsplug_script_start(self, session: lfsplug.Session, script: Script) -> None:
            hooks.append(f"start {script.name}")
            session.stop("enough")
            session.stop("said twice: the first reason stands")
            session.stop("now hard", hard=True)

        @lfsplug.hookimpl
        def lfsplug_script_finish(self, result: lfsplug.ScriptResult) -> None:
            hooks.append(f"finish {result.name} {result.status}")

        @lfsplug.hookimpl
        def lfsplug_events(self, events: list[lfsplug.Event]) -> None:
            seen.extend(events)

    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    result = lfsplugger.run("run", "-p", "no:monitor", plugins=[Watch()])
    assert result.ret == 2
    assert hooks == ["start a", "finish a failed"]  # ended by the hard stop; b never started
    assert {e.kind for e in seen} <= {"run-start", "script-output", "stop", "run-finish"}
    stops = [e.record for e in sorted(seen, key=lambda e: e.seq)
             if isinstance(e.record, lfsplug.StopRequested)]
    assert stops == [lfsplug.StopRequested("enough"), lfsplug.StopRequested("now hard", True)]
