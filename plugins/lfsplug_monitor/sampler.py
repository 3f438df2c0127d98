"""What one tick measures: the machine, the watched directories, each script's process tree.

The machine's figures come from psutil (CPU), ``/proc/meminfo`` (memory and swap; psutil where
it is missing), ``os.getloadavg`` and, where the kernel has it, ``/proc/pressure`` (pressure
stall information, the ``avg10`` of ``some``). The watched directories' figures come from
:func:`statvfs`, a module attribute that tests replace to fake a filling disk. The size of
``$LFS`` itself, measured only as a script starts and ends, is :func:`tree_kib`'s: a ``du`` as
jhalfs runs it.

A script's process tree is walked from its process group leader (``RunningScript.pid``) down
through ``/proc/PID/task/TID/children``, reading each process's ``stat`` and ``io`` files
straight: the files psutil reads, at a third of its cost per process (the benchmark's figure),
which matters at ten ticks a second. Where the kernel lacks the ``children`` files, psutil's
``children(recursive=True)`` (which scans every process) walks it, and its ``Process`` objects
are kept between ticks. CPU use is measured from the tree's total CPU time, each process's own
plus what it reaped from children that exited (``cutime``/``cstime``): so the compilers a
``make`` starts and reaps between two ticks are counted, which sampling each process's
``cpu_percent`` would miss; the previous tick's total is the baseline. A process that ends
while it is measured is simply left out, and a pid reused by another process is told apart
by its start time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

__all__ = ["DU_EXCLUDE", "ProcFigures", "Sampler", "TreeState", "own_file_system", "read_proc",
           "read_psi", "statvfs", "tree_kib"]

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


def read_meminfo(path: str = "/proc/meminfo") -> dict[str, float] | None:
    """``mem_total``, ``mem_available`` (bytes), ``mem_percent`` (used, as psutil counts it)
    and ``swap_percent`` from one read of ``/proc/meminfo`` (psutil reads it twice and
    ``/proc/vmstat`` once for the same figures); None without ``MemAvailable``."""
    try:
        with open(path, "rb") as handle:
            lines = handle.read().split(b"\n")
    except OSError:
        return None
    kib = {}
    for line in lines:
        key, _, rest = line.partition(b":")
        if key in (b"MemTotal", b"MemAvailable", b"SwapTotal", b"SwapFree"):
            kib[key] = int(rest.split()[0]) * 1024
    total, available = kib.get(b"MemTotal"), kib.get(b"MemAvailable")
    if not total or available is None:
        return None
    figures = {"mem_total": float(total), "mem_available": float(available),
               "mem_percent": round(100.0 * (total - available) / total, 1)}
    swap = kib.get(b"SwapTotal", 0)
    figures["swap_percent"] = round(100.0 * (swap - kib.get(b"SwapFree", 0)) / swap, 1) if swap \
        else 0.0
    return figures


def disk_figures(label: str, path: str) -> dict[str, float]:
    """``disk_free:L`` (bytes an unprivileged user may use), ``disk_percent:L`` (used, as df
    counts it), ``inodes_free:L`` and ``disk_used:L`` (bytes) of the file system at ``path``."""
    st = statvfs(path)
    free = st.f_bavail * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    percent = 100.0 * used / (used + free) if used + free > 0 else 0.0
    return {f"disk_free:{label}": float(free), f"disk_percent:{label}": round(percent, 2),
            f"inodes_free:{label}": float(st.f_favail), f"disk_used:{label}": float(used)}


def own_file_system(path: Path) -> bool:
    """Whether ``path`` is the root of a file system of its own (``$LFS`` on its partition, as
    the book sets it up): only then does its file system's growth tell what a script needed.
    A module attribute, that tests replace along with :data:`statvfs`."""
    return os.path.ismount(path)


#: What jhalfs leaves out of its ``du -skx`` of ``$LFS`` (besides its own folder there).
DU_EXCLUDE = ("lost+found", "var/lib")


def tree_kib(root: Path, exclude: Sequence[Path] = (), budget: float = 10.0) -> int | None:
    """The size in KiB of the tree at ``root`` as jhalfs measures ``$LFS`` at each package's
    start and end: ``du -skx --exclude=lost+found --exclude=var/lib`` (and ``--exclude`` of
    each of ``exclude``, the state directory when it lies in ``$LFS``): one file system only,
    so the kernel's file systems mounted in ``$LFS`` are not walked. Without GNU ``du``, a walk
    adding up ``st_blocks`` the same way. None when it cannot be measured within ``budget``
    seconds (a huge tree on a slow disk) or at all."""
    du = shutil.which("du")
    if du is not None:
        argv = [du, "-skx", *(f"--exclude={p}" for p in (*DU_EXCLUDE, *map(str, exclude))),
                str(root)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=budget,
                                  check=False, env={"PATH": os.environ.get("PATH", ""),
                                                    "LC_ALL": "C"})
        except subprocess.TimeoutExpired:
            return None
        except OSError:
            done = None
        # du says what it could not read and exits 1, its total still printed; a du without
        # --exclude (busybox) says nothing on stdout
        words = done.stdout.split() if done is not None else []
        if words and words[0].isdigit():
            return int(words[0])
    return _walk_kib(root, {str(p) for p in exclude}, time.monotonic() + budget)


def _walk_kib(root: Path, exclude: set[str], deadline: float) -> int | None:
    """:func:`tree_kib` without ``du``: ``st_blocks`` of every file on ``root``'s file system,
    each hard-linked file once."""
    try:
        device = os.lstat(root).st_dev
    except OSError:
        return None
    blocks, seen, todo = 0, set[int](), [str(root)]
    names = {name for name in DU_EXCLUDE if "/" not in name}
    paths = {os.path.join(str(root), name) for name in DU_EXCLUDE if "/" in name} | exclude
    while todo:
        if time.monotonic() > deadline:
            return None
        top = todo.pop()
        with contextlib.suppress(OSError):
            blocks += os.lstat(top).st_blocks if top == str(root) else 0
            for entry in os.scandir(top):
                if entry.name in names or entry.path in paths:
                    continue
                st = entry.stat(follow_symlinks=False)
                if st.st_dev != device:
                    continue
                if st.st_nlink > 1 and not entry.is_dir(follow_symlinks=False):
                    if st.st_ino in seen:
                        continue
                    seen.add(st.st_ino)
                blocks += st.st_blocks
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
    return blocks // 2


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class ProcFigures:
    """One process at one tick: when it started (its identity, as pids are reused), its CPU
    time with what it reaped from children (s), resident memory (bytes), threads, I/O bytes."""

    start: float
    cpu: float
    rss: int
    threads: int
    io: tuple[int, int] | None


def read_proc(pid: int) -> ProcFigures | None:
    """The figures of ``pid`` from ``/proc/PID/stat`` and ``/proc/PID/io`` (the files psutil
    reads for them, without its per-call overhead); None once it has gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()  # the name may hold spaces and parentheses
    try:
        cpu = sum(int(v) for v in fields[11:15]) / _CLOCK_TICKS  # utime stime cutime cstime
        figures = ProcFigures(float(fields[19]), cpu, int(fields[21]) * _PAGE, int(fields[17]),
                              _read_io(pid))
    except (IndexError, ValueError):
        return None
    return figures


def _read_io(pid: int) -> tuple[int, int] | None:
    try:
        with open(f"/proc/{pid}/io", "rb") as handle:
            lines = handle.read().split(b"\n")
    except OSError:
        return None  # not ours to read (su, sudo), or gone
    values = dict(line.split(b": ", 1) for line in lines if b": " in line)
    try:
        return int(values[b"read_bytes"]), int(values[b"write_bytes"])
    except (KeyError, ValueError):
        return None


@dataclass
class TreeState:
    """What the sampler remembers of one script's tree between ticks."""

    root: int
    #: the tree's total CPU time (s) at the last tick, and when
    cpu_total: float = 0.0
    cpu_time: float = 0.0
    #: psutil's Process objects (only where the kernel lacks the ``children`` files)
    procs: dict[int, psutil.Process] = field(default_factory=dict)
    #: each live process's start, and the last I/O bytes seen of it; the sum for those gone
    starts: dict[int, float] = field(default_factory=dict)
    io_live: dict[int, tuple[int, int]] = field(default_factory=dict)
    io_gone: list[int] = field(default_factory=lambda: [0, 0])

    def forget(self, pid: int) -> None:
        """``pid`` ended (or is another process now): keep what it read and wrote."""
        read, written = self.io_live.pop(pid, (0, 0))
        self.io_gone[0] += read
        self.io_gone[1] += written
        self.starts.pop(pid, None)


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
        values = {"cpu_percent": float(psutil.cpu_percent(None))}
        memory = read_meminfo()
        if memory is not None:
            values.update(memory)
        else:  # no /proc/meminfo: psutil knows other ways (two files more on Linux)
            virtual = psutil.virtual_memory()
            values.update(mem_percent=float(virtual.percent),
                          mem_available=float(virtual.available), mem_total=float(virtual.total))
            with contextlib.suppress(OSError, RuntimeError):  # no swap accounting
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

    def _walk(self, root: int) -> list[tuple[int, ProcFigures]]:
        """The root and every descendant with its figures, from the kernel's list of each
        task's children (only the main task's, for a single-threaded process)."""
        found, todo = [], [root]
        while todo:
            pid = todo.pop()
            figures = read_proc(pid)
            if figures is None:
                continue  # ended meanwhile: not an error
            found.append((pid, figures))
            tids = [str(pid)]
            if figures.threads > 1:
                with contextlib.suppress(OSError):
                    tids = os.listdir(f"/proc/{pid}/task")
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                        todo.extend(int(child) for child in handle.read().split())
                except OSError:
                    continue
        return found

    def _walk_psutil(self, state: TreeState) -> list[tuple[int, ProcFigures]]:
        """The same through psutil, where the kernel has no ``children`` files."""
        import psutil

        try:
            pids = [state.root, *(p.pid for p in
                                  psutil.Process(state.root).children(recursive=True))]
        except psutil.Error:
            return []
        found, procs = [], {}
        for pid in pids:
            proc = state.procs.get(pid)
            try:
                proc = proc or psutil.Process(pid)
                with proc.oneshot():
                    times = proc.cpu_times()
                    figures = ProcFigures(
                        proc.create_time(),
                        times.user + times.system + times.children_user + times.children_system,
                        proc.memory_info().rss, proc.num_threads(), _io(proc))
            except psutil.Error:
                continue  # it ended mid-walk (or is not ours to read)
            procs[pid] = proc
            found.append((pid, figures))
        state.procs = procs
        return found

    def tree(self, name: str, root: int, started: float, now: float) -> dict[str, float] | None:
        """One sample of script ``name``'s tree (leader ``root``, started at ``started``: the
        first sample's CPU use is counted from then), or None if the tree is gone."""
        state = self.trees.get(name)
        if state is None or state.root != root:  # a new attempt is a new tree
            state = self.trees[name] = TreeState(root=root, cpu_time=started)
        found = self._walk(root) if self._children_file else self._walk_psutil(state)
        live = set()
        total_cpu, rss = 0.0, 0
        for pid, figures in found:
            if state.starts.get(pid, figures.start) != figures.start:
                state.forget(pid)  # the pid was reused by another process
            state.starts[pid] = figures.start
            live.add(pid)
            total_cpu += figures.cpu
            rss += figures.rss
            if figures.io is not None:
                state.io_live[pid] = figures.io
        for pid in [p for p in state.starts if p not in live]:
            state.forget(pid)
        if not found:
            return None
        elapsed = now - state.cpu_time
        used = max(0.0, total_cpu - state.cpu_total)
        state.cpu_total, state.cpu_time = max(total_cpu, state.cpu_total), now
        return {
            "cpu_percent": round(100.0 * used / elapsed, 2) if elapsed > 0 else 0.0,
            "rss": float(rss),
            "procs": float(len(found)),
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
