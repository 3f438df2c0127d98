"""shellcheck, when installed: its findings under its own codes (``SC2086``), cached by content.

shellcheck takes tens of milliseconds per file, most of it start-up, so files go to it in
batches (many files per invocation, ``-f json1``), several batches at once. Every file is
checked as bash (``--shell=bash``): lfsplug runs every script with bash whatever its shebang.
``# shellcheck disable=`` directives and ``.shellcheckrc`` files work as usual, since shellcheck
reads them itself; the cache key covers the shellcheck binary, ``SHELLCHECK_OPTS`` and the rc
files that apply, so changing any of them re-checks.

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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lfsplug_validation.records import Issue

__all__ = ["find_shellcheck", "run_shellcheck", "shellcheck_key"]


#: Bump when the mapping of shellcheck's output to issues changes.
MAPPING_VERSION = "2"
#: The most files in one shellcheck invocation (command lines stay short; batches balance).
BATCH = 64
TIMEOUT = 600.0
_LEVELS = {"error": "error", "warning": "warning", "info": "info", "style": "info"}
RC_NAMES = (".shellcheckrc", "shellcheckrc")


def find_shellcheck() -> str | None:
    """The shellcheck executable on PATH, or None."""
    return shutil.which("shellcheck")


def _rc_files(directories: set[Path]) -> list[Path]:
    """Every rc file shellcheck may read for scripts in ``directories`` (and the user's)."""
    seen: set[Path] = set()
    for directory in directories:
        for parent in (directory, *directory.parents):
            if parent in seen:
                break
            seen.add(parent)
    candidates = [d / ".shellcheckrc" for d in seen]
    home = Path(os.environ.get("HOME", "/nonexistent"))
    config = Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
    candidates += [home / ".shellcheckrc", config / "shellcheckrc"]
    return sorted(p for p in candidates if p.is_file())


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
    return digest.hexdigest()


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


def _run_batch(executable: str, paths: list[str]) -> tuple[dict[str, list[Issue]], str | None]:
    """Check one batch; the issues by path, and an error message when shellcheck failed."""
    argv = [executable, "--format=json1", "--shell=bash", "--color=never", "--", *paths]
    try:
        proc = subprocess.run(argv, capture_output=True, check=False, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {}, f"shellcheck did not finish within {TIMEOUT:.0f} s"
    except OSError as exc:
        return {}, f"shellcheck could not run: {exc.strerror}"
    try:
        comments = json.loads(proc.stdout)["comments"]
        found: dict[str, list[Issue]] = {p: [] for p in paths}
        for comment in comments:
            found.setdefault(str(comment["file"]), []).append(_issue(comment))
    except (ValueError, KeyError, TypeError) as exc:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return {}, (why[0] if why else f"unreadable output ({exc})")
    if proc.returncode not in (0, 1):  # some file was not checked: trust none of the batch
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return {}, why[0] if why else f"shellcheck exited {proc.returncode}"
    return found, None


def run_shellcheck(executable: str, paths: list[str],
                   workers: int) -> tuple[dict[str, list[Issue]], list[str]]:
    """Check ``paths`` in parallel batches: issues by path, and the errors of failed batches.

    A path missing from the result was not checked (its batch failed); it is not cached.
    """
    if not paths:
        return {}, []
    size = max(1, min(BATCH, -(-len(paths) // (workers * 4))))
    batches = [paths[i:i + size] for i in range(0, len(paths), size)]
    found: dict[str, list[Issue]] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for issues, error in pool.map(lambda b: _run_batch(executable, b), batches):
            found.update(issues)
            if error:
                errors.append(error)
    return found, errors
