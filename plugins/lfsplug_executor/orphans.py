"""Scripts left running by an lfsplug that died (``kill -9``, a power cut of the terminal).

Each script runs under a keeper that ends it when lfsplug dies (:mod:`lfsplug_executor.keeper`).
When the keeper is killed too, the script runs on, orphaned, and a new ``lfsplug run`` would
build the same package over it. To prevent that, the executor notes each script in
``running/kPID`` under the state directory, PID its keeper's, before the script is started (the
script, its keeper's pid and start time, its cgroup if any, and lfsplug's own pid and start
time), adds its process group (the leader's pid and start time in the kernel's clock ticks) as
soon as it has started where there is no cgroup (a cgroup holds every process of the script),
and removes the note when the script has ended. At the start of the
next run, a note whose lfsplug is gone names a script that may still be running: its keeper, if
it is still the same process, is asked (SIGTERM) to end every process of the script, whatever
its group; its cgroup, if any, is killed (``cgroup.kill``) and removed; and if its leader is
still the same process (same pid *and* same start time, so a recycled pid is never hit), the
whole group is ended before anything else starts. If the leader has exited but processes of its
group remain (a daemon a test suite started), they are the script's too: Linux never gives a new
process a number that is still some group's id, so a group id in use is the same group.
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
    keeper: int = 0


class ProcessBook:
    """The notes of this lfsplug's running scripts, one small file each, named after the keeper
    that runs the script (``running/kPID``)."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / FOLDER
        self.me = os.getpid()
        self.my_start = start_time(self.me)
        self._lock = threading.Lock()
        self._made = False
        #: keeper pid -> the script it runs now
        self.keepers: dict[int, str] = {}
        self._notes: dict[int, dict[str, object]] = {}

    def add(self, script: str, *, keeper: int, cgroup: str | None = None) -> None:
        """Note the script's keeper and cgroup: written before the script is started."""
        note: dict[str, object] = {
            "pgid": None, "start": None, "script": script, "owner": self.me,
            "owner_start": self.my_start, "time": time.time(), "keeper": keeper,
            "keeper_start": start_time(keeper), "cgroup": cgroup}
        with self._lock:
            self.keepers[keeper] = script
            self._notes[keeper] = note
            if not self._made:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._made = True
        self._write(keeper, note, fresh=True)

    def started(self, keeper: int, pgid: int) -> None:
        """Add the script's process group (its leader's pid) to its note."""
        with self._lock:
            note = self._notes.get(keeper)
            if note is None:
                return
            note.update(pgid=pgid, start=start_time(pgid))
        self._write(keeper, note)

    def _write(self, keeper: int, note: dict[str, object], *, fresh: bool = False) -> None:
        """One write of a few hundred bytes. A new note is written in place (torn by a crash,
        it is skipped: the script had not started); an update is renamed into place, so a crash
        leaves the old note or the new one, never half of one."""
        path = self.folder / f"k{keeper}"
        tmp = path if fresh else self.folder / f".k{keeper}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError:
            return  # a read-only state directory: the run goes on, without this safety net
        try:
            os.write(fd, json.dumps(note).encode())
        except OSError:
            return
        finally:
            os.close(fd)
        if not fresh:
            with contextlib.suppress(OSError):
                os.replace(tmp, path)

    def remove(self, keeper: int) -> None:
        """The keeper's script has ended: its note goes."""
        with self._lock:
            self.keepers.pop(keeper, None)
            self._notes.pop(keeper, None)
        with contextlib.suppress(OSError):
            (self.folder / f"k{keeper}").unlink()


def _alive(pid: int, start: object) -> bool:
    return isinstance(start, int) and start_time(pid) == start


def end_orphans(state_dir: Path, grace: float = 5.0) -> list[Orphan]:
    """End the process groups that a dead lfsplug left running; forget the notes of groups
    that are gone. Notes of a live lfsplug (another run on this state directory) are kept."""
    folder = state_dir / FOLDER
    try:
        notes = [p for p in folder.iterdir() if p.name.isdigit()  # the notes of 0.1
                 or (p.name.startswith("k") and p.name[1:].isdigit())]
    except OSError:
        return []
    found = []
    for path in notes:
        try:
            note = json.loads(path.read_text())
            owner = int(note["owner"])
            pgid = int(note["pgid"]) if note.get("pgid") is not None else 0
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # a torn note: nothing to act on
            continue
        if owner != os.getpid() and _alive(owner, note.get("owner_start")):
            continue  # its lfsplug still runs
        ended = _end_keeper(note, grace)
        leader = start_time(pgid) if pgid > 0 else None
        if pgid <= 0:  # killed before the script started, or just after (keeper, cgroup)
            pass
        elif leader is None:  # the leader is gone: what is left of its group is the script's
            if _group_exists(pgid):
                ended = _end_group(pgid, grace) or ended
        elif leader == note.get("start"):  # the same leader: not a recycled pid
            ended = _end_group(pgid, grace) or ended
        keeper = note.get("keeper")
        found.append(Orphan(pgid, str(note.get("script", "?")), owner, ended,
                            keeper if isinstance(keeper, int) else 0))
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
