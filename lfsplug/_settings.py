"""Settings: what a plugin declares once, and the kernel reads, checks and documents.

A setting is one key of the configuration file, at the top level (``jobs = 4``) or in a table
(``[monitor] sample_interval = 0.5``), with a kind (:mod:`lfsplug._kinds`), a default and a
help line; it may also be an option of some commands (``--sample-interval``). A plugin declares
its settings once, as module constants, and adds them to the parser in ``lfsplug_addoption``::

    MONITOR = SettingsTable("monitor")
    INTERVAL = MONITOR.add("sample_interval", seconds(0.1, 60), 1.0, "seconds between samples",
                           option=("--sample-interval",), commands=("run",), metavar="S")

    @hookimpl
    def lfsplug_addoption(parser: OptionParser) -> None:
        parser.add(MONITOR)

and reads it with ``config.get(INTERVAL)``, typed (a ``float``); a bad value or unknown key is
an error at its line of the file (exit 4), even for a key the command line overrides."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lfsplug._kinds import BOOL, EntryError, Kind, integer, kind_of, list_of, seconds
from lfsplug._model import UsageError

if TYPE_CHECKING:
    from lfsplug._config import ConfigFile
    from lfsplug._manager import PluginManager

__all__ = [
    "DEFAULT_LFS", "JOBS", "KERNEL", "LFS", "SILENCE_TIMEOUT", "TIMEOUT", "Option", "OptionParser",
    "Setting", "SettingsTable", "Values", "check_file", "collect_settings", "resolve",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Top-level keys of the configuration file that are not settings.
RESERVED_KEYS = {"plugins", "env", "disable"}

#: Where a value came from, as ``Config.source`` says.
COMMAND_LINE, FILE, DEFAULT = "command line", "file", "default"
_ABSENT = object()  # what _file_value returns for a key the file does not give


# -- declarations -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Setting(Generic[T_co]):
    """One setting, declared once: its key, kind, default and help; optionally an option.
    Made by :meth:`SettingsTable.add`, read with ``config.get(setting)``; its identity is the key
    into a command's values, so declare each setting once, as a module constant."""

    key: str
    kind: Kind[T_co]
    default: T_co
    help: str
    #: the table it is a key of (``"monitor"``), None for the top level of the file
    table: str | None = None
    #: the option's flags (``("-j", "--jobs")``); empty: a key of the file only
    flags: tuple[str, ...] = ()
    #: the commands that take the option
    commands: tuple[str, ...] = ()
    metavar: str | None = None
    #: how the default is shown when it is worked out at run time (``$LFS/sources``)
    shown_default: str | None = None

    @property
    def label(self) -> str:
        """How messages name it: ``jobs``, ``[monitor] disk``."""
        return f"[{self.table}] {self.key}" if self.table else self.key

    @property
    def dest(self) -> str | None:
        """Its name among the options (``config.getoption``): the key at the top level, the
        long flag with ``_`` for ``-`` in a table; None for a table key without option."""
        if self.table is None:
            return self.key
        longs = [f for f in self.flags if f.startswith("--")]
        return longs[0][2:].replace("-", "_") if longs else None

    def shown(self) -> str:
        """The default as the reference and ``--help`` show it."""
        return self.kind.shown(self.default) if self.shown_default is None else self.shown_default


class SettingsTable:
    """The settings a plugin declares in one table of the file (``[monitor]``), or at the top
    level (``SettingsTable()``), in declaration order."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.settings: list[Setting[Any]] = []

    def __iter__(self) -> Iterator[Setting[Any]]:
        return iter(self.settings)

    def add(
        self, key: str, of_type: type[T] | Kind[T], default: T, help: str, *,
        option: Sequence[str] | None = None, commands: Sequence[str] = (),
        metavar: str | None = None, shown_default: str | None = None,
    ) -> Setting[T]:
        """Declare ``key``: read as ``of_type`` (a type or a :class:`Kind`), ``default`` when
        absent, explained by ``help``; with ``option`` (flags such as ``("-j", "--jobs")``)
        also an option of ``commands``. Returns the key to read it with ``config.get``."""
        setting = Setting(key, kind_of(of_type), default, help, self.name, tuple(option or ()),
                          tuple(commands) if option else (), metavar, shown_default)
        if any(s.key == key for s in self.settings):
            raise ValueError(f"{setting.label} is declared twice")
        if option and not commands:
            raise ValueError(f"{setting.label}: an option needs the commands that take it")
        self.settings.append(setting)
        return setting


# -- the kernel's own: what every plugin shares --------------------------------------------
#: $LFS when ``--lfs`` is not given: the book's mount point.
DEFAULT_LFS = "/mnt/lfs"

KERNEL = SettingsTable()
LFS = KERNEL.add("lfs", str, DEFAULT_LFS, "the LFS partition's mount point ($LFS)",
                 option=("--lfs",), commands=("run", "check", "list"), metavar="DIR")
JOBS = KERNEL.add("jobs", integer(1), 1, "run up to N scripts at once (those the plan lets run "
                  "together), sharing one make jobserver", option=("-j", "--jobs"),
                  commands=("run",), metavar="N")
TIMEOUT = KERNEL.add("timeout", seconds(positive=True), None, "end a script (its whole process "
                     "group) after S seconds", option=("--timeout",), commands=("run",),
                     metavar="S")
STATE_DIR = KERNEL.add("state_dir", str, None, "where state, logs and reports go (default: "
                       ".lfsplug/ in the first PATH)", option=("--state-dir",), metavar="DIR",
                       commands=("run", "list", "check", "status", "log", "report"))
SILENCE_TIMEOUT = KERNEL.add("silence_timeout", seconds(positive=True), None, "end a script "
                             "that printed nothing for S seconds",
                             option=("--silence-timeout",), commands=("run",), metavar="S")


# -- the parser -------------------------------------------------------------------------------
@dataclass(eq=False)
class Option:
    """A setting as one parser holds it: the plugin that declared it and the commands whose
    option it is (the declaration's, and those other plugins asked for)."""

    setting: Setting[Any]
    plugin: str
    commands: tuple[str, ...]
    #: for options added with :meth:`OptionParser.addoption`: what makes two the same
    signature: tuple[Any, ...] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return self.setting.flags

    @property
    def owner(self) -> str:
        """Who declared it: a plugin's name, or ``kernel``."""
        return self.plugin

    @property
    def dest(self) -> str:
        return self.setting.dest or self.setting.key

    @property
    def key(self) -> str:
        return self.setting.key

    @property
    def help(self) -> str:
        return self.setting.help

    @property
    def default(self) -> Any:
        return self.setting.default

    @property
    def metavar(self) -> str | None:
        return self.setting.metavar

    @property
    def action(self) -> str:
        """``store_true`` (a flag), ``append`` (may be repeated) or ``store``."""
        if self.setting.kind.flag:
            return "store_true"
        return "append" if self.setting.kind.item is not None else "store"

    @property
    def takes_value(self) -> bool:
        return self.action != "store_true"

    def convert(self, raw: Any, where: str) -> Any:
        """A value of the configuration file; UsageError naming ``where`` if it is bad."""
        try:
            return self.setting.kind.parse(raw)
        except EntryError as exc:
            raise UsageError(f"{where}: {self.setting.label}: {exc.entry}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{where}: {self.setting.label}: {exc}") from None


class OptionParser:
    """The settings plugins declare in ``lfsplug_addoption``, and the options they make. Each
    plugin gets a view bound to its name (:meth:`bound`), so a collision names both plugins."""

    def __init__(self) -> None:
        #: the plugin this view declares for
        self.plugin = "?"
        #: every declared setting, in declaration order
        self.declared: list[Option] = []
        #: the options (settings with flags), by their name among options (``jobs``)
        self.options: dict[str, Option] = {}
        #: the top-level keys of the file, by key
        self.keys: dict[str, Option] = {}
        #: the tables of the file: table -> key -> option
        self.tables: dict[str, dict[str, Option]] = {}
        self._flags: dict[str, Option] = {}
        self._offers: list[tuple[str, str, tuple[str, ...]]] = []

    def bound(self, plugin: str) -> OptionParser:
        """A view of this parser whose declarations are ``plugin``'s (the same registry)."""
        view = copy.copy(self)
        view.plugin = plugin
        return view

    def add(self, *declared: Setting[Any] | SettingsTable) -> None:
        """Add settings, or every setting of tables (``parser.add(MONITOR)``)."""
        for item in declared:
            for setting in item if isinstance(item, SettingsTable) else (item,):
                self._add(setting)

    def _add(self, setting: Setting[Any], signature: tuple[Any, ...] | None = None) -> Option:
        self._check_declaration(setting)
        option = Option(setting, self.plugin, setting.commands, signature)
        same = self._flags.get(setting.flags[0]) if setting.flags else None
        if same is not None and signature is not None and same.signature == signature:
            same.commands = tuple(dict.fromkeys([*same.commands, *setting.commands]))
            return same
        taken = next((flag for flag in setting.flags if flag in self._flags), None)
        if taken is not None:
            raise UsageError(f"option {taken} is {_declared_by(self._flags[taken], self.plugin)}")
        self._check_key(setting)
        self._flags.update(dict.fromkeys(setting.flags, option))
        self.declared.append(option)
        if setting.table is None:
            self.keys[setting.key] = option
        else:
            self.tables.setdefault(setting.table, {})[setting.key] = option
        if setting.dest is not None and setting.flags:
            self.options[setting.dest] = option
        return option

    def _check_declaration(self, setting: Setting[Any]) -> None:
        what = f"plugin {self.plugin}: {setting.label}"
        if setting.flags and (not any(f.startswith("--") for f in setting.flags)
                              or any(not f.startswith("-") for f in setting.flags)):
            raise UsageError(f"{what}: option {setting.flags!r} needs a --long name")
        if setting.flags and setting.kind.table:
            raise UsageError(f"{what}: a table of entries cannot be an option")
        if setting.table is not None and not re.fullmatch(r"[A-Za-z][\w-]*", setting.table):
            raise UsageError(f"{what}: {setting.table!r} is not a table name")
        if setting.table in RESERVED_KEYS:
            raise UsageError(f"{what}: [{setting.table}] is the file's own table")

    def _check_key(self, setting: Setting[Any]) -> None:
        label, dest = setting.label, setting.dest
        if setting.table is None and setting.key in RESERVED_KEYS:
            raise UsageError(f"plugin {self.plugin}: option key {setting.key!r} is already "
                             f"taken (the file's {setting.key})")
        taken = (self.keys.get(setting.key) if setting.table is None
                 else self.tables.get(setting.table, {}).get(setting.key))
        if taken is not None:
            raise UsageError(f"setting {label} is {_declared_by(taken, self.plugin)}")
        # config.getoption() knows options and top-level keys by one name: one of each
        other = self.options.get(dest) if dest is not None else None
        if other is None and setting.table is not None and setting.flags and dest is not None:
            other = self.keys.get(dest)
        if other is not None:
            raise UsageError(f"plugin {self.plugin}: option key {dest!r} is already taken "
                             f"by plugin {other.owner}")

    def addoption(
        self, *names: str, commands: Sequence[str] = ("run",), help: str = "",
        type: Callable[[str], Any] = str, default: Any = None, action: str = "store",
        choices: Sequence[str] | None = None, metavar: str | None = None, dest: str | None = None,
    ) -> Option:
        """Add an option to the given commands (and a top-level key to the file), untyped.

        ``names`` are flags such as ``"-j", "--jobs"``; the first long one gives the key.
        ``action`` is ``store`` (takes a value, read by ``type``), ``store_true`` (a flag) or
        ``append`` (may be repeated). Declaring an existing option again with the same flags,
        action and type adds it to more commands; two different options on one flag are an
        error naming both plugins. A typed declaration (:meth:`add`) is read with
        ``config.get``; this one with ``config.getoption(key)``.
        """
        longs = [n for n in names if n.startswith("--")]
        if not longs or any(not n.startswith("-") for n in names):
            raise UsageError(f"plugin {self.plugin}: option {names!r} needs a --long name")
        if action not in ("store", "store_true", "append"):
            raise UsageError(f"plugin {self.plugin}: option {longs[0]}: bad action {action!r}")
        key = dest or longs[0][2:].replace("-", "_")
        kind = _untyped_kind(type, action, tuple(choices) if choices else ())
        if default is None:
            default = {"store_true": False, "append": []}.get(action)
        setting = Setting(key, kind, default, help, None, tuple(names), tuple(commands), metavar)
        signature = (tuple(names), key, action, type, tuple(choices or ()))
        return self._add(setting, signature)

    def offer(self, dest: str, commands: Sequence[str]) -> None:
        """Make another plugin's (or the kernel's) option an option of ``commands`` too:
        ``parser.offer("lfs", ("host",))``. Applied once every plugin has declared."""
        self._offers.append((self.plugin, dest, tuple(commands)))

    def finish(self) -> None:
        """Apply the offers; an offer of an option nobody declares is an error."""
        for plugin, dest, commands in self._offers:
            option = self.options.get(dest)
            if option is None:
                raise UsageError(f"plugin {plugin} offers option {dest!r} on "
                                 f"{', '.join(commands)}, but no plugin declares it")
            option.commands = tuple(dict.fromkeys([*option.commands, *commands]))
        self._offers.clear()

    def for_command(self, command: str) -> list[Option]:
        return [o for o in self.options.values() if command in o.commands]

    def by_flag(self, flag: str) -> Option | None:
        return self._flags.get(flag)


def _declared_by(other: Option, plugin: str) -> str:
    if other.plugin == "kernel":
        return f"the kernel's; plugin {plugin} cannot declare it again"
    first, second = sorted((other.plugin, plugin))
    return f"added by two plugins: {first} and {second}; block one with -p no:NAME"


#: How the kind of an untyped option reading with a built-in type is named and shown.
_BUILTIN_TYPES: dict[object, tuple[str, str]] = {
    str: ("a string", "TEXT"), int: ("a whole number", "INTEGER"), float: ("a number", "FLOAT"),
}


def _untyped_kind(read: Callable[[str], Any], action: str, choices: tuple[str, ...]) -> Kind[Any]:
    """The kind of an option added with ``addoption``: its ``type`` reads a file value's text,
    as it reads a command-line word."""
    if action == "store_true":
        return BOOL

    def parse(raw: object) -> Any:
        if isinstance(raw, list | dict):
            raise ValueError(f"expected a single value, not {type(raw).__name__} {raw!r}")
        try:
            value = raw if isinstance(raw, bool) else read(str(raw))
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        if choices and value not in choices:
            raise ValueError(f"{raw!r} is not one of {', '.join(choices)}")
        return value

    name, metavar = _BUILTIN_TYPES.get(read, (f"a value ({getattr(read, '__name__', '?')})",
                                              "VALUE"))
    scalar = Kind(f"one of {', '.join(choices)}" if choices else name, parse, text=read,
                  choices=choices, metavar=metavar)
    return list_of(scalar, single=True) if action == "append" else scalar


def collect_settings(pm: PluginManager) -> OptionParser:
    """Every setting: the kernel's, then each plugin's ``lfsplug_addoption``, then the offers."""
    parser = OptionParser()
    parser.bound("kernel").add(KERNEL)
    pm.call_addoption(parser)
    parser.finish()
    return parser


# -- the file and the values -------------------------------------------------------------------
def check_file(parser: OptionParser, file: ConfigFile, blocked: Collection[str]) -> list[str]:
    """Check that every key and table of ``file`` is declared; UsageError at the line of the
    first that is not. One that may belong to a blocked plugin (``-p no:NAME``) is ignored,
    with a warning (returned): its plugin is not there to say what it means."""
    warnings = []
    for key in (key for key in file.values if key not in parser.keys):
        where = file.where(key)
        if not blocked:
            raise UsageError(f"{where}: unknown key {key!r}{_did_you_mean(key, parser.keys)} "
                             f"(keys are the long options with _ for -, plus plugins, disable "
                             f"and [env]; a plugin's own keys go in its [section])")
        warnings.append(f"{where}: unknown key {key!r} ignored (its plugin may be blocked)")
    for table, entries in file.sections.items():
        declared = parser.tables.get(table)
        if declared is not None:
            for key in entries:
                if key not in declared:
                    raise UsageError(f"{file.where(key, table)}: [{table}] unknown key {key!r}"
                                     f"{_known(key, declared)}")
        elif table not in parser.keys or not parser.keys[table].setting.kind.table:
            # neither a declared table nor the value of a top-level key that is a table
            warnings.append(_unknown_table(parser, file, table, blocked))
    return warnings


def _unknown_table(parser: OptionParser, file: ConfigFile, table: str,
                   blocked: Collection[str]) -> str:
    where = file.where_table(table)
    if table in blocked:
        return f"{where}: [{table}] ignored: plugin {table} is blocked (-p no:{table})"
    if blocked:
        return f"{where}: unknown table [{table}] ignored (its plugin may be blocked)"
    tables = ", ".join(sorted(parser.tables)) or "none"
    raise UsageError(f"{where}: unknown table [{table}]{_did_you_mean(table, parser.tables)} "
                     f"(no plugin declares it; tables: {tables})")


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _known(key: str, known: Iterable[str]) -> str:
    close = _did_you_mean(key, known)[2:-1]
    return f" ({close + '; ' if close else ''}known: {', '.join(sorted(known))})"


@dataclass
class Values:
    """Every setting's value for one command, and where each came from."""

    values: dict[Setting[Any], Any] = field(default_factory=dict)
    sources: dict[Setting[Any], str] = field(default_factory=dict)


def resolve(parser: OptionParser, file: ConfigFile, given: Mapping[str, Any],
            invocation_dir: Path) -> Values:
    """Every setting's value: ``given`` (command line, ``LFSPLUG_ADDOPTS``: converted), else the
    file's (checked even when overridden), else the default; a relative path anchored."""
    result = Values()
    for option in parser.declared:
        setting = option.setting
        if (raw := _file_value(file, setting)) is not _ABSENT:
            raw = _convert(setting, raw, file)
        if setting.flags and option.dest in given:
            value, source, base = given[option.dest], COMMAND_LINE, invocation_dir
            if setting.kind.item is not None:
                value = list(value)
        elif raw is not _ABSENT:
            value, source = raw, FILE
            base = file.path.parent if file.path is not None else invocation_dir
        else:
            value, source, base = setting.default, DEFAULT, invocation_dir
        if setting.kind.anchored and isinstance(value, Path) and source != DEFAULT:
            value = (base / value).absolute()
        result.values[setting] = value
        result.sources[setting] = source
    return result


def _file_value(file: ConfigFile, setting: Setting[Any]) -> Any:
    if setting.table is not None:
        return file.sections.get(setting.table, {}).get(setting.key, _ABSENT)
    if setting.kind.table and setting.key in file.sections:
        return file.sections[setting.key]
    return file.values.get(setting.key, _ABSENT)


def _convert(setting: Setting[Any], raw: Any, file: ConfigFile) -> Any:
    """A value of the file, converted; UsageError at its line (the entry's, for a table)."""
    try:
        return setting.kind.parse(raw)
    except EntryError as exc:
        table = ".".join(p for p in (setting.table, setting.key) if p)
        raise UsageError(f"{file.entry_where(setting.table, setting.key, exc.entry)}: "
                         f"[{table}] {exc.entry}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{file.where(setting.key, setting.table)}: {setting.label}: "
                         f"{exc}") from None
