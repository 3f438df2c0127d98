"""Syntax: what ``bash -n`` says about each script, fast.

Spawning ``bash -n`` per file costs a fork, an exec and bash's start-up (2 to 4 ms here); for ten
thousand scripts that is most of a minute. So a *screen* runs first: one long-lived bash per core
reads file names on stdin and, for each, calls a function that turns on ``set -n`` (read
commands, do not execute them) inside an ``eval`` of the file's text and restores the options on
return (``local -``). Bash's own parser reads the text and nothing in it runs; no process is
started per file, which makes the screen several times cheaper than ``bash -n`` per file (the
benchmark measures both, and a fork-per-file variant).

The screen only *selects*. Every file it flags (a parse error, or anything on stderr) is checked
again by a real ``bash -n FILE``, whose exit status and message become the finding, so no finding
carries a message or a line that ``bash -n`` would not give. The screen must never pass a file
that ``bash -n`` rejects; what could make it do so is parser state left behind by an earlier
file, so a screen ends itself after each file it flags (an error may leave the parser in any
state, and some errors end bash outright) and a fresh one takes the rest, while a clean parse
leaves nothing behind. The differential test in tests/test_validation.py holds it to ``bash -n``
on a corpus of broken scripts, and on one that interleaves extglob patterns with scripts that
turn extglob on. Files with a NUL byte (bash refuses them as binary, and ``read`` stops at the
NUL) skip the screen and go to ``bash -n`` directly; bash older than 4.4 (no ``local -``) gets a
subshell per file instead.

Everything runs with ``LC_ALL=POSIX``, the executor's locale, so parsing and messages match the
build.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lfsplug_validation.records import Issue

__all__ = ["BASH_TIMEOUT", "CancelledError", "bash_n", "bash_version", "check_syntax", "screen"]

#: The longest a single file may take to parse (or the screen may go without progress).
BASH_TIMEOUT = 60.0
#: How often a waiting screen looks whether the check was called off.
POLL = 0.5
_LINE = re.compile(r"line (\d+): (.*)")
HINT = "bash -n FILE shows it"

# For each NUL-terminated file name: read the text, parse it under set -n, print "STATUS
# STDERR-WAS-WRITTEN", and after a flagged file exit, so that the next file gets a fresh parser.
_SCREEN = r"""
err=$1
__lfsplug_parse() { local -; eval "set -n"$'\n'"$1"; }
while IFS= read -r -d '' f; do
  c=
  { IFS= read -r -d '' c < "$f"; } 2>"$err"
  if [ -s "$err" ]; then printf '9 1\n'; exit 0; fi
  __lfsplug_parse "$c" 2>"$err"
  s=$?
  if [ "$s" != 0 ] || [ -s "$err" ]; then printf '%s 1\n' "$s"; exit 0; fi
  printf '0 0\n'
done
"""
#: For bash before 4.4: a subshell per file (a fork, no exec) keeps set -n from sticking.
_SCREEN_FORK = _SCREEN.replace('__lfsplug_parse "$c"', '( eval "set -n"$\'\\n\'"$c" )')


def check_env() -> dict[str, str]:
    """The environment for every bash this module starts: PATH, and the executor's locale."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "POSIX"}


def bash_version(bash: str) -> str | None:
    """``$BASH_VERSION`` of ``bash`` (part of the cache key), or None if it does not run."""
    try:
        proc = subprocess.run([bash, "-c", 'printf %s "$BASH_VERSION"'], capture_output=True,
                              check=False, timeout=BASH_TIMEOUT, stdin=subprocess.DEVNULL,
                              env=check_env())
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.decode("ascii", "replace") if proc.returncode == 0 else None


def parse_bash_n(path: str, returncode: int, stderr: bytes) -> list[Issue]:
    """The finding for what ``bash -n FILE`` printed: its line and message, without the path."""
    text = stderr.decode("utf-8", errors="replace")
    if returncode == 0 and not text.strip():
        return []
    prefix = f"{path}: "
    line, messages = None, []
    for raw in text.splitlines():
        rest = raw
        while rest.startswith(prefix):  # "FILE: FILE: cannot execute binary file"
            rest = rest[len(prefix):]
        match = _LINE.match(rest)
        if match:
            line = line or int(match.group(1))
            rest = match.group(2)
        if rest.strip():
            messages.append(rest.strip())
    message = "; ".join(messages) or f"bash -n exited {returncode}"
    if returncode == 0 and all(m.startswith("warning:") for m in messages):
        return [Issue("SYN003", "warning", line, f"bash: {message}", HINT)]
    return [Issue("SYN001", "error", line, f"bash -n: {message}", HINT)]


def bash_n(bash: str, path: str) -> list[Issue]:
    """Run a real ``bash -n`` on one file."""
    try:
        proc = subprocess.run([bash, "-n", path], capture_output=True, check=False,
                              timeout=BASH_TIMEOUT, stdin=subprocess.DEVNULL, env=check_env())
    except subprocess.TimeoutExpired:
        return [Issue("SYN002", "error", None,
                      f"bash -n did not finish within {BASH_TIMEOUT:.0f} s", HINT)]
    except OSError as exc:
        return [Issue("SYN002", "error", None, f"bash -n could not run: {exc.strerror}", HINT)]
    return parse_bash_n(path, proc.returncode, proc.stderr)


def _feed(proc: subprocess.Popen[bytes], paths: list[str]) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(b"".join(os.fsencode(p) + b"\0" for p in paths))
        proc.stdin.close()
    except OSError:
        pass  # the screen stopped early (after a flagged file): the rest go to the next one


#: Told how many more files were screened (the progress line).
Tick = Callable[[int], None]


def _screen_round(argv: list[str], paths: list[str], stall: float,
                  stop: threading.Event, tick: Tick | None = None) -> list[bool]:
    """One screen over ``paths`` until it stops: True for each file it flagged."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=check_env())
    feeder = threading.Thread(target=_feed, args=(proc, paths), daemon=True)
    feeder.start()
    assert proc.stdout is not None
    fd, pending = proc.stdout.fileno(), b""
    answers: list[bool] = []
    last = time.monotonic()
    while True:
        ready, _, _ = select.select([fd], [], [], POLL)
        if stop.is_set() or time.monotonic() - last > stall:
            proc.kill()  # called off; or no answer for too long: this file goes to bash -n
            break
        if not ready:
            continue
        last = time.monotonic()
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        answers.extend(line != b"0 0" for line in lines)
        if tick is not None and lines:
            tick(len(lines))
    proc.wait()
    proc.stdout.close()
    feeder.join()
    return answers


class CancelledError(Exception):
    """The check was called off (the command was interrupted): no result to keep."""


def _screen_share(argv: list[str], paths: list[str], stall: float,
                  stop: threading.Event, tick: Tick | None = None) -> list[bool]:
    """Screen ``paths`` with as many fresh screens as it takes; True where flagged."""
    answers: list[bool] = []
    while len(answers) < len(paths):
        if stop.is_set():  # ^C killed the screen too: start no other
            raise CancelledError
        got = _screen_round(argv, paths[len(answers):], stall, stop, tick)
        answers += got
        if len(answers) < len(paths) and not (got and got[-1]):
            answers.append(True)  # the screen died (or stalled) on this file
    return answers


def _local_dash(version: str | None) -> bool:
    """Whether bash ``version`` has ``local -`` (4.4 and later)."""
    match = re.match(r"(\d+)\.(\d+)", version or "")
    return match is not None and (int(match.group(1)), int(match.group(2))) >= (4, 4)


def screen(bash: str, paths: list[str], workers: int, *, stall: float = BASH_TIMEOUT,
           version: str | None = None, stop: threading.Event | None = None,
           tick: Tick | None = None) -> list[bool]:
    """For each path: True if the screen flags it (``bash -n`` must decide), else False.

    Paths are dealt out to ``workers`` screens in turn, so each gets a similar share; ``tick``
    is told, from their threads, how many more files were screened.
    """
    if not paths:
        return []
    stop = stop or threading.Event()
    workers = max(1, min(workers, len(paths)))
    script = _SCREEN if _local_dash(version or bash_version(bash)) else _SCREEN_FORK
    result = [True] * len(paths)
    with tempfile.TemporaryDirectory(prefix="lfsplug-syntax-") as tmp, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        argvs = [[bash, "-c", script, "lfsplug-syntax", str(Path(tmp) / f"err{i}")]
                 for i in range(workers)]
        shares = pool.map(
            lambda i: _screen_share(argvs[i], paths[i::workers], stall, stop, tick),
            range(workers))
        for index, answers in enumerate(shares):
            for position, flagged in enumerate(answers):
                result[index + position * workers] = flagged
    return result


def check_syntax(bash: str, paths: list[str], binary: set[str], workers: int, *,
                 version: str | None = None, stop: threading.Event | None = None,
                 tick: Tick | None = None) -> dict[str, list[Issue]]:
    """The syntax issues of every path: the screen, then ``bash -n`` on what it flagged.

    Setting ``stop`` (from another thread) ends the check early with :class:`CancelledError`;
    ``tick`` is told how many more files the screen read (see :func:`screen`).
    """
    stop = stop or threading.Event()
    screened = [p for p in paths if p not in binary]
    answers = screen(bash, screened, workers, version=version, stop=stop, tick=tick)
    confirm = [p for p, flagged in zip(screened, answers, strict=True) if flagged]
    confirm.extend(p for p in paths if p in binary)
    found: dict[str, list[Issue]] = {p: [] for p in paths}

    def confirmed(path: str) -> list[Issue]:
        if stop.is_set():
            raise CancelledError
        return bash_n(bash, path)

    with ThreadPoolExecutor(max_workers=max(1, min(workers * 2, len(confirm) or 1))) as pool:
        for path, issues in zip(confirm, pool.map(confirmed, confirm), strict=True):
            found[path] = issues
    return found
