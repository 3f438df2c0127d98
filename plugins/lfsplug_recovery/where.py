"""Where a script failed: the command, its line and the build step it was in.

Before each attempt, :func:`install` writes a small file that bash reads before the script
(``BASH_ENV``, which bash reads before running a script non-interactively). It installs a
``trap ... ERR`` in the script's own shell (``set -E`` so that functions and subshells keep it)
that appends, for each command that fails, its status, the shell's pid, ``$LINENO``,
``${BASH_SOURCE[0]}``, ``$0`` and ``$BASH_COMMAND`` to a record file; then it unsets
``BASH_ENV`` (or restores the one the user configured, and reads it as bash would have), so no
other bash started by the script reads it: the script and what it runs see the environment
they would have seen without it. A script that sets its own ``trap ... ERR`` replaces this one
(its own wins; the failing command is then not known). Bash started as ``sh`` never reads
``BASH_ENV``.

After a failed attempt, :func:`read_stop` picks the record of the command that ended the script
(its status is the script's exit status), and :func:`step_of` reads the script up to that line
for the step: ``tar`` (unpack), ``patch``, ``configure`` (also ``cmake``, ``meson setup``),
``make`` (also ``ninja``), ``make check``/``test`` (test), ``make install`` (install).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Stop", "install", "read_stop", "record_path", "step_of", "trap_text"]

#: Field and record separators of the record file (ASCII unit and record separators).
_US, _RS = "\x1f", "\x1e"
#: The most of the record file read back (a ``set +e`` script may fail many times).
_READ_AT_MOST = 64 << 10


#: What bash leaves alone in ``BASH_ENV``: it expands parameters, commands (``$(...)``,
#: backquotes) and arithmetic in that value before it reads the file.
_PLAIN = re.compile(r"[A-Za-z0-9._@+/-]*")


def record_path(state_dir: Path, name: str) -> tuple[Path, Path]:
    """The file bash reads first and the record file of script ``name``: named with the
    characters bash does not expand (a script may be called ``03-$(touch x).sh``), and a hash
    of the name when any had to go. A state directory whose own path bash would expand holds
    them in a private folder of the temporary directory instead."""
    safe = re.sub(r"[^A-Za-z0-9._@+-]", "_", name).lstrip(".") or "_"
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    folder = state_dir / "recovery"
    if not _PLAIN.fullmatch(str(folder)):
        digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / f"lfsplug-{os.getuid()}-recovery-{digest}"
    return folder / f"{safe}.bashenv", folder / f"{safe}.err"


def trap_text(record: str, user_bash_env: str | None) -> str:
    """The text of the file bash reads first; ``record`` is the record file as the script sees
    it, ``user_bash_env`` the ``BASH_ENV`` the script would have had without this one."""
    fields = _US.join(["%s"] * 7)
    action = (f'{{ printf "{fields}{_RS}" "$?" "$BASHPID" "$$" "$LINENO" '
              f'"${{BASH_SOURCE[0]-}}" "$0" "$BASH_COMMAND" >> {shlex.quote(record)}; }} '
              f"2>/dev/null")
    user = shlex.quote(user_bash_env) if user_bash_env else None
    read_user = [f"if [ -r {user} ]; then . {user}; fi"] if user else []
    return "\n".join([
        "# lfsplug (recovery plugin): where the script fails; see docs/recovery.md",
        "# a `bash -c` that starts the script (inside the chroot) leaves it to the script's shell",
        'if [ -n "${BASH_EXECUTION_STRING+set}" ]; then',
        *(f"  {line}" for line in read_user or [":"]),
        "else",
        "  set -E",
        f"  trap -- {shlex.quote(action)} ERR",
        *([f"  BASH_ENV={user}", *(f"  {line}" for line in read_user)] if user
          else ["  unset BASH_ENV"]),
        "fi",
    ]) + "\n"


#: The folders made, and the files written, by this process (a retry, a second run in the same
#: process, rewrites neither).
_READY: set[Path] = set()
_WRITTEN: dict[Path, str] = {}


def install(state_dir: Path, name: str, env: dict[str, str], *, root: str | None = None,
            owner: tuple[int, int] | None = None) -> Path | None:
    """Write the files of one attempt of script ``name`` and point ``env`` at them; return the
    record file (emptied), or None when they cannot be written (the script then runs without).

    ``root`` is the host directory the script sees as ``/`` (a chroot): the files are reached
    under it when the state directory is, else through ``/proc/PID/root`` (the chroot has
    ``/proc`` mounted); ``owner`` is the user the script runs as, who must write the record."""
    bash_env, record = record_path(state_dir.absolute(), name)
    for _ in range(2):  # again when the folder went since this process made it
        found = _install(bash_env, record, env, _as_seen(root), owner)
        if found is not None or bash_env.parent not in _READY:
            return found
        _READY.discard(bash_env.parent)
    return None


def _install(bash_env: Path, record: Path, env: dict[str, str], seen: Callable[[Path], str],
             owner: tuple[int, int] | None) -> Path | None:
    try:
        if bash_env.parent not in _READY:
            bash_env.parent.mkdir(parents=True, exist_ok=True)
            made = os.lstat(bash_env.parent)
            if not stat.S_ISDIR(made.st_mode) or made.st_uid != os.getuid():
                return None  # not ours (a folder of the temporary directory made by another)
            os.chmod(bash_env.parent, 0o755)
            _READY.add(bash_env.parent)
        with open(record, "w", encoding="utf-8"):
            pass
        if owner is not None:
            os.chown(record, *owner)
        text = trap_text(seen(record), env.get("BASH_ENV"))
        if _WRITTEN.get(bash_env) != text or not bash_env.exists():
            _write_if_changed(bash_env, text)
            _WRITTEN[bash_env] = text
    except OSError:
        return None
    env["BASH_ENV"] = seen(bash_env)
    return record


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 644) unless it holds it already: the file of a script
    whose trap has not changed since the last run is not written again. Only the script's own
    shell reads it, after this: no rename is needed for a reader to see it whole."""
    data = text.encode("utf-8")
    with contextlib.suppress(OSError), open(path, "rb") as old:
        if old.read(len(data) + 1) == data:
            return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        os.fchmod(fd, 0o644)
        os.write(fd, data)
    finally:
        os.close(fd)


def _as_seen(root: str | None) -> Callable[[Path], str]:
    """How a host path is seen by a script whose ``/`` is ``root``."""
    if root is None or os.path.abspath(root) == "/":
        return os.fspath
    top = os.path.abspath(root).rstrip("/")

    def seen(path: Path) -> str:
        text = str(path)
        if text.startswith(top + "/"):
            return text[len(top):]
        return f"/proc/{os.getpid()}/root{text}"

    return seen


@dataclass(frozen=True)
class Stop:
    """The command that ended a script: its status, line, file and text."""

    status: int
    line: int | None
    source: str
    command: str
    #: True when the line is in the script itself (not in a file it sourced)
    in_script: bool


def _records(path: Path) -> list[list[str]]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _READ_AT_MOST))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    records = [r.split(_US) for r in data.split(_RS)]
    return [r for r in records if len(r) == 7 and r[0].isdigit()]


def read_stop(path: Path, exit_code: int | None) -> Stop | None:
    """The failing command that ended the script with ``exit_code``, from its record file.

    The last record of the script's top shell with that status is where it stopped; records
    of a subshell with the same status just before it say more precisely which command inside
    failed (``( cd x && make )``: ``make``). None when no record fits (the script ran ``exit
    N``, was killed, or replaced the trap)."""
    if exit_code is None or exit_code == 0:
        return None
    records = _records(path)
    top = next((i for i in range(len(records) - 1, -1, -1)
                if records[i][0] == str(exit_code) and records[i][1] == records[i][2]), None)
    if top is None:
        return None
    chosen = top
    while (chosen > 0 and records[chosen - 1][0] == str(exit_code)
           and records[chosen - 1][1] != records[top][1]):
        chosen -= 1
    status, _pid, _top, line, source, script, command = records[chosen]
    return Stop(int(status), int(line) if line.isdigit() else None, source, command.strip(),
                source == script)


# -- the step -----------------------------------------------------------------------------------
_SPLIT = re.compile(r"&&|\|\||[;|&()]|\bthen\b|\bdo\b|\belse\b")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
_PREFIXES = {"sudo", "env", "time", "nice", "command", "exec", "eval", "!", "if", "while",
             "until", "{"}
#: make options that take the next word as their argument
_MAKE_ARGS = {"-C", "-f", "-j", "-l", "-o", "-W", "-I", "--file", "--directory"}
_TEST_TARGETS = re.compile(r"^(?:check|test|tests|check-\S*|test-\S*|\S+-check|\S+-test)$")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """``(first line number, text)`` of each logical line (continuations joined, the bodies
    of here-documents left out)."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    ending: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        if ending is not None:
            if raw.strip() == ending:
                ending = None
            continue
        start, so_far = pending if pending is not None else (number, "")
        if raw.endswith("\\"):
            pending = (start, so_far + raw[:-1] + " ")
            continue
        pending = None
        line = so_far + raw
        out.append((start, line))
        heredoc = _HEREDOC.search(line)
        if heredoc:
            ending = heredoc.group(2)
    if pending is not None:
        out.append(pending)
    return out


def _words(command: str) -> list[str]:
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        words = command.split()
    while words and (_ASSIGN.match(words[0]) or words[0] in _PREFIXES):
        words.pop(0)
    return words


def _targets(words: list[str]) -> list[str]:
    targets, skip = [], False
    for word in words[1:]:
        if skip:
            skip = False
        elif word in _MAKE_ARGS:
            skip = True
        elif not word.startswith("-") and not _ASSIGN.match(word):
            targets.append(word)
    return targets


#: Programs whose first argument decides the step (``meson setup``), and those that are one.
_SUBCOMMANDS = {("meson", "setup"): "configure", ("meson", "test"): "test",
                ("meson", "install"): "install", ("meson", "compile"): "make"}
_PROGRAMS = {"configure": "configure", "cmake": "configure", "autoreconf": "configure",
             "tar": "unpack", "patch": "patch", "ctest": "test"}
_MAKES = {"make", "gmake", "ninja", "samu"}


def command_step(command: str) -> str | None:
    """The step one shell command belongs to, or None."""
    for part in _SPLIT.split(command):
        words = _words(part)
        if not words:
            continue
        program = os.path.basename(words[0])
        step = _PROGRAMS.get(program) or _SUBCOMMANDS.get((program, "".join(words[1:2])))
        if step is not None:
            return step
        if program in _MAKES:
            targets = _targets(words)
            if any(t.startswith("install") for t in targets):
                return "install"
            return "test" if any(_TEST_TARGETS.match(t) for t in targets) else "make"
    return None


def step_of(script: Path, line: int | None) -> str | None:
    """The step a script was in at ``line``: that line's own, else the last one before it."""
    if line is None:
        return None
    try:
        text = script.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = None
    for start, logical in _logical_lines(text):
        if start > line:
            break
        step = command_step(logical.lstrip())
        if step is not None:
            found = step
    return found
