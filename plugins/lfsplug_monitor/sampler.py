"""What one tick measures: the machine, the watched directories, each script's process tree.

The machine's figures come from psutil (CPU, memory, swap), ``os.getloadavg`` and, where the
kernel has it, ``/proc/pressure`` (pressure stall information, the ``avg10`` of ``some``). The
watched directories' figures come from :func:`statvfs`, a module attribute that tests replace to
fake a filling disk.

A script's process tree is walked from its process group leader (``RunningScript.pid``) down
through ``/proc/PID/task/TID/children`` (psutil's ``children(recursive=True)`` where the kernel
lacks that file, which scans every process). Its psutil ``Process`` objects are kept between
ticks. CPU use is measured from the tree's total CPU time, each process's own plus what it
reaped from children that exited (``children_user``/``children_system``): so the compilers a
``make`` starts and reaps between two ticks are counted, which sampling each process's
``cpu_percent`` would miss. A process that ends while it is measured is simply left out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

__all__ = ["Sampler", "TreeState", "read_psi", "statvfs"]

#: The statvfs the sampler calls (tests replace it with a fake that reports a filling disk).
statvfs: Callable[[str], os.statvfs_result] = os.statvfs

_PSI = ("cpu", "memory", "io")
_PRESSURE = Path("/proc/pressure")


def read_psi(root: Path = _PRESSURE) -> dict[str, float]:
    """``{"psi_cpu": avg10, ...}`` from ``/proc/pressure`` (empty where it does not exist)."""
    values: dict[str, float] = {}
    for resource in _PSI:
        try:
            with open(root / resource, encoding="ascii") as handle:
                first = handle.readline()
        except OSError:
            continue
        for word in first.split():
            if word.startswith("avg10="):
                with contextlib.suppress(ValueError):
                    values[f"psi_{resource}"] = float(word[6:])
                break
    return values


def disk_figures(label: str, path: str) -> dict[str, float]:
    """``disk_free:L`` (bytes an unprivileged user may use), ``disk_percent:L`` (used, as df
    counts it), ``inodes_free:L`` and ``disk_used:L`` (bytes) of the file system at ``path``."""
    st = statvfs(path)
    free = st.f_bavail * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    percent = 100.0 * used / (used + free) if used + free > 0 else 0.0
    return {f"disk_free:{label}": float(free), f"disk_percent:{label}": round(percent, 2),
            f"inodes_free:{label}": float(st.f_favail), f"disk_used:{label}": float(used)}


@dataclass
class TreeState:
    """What the sampler remembers of one script's tree between ticks."""

    root: int
    #: the tree's total CPU time (s) at the last tick, and when
    cpu_total: float = 0.0
    cpu_time: float = 0.0
    procs: dict[int, psutil.Process] = field(default_factory=dict)
    #: last bytes read and written seen per live process, and the sum for those that ended
    io_live: dict[int, tuple[int, int]] = field(default_factory=dict)
    io_gone: list[int] = field(default_factory=lambda: [0, 0])


class Sampler:
    """Measures the machine, the directories and process trees; keeps no thread of its own."""

    def __init__(self, watch: dict[str, Path]) -> None:
        import psutil

        self._psutil = psutil
        #: the watched directories that exist, and those that do not (yet: a build's first
        #: scripts often make ``$LFS/sources``), looked for again at every tick
        self.watch: dict[str, Path] = {}
        self.absent = dict(watch)
        self.revisit()
        self.trees: dict[str, TreeState] = {}
        self.cores = os.cpu_count() or 1
        self._children_file = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()
        psutil.cpu_percent(None)  # the baseline of the first system figure

    def revisit(self) -> None:
        """Start watching the directories that have appeared since the last look."""
        for label in [label for label, path in self.absent.items() if path.is_dir()]:
            self.watch[label] = self.absent.pop(label)

    # -- the machine ---------------------------------------------------------------------------

    def system(self) -> dict[str, float]:
        """One system sample's values."""
        psutil = self._psutil
        if self.absent:
            self.revisit()
        memory = psutil.virtual_memory()
        values = {
            "cpu_percent": float(psutil.cpu_percent(None)),
            "mem_percent": float(memory.percent),
            "mem_available": float(memory.available),
            "mem_total": float(memory.total),
        }
        with contextlib.suppress(OSError, RuntimeError):  # no swap accounting (containers)
            values["swap_percent"] = float(psutil.swap_memory().percent)
        with contextlib.suppress(OSError):
            values["load1"] = round(os.getloadavg()[0], 2)
        for label, path in list(self.watch.items()):
            try:
                values.update(disk_figures(label, str(path)))
            except OSError:
                continue  # unmounted or gone since the start: nothing to say this tick
        values.update(read_psi())
        return values

    def used_kib(self, label: str) -> int | None:
        """The used space of the file system of watched directory ``label``, in KiB."""
        path = self.watch.get(label)
        if path is None:
            return None
        try:
            st = statvfs(str(path))
        except OSError:
            return None
        return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024

    # -- process trees -------------------------------------------------------------------------

    def end(self, name: str) -> None:
        """The script ended: forget its tree."""
        self.trees.pop(name, None)

    def _pids(self, root: int) -> list[int]:
        """The root and every descendant, from the kernel's list of each task's children."""
        if not self._children_file:
            try:
                proc = self._psutil.Process(root)
                return [root, *(p.pid for p in proc.children(recursive=True))]
            except self._psutil.Error:
                return []
        found, todo = [], [root]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue  # ended meanwhile
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                        todo.extend(int(child) for child in handle.read().split())
                except OSError:
                    continue
        return found

    def tree(self, name: str, root: int, started: float, now: float) -> dict[str, float] | None:
        """One sample of script ``name``'s tree (leader ``root``, started at ``started``: the
        first sample's CPU use is counted from then), or None if the tree is gone."""
        state = self.trees.get(name)
        if state is None or state.root != root:  # a new attempt is a new tree
            state = self.trees[name] = TreeState(root=root, cpu_time=started)
        import psutil

        total_cpu = 0.0
        rss = 0
        count = 0
        seen: dict[int, psutil.Process] = {}
        for pid in self._pids(root):
            proc = state.procs.get(pid)
            try:
                if proc is None:
                    proc = psutil.Process(pid)
                with proc.oneshot():
                    times = proc.cpu_times()
                    memory = proc.memory_info()
                    io = _io(proc)
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue  # it ended mid-walk (or is not ours to read): not an error
            seen[pid] = proc
            count += 1
            total_cpu += times.user + times.system + times.children_user + times.children_system
            rss += memory.rss
            if io is not None:
                state.io_live[pid] = io
        for pid in [p for p in state.io_live if p not in seen]:
            read, written = state.io_live.pop(pid)
            state.io_gone[0] += read
            state.io_gone[1] += written
        state.procs = seen
        if not count:
            return None
        elapsed = now - state.cpu_time
        used = max(0.0, total_cpu - state.cpu_total)
        state.cpu_total, state.cpu_time = max(total_cpu, state.cpu_total), now
        return {
            "cpu_percent": round(100.0 * used / elapsed, 2) if elapsed > 0 else 0.0,
            "rss": float(rss),
            "procs": float(count),
            "read_bytes": float(state.io_gone[0] + sum(r for r, _ in state.io_live.values())),
            "write_bytes": float(state.io_gone[1] + sum(w for _, w in state.io_live.values())),
        }


def _io(proc: psutil.Process) -> tuple[int, int] | None:
    import psutil

    try:
        counters = proc.io_counters()
    except (AttributeError, NotImplementedError, psutil.AccessDenied):
        return None  # no I/O accounting here, or a process of another user (su, sudo)
    return counters.read_bytes, counters.write_bytes
