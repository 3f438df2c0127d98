"""Disk space and inodes at ``$LFS``, memory and cores: the requirements that are measured.

Disk space is counted in GB (10**9 bytes, as partitions are sized and the book writes "10
gigabytes (GB)"), from the blocks available to an unprivileged user, since the book's chapters 5
and 6 run as the ``lfs`` user. Memory is counted in GiB (as memory is sold) with a 10 %
allowance, since the total the kernel reports leaves out what firmware and kernel reserve: a
machine with 8 GB installed shows about 7.7 GiB and must still meet an 8 GB recommendation.
"""

from __future__ import annotations

import os
from pathlib import Path

from lfsplug import Severity
from lfsplug_hostreqs import outcome
from lfsplug_hostreqs.settings import Settings

__all__ = ["check_cores", "check_disk", "check_memory", "memory_total", "resource_checks"]

GB = 10**9
GIB = 2**30
#: The share of installed memory that the kernel is expected to report at least.
MEMORY_ALLOWANCE = 0.9
_CGROUP_ROOT = Path("/sys/fs/cgroup")


def resource_checks(settings: Settings) -> list[outcome.Outcome]:
    """Disk space, inodes, memory and cores, in that order."""
    return [*check_disk(settings), check_memory(settings), check_cores(settings)]


def _gb(size: float) -> str:
    return f"{size / GB:.1f} GB"


def _level(value: float, minimum: float, recommended: float) -> str:
    if value < minimum:
        return outcome.TOO_LOW
    return outcome.LOW if value < recommended else outcome.OK


def check_disk(settings: Settings) -> list[outcome.Outcome]:
    """Free space and free inodes of the file system at ``$LFS``: two outcomes."""
    lfs = settings.lfs
    space_label, inode_label = f"disk space at {lfs}", f"inodes at {lfs}"
    space_req = f">= {settings.min_disk_gb:g} GB ({settings.recommended_disk_gb:g} recommended)"
    inode_req = f">= {settings.min_inodes} ({settings.recommended_inodes} recommended)"
    try:
        if not os.path.isdir(lfs):
            raise FileNotFoundError(0, "no such directory")
        stat = os.statvfs(lfs)
    except OSError as exc:
        problem = outcome.finding(
            "HOST015", Severity.WARNING,
            f"$LFS ({lfs}) cannot be measured: {exc.strerror or exc}; disk space and inodes "
            f"were not checked",
            "mount the LFS partition there (the book's section 2.7), or name it with --lfs DIR "
            "or lfs = \"DIR\" in lfsplug.toml")
        return [outcome.Outcome(space_label, "-", space_req, outcome.MISSING, problem),
                outcome.Outcome(inode_label, "-", inode_req, outcome.MISSING)]
    return [_space(settings, stat, space_label, space_req),
            _inodes(settings, stat, inode_label, inode_req)]


def _space(settings: Settings, stat: os.statvfs_result, label: str,
           required: str) -> outcome.Outcome:
    free = stat.f_bavail * stat.f_frsize
    total = stat.f_blocks * stat.f_frsize
    found = f"{_gb(free)} free of {_gb(total)}"
    status = _level(free, settings.min_disk_gb * GB, settings.recommended_disk_gb * GB)
    if status == outcome.TOO_LOW:
        return outcome.Outcome(label, found, required, status, outcome.finding(
            "HOST009", Severity.ERROR,
            f"only {_gb(free)} free at {settings.lfs} (of {_gb(total)}): the book asks for at "
            f"least {settings.min_disk_gb:g} GB",
            "use a bigger LFS partition, or free space there; when resuming a build that "
            "already used the space, lower min_disk_gb in [hostreqs]"))
    if status == outcome.LOW:
        return outcome.Outcome(label, found, required, status, outcome.finding(
            "HOST010", Severity.WARNING,
            f"{_gb(free)} free at {settings.lfs}: the book recommends "
            f"{settings.recommended_disk_gb:g} GB to leave room for growth",
            "a bigger LFS partition; set recommended_disk_gb in [hostreqs] to change the "
            "threshold"))
    return outcome.Outcome(label, found, required, status)


def _inodes(settings: Settings, stat: os.statvfs_result, label: str,
            required: str) -> outcome.Outcome:
    if stat.f_files == 0:  # btrfs and others allocate inodes on demand: no limit to meet
        return outcome.Outcome(label, "no fixed limit", required, outcome.OK)
    free = stat.f_favail
    found = f"{free} free of {stat.f_files}"
    status = _level(free, settings.min_inodes, settings.recommended_inodes)
    if status == outcome.TOO_LOW:
        return outcome.Outcome(label, found, required, status, outcome.finding(
            "HOST011", Severity.ERROR,
            f"only {free} free inodes at {settings.lfs}: at least {settings.min_inodes} needed "
            f"(every file of the sources, build trees and system takes one)",
            "make the file system with more inodes (mkfs.ext4 -i 8192), or free some"))
    if status == outcome.LOW:
        return outcome.Outcome(label, found, required, status, outcome.finding(
            "HOST012", Severity.WARNING,
            f"{free} free inodes at {settings.lfs}: {settings.recommended_inodes} recommended",
            "make the file system with more inodes (mkfs.ext4 -i 8192)"))
    return outcome.Outcome(label, found, required, status)


def _cgroup_limit() -> int | None:
    """The memory limit of this process's cgroup (v2 or v1), or None when there is none."""
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    candidates: list[Path] = []
    for line in lines:
        _id, controllers, path = [*line.split(":", 2), "", ""][:3]
        rel = path.lstrip("/")
        if controllers == "":
            candidates += [_CGROUP_ROOT / rel / "memory.max", _CGROUP_ROOT / "memory.max"]
        elif "memory" in controllers.split(","):
            base = _CGROUP_ROOT / "memory"
            candidates += [base / rel / "memory.limit_in_bytes", base / "memory.limit_in_bytes"]
    for candidate in candidates:
        try:
            text = candidate.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        return int(text) if text.isdigit() else None
    return None


def memory_total() -> tuple[int, str]:
    """The memory a build can use, in bytes, and where the figure comes from."""
    import psutil  # here, not at import: only host checks need it

    physical = int(psutil.virtual_memory().total)
    limit = _cgroup_limit()
    if limit is not None and limit < physical:
        return limit, "cgroup limit"
    return physical, "installed"


def check_memory(settings: Settings) -> outcome.Outcome:
    """Memory against ``min_memory_gb`` (error) and ``recommended_memory_gb`` (warning)."""
    total, source = memory_total()
    gib = total / GIB
    found = f"{gib:.1f} GiB ({source})"
    required = (f">= {settings.min_memory_gb:g} GB ({settings.recommended_memory_gb:g} "
                f"recommended)")
    allowance = MEMORY_ALLOWANCE * GIB
    status = _level(total, settings.min_memory_gb * allowance,
                    settings.recommended_memory_gb * allowance)
    if status == outcome.TOO_LOW:
        return outcome.Outcome("memory", found, required, status, outcome.finding(
            "HOST013", Severity.ERROR,
            f"only {gib:.1f} GiB of memory ({source}): at least {settings.min_memory_gb:g} GB "
            f"needed to build GCC",
            "more memory (or swap, and fewer jobs with -j); set min_memory_gb in [hostreqs] "
            "to change the threshold"))
    if status == outcome.LOW:
        return outcome.Outcome("memory", found, required, status, outcome.finding(
            "HOST014", Severity.WARNING,
            f"{gib:.1f} GiB of memory ({source}): the book recommends "
            f"{settings.recommended_memory_gb:g} GB (the build works, but slower)",
            "fewer parallel jobs (-j) avoid swapping"))
    return outcome.Outcome("memory", found, required, status)


def check_cores(settings: Settings) -> outcome.Outcome:
    """Logical cores available (what ``nproc`` reports) against the book's recommendation."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    required = f">= {settings.recommended_cores} recommended"
    if cores < settings.recommended_cores:
        return outcome.Outcome("CPU cores", str(cores), required, outcome.LOW, outcome.finding(
            "HOST016", Severity.INFO,
            f"{cores} logical core(s): the book recommends at least "
            f"{settings.recommended_cores} (the build works, but takes longer than the SBUs "
            f"say)", "nothing to do; expect a longer build"))
    return outcome.Outcome("CPU cores", str(cores), required, outcome.OK)
