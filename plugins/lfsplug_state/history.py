"""The state plugin's object for every command but ``run``: it answers from the records
(expected durations for the critical path and the ETA, the content each script had when it
last passed) and writes nothing.

It is loaded by ``list`` and ``check``, which must start fast: the database (and SQLite with it)
is opened on first use, and only if it exists, by the state service
(:class:`~lfsplug_state.service.StateDatabase`), whose connection it shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import Estimate, EstimateSource, Script, hookimpl

if TYPE_CHECKING:
    from lfsplug import Config
    from lfsplug_state.service import StateDatabase
    from lfsplug_state.store import Build, StateStore

__all__ = ["DURATION_RUNS", "StateHistory", "median"]

#: How many of a script's last passes its expected duration is the median of.
DURATION_RUNS = 5


def median(values: list[float]) -> float:
    """The median of a non-empty list (``statistics.median``, without its import)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


class StateHistory:
    """Answers from the state database: expected durations (critical path, ETA) and, for the
    validation plugin, the content each script had when it last passed.

    For commands other than ``run`` the database is opened on first use and only if it exists;
    a file that cannot be used is said once on stderr and ignored (``run`` refuses it).
    """

    def __init__(self, config: Config, database: StateDatabase) -> None:
        self.config = config
        self.database = database
        self._durations: dict[str, list[float]] | None = None

    def open_store(self) -> StateStore | None:
        """The database, opened by the state service on first use (None: there is none, or
        it cannot be used, which the service says once)."""
        return self.database.reader()

    def close(self) -> None:
        """Nothing of its own to close: the state service owns the connection."""

    @hookimpl(trylast=True)
    def lfsplug_expected_duration(self, script: Script, config: Config) -> float | None:
        """The median duration of the script's last few passes (those that really ran) in
        runs of this build's ``target`` label (none: runs without one)."""
        if self._durations is None:
            target = self.config.labels.get("target")
            self._durations = self.database.read(
                lambda store: store.recent_durations(DURATION_RUNS, target),
                dict[str, list[float]]())
        past = self._durations.get(script.name)
        return median(past) if past else None

    @hookimpl(trylast=True)
    def lfsplug_estimate(self, script: Script, config: Config) -> Estimate | None:
        """The same median, with the passes it comes from (this machine's own)."""
        seconds = self.lfsplug_expected_duration(script, config)
        if seconds is None:
            return None
        past = (self._durations or {}).get(script.name, [])
        return Estimate(seconds, None, tuple(
            EstimateSource("this machine", duration, script.version, None, 1 / len(past))
            for duration in past))

    # optional: the spec comes from the validation plugin, which may be blocked. trylast, as a
    # built-in answer is: a plugin of the user's may still answer first.
    @hookimpl(optionalhook=True, trylast=True)
    def lfsplug_validation_passed_digests(
        self, config: Config, scripts: list[Script]
    ) -> dict[str, str] | None:
        """The content hash of each script's last pass, for validation's INT005."""
        none: dict[str, Build] = {}
        passes = self.database.read(lambda store: store.last_passes(), none)
        digests = {s.name: passes[s.name].content_hash for s in scripts
                   if s.name in passes and passes[s.name].content_hash}
        return {name: digest for name, digest in digests.items() if digest} or None
