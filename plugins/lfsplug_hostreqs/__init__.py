"""hostreqs: the host requirements of the LFS book, checked before a build and on demand.

The book's ``version-check.sh`` (tools and their minimum versions, the kernel, UNIX 98 PTYs,
awk/yacc/sh being GNU awk, Bison and Bash, a working C++ compiler) plus what the book asks of
the hardware (free space and inodes at ``$LFS``, memory, cores), read from a table that cites
the book version it comes from (:mod:`lfsplug_hostreqs.book`). ``check`` and ``run`` report
the requirements that are not met as findings ``HOST001``... (docs/hostreqs.md);
``lfsplug host`` prints every requirement with what it found.

When: ``--host-check auto`` (the default) checks the host only when the tree builds the book's
toolchain, that is when a script's phase is ``cross``, ``temp`` or ``chroot-temp``; a small
unrelated tree then does not fail on a host without bison. ``on`` always checks, ``off`` never.

Why a class holds the decision: ``lfsplug_validate_host`` receives only the config, and the
scripts are the session's. Running the checks from ``lfsplug_validate_scripts`` instead would
make them script validation, which the session's ``validate(host=False)`` could not leave out
and another plugin could not tell from script checks. So :class:`HostCheck`, registered in
``lfsplug_configure`` (a module is the gate, a class holds state), notes the early-phase scripts
in ``lfsplug_collection_finish`` (after every plugin has modified the collection) and decides in
``lfsplug_validate_host``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import Finding, StashKey, hookimpl
from lfsplug_hostreqs.settings import HOST_CHECK, OPTIONS, TABLE, Settings, read_settings

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser, Session

__all__ = ["CHECKER", "EARLY_PHASES", "SETTINGS", "HostCheck"]

#: The name the per-command :class:`HostCheck` is registered under.
CHECKER = "hostreqs-check"
#: The phases of the book's chapters 5 to 7 (cross toolchain, temporary tools, chroot tools):
#: they run on the host's tools, so the host must meet the book's requirements.
EARLY_PHASES = frozenset({"cross", "temp", "chroot-temp"})
#: The settings read from ``[hostreqs]`` and ``--lfs``, for the checks and ``lfsplug host``.
SETTINGS = StashKey[Settings]()


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(OPTIONS, TABLE)
    # the kernel's --json and --lfs, for `lfsplug host` too
    parser.offer("json", ("host",))
    parser.offer("lfs", ("host",))


def cmd_host(config: Config) -> int:
    """``lfsplug host`` (its module, with its JSON and click output, is imported when used)."""
    from lfsplug_hostreqs.command import cmd_host as command

    return command(config)


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    commands.add("host", cmd_host,
                 "Check the host against the LFS book's requirements (version-check.sh).")


@hookimpl
def lfsplug_configure(config: Config) -> None:
    # Read [hostreqs] for every command, so that a bad key fails at once with its file and line.
    config.stash[SETTINGS] = read_settings(config)
    config.pluginmanager.register(HostCheck(config), CHECKER)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    checker = config.pluginmanager.get_plugin(CHECKER)
    if checker is not None:
        config.pluginmanager.unregister(checker)


class HostCheck:
    """Decides whether this command checks the host, and checks it in ``validate_host``."""

    def __init__(self, config: Config) -> None:
        self.mode = config.get(HOST_CHECK)
        #: the scripts of the book's early phases in this session's collection
        self.early: list[str] = []

    def wanted(self) -> bool:
        """Whether the host is checked: ``on``, or ``auto`` with early-phase scripts."""
        if self.mode == "auto":
            return bool(self.early)
        return self.mode == "on"

    @hookimpl
    def lfsplug_collection_finish(self, session: Session) -> None:
        self.early = [s.name for s in session.scripts
                      if (s.phase or "").strip().lower() in EARLY_PHASES]

    @hookimpl
    def lfsplug_validate_host(self, config: Config) -> list[Finding] | None:
        if not self.wanted():
            return None
        from lfsplug_hostreqs.checks import check_host  # threads and probes: only when used

        return [o.finding for o in check_host(config.stash[SETTINGS]) if o.finding is not None]
