"""cross: platforms, target triplets, toolchains, the cross environment and the book's
toolchain sanity checks.

- :mod:`.hostinfo` detects the host (machine, triplet, C library, distribution);
  :mod:`.triplets` reads ``--target`` (``aarch64``, or a triplet) and knows each machine's ELF
  header, dynamic linker and qemu-user program.
- :mod:`.toolchain` finds the toolchains for the target (``$LFS/tools/bin``, ``PATH``, where
  distributions install them) and records each tool with its version and the sysroot;
  ``lfsplug toolchain`` shows them (:mod:`.command`).
- :mod:`.environment`: the variables of a script in a cross phase (``lfsplug_script_env``).
- :mod:`.sanity`: the book's checks after glibc (chapter 5) and the final gcc (chapter 8), and
  the ELF check of what a script installed under ``$LFS``; run as validation of the host before
  a build and after each script that ``produces=toolchain`` (:mod:`.plugin`).
- :mod:`.targets`: ``--target`` given more than once runs the build once per target, each with
  its own ``$LFS`` and state.

The user's documentation is docs/cross.md. ``-p no:cross`` removes all of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import Kind, SettingsTable, choice, hookimpl, list_of, string
from lfsplug_cross.triplets import parse_target

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser

__all__ = ["PLUGIN_NAME", "TARGET"]

#: The name the per-command :class:`~.plugin.Cross` object is registered under.
PLUGIN_NAME = "cross-target"
#: The commands that build for a target.
COMMANDS = ("run", "check", "list", "toolchain")


def _target(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"expected a target (an architecture or a triplet), got {raw!r}")
    return str(parse_target(raw))


TARGET_KIND = Kind("a target: an architecture (aarch64) or a triplet (aarch64-linux-gnu)",
                   _target, metavar="TRIPLET")

#: ``--target`` (a top-level key of the file too, as DESIGN.md's ``lfsplug.toml`` has it).
OPTIONS = SettingsTable()
TARGET = OPTIONS.add(
    "target", list_of(TARGET_KIND, single=True), [],
    "build for this target: an architecture (aarch64: the book's aarch64-lfs-linux-gnu) or a "
    "triplet; given more than once, the tree is built once per target, each in its own $LFS "
    "and state ([cross] lfs_per_target, state_per_target)",
    option=("--target",), commands=COMMANDS, metavar="TRIPLET",
    shown_default="the book's $(uname -m)-lfs-linux-gnu")
#: The ``[cross]`` table.
TABLE = SettingsTable("cross")
PHASES = TABLE.add("phases", list_of(string(empty=False)), ["cross", "temp"],
                   "the phases whose scripts build for the target (the book's chapters 5 and "
                   "6); the others build natively, in the chroot")
TOOLCHAIN = TABLE.add("toolchain", str, None, "the target's compiler (PREFIX-gcc), instead of "
                      "the first one found", metavar="FILE",
                      shown_default="$LFS/tools/bin, then PATH, then /usr/bin...")
ELF_CHECK = TABLE.add("elf_check", choice("error", "warning", "off"), "error",
                      "after each script of a cross phase, what a file it installed under $LFS "
                      "that is not for the target is: an error fails the script")
ELF_IGNORE = TABLE.add("elf_ignore", list_of(string(empty=False)),
                       ["tools", "sources", "proc", "sys", "dev", "run", "tmp", "lost+found",
                        "usr/lib/firmware", "lib/firmware", "usr/lib/grub", "boot"],
                       "folders of $LFS the ELF check does not look in (the cross toolchain "
                       "runs on the host)")
QEMU = TABLE.add("qemu", bool, True, "run the sanity checks' dummy program through qemu-user "
                 "where the target is another machine and qemu is installed")
LFS_PER_TARGET = TABLE.add("lfs_per_target", str, "{lfs}/{target}",
                           "with several targets, each one's $LFS ({lfs}: --lfs)")
STATE_PER_TARGET = TABLE.add("state_per_target", str, "{state_dir}/{target}",
                             "with several targets, each one's state directory")


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(OPTIONS, TABLE)
    parser.offer("lfs", ("toolchain",))
    parser.offer("json", ("toolchain",))


@hookimpl(trylast=True)  # after the main plugin added run: it is wrapped for several targets
def lfsplug_addcommands(commands: CommandSet) -> None:
    from lfsplug_cross.command import cmd_toolchain
    from lfsplug_cross.targets import wrap_run

    commands.add("toolchain", cmd_toolchain, "Show the host and the toolchains that build for "
                 "the target, each tool with its version, and what is wrong with them.")
    wrap_run(commands)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command not in COMMANDS:
        return
    from lfsplug_cross.plugin import Cross

    cross = Cross(config)
    if cross.explicit:  # a build for the book's default target is labelled as before
        config.labels.setdefault("target", cross.target_name)
        config.labels.setdefault("host", cross.host.triplet)
    if config.command != "toolchain":
        config.pluginmanager.register(cross, PLUGIN_NAME)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if plugin is not None:
        config.pluginmanager.unregister(plugin, PLUGIN_NAME)
