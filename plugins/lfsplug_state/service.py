""":class:`StateDatabase`, the state plugin's :class:`lfsplug.StateService`: what other plugins
read of the builds' records, and the little they write (a run's metrics, imported history).

The plugin answers ``lfsplug_state_service`` with one object per command (kept in
``config.stash``), which owns the one connection to ``state.db`` that the plugin's own hook
objects share. ``run`` opens (or creates) the database as it starts, and the service knows the
run being recorded; any other command opens it on first use, only when there is one, and
creates it only to import history. SQLite and the kernel's records are imported when a read
needs them: ``list`` starts fast. Every query is in :mod:`.queries` and :mod:`.store`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

from lfsplug import UsageError
from lfsplug_state import DB_FILE

if TYPE_CHECKING:
    from pathlib import Path

    from lfsplug import HistoryEntry, StoredEvent, StoredResult, StoredRun, StoredSamples
    from lfsplug_state.recorder import StateRecorder
    from lfsplug_state.store import StateStore

__all__ = ["StateDatabase"]

T = TypeVar("T")


class StateDatabase:
    """The records of the builds in ``state.db`` of ``state_dir`` (the command's
    ``--state-dir``), and, once :attr:`recorder` is set, the run being recorded now.

    The connection is opened on first use and closed by :meth:`close`. A file that cannot be used
    (corrupt, even deep inside, another program's, from a newer lfsplug, unreadable) is said
    once on stderr and read as no records, except by :meth:`run` and :meth:`add_history`, which
    raise its one-line :class:`~lfsplug.UsageError` (exit 4).
    """

    def __init__(self, state_dir: Path, recorder: StateRecorder | None = None,
                 labels: Mapping[str, str] | None = None) -> None:
        self.state_dir = state_dir
        #: the command's labels (``config.labels`` itself, which plugins fill as they are
        #: configured): :meth:`last_pass` looks only at runs of their ``target``
        self.labels: Mapping[str, str] = labels if labels is not None else {}
        #: the plugin object recording this command's run, if it records one
        self.recorder = recorder
        self._own: StateStore | None = None
        self._error: UsageError | None = None
        self._warned = False
        #: what the warning about an unusable file says comes of it for this command
        self.consequence = "durations from earlier builds are not used"
        self._lock = threading.Lock()

    def reader(self) -> StateStore | None:
        """The database to read: None when there is none, or when it cannot be used."""
        return self._open(create=False, strict=False)

    def writer(self) -> StateStore:
        """The database to write, created if need be; its UsageError if it cannot be used."""
        store = self._open(create=True, strict=True)
        assert store is not None  # created when absent
        return store

    def _open(self, *, create: bool, strict: bool) -> StateStore | None:
        with self._lock:
            if self._own is not None:
                return self._own
            if self._error is not None:
                if create or strict:
                    raise self._error
                return None
            if not create and not (self.state_dir / DB_FILE).is_file():
                return None  # no build recorded here (and no need to load SQLite to know)
            from lfsplug_state.schema import StateFileError
            from lfsplug_state.store import StateStore

            try:
                self._own = StateStore.open(self.state_dir, create=create)
            except FileNotFoundError:  # removed since it was seen
                return None
            except StateFileError as exc:
                self._error = exc
                if create or strict:
                    raise
                self._warn(exc)
                return None
            return self._own

    def _warn(self, exc: UsageError) -> None:
        if not self._warned:
            self._warned = True
            click.echo(f"lfsplug: warning: {exc}; {self.consequence}", err=True)

    def read(self, reading: Callable[[StateStore], T], empty: T) -> T:
        """``reading(store)``, or ``empty`` when there is no database, or when it cannot be
        used: a damage found only now (deep in the file) is said once, as when opening; a run
        being recorded stops there (exit 4)."""
        store = self.reader()
        if store is None:
            return empty
        from lfsplug_state.schema import StateFileError

        try:
            return reading(store)
        except StateFileError as exc:
            if self.recorder is not None:
                raise
            with self._lock:
                self._warn(exc)
            return empty

    def close(self) -> None:
        """Close the connection (a later use opens it again)."""
        with self._lock:
            if self._own is not None:
                self._own.close()
                self._own = None

    # -- the current run -----------------------------------------------------------------------

    def current_run(self) -> StoredRun | None:
        recorder = self.recorder
        run_id = recorder.run_id if recorder is not None else None
        store = self.reader()
        if recorder is None or run_id is None or store is None:
            return None
        from lfsplug_state.queries import read_run

        # the counts are recorded when the run ends: until then, the recorder's own
        return replace(read_run(store, run_id, live=True), counts=dict(recorder.counts))

    def flush(self) -> None:
        if self.recorder is not None:
            self.recorder.flush()

    def record_run_metrics(self, metrics: Mapping[str, Any]) -> None:
        if self.recorder is not None:
            self.recorder.record_run_metrics(metrics)

    # -- recorded runs -------------------------------------------------------------------------

    def run(self, run_id: int | None = None) -> StoredRun:
        store = self._open(create=False, strict=True)
        if store is None:
            raise UsageError(f"no build recorded in {self.state_dir} (no {DB_FILE}): "
                             f"lfsplug run records one; --state-dir DIR reads another")
        from lfsplug_state.queries import read_run

        live = self.recorder is not None and run_id == self.recorder.run_id
        return read_run(store, run_id, live=live)

    def results(self, run_id: int) -> Sequence[StoredResult]:
        from lfsplug_state.queries import read_results

        return self.read(lambda store: read_results(store, run_id), [])

    def events(self, run_id: int) -> Sequence[StoredEvent]:
        from lfsplug_state.queries import read_events

        return self.read(lambda store: read_events(store, run_id), [])

    def samples(self, run_id: int) -> StoredSamples:
        from lfsplug import StoredSamples
        from lfsplug_state.queries import read_samples

        return self.read(lambda store: read_samples(store, run_id), StoredSamples())

    def last_pass(self, name: str, *, any_target: bool = False) -> StoredResult | None:
        from lfsplug_state.queries import read_last_pass

        target = self.labels.get("target")
        return self.read(lambda store: read_last_pass(store, name, target,
                                                      any_target=any_target), None)

    # -- imported history ----------------------------------------------------------------------

    def history(self) -> Sequence[HistoryEntry]:
        return self.read(lambda store: store.history(), [])

    def add_history(self, source: str, entries: Sequence[HistoryEntry]) -> int:
        return self.writer().add_history(source, entries)
