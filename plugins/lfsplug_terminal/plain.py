"""Plain mode: whole lines on a stream (CI, a pipe, ``--plain``), and a heartbeat.

Every block of lines is written under one lock, so that the lines of scripts running in
parallel never interleave. When nothing was printed for ``heartbeat`` seconds (a long gcc build
prints no line of lfsplug's own for an hour), a thread prints a heartbeat line: elapsed time,
done/total, the scripts running with their elapsed and expected times, the ETA when the
monitor gives one, and why slots of ``-j N`` are idle when they are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

import click

from lfsplug_terminal.board import Board
from lfsplug_terminal.lines import Line, heartbeat_line


class PlainOutput:
    """Writes lines to ``out`` (and log records to ``err``), with colours if ``colour``."""

    def __init__(self, out: TextIO, err: TextIO, board: Board, *, colour: bool = False,
                 heartbeat: float | None = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.err = err
        self.board = board
        self.colour = colour
        self.heartbeat = heartbeat
        self.clock = clock
        self.lock = threading.Lock()
        self.last_print = clock()
        self.heartbeats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def lines(self, lines: Sequence[Line]) -> None:
        """Write the lines as one block; each counts as something printed."""
        text = "".join(self._styled(line) + "\n" for line in lines)
        with self.lock:
            self.out.write(text)
            self.out.flush()
            self.last_print = self.clock()

    def raw(self, text: str) -> None:
        """A log record, formatted already (colorlog's colours included), to ``err``."""
        with self.lock:
            self.err.write(text + "\n")
            self.err.flush()
            self.last_print = self.clock()

    def _styled(self, line: Line) -> str:
        if self.colour and line.style:
            return click.style(line.text, **line.style)
        return line.text

    # -- the heartbeat -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the heartbeat thread (none if ``heartbeat`` is None)."""
        self.last_print = self.clock()
        if self.heartbeat is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="lfsplug-heartbeat",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def due_in(self) -> float:
        """Seconds until the next heartbeat is due (0 or less: now)."""
        assert self.heartbeat is not None
        return self.last_print + self.heartbeat - self.clock()

    def _beat(self) -> None:
        while True:
            wait = self.due_in()
            if wait > 0:
                if self._stop.wait(wait):
                    return
                continue
            self.beat()

    def beat(self) -> None:
        """Print one heartbeat line now."""
        view = self.board.view()
        self.heartbeats += 1
        self.lines([heartbeat_line(view.done, view.total, view.elapsed, view.running(),
                                   view.eta, idle=view.idle)])
