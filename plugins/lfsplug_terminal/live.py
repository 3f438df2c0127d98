"""The live dashboard: the board drawn with rich on a terminal, lines printed above it.

``rich.live.Live`` runs with its own refresh off; a thread of ours looks at the board every
``interval`` (0.1 s: at most 10 redraws a second) and redraws only when the board changed or
the clock it shows moved to another second. Lines (a finished script, a failure's log tail, a
log record) are printed above the board, which keeps them in the terminal's scrollback; each
block is printed whole under one lock, so that parallel scripts never interleave. ``stop``
ends the thread and the display and shows the cursor again, whatever ended the build (its end,
a failure, Ctrl-C); the board then leaves the screen, and the summary follows the lines.
While the board is up the terminal does not echo what is typed: an echoed ``^C`` at the end of
a full last line would wrap it and scroll the board, and the board's top line would stay behind
as debris when the board leaves.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from lfsplug_terminal.board import Board
from lfsplug_terminal.lines import Line, Style
from lfsplug_terminal.render import render

INTERVAL = 0.1


def rich_style(style: Style) -> str:
    """click's style keywords as a rich style string: ``{"fg": "red", "bold": True}`` is
    ``"bold red"``."""
    words = [word for word in ("bold", "dim", "underline") if style.get(word)]
    if style.get("fg"):
        words.append(str(style["fg"]))
    return " ".join(words)


class Dashboard:
    """Draws ``board`` on the terminal ``out`` while the build runs."""

    def __init__(self, out: TextIO, board: Board, *, interval: float = INTERVAL,
                 console: Console | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.board = board
        self.interval = interval
        self.clock = clock
        self.console = console or Console(file=out, highlight=False, markup=False,
                                          emoji=False)
        self.err = sys.stderr
        self.lock = threading.RLock()
        self.live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown: tuple[int, int] = (-1, -1)
        self._saved: tuple[TextIO, TextIO] = (sys.stdout, sys.stderr)
        #: the terminal's settings before echo was turned off, and its descriptor
        self._echo: tuple[int, list[Any]] | None = None
        #: redraws so far, and the CPU time (s) the refresh thread spent in them
        self.redraws = 0
        self.render_cpu = 0.0
        self.thread_cpu = 0.0

    # -- lines above the board -----------------------------------------------------------------

    def lines(self, lines: Sequence[Line]) -> None:
        """Print the lines above the board, as one block."""
        text = Text("\n").join(Text(line.text, style=rich_style(line.style)) for line in lines)
        with self.lock:
            self.console.print(text, soft_wrap=True)

    def raw(self, text: str) -> None:
        """A log record, formatted already (colorlog's colours included)."""
        if not _isatty(self.err):
            self.err.write(text + "\n")
            self.err.flush()
            return
        self.ansi_lines([text])

    def ansi_lines(self, lines: Sequence[str]) -> None:
        """Lines that may hold colours as escape sequences, above the board."""
        text = Text("\n").join(Text.from_ansi(line) for line in lines)
        with self.lock:
            self.console.print(text, soft_wrap=True)

    # -- the display ---------------------------------------------------------------------------

    def start(self) -> None:
        """Show the board and start redrawing it."""
        with self.lock:
            if self.live is not None:
                return
            # rich's own redirection of sys.stdout/sys.stderr is off: click.echo looks
            # through its proxy to the file beneath (the proxy reports no encoding), and so
            # would write into the middle of the board
            self.live = Live(self._picture(), console=self.console, auto_refresh=False,
                             transient=True, redirect_stdout=False, redirect_stderr=False)
            self._hush()
            self.live.start(refresh=True)
            self._redirect()
        self._stop.clear()
        self._thread = threading.Thread(target=self._refresh, name="lfsplug-dashboard",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop redrawing, take the board off the screen, show the cursor. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
        with self.lock:
            live, self.live = self.live, None
            if live is not None:
                self._restore()
                live.stop()
                self._unhush()

    def _hush(self) -> None:
        """Turn the terminal's echo off (on the dashboard's terminal, when this process is in
        its foreground: a background one would be stopped for changing it)."""
        try:
            fd = self.console.file.fileno()
            if not os.isatty(fd) or os.tcgetpgrp(fd) != os.getpgrp():
                return
            settings = termios.tcgetattr(fd)
            quiet = list(settings)
            quiet[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSANOW, quiet)
        except (OSError, ValueError, termios.error):
            return  # not a real terminal (a test's console): nothing to hush
        self._echo = (fd, settings)

    def _unhush(self) -> None:
        echo, self._echo = self._echo, None
        if echo is not None:
            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(echo[0], termios.TCSANOW, echo[1])

    def _redirect(self) -> None:
        """Send what others write to sys.stdout (and sys.stderr, if it is a terminal too)
        above the board."""
        self._saved = (sys.stdout, sys.stderr)
        if sys.stdout is self.console.file or _isatty(sys.stdout):
            sys.stdout = Redirect(self, sys.stdout)
        if _isatty(sys.stderr):
            sys.stderr = Redirect(self, sys.stderr)

    def _restore(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, Redirect):
                stream.flush()
        sys.stdout, sys.stderr = self._saved

    def _refresh(self) -> None:
        began = time.thread_time()
        try:
            while not self._stop.wait(self.interval):
                if self._changed():
                    self.redraw()
        finally:
            self.thread_cpu += time.thread_time() - began

    def _now_showing(self, now: float) -> tuple[int, int]:
        """What a redraw at ``now`` would show: the board's version, the clock's second."""
        return self.board.version, int(now - self.board.started)

    def _changed(self) -> bool:
        return self._now_showing(self.clock()) != self._shown

    def redraw(self) -> None:
        """Draw the board as it is now."""
        began = time.thread_time()
        now = self.clock()
        shown = self._now_showing(now)
        picture = self._picture(now)
        with self.lock:
            if self.live is not None:
                self.live.update(picture, refresh=True)
        self._shown = shown
        self.redraws += 1
        self.render_cpu += time.thread_time() - began

    def _picture(self, now: float | None = None) -> RenderableType:
        now = self.clock() if now is None else now
        size = self.console.size
        return render(self.board.view(now), height=size.height, width=size.width)

    def stats(self) -> dict[str, float]:
        return {"redraws": float(self.redraws), "render_cpu": self.render_cpu,
                "thread_cpu": self.thread_cpu}


class Redirect(io.TextIOBase):
    """Stands for sys.stdout or sys.stderr while the board is up: whole lines go above the
    board (escape sequences read as colours), a partial line waits for its end. It reports
    the encoding of the file it stands for, so that click.echo writes through it."""

    def __init__(self, dashboard: Dashboard, file: TextIO) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.file = file
        self.partial = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]  # TextIOBase's is None
        return self.file.encoding or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]  # TextIOBase's is None
        return self.file.errors or "strict"

    def write(self, text: str) -> int:
        *complete, self.partial = (self.partial + text).split("\n")
        if complete:
            self.dashboard.ansi_lines(complete)
        return len(text)

    def flush(self) -> None:
        if self.partial:
            self.dashboard.ansi_lines([self.partial])
            self.partial = ""

    def isatty(self) -> bool:
        return _isatty(self.file)

    def fileno(self) -> int:
        return self.file.fileno()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
