"""shellcheck, when installed: its findings under its own codes (``SC2086``), cached by content.

shellcheck takes tens of milliseconds per file, most of it start-up, so files go to it in
batches (many files per invocation, ``-f json1``), several batches at once. Every file is
checked as bash (``--shell=bash``): lfsplug runs every script with bash whatever its shebang.
``# shellcheck disable=`` directives and the ``.shellcheckrc`` files of the scripts' folders and
their parents work as usual, since shellcheck reads them itself; the user's own (in ``$HOME``
or ``$XDG_CONFIG_HOME``) do not: shellcheck runs with ``HOME=/nonexistent``, so that a check's
verdict does not depend on who runs it, nor fail on an unreadable ``$HOME`` (``su lfs`` without
``-``). The cache key covers the shellcheck binary, ``SHELLCHECK_OPTS``, the rc files that apply
and :data:`SIZE_LIMIT`, so changing any of them re-checks.

A script over :data:`SIZE_LIMIT` is not given to shellcheck (VAL004, info): a 50 MB one took it
minutes and gigabytes, and failed. A script shellcheck fails on (it crashed or timed out, alone
in its invocation) gets VAL005 as its result, cached like any other, so it is not tried again
until it, shellcheck or its configuration changes.

Severities: shellcheck's ``warning`` is a warning and ``info``/``style`` are info. Its ``error``
is an error, except for parser errors (SC1xxx): bash is the authority on what parses (a file
bash rejects already has SYN001, and a file bash accepts runs), so those are warnings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lfsplug_validation.records import Issue

__all__ = ["SIZE_LIMIT", "find_shellcheck", "run_shellcheck", "shellcheck_key", "too_large"]


#: Bump when the mapping of shellcheck's output to issues changes.
MAPPING_VERSION = "4"
#: Larger scripts are not given to shellcheck (VAL004).
SIZE_LIMIT = 1 << 20
#: shellcheck's home: no user's rc file, and nothing it cannot read.
HOME = "/nonexistent"
#: The most files in one shellcheck invocation (command lines stay short; batches balance).
BATCH = 64
TIMEOUT = 600.0
_LEVELS = {"error": "error", "warning": "warning", "info": "info", "style": "info"}
RC_NAMES = (".shellcheckrc", "shellcheckrc")
#: Variables a script sets for whoever runs it, not for itself: jhalfs' driver and lfsplug's
#: discovery read ``PACKAGE=`` and ``VERSION=``, so shellcheck's "appears unused" (SC2034) on
#: them is not reported.
READ_BY_DRIVERS = frozenset({"PACKAGE", "VERSION"})


def find_shellcheck() -> str | None:
    """The shellcheck executable on PATH, or None."""
    return shutil.which("shellcheck")


def _rc_files(directories: set[Path]) -> list[Path]:
    """Every rc file shellcheck may read for scripts in ``directories`` (those of their folders
    and the folders above; an unreadable folder has none that counts)."""
    seen: set[Path] = set()
    for directory in directories:
        for parent in (directory, *directory.parents):
            if parent in seen:
                break
            seen.add(parent)
    found = []
    for candidate in (d / ".shellcheckrc" for d in seen):
        try:
            if candidate.is_file():
                found.append(candidate)
        except OSError:  # a folder this user may not look into
            continue
    return sorted(found)


def _env() -> dict[str, str]:
    """shellcheck's environment: this one, with :data:`HOME` and no ``XDG_CONFIG_HOME``."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"}
    env["HOME"] = HOME
    return env


def shellcheck_key(executable: str, directories: set[Path]) -> str:
    """What shellcheck's results depend on besides the script: binary, options, rc files."""
    digest = hashlib.sha256(MAPPING_VERSION.encode())
    files = [Path(executable).resolve(), *_rc_files(directories)]
    for file in files:
        try:
            info = file.stat()
            digest.update(f"{file}:{info.st_size}:{info.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{file}:missing\n".encode())
    digest.update(os.environ.get("SHELLCHECK_OPTS", "").encode())
    digest.update(f":{SIZE_LIMIT}".encode())
    return digest.hexdigest()


def too_large(size: int) -> Issue:
    """VAL004: a script over :data:`SIZE_LIMIT`, not given to shellcheck."""
    return Issue("VAL004", "info", None,
                 f"not checked by shellcheck: {size / (1 << 20):.1f} MiB is over its limit of "
                 f"{SIZE_LIMIT >> 20} MiB", "shellcheck takes minutes and gigabytes on a script "
                 "this large; bash -n and the other checks still ran")


def _failed(error: str) -> Issue:
    """VAL005: shellcheck failed on this script alone (remembered until something changes)."""
    return Issue("VAL005", "warning", None, f"shellcheck failed on this script: {error}",
                 "not tried again until the script, shellcheck or its configuration changes; "
                 "run shellcheck on it by hand to see why")


def _issue(comment: dict[str, Any]) -> Issue:
    code = int(comment["code"])
    severity = _LEVELS.get(str(comment.get("level")), "info")
    if severity == "error" and code < 2000:
        severity = "warning"
    line = comment.get("line")
    return Issue(f"SC{code}", severity, line if isinstance(line, int) and line > 0 else None,
                 str(comment.get("message", "")).strip(),
                 f"https://www.shellcheck.net/wiki/SC{code} (silence: "
                 f"# shellcheck disable=SC{code})")


def _read_by_driver(comment: dict[str, Any]) -> bool:
    """Whether ``comment`` is SC2034 on a variable of :data:`READ_BY_DRIVERS`."""
    return (comment.get("code") == 2034
            and str(comment.get("message", "")).split(" ", 1)[0] in READ_BY_DRIVERS)


def _run_batch(executable: str, paths: list[str]) -> tuple[dict[str, list[Issue]], str | None]:
    """Check one batch; the issues by path, and an error message when shellcheck could not
    run. A failure on the scripts themselves is each script's own :func:`_failed` result: a
    batch of several that fails is checked again one script at a time, to find the culprit."""
    found, error = _invoke(executable, paths)
    if error is None or error.startswith(_CANNOT_RUN):
        return found, error
    if len(paths) == 1:
        return {paths[0]: [_failed(error)]}, None
    error = None
    for path in paths:
        issues, cannot = _run_batch(executable, [path])
        found.update(issues)
        error = error or cannot
    return found, error


_CANNOT_RUN = "shellcheck could not run"


def _invoke(executable: str, paths: list[str]) -> tuple[dict[str, list[Issue]], str | None]:
    argv = [executable, "--format=json1", "--shell=bash", "--color=never", "--", *paths]
    try:
        proc = subprocess.run(argv, capture_output=True, check=False, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL, env=_env())
    except subprocess.TimeoutExpired:
        return {}, f"shellcheck did not finish within {TIMEOUT:.0f} s"
    except OSError as exc:
        return {}, f"{_CANNOT_RUN}: {exc.strerror}"
    try:
        comments = json.loads(proc.stdout)["comments"]
        found: dict[str, list[Issue]] = {p: [] for p in paths}
        for comment in comments:
            if not _read_by_driver(comment):
                found.setdefault(str(comment["file"]), []).append(_issue(comment))
    except (ValueError, KeyError, TypeError) as exc:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return {}, (why[0] if why else f"unreadable output ({exc})")
    if proc.returncode not in (0, 1):  # some file was not checked: trust none of the batch
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return {}, why[0] if why else f"shellcheck exited {proc.returncode}"
    return found, None


def run_shellcheck(executable: str, paths: list[str], workers: int,
                   tick: Callable[[int], None] | None = None,
                   ) -> tuple[dict[str, list[Issue]], list[str]]:
    """Check ``paths`` in parallel batches: issues by path, and the errors of failed batches;
    ``tick`` is told the size of each batch done (the progress line).

    A path missing from the result was not checked (its batch failed); it is not cached.
    """
    if not paths:
        return {}, []
    size = max(1, min(BATCH, -(-len(paths) // (workers * 4))))
    batches = [paths[i:i + size] for i in range(0, len(paths), size)]
    found: dict[str, list[Issue]] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        def batch(paths: list[str]) -> tuple[dict[str, list[Issue]], str | None]:
            result = _run_batch(executable, paths)
            if tick is not None:
                tick(len(paths))
            return result

        for issues, error in pool.map(batch, batches):
            found.update(issues)
            if error:
                errors.append(error)
    return found, errors
