"""chroot: the book's privilege phases, and the chroot with the kernel's file systems.

Each script runs in one of four modes (:mod:`.modes`): on the host as whoever runs lfsplug
(``host``), on the host as root (``root``), as the unprivileged build user (``user``, the
book's ``lfs``: chapters 5 and 6) or inside ``chroot "$LFS"`` as root with the book's chroot
environment (``chroot``: chapters 7 to 11). The header's ``user=``/``chroot=`` wins over
``[chroot.scripts]``, which wins over ``[chroot.phases]`` and the book's phase defaults
(:mod:`.settings`).

How, all through hooks (so that a dry run shows the real argv):

* ``lfsplug_validate_scripts``: the refusals, ``CHR001``... (:mod:`.checks`): exit 6 before
  anything runs;
* ``lfsplug_script_env`` and ``lfsplug_script_command`` (wrappers around every other
  implementation): the environment adjusted and the executor's command put behind
  ``setpriv`` or ``chroot`` (:mod:`.wrap`);
* the executor's ``lfsplug_script_root``, ``lfsplug_script_owner`` and
  ``lfsplug_script_command_in``: a chroot script's ``unpack=``, ``workdir=`` and ``$SOURCES``
  are under ``$LFS``, and its command changes to its directory inside; what is unpacked for the
  build user is theirs;
* ``lfsplug_run_script`` (tryfirst): just before a chroot script runs, the book's kernel file
  systems are mounted once (:mod:`.mounts`) and the script is copied into the chroot; a wrapper
  removes the copy afterwards;
* ``lfsplug_sessionfinish`` (a wrapper, so after reporters and the state store): unmounted,
  also after a failure or an interrupt, with ``atexit`` as a second net.

``--privileges off`` leaves every script on the host as whoever runs lfsplug; for ``run`` it
only warns of an earlier run's mounts still in place, and leaves them. The user's
documentation is docs/chroot.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import StashKey, hookimpl
from lfsplug_chroot.settings import COMMANDS, OPTIONS, PRIVILEGES, TABLE, Settings, read_settings

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser

__all__ = ["PLUGIN_NAME", "SETTINGS"]

#: The name the per-command :class:`~.plugin.Chroot` object is registered under.
PLUGIN_NAME = "chroot-phases"
#: The settings read from ``[chroot]`` and ``--lfs``.
SETTINGS = StashKey[Settings]()


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    # --lfs is the kernel's: there for run and check whichever plugins are blocked
    parser.add(OPTIONS, TABLE)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command not in COMMANDS:
        return
    config.stash[SETTINGS] = settings = read_settings(config)
    if config.get(PRIVILEGES) == "off":
        if config.command == "run":  # an earlier run's mounts, which this run leaves alone
            from lfsplug_chroot.plugin import warn_left_mounted

            warn_left_mounted(config, settings)
        return
    from lfsplug_chroot.plugin import Chroot

    config.pluginmanager.register(Chroot(config, settings), PLUGIN_NAME)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    config.pluginmanager.unregister_and_close(PLUGIN_NAME)


@hookimpl
def lfsplug_report_header(config: Config) -> str | None:
    settings = config.stash.get(SETTINGS)
    if settings is None or config.pluginmanager.get_plugin(PLUGIN_NAME) is None:
        return None
    as_user = sorted(p for p, m in settings.phases.items() if m == "user" and p != "default")
    inside = sorted(p for p, m in settings.phases.items() if m == "chroot" and p != "default")
    parts = [f"{', '.join(as_user)} as {settings.user}"] if as_user else []
    if inside:
        parts.append(f"{', '.join(inside)} in chroot {settings.lfs}")
    return "privileges: " + ("; ".join(parts) or "every phase on the host")
