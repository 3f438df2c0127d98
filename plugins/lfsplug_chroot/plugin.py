"""The per-command plugin object: refusals before the build, and for each script the
environment, the command and (just before it runs) the mounts and the script's copy."""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import shutil
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import click

from lfsplug import Finding, Record, RunRequest, Script, ScriptResult, Status, hookimpl
from lfsplug_chroot import checks
from lfsplug_chroot.modes import Placement, lookup_user, resolve
from lfsplug_chroot.mounts import Mounter, MountError, left_mounted
from lfsplug_chroot.settings import Settings
from lfsplug_chroot.wrap import chroot_env, inside_name, start_in, user_env, wrap_command

if TYPE_CHECKING:
    from lfsplug import Config, Session

__all__ = ["RECORD", "Chroot", "ChrootMounted", "warn_left_mounted"]

#: The record of what lfsplug mounted, in the state directory.
RECORD = "chroot-mounts.json"


@dataclass(frozen=True, slots=True)
class ChrootMounted(Record):
    """The kernel file systems are mounted under ``lfs`` (the ``chroot-mount`` event):
    ``mounted`` by lfsplug, and ``left_alone`` (mounted already, by someone else)."""

    kind: ClassVar[str] = "chroot-mount"
    lfs: str
    mounted: tuple[str, ...]
    left_alone: tuple[str, ...] = ()


def say(text: str) -> None:
    click.echo(f"lfsplug: chroot: {text}", err=True)


def warn_left_mounted(config: Config, settings: Settings) -> None:
    """``run --privileges off`` manages no mount: one warning line when an earlier run (killed
    before it could unmount) left its mounts under $LFS, naming them and how to remove them.
    Nothing is unmounted, and the record stays for a later ``--privileges on`` run."""
    left = left_mounted(config.state_dir / RECORD, settings.lfs)
    if left:
        say(f"warning: an earlier run left {', '.join(left)} mounted; --privileges off leaves "
            f"them alone: remove them with `umount {shlex.join(reversed(left))}` (or a "
            f"`lfsplug run --privileges on` that runs a chroot script)")


class Chroot:
    """Places each script (host, root, the build user, the chroot) and does what that takes."""

    def __init__(self, config: Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.tools = checks.find_tools()
        self.euid = checks.current_euid()
        self.mounter: Mounter | None = None
        #: the host path of each running script's copy inside the chroot, by script name
        self.copies: dict[str, str] = {}
        self.made_dir: str | None = None
        self._lock = threading.Lock()  # -j N: scripts enter the chroot from several threads
        self.placements: dict[str, Placement] = {}
        #: (mode, user) of the placements that passed the checks just before a script: what
        #: they test (who lfsplug runs as, $LFS, the tools, the user, the shell) does not go
        #: away during a build, so each (a handful per build) is checked until it passes once
        self.cleared: set[tuple[str, str | None]] = set()
        atexit.register(self.teardown)

    def place(self, script: Script) -> Placement:
        """Where ``script`` runs (resolved once: each script passes four hooks per attempt)."""
        placement = self.placements.get(script.name)
        if placement is None:  # names are unique in a build (DISC001 otherwise)
            placement = self.placements[script.name] = resolve(script, self.settings)
        return placement

    # -- before the build ----------------------------------------------------------------------

    @hookimpl
    def lfsplug_validate_scripts(self, session: Session,
                                 scripts: list[Script]) -> list[Finding] | None:
        placements = {s.name: self.place(s) for s in scripts}
        return checks.validate(scripts, placements, self.settings, self.euid, self.tools)

    # -- each script: environment and command (also what a dry run shows) ----------------------

    @hookimpl(wrapper=True)
    def lfsplug_script_env(self, script: Script, env: dict[str, str],
                           config: Config) -> Generator[None, None, None]:
        yield  # the executor's clean environment, [env] and every plugin's additions first
        placement = self.place(script)
        if placement.mode == "chroot":
            chroot_env(env, self.settings, config.env, script.env)
        elif placement.mode == "user":
            user_env(env, placement, config.env)

    @hookimpl(wrapper=True)
    def lfsplug_script_command(self, script: Script, env: dict[str, str],
                               config: Config) -> Generator[None, list[str] | None,
                                                            list[str] | None]:
        argv = yield
        placement = self.place(script)
        if not argv or placement.mode == "host":
            return argv
        return wrap_command(list(argv), script, placement, self.settings, euid=self.euid,
                            tools=self.tools)

    # -- each script: where the executor unpacks and starts it (unpack=, workdir=) -------------
    # The executor's hooks (the executor may be blocked: optional), answered last as built-ins.

    @hookimpl(optionalhook=True, trylast=True)
    def lfsplug_script_root(self, script: Script, config: Config) -> str | None:
        """Inside the chroot, a script's paths are under ``$LFS`` on the host."""
        return self.settings.lfs if self.place(script).mode == "chroot" else None

    @hookimpl(optionalhook=True, trylast=True)
    def lfsplug_script_owner(self, script: Script, config: Config) -> tuple[int, int] | None:
        """The build user owns what is unpacked for its scripts (it builds in that tree)."""
        placement = self.place(script)
        entry = lookup_user(placement.user) if placement.mode == "user" else None
        if entry is None or entry.pw_uid == self.euid:
            return None
        return entry.pw_uid, entry.pw_gid

    @hookimpl(optionalhook=True, trylast=True)
    def lfsplug_script_command_in(self, script: Script, argv: list[str], directory: str,
                                  config: Config) -> list[str] | None:
        """``chroot`` starts in its ``/``: the command inside changes directory first."""
        if self.place(script).mode != "chroot":
            return None
        return start_in(argv, directory, self.settings, self.tools)

    # -- each script: just before it runs, and after ------------------------------------------

    @hookimpl(tryfirst=True, specname="lfsplug_run_script")
    def prepare_script(self, session: Session, request: RunRequest) -> ScriptResult | None:
        """Refuse (a failed result, the script not run) or prepare; None lets it run."""
        script = request.script
        placement = self.place(script)
        key = (placement.mode, placement.user)
        if key not in self.cleared:
            refusal = checks.preflight(script, placement, self.settings, self.euid, self.tools)
            if refusal is not None:
                return _refused(request, refusal.message, _explain(refusal, script, placement))
            self.cleared.add(key)
        if placement.mode != "chroot":
            return None
        with self._lock:
            problem = self._enter(session, script)
        return None if problem is None else _refused(request, problem)

    @hookimpl(wrapper=True)
    def lfsplug_sessionfinish(self, session: Session,
                              exitstatus: int) -> Generator[None, None, None]:
        try:
            yield  # reporters and the state store first: the mounts go last
        finally:
            self.teardown()

    def _enter(self, session: Session, script: Script) -> str | None:
        """Mount the kernel file systems (once) and copy the script into the chroot."""
        mounter = self.mounter
        if mounter is None:
            record = self.config.state_dir / RECORD
            mounter = self.mounter = Mounter(
                self.settings.lfs, mount=self.tools["mount"], umount=self.tools["umount"],
                record=record, say=say)
        if not mounter.up:
            try:
                mounter.mount_all()
            except MountError as exc:
                return str(exc)
            session.emit(ChrootMounted(mounter.root, tuple(t for t, _ in mounter.ours),
                                       tuple(mounter.left_alone)))
        try:
            self._copy(mounter.root, script)
        except OSError as exc:
            return f"cannot copy {script.path} into the chroot: {exc}"
        return None

    def _copy(self, root: str, script: Script) -> None:
        directory = os.path.join(root, self.settings.script_dir.lstrip("/"))
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o755)
            self.made_dir = directory
        real = os.path.realpath(directory)
        if not real.startswith(root.rstrip("/") + "/"):
            raise OSError(f"{directory} leads out of {root} through a symbolic link")
        target = os.path.join(real, inside_name(script))
        shutil.copyfile(script.path, target)
        os.chmod(target, 0o755)
        self.copies[script.name] = target

    @hookimpl(wrapper=True, specname="lfsplug_run_script")
    def remove_copy(self, session: Session, request: RunRequest) -> Generator[
            None, ScriptResult | None, ScriptResult | None]:
        """After the script (whatever became of it), its copy inside the chroot goes."""
        try:
            return (yield)
        finally:
            copy = self.copies.pop(request.script.name, None)
            if copy is not None:
                Path(copy).unlink(missing_ok=True)

    # -- the end -------------------------------------------------------------------------------

    def teardown(self) -> None:
        """Remove the copies and unmount what lfsplug mounted; safe to call more than once."""
        for name in list(self.copies):
            Path(self.copies.pop(name)).unlink(missing_ok=True)
        if self.made_dir is not None:
            # gone with its tmpfs, or a script left something there (kept)
            with contextlib.suppress(OSError):
                os.rmdir(self.made_dir)
            self.made_dir = None
        mounter = self.mounter
        if mounter is not None:
            done = mounter.unmount_all()
            if done:
                names = [os.path.relpath(p, mounter.root) for p in done]
                say(f"unmounted {', '.join(names)} under {mounter.root}")

    def close(self) -> None:
        self.teardown()
        atexit.unregister(self.teardown)


def _explain(refusal: Finding, script: Script, placement: Placement) -> str:
    """What a refusal's message leaves to its log: the code, the script file (and the header
    line that placed it) with why it runs there, and how to mend it."""
    where = f"{script.relpath}:{refusal.line}" if refusal.line else script.relpath
    return f"{refusal.code}: {where} ({placement.why}); {refusal.hint}"


def _refused(request: RunRequest, problem: str, detail: str | None = None) -> ScriptResult:
    """The failed result of a script that was not run: ``problem`` is its message (which the
    failed line and the summary show), ``detail`` the log's next line, its tail (shown once,
    under the failed line), so that a refusal is said once, not three times."""
    now = time.time()
    message = f"not run: {problem}"
    lines = [f"lfsplug: chroot: {line}" for line in (message, detail) if line]
    try:
        request.log_path.parent.mkdir(parents=True, exist_ok=True)
        request.log_path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    except OSError:
        pass  # the message is in the result too
    return ScriptResult(request.script.name, Status.FAILED, started=now, finished=now,
                        attempts=request.attempt, log_path=request.log_path, tail=lines[1:],
                        message=message)
