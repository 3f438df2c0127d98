"""Where a script runs: the tarball it unpacks first (``unpack=``) and the directory it runs in
(``workdir=``), as a collection's driver (jhalfs) runs it.

For each attempt of such a script the executor:

1. expands ``$NAME``/``${NAME}`` in both values against the script's environment;
2. finds the tarball: a value with a ``/`` is a path (relative to the script's directory), a
   bare name is looked up in ``$SOURCES`` (else ``$LFS/sources``); a glob must match exactly
   one file;
3. unpacks it once (``tar -xf``, the tarball decompressed once) into a staging folder beside
   it (``.lfsplug-unpack.PID.N``): it must hold one top directory, else the folder goes and
   the tarball's directory is as it was; removes a leftover top directory of that name (an
   earlier attempt's), moves the new one in place and exports ``PKGDIR``;
5. starts the script in the top directory, or in ``workdir`` (relative to the top directory,
   else to the script's directory), which must exist;
6. after a pass removes the top directory; after a failure keeps it and says where.

Before a retry (attempt 2 and on) the script's partial work is removed first, so that a retry
never builds on a half-built tree (:class:`RetryCleanup`): by the script's ``cleanup=``
command, else ``[executor] cleanup``, run like the script; with no command, by the fresh
unpack of ``unpack=`` (step 4), or, for a script that unpacks its own tarball (jhalfs' BLFS
scriptlets: ``PACKAGE=NAME.tar.xz``), by removing the top directory of that tarball's first
member beside it, the ``PKGDIR`` jhalfs finds. What was done opens the attempt's log.

A script that runs inside a chroot sees these paths under its root (the chroot's ``$LFS``):
:class:`Site` maps them to the host, where the unpacking happens. Any problem is a
:class:`WorkspaceError`: a one-line message naming the script and the key, and the script does
not run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import posixpath
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from lfsplug import RunRequest, Script, ScriptResult, Status
from lfsplug_executor.envvars import expand

__all__ = ["Before", "RetryCleanup", "Site", "Workspace", "WorkspaceError", "find_tarball",
           "preview", "top_directory"]

#: The characters that make ``unpack=`` a glob.
GLOB = frozenset("*?[")
#: How many lines of tar's complaint go into a one-line message.
TAR_LINES = 3


class WorkspaceError(Exception):
    """Why ``script`` cannot run where its ``key=`` says: one line, naming the script (and the
    header line that set the key), the key's value and ``reason``."""

    def __init__(self, script: Script, key: str, reason: str, value: str | None = None) -> None:
        self.reason = reason
        line = script.line_of(key)
        where = f"{script.relpath}:{line}" if line else script.relpath
        shown = getattr(script, key) if value is None else value
        super().__init__(f"{where}: {key}={shown}: {reason}")


@dataclass(frozen=True)
class Site:
    """How a script sees the file system: ``root`` is the host directory it sees as ``/``
    (the chroot's ``$LFS``), ``owner`` the user and group that what is unpacked for it is
    given to (None: lfsplug's own)."""

    root: str = "/"
    owner: tuple[int, int] | None = None

    @property
    def moved(self) -> bool:
        """Whether the script sees another ``/`` than the host's."""
        return self.root != "/"

    def anchor(self, path: str, base: Path) -> tuple[str, str]:
        """``path`` as the script means it, split into a host directory and the rest under it:
        an absolute path is under the root, a relative one under ``base`` (a host path)."""
        if posixpath.isabs(path):
            # normalised first, so that no "/.." climbs out of the root
            return self.root, posixpath.normpath("/" + path.lstrip("/")).lstrip("/")
        return str(base), path

    def host(self, path: str, base: Path) -> Path:
        """The host path of ``path`` as the script means it (see :meth:`anchor`)."""
        directory, rest = self.anchor(path, base)
        return Path(os.path.normpath(os.path.join(directory, rest)))

    def seen(self, host: Path) -> str | None:
        """``host`` as the script sees it, or None when it is outside the script's root."""
        path = os.path.normpath(host)
        if not self.moved:
            return path
        root = os.path.normpath(self.root)
        if path == root:
            return "/"
        return path[len(root):] if path.startswith(root + "/") else None


def _tar_message(argv: list[str], code: int, stderr: bytes) -> str:
    """What a failed tar said, on one line."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    said = "; ".join(lines[:TAR_LINES]) or "no message"
    return f"`{' '.join(argv)}` exited {code}: {said}"


def _pattern(script: Script, env: dict[str, str], site: Site,
             named: str | None = None) -> tuple[str, str]:
    """Where ``unpack=`` (or ``named``) points, expanded: a host directory and the (maybe
    glob) rest."""
    raw = script.unpack if named is None else named
    assert raw is not None
    value = expand(raw, env)
    if not value.strip():
        raise WorkspaceError(script, "unpack", "empty once its variables are expanded", raw)
    base = script.path.parent
    if "/" in value:
        return site.anchor(value, base)
    # a bare name: in the sources directory, $SOURCES or else $LFS/sources
    sources = env.get("SOURCES") or f"{env.get('LFS', '')}/sources"
    return str(site.host(sources, base)), value


def _shown(directory: str, rest: str) -> str:
    return os.path.normpath(os.path.join(directory, rest))


def find_tarball(script: Script, env: dict[str, str], site: Site,
                 named: str | None = None) -> Path:
    """The host path of the one file ``unpack=`` (or ``named``) names."""
    directory, rest = _pattern(script, env, site, named)
    shown = _shown(directory, rest)
    if not GLOB & set(rest):
        if not os.path.isfile(shown):
            raise WorkspaceError(script, "unpack", f"no such file: {shown}")
        return Path(shown)
    found = sorted(m for m in glob.glob(os.path.join(glob.escape(directory), rest))
                   if os.path.isfile(m))
    if not found:
        raise WorkspaceError(script, "unpack", f"no file matches {shown}")
    if len(found) > 1:
        names = ", ".join(os.path.basename(m) for m in found)
        raise WorkspaceError(script, "unpack", f"{len(found)} files match {shown}: {names} "
                                               f"(it needs exactly one)")
    return Path(os.path.normpath(found[0]))


def _member(raw: bytes) -> str:
    """A member's name as tar will unpack it: leading ``/`` and ``./`` dropped."""
    name = raw.rstrip(b"\n").decode("utf-8", "surrogateescape").lstrip("/")
    while name.startswith("./"):
        name = name[2:].lstrip("/")
    return "" if name == "." else name


def _single_top(tarball: Path, names: list[str]) -> str:
    """The one top directory of the members ``names``; ValueError saying why there is none."""
    tops = sorted({name.partition("/")[0] for name in names})
    if not tops:
        raise ValueError(f"{tarball} is empty")
    if len(tops) > 1:
        listed = ", ".join(tops[:5]) + (", ..." if len(tops) > 5 else "")
        raise ValueError(f"{tarball} has no single top directory (it holds {listed})")
    if tops[0] == ".." or not any("/" in name for name in names):
        raise ValueError(f"{tarball} has no top directory (it holds only {tops[0]})")
    return tops[0]


def _first_member(tarball: Path) -> list[str]:
    """The first member's name, reading no further (a dry run lists many tarballs)."""
    proc = subprocess.Popen(["tar", "-tf", str(tarball)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        for raw in proc.stdout:
            name = _member(raw)
            if name:
                return [name]
        _, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if proc.returncode:
        raise ValueError(_tar_message(["tar", "-tf", str(tarball)], proc.returncode, err))
    return []


def top_directory(tarball: Path, *, whole: bool = True) -> str:
    """The top directory of ``tarball``'s members (``tar -tf``); ValueError saying why there is
    none or what tar said. ``whole=False`` reads only the first member (for a dry run)."""
    if not whole:
        return _single_top(tarball, _first_member(tarball))
    argv = ["tar", "-tf", str(tarball)]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if proc.returncode:
        raise ValueError(_tar_message(argv, proc.returncode, proc.stderr))
    return _single_top(tarball, [n for n in map(_member, proc.stdout.splitlines()) if n])


#: The staging folders of the unpacks in progress: ``.lfsplug-unpack.PID.N``.
_STAGE = re.compile(r"^\.lfsplug-unpack\.(\d+)\.\d+$")
_STAGES = [0]


def _stage(folder: Path) -> Path:
    """A new staging folder in ``folder``, where a tarball is unpacked before its top directory
    is moved in place; those an lfsplug that died left are removed first."""
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            found = _STAGE.match(name)
            if found and not os.path.exists(f"/proc/{found.group(1)}"):
                shutil.rmtree(folder / name, ignore_errors=True)
    _STAGES[0] += 1
    stage = folder / f".lfsplug-unpack.{os.getpid()}.{_STAGES[0]}"
    stage.mkdir(mode=0o700)
    return stage


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _give(top: Path, owner: tuple[int, int]) -> None:
    """Give ``top`` and everything under it to ``owner`` (links themselves, not their targets)."""
    uid, gid = owner
    os.lchown(top, uid, gid)
    for folder, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            os.lchown(os.path.join(folder, name), uid, gid)


def _note(log: BinaryIO, text: str) -> None:
    log.write(f"# lfsplug: {text}\n".encode("utf-8", "surrogateescape"))
    log.flush()


class Workspace:
    """One attempt of one script with ``unpack=`` or ``workdir=``, or a retry:
    :meth:`prepare` before it runs, :meth:`finish` after.

    ``command_in`` makes the script's command start in a directory (as the script sees it) when
    starting the process there is not enough (a chroot); it answers None otherwise. ``before``
    is what was done before the attempt (the cleanup before a retry: :class:`RetryCleanup`).
    """

    def __init__(self, script: Script, site: Site,
                 command_in: Callable[[list[str], str], list[str] | None],
                 before: Before | None = None) -> None:
        self.script = script
        self.site = site
        self.command_in = command_in
        self.before = before
        #: the unpacked top directory (host path) while it is this attempt's
        self.top: Path | None = None

    def _seen(self, path: Path, key: str) -> str:
        seen = self.site.seen(path)
        if seen is None:
            raise WorkspaceError(self.script, key, f"{path} is outside {self.site.root}, the "
                                                   f"directory the script sees as /")
        return seen

    def prepare(self, request: RunRequest, log: BinaryIO) -> RunRequest:
        """Unpack (when asked) and find the directory to run in; the request to run, with
        ``PKGDIR`` exported and the command starting there. Raises :class:`WorkspaceError`."""
        if self.before is not None:
            log.write(self.before.log)
            log.flush()
            if self.before.problem is not None:
                raise self.before.problem
        if self.script.unpack is None and self.script.workdir is None:
            return request
        env = dict(request.env)
        base = self.script.path.parent
        if self.script.unpack is not None:
            base = self._unpack(env, log)
        rundir = self._rundir(env, base)
        seen = self._seen(rundir, "workdir" if self.script.workdir is not None else "unpack")
        _note(log, f"running in {seen}"
                   + (f" (on the host: {rundir})" if self.site.moved else ""))
        argv = self.command_in(list(request.argv), seen) or list(request.argv)
        return replace(request, argv=argv, env=env, cwd=rundir)

    def _unpack(self, env: dict[str, str], log: BinaryIO) -> Path:
        """Find and unpack the tarball; its top directory (host path)."""
        tarball = find_tarball(self.script, env, self.site)
        try:  # tar cannot read it at all: said before anything is written
            _first_member(tarball)
        except ValueError as exc:
            raise WorkspaceError(self.script, "unpack", str(exc)) from None
        _note(log, f"unpacking {tarball} in {tarball.parent}")
        stage = _stage(tarball.parent)
        try:
            failed = self._tar(tarball, stage, log)
            # what tar made, as members: a directory with its "/"
            made = [n + "/" if os.path.isdir(stage / n) else n for n in os.listdir(stage)]
            try:
                top = tarball.parent / _single_top(tarball, made)
            except ValueError as exc:
                if failed is not None:
                    raise WorkspaceError(self.script, "unpack", failed) from None
                raise WorkspaceError(self.script, "unpack", str(exc)) from None
            env["PKGDIR"] = self._seen(top, "unpack")
            if os.path.lexists(top):
                try:
                    _remove(top)
                except OSError as exc:
                    raise WorkspaceError(self.script, "unpack", f"cannot remove the leftover "
                                                                f"{top}: {exc}") from None
                _note(log, f"removed {top}, left by an earlier attempt")
            try:
                os.rename(stage / top.name, top)
            except OSError as exc:
                raise WorkspaceError(self.script, "unpack", f"cannot move {top.name} from "
                                                            f"{stage} in place: {exc}") from None
            self.top = top
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        if failed is not None:
            raise WorkspaceError(self.script, "unpack", f"{failed} (kept {top} for inspection)")
        if not top.is_dir() or top.is_symlink():
            raise WorkspaceError(self.script, "unpack", f"unpacking {tarball} made no "
                                                        f"directory {top}")
        if self.site.owner is not None:
            try:
                _give(top, self.site.owner)
            except OSError as exc:
                raise WorkspaceError(self.script, "unpack", f"cannot give {top} to the "
                                                            f"script's user: {exc}") from None
        return top

    def _tar(self, tarball: Path, stage: Path, log: BinaryIO) -> str | None:
        """Unpack ``tarball`` in ``stage``; what tar said when it failed, else None."""
        argv = ["tar", "-xf", str(tarball)]
        proc = subprocess.run(argv, cwd=stage, stdin=subprocess.DEVNULL,
                              capture_output=True, check=False, start_new_session=True)
        log.write(proc.stdout + proc.stderr)
        return _tar_message(argv, proc.returncode, proc.stderr) if proc.returncode else None

    def _rundir(self, env: dict[str, str], base: Path) -> Path:
        """Where the script runs: ``workdir`` under ``base``, else ``base``; it must exist."""
        if self.script.workdir is None:
            return base
        value = expand(self.script.workdir, env)
        if not value.strip():
            raise WorkspaceError(self.script, "workdir", "empty once its variables are expanded")
        rundir = self.site.host(value, base)
        if not rundir.is_dir():
            raise WorkspaceError(self.script, "workdir", f"no directory {rundir}")
        return rundir

    def finish(self, passed: bool, log: BinaryIO) -> str | None:
        """After the script: its top directory removed after a pass, kept after a failure; what
        the result's message should say (None: nothing)."""
        top, self.top = self.top, None
        if top is None or not os.path.lexists(top):
            return None
        if not passed:
            _note(log, f"kept {top} for inspection")
            return f"kept {top} for inspection"
        try:
            _remove(top)
        except OSError as exc:
            _note(log, f"could not remove {top}: {exc}")
            return f"could not remove {top}: {exc}"
        _note(log, f"removed {top}")
        return None


def preview(script: Script, env: dict[str, str], site: Site) -> tuple[list[str], str | None]:
    """What a dry run says of ``script``'s tarball and directory (lines without indent), and
    the directory as the script would see it when it is known. Nothing is unpacked; a tarball
    that is not there yet shows as its pattern, its top directory as a placeholder."""
    lines: list[str] = []
    base, known = script.path.parent, True
    if script.unpack is not None:
        base, known, line = _preview_unpack(script, env, site)
        lines.append(line)
    rundir = base
    value = expand(script.workdir, env) if script.workdir is not None else ""
    if value.strip():
        rundir = site.host(value, base)
        known = known or posixpath.isabs(value)
    seen = site.seen(rundir)
    if seen is None:
        lines.append(f"in {rundir} (outside {site.root}, the directory the script sees as /)")
        return lines, None
    note = f" (on the host: {rundir})" if site.moved else ""
    if known and script.unpack is None and not rundir.is_dir():
        note += " (not there now)"  # an unpacked tree is never there before the run
    lines.append(f"in {seen}{note}")
    return lines, seen if known else None


def _preview_unpack(script: Script, env: dict[str, str], site: Site) -> tuple[Path, bool, str]:
    """The top directory a dry run shows, whether it is known (else a placeholder), and the
    ``unpack`` line."""
    try:
        directory, rest = _pattern(script, env, site)
    except WorkspaceError as exc:
        return script.path.parent, False, f"unpack {script.unpack} ({exc.reason})"
    shown = _shown(directory, rest)
    placeholder = Path(shown).parent / f"<top directory of {os.path.basename(shown)}>"
    try:
        tarball = find_tarball(script, env, site)
    except WorkspaceError as exc:
        return placeholder, False, f"unpack {shown} ({exc.reason})"
    try:
        top = tarball.parent / top_directory(tarball, whole=False)
    except ValueError as exc:
        return placeholder, False, f"unpack {tarball} ({exc})"
    return top, True, f"unpack {tarball}"


# -- before a retry ---------------------------------------------------------------------------

#: A file name that is a tarball (what jhalfs' ``PACKAGE=`` names in a BLFS scriptlet).
ARCHIVE = re.compile(r"\.(tar(\.[A-Za-z0-9]+)?|t[gbx]z|tbz2|tzst)$")


@dataclass(frozen=True)
class Before:
    """What was done before an attempt: the lines that open its log, and why the attempt must
    not run (None: it may)."""

    log: bytes
    problem: WorkspaceError | None = None


def cleanup_argv(argv: list[str], script: Script, command: str) -> list[str]:
    """``command`` run as the script is: its command with the script's file (the last word, as
    the executor gives it and the plugins that wrap it keep it: ``setpriv ... bash +h -e FILE``,
    ``chroot $LFS /bin/bash +h -e COPY``) replaced by ``-c COMMAND``; ``bash +h -e -c
    COMMAND`` when the command is not of that shape."""
    last = posixpath.basename(argv[-1]) if argv else ""
    safe = script.name.replace("/", "_").lstrip(".") or "_"
    if last in (script.path.name, f"{safe}.sh") and "-c" not in argv[:-1]:
        return [*argv[:-1], "-c", command]
    return ["bash", "+h", "-e", "-c", command]


@dataclass(frozen=True)
class RetryCleanup:
    """Removes what the attempt before ``request`` left, so that it starts from a clean tree.

    ``run`` runs a request as the script runs (the executor's Runner: the same keeper, stop and
    timeouts); ``last`` is the directory the attempt before ran in and its ``PKGDIR``, when
    known. A cleanup command runs with the script's environment (``PKGDIR`` the last
    attempt's) in the directory the last attempt ran in (else the script's); a command that
    fails stops the retry (:attr:`Before.problem`)."""

    request: RunRequest
    site: Site
    run: Callable[[RunRequest], ScriptResult]
    command_in: Callable[[list[str], str], list[str] | None]
    last: tuple[Path, str | None] | None = None

    def __call__(self, command: tuple[str, str] | None) -> Before:
        """Clean with ``command`` (its text, and where it comes from: ``cleanup= line 3``), or
        by default (module docstring)."""
        if command is not None:
            return self._command(*command)
        if self.request.script.unpack is not None:
            return Before(self._line("the tarball is unpacked afresh (unpack=)"))
        return self._package_tree()

    def _line(self, text: str) -> bytes:
        return _line(f"cleanup before attempt {self.request.attempt}: {text}")

    def _package_tree(self) -> Before:
        """The top directory of the tarball ``PACKAGE=`` names, removed (jhalfs' PKGDIR)."""
        script = self.request.script
        package = script.meta.get("package", "")
        if not ARCHIVE.search(package):
            return Before(self._line("nothing known to remove (no cleanup=, [executor] "
                                     "cleanup, unpack= or PACKAGE= tarball)"))
        try:
            tarball = find_tarball(script, self.request.env, self.site, package)
            top = tarball.parent / top_directory(tarball, whole=False)
        except (WorkspaceError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, WorkspaceError) else str(exc)
            return Before(self._line(f"nothing removed: PACKAGE={package}: {reason}"))
        what = f"{top}, the PKGDIR of PACKAGE={package}"
        if not top.is_dir() or top.is_symlink() or script.path.is_relative_to(top):
            return Before(self._line(f"nothing to remove: no directory {what}"))
        try:
            _remove(top)
        except OSError as exc:
            return Before(b"", WorkspaceError(script, "cleanup", f"cannot remove {top}: {exc}",
                                              f"(remove {what})"))
        return Before(self._line(f"removed {what}, left by attempt {self.request.attempt - 1}"))

    def _command(self, text: str, origin: str) -> Before:
        request, site = self.request, self.site
        script = request.script
        cwd, pkgdir = self.last if self.last is not None else (None, None)
        where = cwd if cwd is not None and cwd.is_dir() else script.path.parent
        env = dict(request.env)
        if pkgdir:
            env["PKGDIR"] = pkgdir
        argv = cleanup_argv(list(request.argv), script, text)
        seen = site.seen(where)
        if site.moved and seen is not None:
            argv = self.command_in(argv, seen) or argv
        # its own log first (a Runner writes one), copied into the attempt's
        temp = request.log_path.with_name(f".{request.log_path.name}.cleanup")
        try:
            result = self.run(replace(request, argv=argv, env=env, cwd=where, log_path=temp))
            output = temp.read_bytes()
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()
        head = self._line(f"{text} (from {origin}), in {seen or where}")
        output = output.replace(b"# lfsplug: exit status ", b"# lfsplug: cleanup exit status ")
        if result.status is Status.PASSED:
            return Before(head + output)
        why = result.message or (f"exit status {result.exit_code}"
                                 if result.exit_code is not None else f"signal {result.signal}")
        return Before(head + output, WorkspaceError(
            script, "cleanup", f"it failed ({why}): the retry does not run on a tree it could "
                               f"not clean", text))


def _line(text: str) -> bytes:
    return f"# lfsplug: {text}\n".encode("utf-8", "surrogateescape")
