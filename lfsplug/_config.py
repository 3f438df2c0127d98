"""Where text a user wrote becomes typed values, with ``file:line`` in its messages.

:class:`Config` gives plugins the command's settings, typed: from the command line, then
``LFSPLUG_ADDOPTS``, then ``lfsplug.toml`` (or ``[tool.lfsplug]`` in pyproject.toml; its text is
kept to name a key's line; a file others could change is refused), then the default
(:mod:`lfsplug._settings` declares and checks them). :func:`apply_metadata` does the same for
each script's ``key=value`` metadata (``# lfsplug:`` header, jhalfs variables, file names...):
per key the highest priority wins, ``script.origins`` records where from (``list --why``), and
:data:`KEYS` converts each value once; a malformed one is an error finding at its line. Also
here: the typed :class:`Stash` for plugins' state and the :class:`CommandSet` of commands.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from lfsplug._kinds import byte_size
from lfsplug._model import Finding, MetaSource, Requirement, Script, Severity, UsageError
from lfsplug._settings import (
    COMMAND_LINE,
    DEFAULT,
    FILE,
    JOBS,
    LFS,
    Option,
    OptionParser,
    Setting,
    Values,
    check_file,
    collect_settings,
    resolve,
)

if TYPE_CHECKING:
    from lfsplug._manager import PluginManager

__all__ = [
    "KEYS", "Command", "CommandSet", "Config", "ConfigFile", "Option", "OptionParser", "Stash",
    "StashKey", "Values", "apply_metadata", "byte_size", "check_file", "collect_settings",
    "find_config_file", "load_config_file", "positive_float", "positive_int", "resolve",
    "split_list",
]

T = TypeVar("T")
D = TypeVar("D")


@dataclass
class ConfigFile:
    """A parsed configuration file: option values, plugin names, ``[env]`` and other sections."""

    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    disable: list[str] = field(default_factory=list)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: str = ""

    def _full_name(self, section: str | None) -> str:
        in_pyproject = self.path is not None and self.path.name == "pyproject.toml"
        return ".".join(p for p in ("tool.lfsplug" if in_pyproject else "", section) if p)

    def line_of(self, key: str, section: str | None = None) -> int | None:
        """The line where ``key`` is set: at the top level, or in the ``[section]`` table (and
        its sub-tables, and inline tables inside them). tomllib keeps no positions, so the
        text is searched; a key not found gives the section's header line, or None."""
        text = self.text
        name = self._full_name(section)
        headers = list(_TABLE_HEADER.finditer(text))
        ends = [h.start() for h in headers[1:]] + [len(text)] if headers else []
        if name:
            regions = [(h.end(), end) for h, end in zip(headers, ends, strict=True)
                       if h.group(1) == name or h.group(1).startswith(name + ".")]
        else:
            regions = [(0, headers[0].start() if headers else len(text))]
        quoted = "|".join(re.escape(k) for k in (key, f'"{key}"', f"'{key}'"))
        pattern = re.compile(rf"(?:^|[{{,])[ \t]*(?:{quoted})[ \t]*=", re.M)
        for start, end in regions:
            match = pattern.search(text, start, end)
            if match is not None:
                return text.count("\n", 0, match.end()) + 1
        if name and regions:
            return text.count("\n", 0, regions[0][0]) + 1
        return None

    def where(self, key: str, section: str | None = None) -> str:
        """``file:line`` of ``key`` (in ``[section]``), for one-line error messages."""
        if self.path is None:
            return f"[{section}] {key}" if section else key
        line = self.line_of(key, section)
        return f"{self.path}:{line}" if line else str(self.path)

    def where_table(self, section: str) -> str:
        """``file:line`` of the ``[section]`` header (or of ``section = {...}``)."""
        if self.path is None:
            return f"[{section}]"
        headers = [h for h in _TABLE_HEADER.finditer(self.text)
                   if h.group(1).split(".")[-1] == section or
                   h.group(1) == self._full_name(section) or
                   h.group(1).startswith(self._full_name(section) + ".")]
        if headers:
            return f"{self.path}:{self.text.count(chr(10), 0, headers[0].start()) + 1}"
        return self.where(section)

    def entry_where(self, section: str | None, key: str, entry: str) -> str:
        """``file:line`` of ``entry`` of the table-valued ``key``: in its own ``[section.key]``
        table, else on the line of ``key = { ... }``."""
        table = ".".join(p for p in (section, key) if p)
        name = self._full_name(table)
        if self.path is not None and any(h.group(1) == name
                                         for h in _TABLE_HEADER.finditer(self.text)):
            return self.where(entry, table)
        return self.where(key, section)


_TABLE_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\s]+)[ \t]*\]", re.M)


def find_config_file(candidates: Sequence[Path]) -> Path | None:
    """The first ``lfsplug.toml``, or ``pyproject.toml`` with ``[tool.lfsplug]``, in candidates."""
    for directory in candidates:
        toml = directory / "lfsplug.toml"
        if toml.is_file():
            return toml
        pyproject = directory / "pyproject.toml"
        with contextlib.suppress(OSError):  # no pyproject.toml, or unreadable
            if "[tool.lfsplug" in pyproject.read_text(encoding="utf-8", errors="replace"):
                return pyproject
    return None


def load_config_file(path: Path | None) -> ConfigFile:
    """Read and check the shape of a configuration file; UsageError with file and line."""
    if path is None:
        return ConfigFile()
    from lfsplug._manager import check_trust  # as lfsconf.py: [env] reaches root's scripts
    check_trust(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read configuration file: {exc}") from None
    import tomllib  # only when there is a file to read
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # "Invalid value (at line 3, column 8)": said as FILE:LINE: like every other error
        found = re.search(r"\(at line (\d+), column (\d+)\)$", str(exc))
        if found is None:
            raise UsageError(f"{path}: invalid TOML: {exc}") from None
        what = str(exc)[:found.start()].rstrip()
        raise UsageError(f"{path}:{found[1]}: invalid TOML: {what} (column {found[2]})") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("lfsplug", {})
    result = ConfigFile(path=path, text=text)
    for key, value in data.items():
        if key == "plugins":
            result.plugins = _string_list(result, key, value)
        elif key == "disable":
            result.disable = _string_list(result, key, value)
        elif key == "env":
            if not isinstance(value, dict):
                raise UsageError(f"{result.where(key)}: [env] must be a table of variables")
            result.env = {str(k): str(v) for k, v in value.items()}
        elif isinstance(value, dict):
            result.sections[key] = value
        else:
            result.values[key] = value
    return result


def _string_list(cfg: ConfigFile, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{cfg.where(key)}: {key} must be a list of strings")
    return list(value)


class Config:
    """The configuration of one command: settings, paths, the plugin manager, a stash.

    Plugins receive it in ``lfsplug_configure`` and most hooks. Read a declared setting with
    :meth:`get` (typed); an option added with ``addoption`` with :meth:`getoption`.
    """

    def __init__(self, pluginmanager: PluginManager, *, command: str, values: Values,
                 paths: list[Path], file: ConfigFile, parser: OptionParser,
                 invocation_dir: Path) -> None:
        self.pluginmanager = pluginmanager
        self.hook = pluginmanager.hook
        self.command = command
        self.paths = paths
        self.file = file
        self.parser = parser
        self.invocation_dir = invocation_dir
        self.stash = Stash()
        self._values = values
        #: the options' values by name (``jobs``): top-level keys and options of tables
        self.option: dict[str, Any] = {}
        #: where each option's value came from, by name (see :meth:`option_source`)
        self.sources: dict[str, str] = {}
        for option in parser.declared:
            if option.setting.table is None or option.setting.flags:
                self.option[option.dest] = values.values[option.setting]
                self.sources[option.dest] = values.sources[option.setting]
        #: the command's positional arguments by name (``lfsplug log NAME``: ``{"name": ...}``)
        self.arguments: dict[str, str] = {}
        #: what this build is for, set by plugins in ``lfsplug_configure`` and shown by the
        #: others (``{"target": "aarch64-lfs-linux-gnu", "host": ...}``): the run's record, its
        #: events, reports and summary carry them, and history is kept per ``target``
        self.labels: dict[str, str] = {}
        #: the command line this command came from (``sys.argv[1:]``, or what ``main()`` was
        #: given) and the plugin objects passed to ``main()``: to run it again, changed
        self.argv: list[str] = []
        self.plugin_objects: tuple[object, ...] = ()

    def get(self, setting: Setting[T]) -> T:
        """The value of a declared setting (``config.get(JOBS)``), converted and typed."""
        try:
            return cast(T, self._values.values[setting])
        except KeyError:
            raise LookupError(f"setting {setting.label} is not declared: add it in "
                              f"lfsplug_addoption with parser.add()") from None

    def source(self, setting: Setting[Any]) -> str:
        """Where ``setting``'s value came from: ``"command line"``, ``"file"`` or ``"default"``."""
        return self._values.sources.get(setting, DEFAULT)

    def where(self, setting: Setting[Any]) -> str:
        """Where the value of ``setting`` was given, for a message: ``lfsplug.toml:7: [ordering]
        book_deps``, ``--book-deps``, or ``[ordering] book_deps`` for the default."""
        source = self.source(setting)
        if source == FILE:
            return f"{self.file.where(setting.key, setting.table)}: {setting.label}"
        if source == COMMAND_LINE and setting.flags:
            return next(f for f in setting.flags if f.startswith("--"))
        return setting.label

    def error(self, setting: Setting[Any], message: str) -> UsageError:
        """A usage error (exit 4) about the value of ``setting``, naming where it was given."""
        return UsageError(f"{self.where(setting)}: {message}")

    @property
    def rootdir(self) -> Path:
        """The project root: the config file's directory, else the first path's directory."""
        if self.file.path is not None:
            return self.file.path.parent
        first = self.paths[0] if self.paths else self.invocation_dir
        return first if first.is_dir() else first.parent

    @property
    def env(self) -> dict[str, str]:
        """Variables from ``[env]``, added to every script's environment."""
        return dict(self.file.env)

    @property
    def disabled_codes(self) -> set[str]:
        """Finding codes silenced for every script by the ``disable`` key."""
        return set(self.file.disable)

    @property
    def state_dir(self) -> Path:
        """Where everything lfsplug writes lives (``--state-dir``, default ``.lfsplug/``)."""
        if value := self.option.get("state_dir"):
            return Path(value).absolute()
        first = self.paths[0] if self.paths else self.invocation_dir
        return ((first if first.is_dir() else first.parent) / ".lfsplug").absolute()

    @property
    def lfs(self) -> str:
        """$LFS: the LFS partition's mount point (``--lfs``, default ``/mnt/lfs``)."""
        return self.get(LFS)

    @property
    def jobs(self) -> int:
        """How many scripts may run at once (``-j``)."""
        return self.get(JOBS)

    def getoption(self, name: str, default: Any = ...) -> Any:
        """The value of option ``name`` (its key: ``jobs`` for ``--jobs``)."""
        key = name.lstrip("-").replace("-", "_")
        if key in self.option:
            return self.option[key]
        if default is not ...:
            return default
        raise ValueError(f"no option named {name!r}")

    def option_source(self, name: str) -> str:
        """Where option ``name``'s value came from: ``"command line"`` (typed, or in
        ``LFSPLUG_ADDOPTS``), ``"file"`` or ``"default"``."""
        return self.sources.get(name, DEFAULT)

    def getsection(self, name: str) -> dict[str, Any]:
        """The raw ``[name]`` table (empty if absent); read declared keys with :meth:`get`."""
        return dict(self.file.sections.get(name, {}))


def positive_float(text: str) -> float:
    """An option type: a finite number above zero (``--timeout 3600``)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0  # not a number: the same message as for one out of range
    if not (0 < value < float("inf")):
        raise ValueError(f"{text!r} is not a positive number of seconds")
    return value


def positive_int(text: str) -> int:
    """An option type: a whole number from 1 up (``-j 4``, ``--attempt 2``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0  # not a whole number: the same message as for one out of range
    if value < 1:
        raise ValueError(f"{text!r} is not a number from 1 up")
    return value


def addopts_from_env() -> list[str]:
    """The words of ``LFSPLUG_ADDOPTS``, split as a shell would (no expansion)."""
    import shlex

    try:
        return shlex.split(os.environ.get("LFSPLUG_ADDOPTS", ""))
    except ValueError as exc:
        raise UsageError(f"LFSPLUG_ADDOPTS: {exc}") from None


class StashKey(Generic[T]):
    """A key into a :class:`Stash`; identity is the key, so create one per piece of state."""

    __slots__ = ()


class Stash:
    """A mapping from :class:`StashKey` objects to values of the key's type: a plugin keeps its
    state in ``config.stash`` (or ``session.stash``) under a module-level ``StashKey[T]()``, so
    that mypy knows the type of what comes back and no two plugins collide on a name."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[StashKey[Any], object] = {}

    def __setitem__(self, key: StashKey[T], value: T) -> None:
        self._data[key] = value

    def __getitem__(self, key: StashKey[T]) -> T:
        return cast(T, self._data[key])

    @overload
    def get(self, key: StashKey[T], default: None = None) -> T | None: ...
    @overload
    def get(self, key: StashKey[T], default: D) -> T | D: ...

    def get(self, key: StashKey[T], default: object = None) -> object:
        return self._data.get(key, default)

    def setdefault(self, key: StashKey[T], default: T) -> T:
        return cast(T, self._data.setdefault(key, default))

    def __delitem__(self, key: StashKey[T]) -> None:
        del self._data[key]

    def __contains__(self, key: StashKey[T]) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class Command:
    """A subcommand: ``callback(config)`` returns its exit code."""

    name: str
    callback: Callable[[Config], int]
    help: str
    takes_paths: bool
    plugin: str
    arguments: tuple[str, ...] = ()
    finds_build: bool = False


class CommandSet:
    """The subcommands of ``lfsplug``, filled through ``lfsplug_addcommands``."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}

    def add(self, name: str, callback: Callable[[Config], int], help: str = "",
            takes_paths: bool = False, arguments: Sequence[str] = (), *,
            finds_build: bool = False) -> None:
        """Add command ``name``. ``arguments`` names its required positional arguments
        (``("name",)`` for ``lfsplug log NAME``), read from ``config.arguments``; ``takes_paths``
        adds the optional ``[PATH]...`` after them; ``finds_build``: without PATH, the paths
        (and state directory) of the build found from the current directory, else the last run."""
        plugin = getattr(callback, "__module__", "?")
        if (other := self.commands.get(name)) is not None:
            raise UsageError(f"command {name!r} is added by two plugins: {other.plugin} and "
                             f"{plugin}")
        self.commands[name] = Command(name, callback, help, takes_paths or finds_build, plugin,
                                      tuple(arguments), finds_build)


def split_list(text: str) -> list[str]:
    """Split a comma-separated list (spaces after commas allowed; empty items dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _names(text: str) -> list[str]:
    names = split_list(text)
    for name in names:
        if any(c.isspace() for c in name) or any(c in name for c in "<>="):
            raise ValueError(f"{name!r} is not a plain name")
    return names


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(f"{text!r} is not a positive number")
    return value


def _yes_no(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("yes", "true", "1", "on", "no", "false", "0", "off"):
        raise ValueError(f"{text!r} is not yes or no")
    return lowered in ("yes", "true", "1", "on")


def _word(text: str) -> str:
    word = text.strip()
    if not word or any(c.isspace() for c in word):
        raise ValueError(f"{text!r} is not a single word")
    return word


def _name(text: str) -> str:
    """A script name: one word that can name its log file (no ``/``, not hidden)."""
    name = _word(text)
    if "/" in name or name.startswith(".") or "\0" in name:
        raise ValueError(f"{text!r} is not a script name (no '/', not starting with '.')")
    return name


def _path(text: str) -> str:
    """A file or directory (``$VAR`` references allowed, expanded when the script runs)."""
    path = text.strip()
    if not path or "\0" in path or "\n" in path:
        raise ValueError(f"{text!r} is not a path")
    return path


def _requirements(text: str) -> list[Requirement]:
    return [Requirement.parse(item) for item in split_list(text)]


#: The metadata keys of the contract (DESIGN.md) and how each is converted.
KEYS: dict[str, Callable[[str], Any]] = {
    "name": _name, "version": _word, "phase": _word,
    "depends": _requirements, "recommends": _requirements, "optional": _requirements,
    "after": _names, "before": _names, "provides": _names,
    "timeout": _positive, "sbu": _positive, "user": _word, "chroot": _yes_no,
    "disable": lambda text: set(split_list(text)), "unpack": _path, "workdir": _path,
}


def apply_metadata(script: Script, sources: Iterable[MetaSource]) -> list[Finding]:
    """Merge ``sources`` into ``script`` (highest priority per key wins); return findings."""
    chosen: dict[str, tuple[MetaSource, str]] = {}
    for source in sorted(sources, key=lambda s: -s.priority):  # stable: ties keep call order
        for key, value in source.values.items():
            chosen.setdefault(key, (source, value))
    findings: list[Finding] = []
    for key, (source, raw) in chosen.items():
        origin = source.origin(key)
        path = origin.path or str(script.path)  # a list file's value: that file's line
        convert = KEYS.get(key)
        if convert is None:
            script.meta[key] = raw
            findings.append(_unknown_key(path, key, origin.line))
        else:
            try:
                setattr(script, key, convert(raw))
            except ValueError as exc:
                findings.append(Finding(
                    "META001", Severity.ERROR, f"bad value for {key}=: {exc}",
                    path, origin.line, "see the metadata keys in docs/user-guide.md",
                ))
                continue
        script.origins[key] = origin
    return findings


def _unknown_key(path: str, key: str, line: int | None) -> Finding:
    import difflib

    close = difflib.get_close_matches(key, list(KEYS), n=1)
    hint = f"did you mean {close[0]}=?" if close else "plugins read unknown keys from script.meta"
    return Finding("META002", Severity.WARNING, f"unknown metadata key {key!r}", path, line, hint)
