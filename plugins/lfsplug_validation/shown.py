"""What ``run`` has shown: each warning once, until it is new again.

``run`` prints a warning when no earlier ``run`` showed it for the same script content; the
others it counts in one line (``3 known warnings: lfsplug check``). ``check`` shows everything
and remembers nothing. Errors are always shown (they stop the build); information never is.

The record is ``cache/shown.json`` in the state directory (the validation cache's format, see
:mod:`.cache`): an entry per script path, holding the SHA-256 of the script's content when its
warnings were shown and an identity of each (code, severity, line and message, hashed). A
warning is *known* when its script's entry has the script's current content and its identity;
so editing a script shows all its warnings again, and a warning whose message changes is new.
Warnings without a path (the host's) are kept under :data:`HOST`, with no content. Findings of
the ordering phase come after validation and are always shown.

The validation plugin marks the known warnings (``Finding.known``) in
``lfsplug_validation_modifyfindings`` and writes the record when the session ends, if the plan
was built (``run`` prints the findings right after it).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import Finding, Severity
from lfsplug_validation.cache import ResultCache

if TYPE_CHECKING:
    from lfsplug import Session

__all__ = ["SHOWN_FILE", "ShownRecord", "finding_id"]

SHOWN_FILE = Path("cache") / "shown.json"
#: The section's key: bump it to forget what every earlier run showed.
KEY = "1"
#: The entry of the findings that name no file (the host's).
HOST = "<host>"


def finding_id(finding: Finding) -> str:
    """A short identity of a finding within its file."""
    text = f"{finding.code}\0{finding.severity}\0{finding.line}\0{finding.message}"
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


class ShownRecord:
    """The warnings earlier runs showed, by script path and content."""

    def __init__(self, cache: ResultCache, digests: dict[str, str]) -> None:
        self.cache = cache
        self.section = cache.section("shown", KEY)
        self.digests = digests

    @classmethod
    def load(cls, session: Session) -> ShownRecord:
        return cls(ResultCache.load(session.config.state_dir / SHOWN_FILE), session.digests)

    def _digest(self, path: str | None) -> str:
        return self.digests.get(path, "") if path else ""

    def _was_shown(self, finding: Finding) -> bool:
        entry: Any = self.section.get(finding.path or HOST)
        return (type(entry) is list and len(entry) == 2
                and entry[0] == self._digest(finding.path) and type(entry[1]) is list
                and finding_id(finding) in entry[1])

    def mark(self, findings: list[Finding]) -> int:
        """Mark, in place, the warnings an earlier run showed; how many."""
        count = 0
        for index, finding in enumerate(findings):
            if finding.severity is Severity.WARNING and self._was_shown(finding):
                findings[index] = replace(finding, known=True)
                count += 1
        return count

    def remember(self, findings: list[Finding]) -> str | None:
        """Record the warnings of this run as shown; why the file was not written, if not."""
        shown: dict[str, set[str]] = {}
        for finding in findings:
            if finding.severity is Severity.WARNING:
                shown.setdefault(finding.path or HOST, set()).add(finding_id(finding))
        for path in [*self.digests, HOST]:  # looked at now, nothing to show: forget it
            if path not in shown:
                self.section.discard(path)
        for path, ids in shown.items():
            value = [self._digest(None if path == HOST else path), sorted(ids)]
            if self.section.get(path) != value:
                self.section.put(path, value)
        return self.cache.save()
