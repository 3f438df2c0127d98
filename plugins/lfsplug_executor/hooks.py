"""The hooks the executor adds (through ``lfsplug_addhooks``) for the plugins that place scripts.

A script with ``unpack=`` or ``workdir=`` runs where its collection's driver would run it: the
executor unpacks its tarball and starts it in a directory. Where the script does not see the
host as it is (inside a chroot) or runs as another user, the plugin that put it there says so
through these hooks, so that the executor finds its files, gives it what it unpacked, and
starts it in the right directory. The built-in ``chroot`` plugin implements all three.
Implement them with ``@hookimpl(optionalhook=True)``: the executor may be blocked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import hookspec

if TYPE_CHECKING:
    from lfsplug import Config, Script


@hookspec(firstresult=True)
def lfsplug_script_root(script: Script, config: Config) -> str | None:
    """The host directory that ``script`` sees as ``/`` when it runs.

    :param script: the script about to run (or shown by ``--dry-run``).
    :param config: the configuration.
    :returns: an absolute host directory (``$LFS`` for a script that runs inside
        ``chroot "$LFS"``), or None when the script sees the host's own ``/``. The executor
        reads the script's ``unpack=``, ``workdir=`` and ``$SOURCES`` as paths under it.
        firstresult.
    """


@hookspec(firstresult=True)
def lfsplug_script_owner(script: Script, config: Config) -> tuple[int, int] | None:
    """The user and group ``script`` runs as, when they are not lfsplug's own.

    :param script: the script about to run.
    :param config: the configuration.
    :returns: ``(uid, gid)``: what the executor unpacks for the script is given to them (the
        book's ``lfs`` user builds in the tree it unpacked); None: lfsplug's own user.
        firstresult.
    """


@hookspec(firstresult=True)
def lfsplug_script_command_in(
    script: Script, argv: list[str], directory: str, config: Config
) -> list[str] | None:
    """``argv`` made to start in ``directory``, for a command that does not start in the working
    directory of the process the executor starts (``chroot`` changes to its new ``/``).

    :param script: the script about to run.
    :param argv: its command, as ``lfsplug_script_command`` gave it.
    :param directory: where it must start, as the script sees it (under its root).
    :returns: the argv that starts in ``directory`` (never a shell string with the directory in
        it: pass it as an argument), or None: the executor starts the process in that
        directory, which is enough for a command that stays there. firstresult.
    """
