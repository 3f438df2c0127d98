"""The progress of long work before the build (``lfsplug_progress``): discovery, validation.

On a terminal a transient line on standard error (``validating 812/2300 scripts…``), redrawn in
place and erased when the work ends; elsewhere (a pipe, CI, ``--plain``, ``NO_COLOR``,
``TERM=dumb``) a whole line, ``lfsplug: validating 812/2300 scripts...``, at most every
:data:`PLAIN_EVERY` seconds, and none with ``--quiet``. The kernel calls the hook only for work
that outlasts a second (``lfsplug.WorkProgress``), so quick commands print nothing.
"""

from __future__ import annotations

import shutil
import threading
import time
from typing import TextIO

from lfsplug_terminal.lines import encodable

__all__ = ["PLAIN_EVERY", "ProgressDisplay"]

#: In plain mode, the least time between two progress lines.
PLAIN_EVERY = 5.0


class ProgressDisplay:
    """Shows the ``lfsplug_progress`` calls of one command on ``stream``."""

    def __init__(self, stream: TextIO, transient: bool, quiet: bool) -> None:
        self.stream = stream
        self.transient = transient
        self.quiet = quiet
        self.drawn = ""  # the line on the screen now
        self.last_line: float | None = None
        self.dots = "…" if encodable("…", getattr(stream, "encoding", None)) else "..."
        self._lock = threading.Lock()

    @staticmethod
    def text(task: str, unit: str, done: int, total: int | None) -> str:
        return f"{task} {done}/{total} {unit}" if total is not None else f"{task} {done} {unit}"

    def show(self, task: str, unit: str, done: int, total: int | None) -> None:
        with self._lock:
            if self.transient:
                self._draw(None if done == total else self.text(task, unit, done, total))
            elif not self.quiet and done != total:
                now = time.monotonic()
                if self.last_line is None or now - self.last_line >= PLAIN_EVERY:
                    self.last_line = now
                    self._write(f"lfsplug: {self.text(task, unit, done, total)}...\n")

    def _draw(self, text: str | None) -> None:
        """Draw ``text`` over the line, or erase it (None)."""
        if text is None:
            if self.drawn:
                self._write("\r\x1b[K")
                self.drawn = ""
            return
        width = shutil.get_terminal_size((80, 24)).columns
        line = (text + self.dots)[:max(10, width - 1)]
        if line != self.drawn:
            self._write("\r" + line + "\x1b[K")
            self.drawn = line

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: progress is not worth an error
            pass
