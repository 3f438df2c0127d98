"""A GNU make jobserver shared by every script of a parallel build.

The book sets ``MAKEFLAGS=-j$(nproc)``: right for one build at a time, but with ``-j 4`` four
packages would each run ``nproc`` compilers. GNU make can share one pool of job slots between
independent makes through a *jobserver*: a pipe holding one byte per free slot beyond the one
every make owns. lfsplug creates the pipe, and every script inherits it through
``MAKEFLAGS="-jN --jobserver-auth=R,W"`` (the form make 4.x passes to its sub-makes, understood
by every GNU make since 4.0). The scheduler takes a
slot for every script beyond the first and gives it back when the script ends, so the makes of
``k`` running scripts share ``slots - k`` tokens on top of their own: the machine runs at most
``slots`` jobs at once, however the scripts divide them.

``slots`` is the number of CPUs, or the ``-j`` value if that is larger (then each script still
gets one job: the user asked for that many scripts at once).
"""

from __future__ import annotations

import contextlib
import os
import threading

__all__ = ["Jobserver"]


class Jobserver:
    """The pipe and its tokens; :meth:`take` and :meth:`give` are the scheduler's side."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a jobserver needs at least one slot")
        self.slots = slots
        self.read_fd, self.write_fd = os.pipe()
        # the scheduler must never wait for a token, but O_NONBLOCK set on the scripts' end
        # would be shared with every make (it belongs to the open file, not the descriptor):
        # open the pipe a second time, as a file of its own, for the scheduler's reads
        self._poll_fd = os.open(f"/proc/self/fd/{self.read_fd}", os.O_RDONLY | os.O_NONBLOCK)
        self._held = 0
        self._lock = threading.Lock()
        if slots > 1:
            os.write(self.write_fd, b"+" * (slots - 1))

    @property
    def fds(self) -> tuple[int, int]:
        return self.read_fd, self.write_fd

    def makeflags(self) -> str:
        r, w = self.fds
        return f"-j{self.slots} --jobserver-auth={r},{w}"

    def take(self) -> bool:
        """Take a token without waiting; False when every slot is in use."""
        try:
            got = os.read(self._poll_fd, 1)
        except BlockingIOError:
            return False
        if not got:
            return False
        with self._lock:
            self._held += 1
        return True

    def give(self) -> None:
        """Give back a token taken with :meth:`take`."""
        with self._lock:
            if self._held == 0:
                return
            self._held -= 1
        os.write(self.write_fd, b"+")

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd, self._poll_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

