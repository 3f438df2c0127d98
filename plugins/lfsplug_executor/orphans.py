"""Scripts left running by an lfsplug that died (``kill -9``, a power cut of the terminal).

Each script runs in a session of its own, so when lfsplug dies without ending it, it goes on
running, orphaned, and a new ``lfsplug run`` would build the same package over it. To prevent
that, the executor notes each running process group in ``running/PGID`` under the state
directory (the group's id, its leader's start time in the kernel's clock ticks, the script, its
keeper's pid and start time, its cgroup if any, and lfsplug's own pid and start time) before
the script may run, and removes the note when it has reaped the script. At the start of the next
run, a note whose lfsplug is gone names a script that may still be running: its keeper, if it is
still the same process, is asked (SIGTERM) to end every process of the script, whatever its
group; its cgroup, if any, is killed (``cgroup.kill``) and removed; and if its leader is still
the same process (same pid *and* same start time, so a recycled pid is never hit), the whole
group is ended before anything else starts. If the leader has exited but
processes of its group remain (a daemon a test suite started), they are the script's too: Linux
never gives a new process a number that is still some group's id, so a group id in use is the
same group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Orphan", "ProcessBook", "end_orphans", "start_time"]

FOLDER = "running"


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or
    None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = data[data.rfind(b")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Orphan:
    """A process group an earlier lfsplug left running, and what became of it."""

    pgid: int
    script: str
    owner: int
    ended: bool


class ProcessBook:
    """The notes of this lfsplug's running process groups, one small file each."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / FOLDER
        self.me = os.getpid()
        self.my_start = start_time(self.me)
        self._lock = threading.Lock()
        self._made = False
        #: leader pid -> its keeper's pid, of the scripts running now
        self.keepers: dict[int, int] = {}

    def add(self, pgid: int, script: str, *, keeper: int | None = None,
            cgroup: str | None = None) -> None:
        """Note the script's group (and its keeper and cgroup); written before it may run."""
        note = {"pgid": pgid, "start": start_time(pgid), "script": script,
                "owner": self.me, "owner_start": self.my_start, "time": time.time(),
                "keeper": keeper, "keeper_start": keeper and start_time(keeper),
                "cgroup": cgroup}
        if keeper is not None:
            self.keepers[pgid] = keeper
        with self._lock:
            if not self._made:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._made = True
        # one write of a few dozen bytes; a note torn by a crash is skipped by end_orphans
        try:
            fd = os.open(self.folder / str(pgid), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError:
            return  # a read-only state directory: the run goes on, without this safety net
        try:
            os.write(fd, json.dumps(note).encode())
        except OSError:
            pass
        finally:
            os.close(fd)

    def remove(self, pgid: int) -> None:
        self.keepers.pop(pgid, None)
        with contextlib.suppress(OSError):
            (self.folder / str(pgid)).unlink()


def _alive(pid: int, start: object) -> bool:
    return isinstance(start, int) and start_time(pid) == start


def end_orphans(state_dir: Path, grace: float = 5.0) -> list[Orphan]:
    """End the process groups that a dead lfsplug left running; forget the notes of groups
    that are gone. Notes of a live lfsplug (another run on this state directory) are kept."""
    folder = state_dir / FOLDER
    try:
        notes = [p for p in folder.iterdir() if p.name.isdigit()]
    except OSError:
        return []
    found = []
    for path in notes:
        try:
            note = json.loads(path.read_text())
            pgid, owner = int(note["pgid"]), int(note["owner"])
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # a torn note: nothing to act on
            continue
        if owner != os.getpid() and _alive(owner, note.get("owner_start")):
            continue  # its lfsplug still runs
        ended = _end_keeper(note, grace)
        leader = start_time(pgid)
        if leader is None:  # the leader is gone: what is left of its group is the script's
            if _group_exists(pgid):
                ended = _end_group(pgid, grace) or ended
        elif leader == note.get("start"):  # the same leader: not a recycled pid
            ended = _end_group(pgid, grace) or ended
        found.append(Orphan(pgid, str(note.get("script", "?")), owner, ended))
        path.unlink(missing_ok=True)
    return found


def _end_keeper(note: dict[str, object], grace: float) -> bool:
    """Ask the script's keeper, if it still runs, to end every process of the script (it sees
    them all, whatever their group); then kill what is left in its cgroup. True if it did."""
    ended = False
    keeper = note.get("keeper")
    if isinstance(keeper, int) and _alive(keeper, note.get("keeper_start")):
        with contextlib.suppress(OSError):
            os.kill(keeper, signal.SIGTERM)
        deadline = time.monotonic() + 2 * grace + 5.0
        while _running(keeper) and time.monotonic() < deadline:
            time.sleep(0.05)
        ended = True
    cgroup = note.get("cgroup")
    if isinstance(cgroup, str) and os.path.basename(cgroup).startswith("lfsplug-"):
        with contextlib.suppress(OSError):
            with open(os.path.join(cgroup, "cgroup.procs")) as procs:
                ended = ended or bool(procs.read().strip())
            with open(os.path.join(cgroup, "cgroup.kill"), "w") as kill:
                kill.write("1")
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                os.rmdir(cgroup)
            if not os.path.isdir(cgroup):
                break
            time.sleep(0.05)
    return ended


def _running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2:][:1] != b"Z"


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True


def _end_group(pgid: int, grace: float) -> bool:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except OSError:
            return True
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except OSError:
                return True
            time.sleep(0.05)
    return True
