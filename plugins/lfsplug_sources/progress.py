"""Progress of a fetch: rich progress bars on a terminal, whole lines elsewhere.

On a terminal (standard error a TTY, ``NO_COLOR`` unset, ``TERM`` set and not ``dumb``, and for
``run`` no ``--plain``), a bar per download under an overall bar of files, with the lines
(fetched, retried, failed) printed above them. Elsewhere (a pipe, CI) only the lines, each
whole, beginning ``lfsplug: sources:``: a log a person or a program can read.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import click

from lfsplug import wants_colour

if TYPE_CHECKING:
    from rich.progress import Progress, Task, TaskID

__all__ = ["PREFIX", "LineDisplay", "RichDisplay", "make_display"]

PREFIX = "lfsplug: sources: "


class LineDisplay:
    """Whole lines on standard error; downloads themselves print nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> LineDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def start(self, key: str, name: str, total: int | None, done: int) -> None:
        return None

    def advance(self, key: str, count: int) -> None:
        return None

    def finish(self, key: str) -> None:
        return None

    def file_done(self) -> None:
        return None

    def line(self, text: str) -> None:
        with self._lock:
            click.echo(PREFIX + text, err=True)


class RichDisplay(LineDisplay):
    """Bars on a terminal: one for the files, one per running download."""

    def __init__(self, files: int) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.text import Text

        class Bytes(DownloadColumn):
            def render(self, task: Task) -> Text:
                if task.fields.get("files"):
                    return Text(f"{task.completed:.0f}/{task.total:.0f} files")
                return super().render(task)

        class Speed(TransferSpeedColumn):
            def render(self, task: Task) -> Text:
                return Text("") if task.fields.get("files") else super().render(task)

        console = Console(file=sys.stderr, highlight=False)
        self.progress: Progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), Bytes(), Speed(),
            TimeRemainingColumn(), console=console, transient=True,
        )
        self.files: TaskID = self.progress.add_task("sources", total=files, files=True)
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, key: str, name: str, total: int | None, done: int) -> None:
        with self._lock:
            self.tasks[key] = self.progress.add_task(name, total=total, completed=done)

    def advance(self, key: str, count: int) -> None:
        task = self.tasks.get(key)
        if task is not None:
            self.progress.advance(task, count)

    def finish(self, key: str) -> None:
        with self._lock:
            task = self.tasks.pop(key, None)
        if task is not None:
            self.progress.remove_task(task)

    def file_done(self) -> None:
        self.progress.advance(self.files, 1)

    def line(self, text: str) -> None:
        with self._lock:
            self.progress.console.print(PREFIX + text, markup=False, soft_wrap=True)


def make_display(files: int, plain: bool) -> LineDisplay:
    """Bars on a terminal unless ``plain``, else lines."""
    if not plain and wants_colour(sys.stderr):
        return RichDisplay(files)
    return LineDisplay()
