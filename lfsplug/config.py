"""Options contributed by plugins, configuration files, and the :class:`Config` object.

An option added with :meth:`OptionParser.addoption` is at once an option of the commands it names
and a key of ``lfsplug.toml`` / ``[tool.lfsplug]`` (its long name with ``_`` for ``-``).
Precedence: the command line, then ``LFSPLUG_ADDOPTS``, then the file, then the default.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug.errors import UsageError
from lfsplug.stash import Stash

if TYPE_CHECKING:
    from lfsplug.manager import PluginManager

__all__ = [
    "Config", "ConfigFile", "Option", "OptionParser", "find_config_file", "load_config_file",
    "positive_float",
]

CONFIG_FILE = "lfsplug.toml"
#: Top-level keys of the configuration file that are not options.
RESERVED_KEYS = {"plugins", "env", "disable"}


@dataclass
class Option:
    """One option: its flags, where it applies, how its value is read."""

    names: tuple[str, ...]
    dest: str
    commands: tuple[str, ...]
    help: str = ""
    type: Callable[[str], Any] = str
    default: Any = None
    action: str = "store"  # store | store_true | append
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    plugin: str = "?"

    @property
    def takes_value(self) -> bool:
        return self.action != "store_true"

    def convert(self, raw: Any, where: str) -> Any:
        """Convert a value from the configuration file; UsageError naming ``where`` if it is bad."""
        if self.action == "store_true":
            if not isinstance(raw, bool):
                raise UsageError(f"{where}: {self.dest}: expected true or false, got {raw!r}")
            return raw
        if self.action == "append":
            items = raw if isinstance(raw, list) else [raw]
            return [self._convert_one(item, where) for item in items]
        return self._convert_one(raw, where)

    def _convert_one(self, raw: Any, where: str) -> Any:
        if isinstance(raw, (list, dict)):
            raise UsageError(f"{where}: {self.dest}: expected a single value, not "
                             f"{type(raw).__name__} {raw!r}")
        try:
            value = self.type(str(raw)) if not isinstance(raw, bool) else raw
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{where}: {self.dest}: {exc}") from None
        if self.choices and value not in self.choices:
            raise UsageError(
                f"{where}: {self.dest}: {raw!r} is not one of {', '.join(self.choices)}"
            )
        return value


class OptionParser:
    """Collects the options that plugins add through ``lfsplug_addoption``."""

    def __init__(self) -> None:
        self.options: dict[str, Option] = {}
        self._flags: dict[str, Option] = {}

    def addoption(
        self,
        *names: str,
        commands: Sequence[str] = ("run",),
        help: str = "",
        type: Callable[[str], Any] = str,
        default: Any = None,
        action: str = "store",
        choices: Sequence[str] | None = None,
        metavar: str | None = None,
        dest: str | None = None,
    ) -> Option:
        """Add an option to the given commands (and a key to the configuration file).

        ``names`` are flags such as ``"-j", "--jobs"``; the first long one gives the key.
        ``action`` is ``store`` (takes a value), ``store_true`` (a flag) or ``append`` (may be
        repeated). Declaring an existing option again with the same flags, action and type adds
        it to more commands (``parser.addoption("--json", commands=("host",),
        action="store_true")``); two different options on one flag are an error naming both
        plugins.
        """
        plugin = _calling_module()
        longs = [n for n in names if n.startswith("--")]
        if not longs or any(not n.startswith("-") for n in names):
            raise UsageError(f"plugin module {plugin}: option {names!r} needs a --long name")
        if action not in ("store", "store_true", "append"):
            raise UsageError(f"plugin module {plugin}: option {longs[0]}: bad action {action!r}")
        key = dest or longs[0][2:].replace("-", "_")
        if default is None and action == "store_true":
            default = False
        if default is None and action == "append":
            default = []
        option = Option(
            tuple(names), key, tuple(commands), help, type, default, action,
            tuple(choices) if choices else None, metavar, plugin,
        )
        same = self._flags.get(names[0])
        if same is not None and _same_meaning(same, option):
            same.commands = tuple(dict.fromkeys([*same.commands, *option.commands]))
            return same
        for flag in names:
            other = self._flags.get(flag)
            if other is not None:
                first, second = sorted((other.plugin, plugin))
                raise UsageError(
                    f"option {flag} is added by two plugins: {first} and {second}; "
                    f"block one with -p no:NAME"
                )
        if key in self.options or key in RESERVED_KEYS:
            raise UsageError(f"plugin module {plugin}: option key {key!r} is already taken")
        for flag in names:
            self._flags[flag] = option
        self.options[key] = option
        return option

    def for_command(self, command: str) -> list[Option]:
        return [o for o in self.options.values() if command in o.commands]

    def by_flag(self, flag: str) -> Option | None:
        return self._flags.get(flag)


def _same_meaning(a: Option, b: Option) -> bool:
    return (a.names, a.dest, a.action, a.type, a.choices) == (
        b.names, b.dest, b.action, b.type, b.choices
    )


def _calling_module() -> str:
    """The module that called addoption (two frames up), to name it in collision errors."""
    frame = sys._getframe(2)
    return str(frame.f_globals.get("__name__", "?"))


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

    def line_of(self, key: str, section: str | None = None) -> int | None:
        """The line where ``key`` is set: at the top level, or in the ``[section]`` table (and
        its sub-tables, and inline tables inside them). tomllib keeps no positions, so the
        text is searched; a key not found gives the section's header line, or None."""
        text = self.text
        in_pyproject = self.path is not None and self.path.name == "pyproject.toml"
        base = "tool.lfsplug" if in_pyproject else ""
        name = ".".join(p for p in (base, section) if p)
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


_TABLE_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\s]+)[ \t]*\]", re.M)


def find_config_file(candidates: Sequence[Path]) -> Path | None:
    """The first ``lfsplug.toml``, or ``pyproject.toml`` with ``[tool.lfsplug]``, in candidates."""
    for directory in candidates:
        toml = directory / CONFIG_FILE
        if toml.is_file():
            return toml
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _has_tool_section(pyproject):
            return pyproject
    return None


def _has_tool_section(pyproject: Path) -> bool:
    try:
        return "[tool.lfsplug" in pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def load_config_file(path: Path | None) -> ConfigFile:
    """Read and check the shape of a configuration file; UsageError with file and line."""
    if path is None:
        return ConfigFile()
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
    """The configuration of one command: option values, paths, the plugin manager, a stash.

    Plugins receive it in ``lfsplug_configure`` and most hooks. Read options with
    :meth:`getoption`; read a plugin's own file section with :meth:`getsection`.
    """

    def __init__(
        self,
        pluginmanager: PluginManager,
        *,
        command: str,
        options: dict[str, Any],
        paths: list[Path],
        file: ConfigFile,
        parser: OptionParser,
        invocation_dir: Path,
    ) -> None:
        self.pluginmanager = pluginmanager
        self.hook = pluginmanager.hook
        self.command = command
        self.option = options
        self.paths = paths
        self.file = file
        self.parser = parser
        self.invocation_dir = invocation_dir
        self.stash = Stash()
        #: the command's positional arguments by name (``lfsplug log NAME``: ``{"name": ...}``)
        self.arguments: dict[str, str] = {}
        #: where each option's value came from, by key: ``"command line"`` (which includes
        #: ``LFSPLUG_ADDOPTS``), ``"file"`` or ``"default"``; see :meth:`option_source`
        self.sources: dict[str, str] = {}

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
        value = self.option.get("state_dir")
        if value:
            return Path(value).absolute()
        first = self.paths[0] if self.paths else self.invocation_dir
        base = first if first.is_dir() else first.parent
        return (base / ".lfsplug").absolute()

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
        return self.sources.get(name, "default")

    def section_number(self, section: str, key: str, default: float, *, low: float = 0.0,
                       whole: bool = False, note: str = "") -> float:
        """``key`` of the ``[section]`` table as a number from ``low`` up (``default`` when it
        is absent); anything else is a UsageError at its file and line:
        ``lfsplug.toml:3: [state] keep_runs: expected a whole number from 0 up, got 2.5``.
        ``note`` is said in brackets after the range (``0: no limit``)."""
        raw = self.file.sections.get(section, {}).get(key, default)
        number = isinstance(raw, int | float) and not isinstance(raw, bool)
        if not number or raw < low or (whole and not float(raw).is_integer()):
            kind = "a whole number" if whole else "a number"
            said = f" ({note})" if note else ""
            raise UsageError(f"{self.file.where(key, section)}: [{section}] {key}: expected "
                             f"{kind} from {low:g} up{said}, got {raw!r}")
        return float(raw)

    def getsection(self, name: str) -> dict[str, Any]:
        """A plugin's own ``[name]`` table of the configuration file (empty if absent)."""
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


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def byte_size(text: str) -> int:
    """An option type: a size in bytes, with an optional K, M, G or T (powers of 1024;
    ``KiB``/``KB`` spellings and a final ``B`` are accepted): ``2G``, ``512M``, ``0``."""
    value = str(text).strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in ("K", "M", "G", "T") else ""
    number = value[:len(value) - len(unit)].strip()
    try:
        amount = float(number)
    except ValueError:
        amount = -1.0
    if not (0 <= amount < float("inf")):
        raise ValueError(f"{text!r} is not a size (a number, optionally with K, M, G or T)")
    return int(amount * _SIZE_UNITS[unit])


def addopts_from_env() -> list[str]:
    """The words of ``LFSPLUG_ADDOPTS``, split as a shell would (no expansion)."""
    import shlex

    raw = os.environ.get("LFSPLUG_ADDOPTS", "")
    try:
        return shlex.split(raw)
    except ValueError as exc:
        raise UsageError(f"LFSPLUG_ADDOPTS: {exc}") from None
