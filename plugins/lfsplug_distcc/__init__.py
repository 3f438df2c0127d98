"""distcc: compiles spread over more machines with distcc (plain or pump mode) or icecream,
inactive until helpers are configured.

- :mod:`.hosts` reads distcc's host syntax (``build2/8``, ``build3:3632/16,lzo``);
  :mod:`.probe` asks each helper, with a real compile, whether it answers and which compiler
  versions it has (the object's ``.comment``, written by the helper's own compiler);
  :mod:`.distlog` counts, from the client's ``DISTCC_LOG``, the jobs each helper ran, the local
  ones, failures and fallbacks.
- :mod:`.plugin`: validation before the build (``DIST001``...), the environment of each script
  that is distributed (a masquerade directory first in ``PATH``, ``DISTCC_HOSTS``,
  ``MAKEFLAGS=-jN`` sized to the slots, pump mode's include server, ccache in front), the counts
  per script (its result's ``distcc``, the reports, the dashboard, the summary).
- :mod:`.command`: ``lfsplug hosts``.

docs/distcc.md is the user's page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import SettingsTable, choice, hookimpl, integer, list_of, seconds, string

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser

__all__ = ["PLUGIN_NAME"]

#: The name the per-command :class:`~.plugin.Distcc` object is registered under.
PLUGIN_NAME = "distcc-hosts"

TABLE = SettingsTable("distcc")
HOSTS = TABLE.add("hosts", list_of(string(empty=False)), [],
                  "the helpers, in distcc's host syntax (build2/8, build3:3632/16,lzo, "
                  "localhost/2); none: the plugin does nothing")
ENGINE = TABLE.add("engine", choice("distcc", "pump", "icecream"), "distcc",
                   "distcc (plain: preprocessed here), pump (distcc's pump mode: headers sent, "
                   "preprocessed on the helpers; hosts need ,cpp) or icecream")
SCHEDULER = TABLE.add("scheduler", str, None, "icecream's scheduler (HOST[:PORT]), for the "
                      "local iceccd to join", metavar="HOST")
FALLBACK = TABLE.add("fallback", bool, True,
                     "compile here when a helper fails (false: a helper's failure fails the "
                     "compile, and the validation's findings are errors)")
LOCAL_SLOTS = TABLE.add("local_slots", integer(0, 1024), 2,
                        "compiles run here at once besides the helpers' (localhost in "
                        "DISTCC_HOSTS; 0: all go to the helpers)")
LOCAL_PHASES = TABLE.add("local_phases", list_of(string(empty=False)), ["chroot-temp"],
                         "phases whose scripts compile here only (the chroot before its "
                         "compiler is final)")
LOCAL_PACKAGES = TABLE.add("local_packages", list_of(string(empty=False)), [],
                           "packages known to break when their compiles are distributed")
CCACHE = TABLE.add("ccache", bool, False,
                   "put ccache in front (CCACHE_PREFIX=distcc): a compile seen before is not "
                   "sent at all")
TIMEOUT = TABLE.add("timeout", seconds(positive=True), 5.0,
                    "seconds a helper may take to answer the probe before the build")
IO_TIMEOUT = TABLE.add("io_timeout", seconds(positive=True), 300.0,
                       "seconds a helper may stay silent during a compile before the compile "
                       "is lost (DISTCC_IO_TIMEOUT; then it runs here, with fallback)")
COMPILERS = TABLE.add("compilers", list_of(string(empty=False)), [],
                      "the compilers the scripts use, checked on every helper before the "
                      "build (default: cc, gcc, g++ and $LFS_TGT-gcc where they exist here)")
SLOTS_LIMIT = TABLE.add("max_jobs", integer(1, 4096), 64,
                        "MAKEFLAGS=-jN: at most this N, however many slots the helpers have")


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(TABLE)
    parser.offer("state_dir", ("hosts",))
    parser.offer("json", ("hosts",))


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    from lfsplug_distcc.command import cmd_hosts

    commands.add("hosts", cmd_hosts, "Show the distcc helpers: each one's state, slots and "
                 "compiler versions, and the jobs it ran in the last build.", finds_build=True)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command not in ("run", "check") or not config.get(HOSTS):
        return  # no helpers: nothing to do, nothing registered
    from lfsplug_distcc.plugin import Distcc

    config.pluginmanager.register(Distcc(config), PLUGIN_NAME)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if plugin is not None:
        config.pluginmanager.unregister(plugin, PLUGIN_NAME)

