"""The record of the scripts that passed, until a state plugin records whole builds.

:class:`PassedRecord` is registered as the plugin ``validation-passed``. When a script passes
(``lfsplug_script_finish`` with status ``passed``) it notes the SHA-256 of the content that ran,
and at the end of the session it merges those into ``passed-scripts.json`` in the state
directory (written atomically). It answers ``lfsplug_validation_passed_digests`` last, so a
plugin that keeps its own records of builds replaces it by answering first; ``-p
no:validation-passed`` stops the file from being written at all.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import Script, ScriptResult, Status, hookimpl

if TYPE_CHECKING:
    from lfsplug import Config, Session

__all__ = ["RECORD_FILE", "PassedRecord"]

RECORD_FILE = "passed-scripts.json"
FORMAT = 1


class PassedRecord:
    """Notes the content of every script that passes; answers what passed last time."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.passed: dict[str, dict[str, Any]] = {}

    @property
    def path(self) -> Path:
        return self.config.state_dir / RECORD_FILE

    def _load(self) -> dict[str, dict[str, Any]]:
        from lfsplug_validation.cache import read_json  # on use: start-up time

        data = read_json(self.path)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        scripts = data.get("scripts")
        if not isinstance(scripts, dict):
            return {}
        return {name: entry for name, entry in scripts.items()
                if isinstance(entry, dict) and isinstance(entry.get("sha256"), str)}

    @hookimpl(trylast=True)
    def lfsplug_validation_passed_digests(
        self, config: Config, scripts: list[Script]
    ) -> dict[str, str]:
        return {name: entry["sha256"] for name, entry in self._load().items()}

    @hookimpl
    def lfsplug_script_finish(self, session: Session, script: Script,
                              result: ScriptResult) -> None:
        if result.status is not Status.PASSED or session.config.getoption("dry_run", False):
            return
        digest = session.content_digest(script)
        if digest is not None:
            self.passed[script.name] = {"sha256": digest, "path": str(script.path),
                                        "time": time.time()}

    @hookimpl
    def lfsplug_sessionfinish(self, session: Session) -> None:
        if not self.passed:
            return
        from lfsplug_validation.cache import atomic_write_json

        merged = self._load()
        merged.update(self.passed)
        # if it cannot be written the run's outcome stands; only the "changed since" note is lost
        with contextlib.suppress(OSError):
            atomic_write_json(self.path, {"format": FORMAT, "scripts": merged})
        self.passed.clear()
