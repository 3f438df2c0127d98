"""The kernel's virtual file systems under ``$LFS``, mounted as the book's chapter 7 says
("Preparing Virtual Kernel File Systems", ``chapter07/kernfs.xml``) and unmounted once.

Bookkeeping rules:

* every mount point is looked up in ``/proc/self/mountinfo`` first: one that is already a
  mount point is left alone, and never unmounted by lfsplug;
* what lfsplug mounts it records (mount point and mount id, a line of JSON each) in
  ``chroot-mounts.json`` in the state directory as soon as it is mounted, and unmounts in
  reverse order at the end, each at most once, skipping one that is gone or was replaced
  (another mount id);
* a run killed before it could unmount leaves that record behind: the next run *adopts* the
  recorded mounts that are still there with the same mount id, and unmounts them at its end;
  a run that will not mount (``--privileges off``) only says which are still there
  (:func:`left_mounted`) and leaves them, and the record, alone.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "KERNFS",
    "SHM",
    "KernFs",
    "MountEntry",
    "MountError",
    "Mounter",
    "left_mounted",
    "parse_mountinfo",
    "read_mountinfo",
    "read_record",
    "run_command",
]

MOUNTINFO = "/proc/self/mountinfo"
#: Tries of a plain ``umount`` of a busy file system (a process of the script may take a
#: moment to go) before it is detached with ``umount --lazy``.
UMOUNT_TRIES = 5
UMOUNT_PAUSE = 0.2


class MountError(Exception):
    """A mount failed, or a mount point is unsafe; the message names the point and command."""


@dataclass(frozen=True)
class MountEntry:
    """One line of ``/proc/self/mountinfo``."""

    mount_id: int
    target: str
    fstype: str
    source: str


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (``\\040``)."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        chunk = field[i + 1:i + 4]
        if field[i] == "\\" and len(chunk) == 3 and all(c in "01234567" for c in chunk):
            out.append(chr(int(chunk, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[MountEntry]:
    """The entries of a mountinfo text, in its order (a later entry is mounted on top)."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) < dash + 3:
            continue
        entries.append(MountEntry(int(fields[0]), _unescape(fields[4]), fields[dash + 1],
                                  _unescape(fields[dash + 2])))
    return entries


def read_mountinfo(path: str = MOUNTINFO) -> list[MountEntry]:
    """This process's mount table."""
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        return parse_mountinfo(handle.read())


def run_command(argv: list[str]) -> tuple[int, str]:
    """Run a mount command; its exit status and what it printed."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        return 127, f"{argv[0]}: command not found"
    except subprocess.TimeoutExpired:
        return 124, "no answer within 120 s"
    return proc.returncode, (proc.stderr or proc.stdout).strip()


def read_record(record: Path, root: str) -> list[tuple[str, int]]:
    """The (mount point, mount id) of each mount under ``root`` in the record (none when
    there is no record); ValueError when it cannot be read or understood."""
    try:
        lines = record.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ValueError(exc.strerror) from None
    try:
        return [(str(m["target"]), int(m["id"])) for m in map(json.loads, lines)
                if m.get("lfs") == root]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(str(exc)) from None


def left_mounted(record: Path, lfs: str,
                 mountinfo: Callable[[], list[MountEntry]] = read_mountinfo) -> list[str]:
    """The mount points an earlier run recorded under ``lfs`` that are still mounted (the
    same mount id), in mounting order; none when the record is missing or unreadable."""
    try:
        recorded = read_record(record, os.path.realpath(lfs))
    except ValueError:
        return []
    if not recorded:
        return []
    current = {(e.target, e.mount_id) for e in mountinfo()}
    return [target for target, mount_id in recorded if (target, mount_id) in current]


@dataclass(frozen=True)
class KernFs:
    """One of the book's mounts: ``mount ARGS... $LFS/TARGET``."""

    target: str
    args: tuple[str, ...]


#: The book's list, in its order (chapter 7, "Mounting and Populating /dev" and "Mounting
#: Virtual Kernel File Systems"). /dev/shm follows, as :data:`SHM` or a directory.
KERNFS = (
    KernFs("dev", ("--bind", "/dev")),
    KernFs("dev/pts", ("-t", "devpts", "devpts", "-o", "gid=5,mode=0620")),
    KernFs("proc", ("-t", "proc", "proc")),
    KernFs("sys", ("-t", "sysfs", "sysfs")),
    KernFs("run", ("-t", "tmpfs", "tmpfs")),
)
#: Where the host's /dev/shm is a mount point and not a link: a tmpfs of its own.
SHM = KernFs("dev/shm", ("-t", "tmpfs", "-o", "nosuid,nodev", "tmpfs"))
#: The directories the book creates first (``mkdir -pv $LFS/{dev,proc,sys,run}``).
MOUNT_DIRS = ("dev", "proc", "sys", "run")


class Mounter:
    """Mounts the book's file systems under one ``$LFS`` once, and unmounts what it mounted."""

    def __init__(
        self,
        lfs: str,
        *,
        mount: str = "mount",
        umount: str = "umount",
        record: Path | None = None,
        mountinfo: Callable[[], list[MountEntry]] = read_mountinfo,
        run: Callable[[list[str]], tuple[int, str]] = run_command,
        say: Callable[[str], None] = lambda text: None,
        host_shm: str = "/dev/shm",
    ) -> None:
        self.root = os.path.realpath(lfs)
        self.mount, self.umount = mount, umount
        self.record, self.mountinfo, self.run, self.say = record, mountinfo, run, say
        self.host_shm = host_shm
        #: (mount point, mount id) of what this object mounted or adopted, in mounting order
        self.ours: list[tuple[str, int]] = []
        #: mount points that were mounted already and are left alone
        self.left_alone: list[str] = []
        self.up = False
        self._lock = threading.Lock()

    # -- mounting ------------------------------------------------------------------------------

    def mount_all(self) -> None:
        """Mount whatever of the book's list is not mounted yet; MountError on failure (what
        was mounted before the failure stays recorded, and is unmounted at the end)."""
        with self._lock:
            if self.up:
                return
            self._adopt()
            for name in MOUNT_DIRS:
                self._mkdir(name)
            for step in KERNFS:
                self._mount(step)
            self._shm()
            self.up = True

    def _inside(self, relative: str) -> str:
        """``$LFS/relative``, refusing a path that a symbolic link leads out of place."""
        path = os.path.join(self.root, relative)
        if os.path.realpath(path) != path:
            raise MountError(f"{path} leads to {os.path.realpath(path)} through a symbolic "
                             f"link: refusing to mount there")
        return path

    def _mkdir(self, relative: str) -> None:
        path = os.path.join(self.root, relative)
        if not os.path.lexists(path):
            try:
                os.makedirs(path, mode=0o755)
            except OSError as exc:
                raise MountError(f"cannot create {path}: {exc.strerror}") from None
        self._inside(relative)

    def _mounted(self, target: str) -> MountEntry | None:
        """The topmost mount on ``target``, if it is a mount point."""
        found = None
        for entry in self.mountinfo():
            if entry.target == target:
                found = entry
        return found

    def _mount(self, step: KernFs) -> None:
        target = self._inside(step.target)
        existing = self._mounted(target)
        if existing is not None:
            if not any(t == target for t, _ in self.ours):
                self.left_alone.append(target)
            return
        argv = [self.mount, *step.args, target]
        code, output = self.run(argv)
        entry = self._mounted(target)
        if code != 0 or entry is None:
            why = f"exited {code}" if code != 0 else "exited 0 but nothing is mounted there"
            raise MountError(f"cannot mount {step.target} on {target}: `{shlex.join(argv)}` "
                             f"{why}" + (f": {output}" if output else ""))
        self.ours.append((target, entry.mount_id))
        self._note(target, entry.mount_id)

    def _shm(self) -> None:
        """The book: where the host's /dev/shm is a link, create the directory it points to
        (mode 1777) under $LFS; else mount a tmpfs on $LFS/dev/shm."""
        shm = os.path.join(self.root, "dev", "shm")
        if not os.path.islink(shm):
            self._mount(SHM)
            return
        relative = os.path.realpath(self.host_shm).lstrip("/")
        path = os.path.join(self.root, relative)
        try:
            os.makedirs(path, exist_ok=True)
            self._inside(relative)
            os.chmod(path, 0o1777)
        except OSError as exc:
            raise MountError(f"cannot create {path} for /dev/shm: {exc.strerror}") from None

    # -- the record, for a run killed before it unmounted ------------------------------------

    def _note(self, target: str, mount_id: int) -> None:
        """Append one mount to the record at once (a line of JSON: no rename, which would
        cost a flush on ext4, and a kill -9 right after loses nothing)."""
        if self.record is None:
            return
        try:
            self.record.parent.mkdir(parents=True, exist_ok=True)
            with self.record.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"lfs": self.root, "target": target, "id": mount_id})
                             + "\n")
        except OSError as exc:
            self.say(f"cannot record the mounts in {self.record}: {exc.strerror}")

    def _rewrite(self) -> None:
        """The record holds what is still ours: nothing (removed), or what is left."""
        if self.record is None:
            return
        try:
            self.record.unlink(missing_ok=True)
        except OSError as exc:
            self.say(f"cannot remove {self.record}: {exc.strerror}")
            return
        for target, mount_id in self.ours:
            self._note(target, mount_id)

    def _adopt(self) -> None:
        if self.record is None or not self.record.exists():
            return
        try:
            recorded = read_record(self.record, self.root)
        except ValueError:
            self.say(f"ignoring the unreadable record {self.record}")
            return
        current = {(e.target, e.mount_id) for e in self.mountinfo()}
        adopted = [m for m in recorded if m in current and m not in self.ours]
        self.ours.extend(adopted)
        if adopted:
            self.say("an earlier run left " + ", ".join(t for t, _ in adopted) + " mounted; "
                     "they are unmounted when this run ends")
        self._rewrite()

    # -- unmounting ----------------------------------------------------------------------------

    def unmount_all(self) -> list[str]:
        """Unmount what this object mounted or adopted, in reverse order, each at most once;
        the mount points unmounted. What cannot be unmounted stays in the record, for the next
        run to adopt; one gone or replaced meanwhile is dropped."""
        with self._lock:
            if not self.ours:
                return []
            table = {(e.target, e.mount_id) for e in self.mountinfo()}
            kept, done = [], []
            for target, mount_id in reversed(self.ours):
                if (target, mount_id) not in table:
                    continue
                if self._unmount(target):
                    done.append(target)
                else:
                    kept.append((target, mount_id))
            self.ours = list(reversed(kept))
            self.up = False
            self._rewrite()
            return done

    def _unmount(self, target: str) -> bool:
        argv = [self.umount, target]
        code, output = 0, ""
        for attempt in range(UMOUNT_TRIES):
            if attempt:
                time.sleep(UMOUNT_PAUSE)
            code, output = self.run(argv)
            if code == 0:
                return True
        lazy = [self.umount, "--lazy", target]
        if self.run(lazy)[0] == 0:
            self.say(f"{target} was busy (`{shlex.join(argv)}`: {output}); detached it with "
                     f"`{shlex.join(lazy)}`")
            return True
        self.say(f"cannot unmount {target}: `{shlex.join(argv)}` exited {code}: {output}")
        return False
