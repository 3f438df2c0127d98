"""A line on stderr for report work that takes long: said once it has taken :data:`AFTER`
seconds (a big run's thousands of scripts and samples), then how long it took, so that a
person waiting knows what lfsplug is doing. Quick work says nothing."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import click

__all__ = ["AFTER", "SlowWork"]

#: Seconds of work before it is said (tests set 0: said at once).
AFTER = 1.0
_active = threading.local()


class SlowWork:
    """``with SlowWork("writing the html report of run 3"):`` says ``lfsplug: writing the
    html report of run 3 ...`` on stderr once the block has run :data:`AFTER` seconds, and
    ``lfsplug: ... done in 2.4 s`` as it ends. Within another one it says nothing (the outer
    one speaks for both)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.said = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._began = 0.0
        self._outer = False
        self._ended = False

    def __enter__(self) -> SlowWork:
        self._began = time.monotonic()
        if getattr(_active, "work", None) is not None:
            return self
        self._outer = True
        _active.work = self
        if AFTER <= 0:
            self._say()
        else:
            self._timer = threading.Timer(AFTER, self._say)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _say(self) -> None:
        with self._lock:
            if self._ended:
                return  # the timer fired as the work ended: nothing to say
            self.said = True
            click.echo(f"lfsplug: {self.what} ...", err=True)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if not self._outer:
            return
        _active.work = None
        with self._lock:
            self._ended = True
            if self._timer is not None:
                self._timer.cancel()
        if self.said and kind is None:
            elapsed = time.monotonic() - self._began
            click.echo(f"lfsplug: {self.what}: done in {elapsed:.1f} s", err=True)
