"""What the command line needs besides parsing: which build a command without PATH is about,
and how the settings plugins declare show in ``--help`` and complete in a shell.

**Which build** (``status``, ``log``, ``report``, ``graph`` without PATH), found as pytest finds
its rootdir: from the current directory upward, the first directory with a ``.lfsplug/state.db``
or a configuration file (``lfsplug.toml``, ``[tool.lfsplug]``); else the last build in the
per-user index, ``$XDG_STATE_HOME/lfsplug/builds`` (default ``~/.local/state/lfsplug/builds``),
which ``lfsplug run`` writes (:func:`record_build`): one line per state directory, newest last,
``STATE_DIR<TAB>PATH<TAB>PATH...``.

**Help**: the options in sections with a title each (the common ones first, then the kernel's
and each plugin's, as pytest's ``getgroup``), sizes and durations as a person writes them.
**Completion**: an option or argument whose metavar is ``NAME`` completes script names (of
the build's last run, else of a discovery), ``FORMAT:PATH`` and ``TARGET`` report formats.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lfsplug._kinds import Kind
from lfsplug._settings import Option

if TYPE_CHECKING:
    from lfsplug._config import Config

__all__ = ["COMMON", "Build", "GroupedCommand", "click_option", "completions", "find_build",
           "grouped", "index_path", "record_build", "typed_paths"]

#: Lines the index keeps (the oldest go first).
KEEP = 50
_DB = Path(".lfsplug", "state.db")


@dataclass(frozen=True)
class Build:
    """A build found for a command without PATH: its paths, its state directory when the index
    gave it (None: the paths' own), and how it was found, for the one line that says so."""

    paths: tuple[Path, ...]
    state_dir: Path | None
    how: str


def index_path() -> Path:
    """The per-user index of the builds run, newest last."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return Path(base, "lfsplug", "builds")


def _read_index() -> list[list[str]]:
    try:
        text = index_path().read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.split("\t") for line in text.splitlines() if line.count("\t") >= 1]


def record_build(config: Config) -> None:
    """Note ``config``'s build as the last one run (its line moved to the end of the index),
    once its state directory has a database. The index is a convenience: one that cannot be
    written is left as it is, silently."""
    fields = [str(config.state_dir), *(str(p) for p in config.paths)]
    if any("\t" in f or "\n" in f for f in fields) or not (config.state_dir / _DB.name).is_file():
        return  # a name the format cannot hold, or nothing recorded
    rows = [*[row for row in _read_index() if row[0] != fields[0]][-(KEEP - 1):], fields]
    path = index_path()
    temporary = path.with_name(f".builds.{os.getpid()}")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
        os.replace(temporary, path)  # readers see the old index or the new one, whole
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)


def find_build(start: Path) -> Build | None:
    """The build of the nearest directory from ``start`` upward with a ``.lfsplug/state.db`` or
    a configuration file; else the last one in the index whose database is still there."""
    from lfsplug._config import find_config_file

    for directory in (start, *start.parents):
        if (directory / _DB).is_file() or find_config_file([directory]) is not None:
            return Build((directory,), None, "found above the current directory")
    for state_dir, *paths in reversed(_read_index()):
        if Path(state_dir, _DB.name).is_file() and paths and all(map(os.path.exists, paths)):
            return Build(tuple(Path(p) for p in paths), Path(state_dir), "the last one run")
    return None


# -- help and completion ----------------------------------------------------------------------
#: The options most builds use, first in ``--help`` (in this order) whichever plugin adds them.
COMMON = ("--jobs", "--keep-going", "--dry-run", "--only", "--from", "--until", "--force",
          "--force-all", "--lfs", "--state-dir", "--quiet", "--verbose")


def grouped(options: list[Option]) -> tuple[list[Option], dict[str, str]]:
    """The options in ``--help`` order, and each one's section title: the common ones, then
    the kernel's and each plugin's (as pytest's ``getgroup``); one section for a few."""
    rank = {flag: i for i, flag in enumerate(COMMON)}
    owners = list(dict.fromkeys(o.owner for o in options))

    def key(option: Option) -> tuple[int, int]:
        common = [rank[f] for f in option.names if f in rank]
        return (0, common[0]) if common else (1, owners.index(option.owner))

    ordered = sorted(options, key=key)
    if len(options) <= 10:
        return ordered, {}
    titles = {o.dest: "Common options" if key(o)[0] == 0 else
              "General options" if o.owner == "kernel" else f"Plugin {o.owner}" for o in ordered}
    return ordered, {**titles, "help": "Common options"}


class GroupedCommand(click.Command):
    """A command whose ``--help`` shows its options in sections with a title each."""

    def __init__(self, *args: Any, titles: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.titles = titles

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            if (record := param.get_help_record(ctx)) is not None:
                title = self.titles.get(param.name or "", "Options")
                sections.setdefault(title, []).append(record)
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl(rows)


def click_option(option: Option, complete: Completer | None = None) -> click.Option:
    """The click option of ``option``; ``complete`` completes its values (:func:`completions`)."""
    kind = option.setting.kind
    kwargs: dict[str, Any] = {"help": option.help, "metavar": option.metavar,
                              "shell_complete": complete}
    if option.action == "store_true":
        kwargs.update(is_flag=True, default=None)
    else:
        one = kind.item or kind
        kwargs["type"] = click.Choice(one.choices) if one.choices else _KindType(one)
        if option.action == "append":
            kwargs["multiple"] = True
    if option.setting.shown_default is not None or option.default not in (None, False, [], ()):
        shown = option.setting.shown()
        plain = shown[1:-1] if shown[:1] == shown[-1:] == '"' and '"' not in shown[1:-1] else shown
        if kind.name.startswith("a duration") and option.setting.shown_default is None:
            plain = _duration_word(float(option.default))
        kwargs["help"] = f"{option.help} [default: {plain}]"
    return click.Option([*option.names, option.dest], **kwargs)


def _duration_word(seconds: float) -> str:
    """A duration as a person writes it (and the option reads it): ``1m``, ``1h30m``, ``0.5s``."""
    if seconds != int(seconds) or seconds < 60:
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, length)
        parts.extend([f"{count}{unit}"] if count else [])
    return "".join(parts)


class _KindType(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2 on
    """A command-line word read by a setting's kind; its ValueError is click's message."""

    def __init__(self, kind: Kind[Any]) -> None:
        self.kind = kind
        self.name = kind.metavar

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if not isinstance(value, str):  # a default, already a value
            return value
        try:
            return self.kind.word(value)
        except ValueError as exc:
            self.fail(str(exc) or repr(value), param, ctx)


#: A parameter's ``shell_complete``.
Completer = Callable[[click.Context, click.Parameter, str], list[str]]


def completions(metavar: str | None, incomplete: str, config: Callable[[], Config],
                discover: Callable[[Config], list[str]]) -> list[str]:
    """What completes ``incomplete`` for a parameter shown as ``metavar``: script names for
    ``NAME`` (of the build's last run, from the state service: quick; else ``discover``),
    report formats for ``TARGET`` (``html``) and ``FORMAT:PATH`` (``html:``); else nothing
    (the shell's own). Never an error: a shell shows what is printed."""
    try:
        if metavar == "NAME":
            words = _script_names(config(), discover)
        elif metavar in ("TARGET", "FORMAT:PATH"):
            known = config()
            formats = sorted({f for fs in known.hook.lfsplug_report_formats(config=known)
                              for f in fs})
            words = formats if metavar == "TARGET" else [f"{f}:" for f in formats]
        else:
            return []
    except Exception:  # a completion that fails offers nothing
        return []
    return [word for word in dict.fromkeys(words) if word.startswith(incomplete)]


def _script_names(config: Config, discover: Callable[[Config], list[str]]) -> list[str]:
    with contextlib.suppress(Exception):  # no state plugin, no build recorded: discover
        state = config.hook.lfsplug_state_service(config=config)
        if state is not None:
            return [result.name for result in state.results(state.run().id)]
    return discover(config)


def typed_paths(ctx: click.Context) -> tuple[str, ...]:
    """The PATHs typed before the word being completed, from the shell's words (click parses
    none when the last word is an option waiting for its value): the existing files and
    directories after the command's name that are not an option's value."""
    from click.shell_completion import split_arg_string

    words, cword = split_arg_string(os.environ.get("COMP_WORDS", "")), os.environ.get(
        "COMP_CWORD", "")  # bash and zsh: the word's index; fish: the word (the line ends so)
    words = words[1:int(cword)] if cword.isdigit() else words[1:len(words) - bool(cword)]
    valued = {flag for param in ctx.command.params if isinstance(param, click.Option)
              and not param.is_flag for flag in param.opts} | {"-p", "-c", "--config"}
    after = [w for i, w in enumerate(words) if not w.startswith("-")
             and (i == 0 or words[i - 1] not in valued)]
    return tuple(w for w in after[1:] if os.path.exists(w))  # after[0]: the command
