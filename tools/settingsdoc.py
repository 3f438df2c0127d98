"""The settings reference, ``docs/settings.md``, generated from the declarations.

The page lists every setting of the kernel and of the built-in plugins (the entry points of
lfsplug's own distribution), as ``lfsplug`` itself collects them through ``lfsplug_addoption``:
key, kind, default, option and commands, plugin and help. ``python tools/docgen.py`` writes it
with the hook reference; tests/test_docs.py fails when it is stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lfsplug._settings import Option, OptionParser, collect_settings

__all__ = ["DEFAULT_OUTPUT", "builtin_settings", "check", "render"]

#: Where the page lives in a source checkout.
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
#: The distribution whose plugins the page documents.
DISTRIBUTION = "lfsplug"


def builtin_settings() -> OptionParser:
    """Every setting of the kernel and the built-in plugins, declared as ``lfsplug`` declares
    them (a third-party plugin installed beside is left out)."""
    from lfsplug._manager import PluginManager

    pm = PluginManager()
    for name, eps in sorted(pm.entry_points().items()):
        if all(ep.dist is not None and ep.dist.name == DISTRIBUTION for ep in eps):
            pm.import_plugin(name, "builtin")
    return collect_settings(pm)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _option(option: Option) -> str:
    if not option.names:
        return ""
    commands = ", ".join(sorted(option.commands))
    return f"{', '.join(_code(f) for f in option.names)} ({commands})"


def _row(option: Option, plugin: bool) -> str:
    setting = option.setting
    shown = setting.shown()
    default = shown if setting.default is None and setting.shown_default is None else _code(shown)
    cells = [_code(setting.key), setting.kind.name, default, _option(option)]
    if plugin:
        cells.append(option.owner)
    cells.append(setting.help)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(options: Iterable[Option], plugin: bool) -> str:
    head = ["key", "type", "default", "option (commands)", *(["plugin"] if plugin else []),
            "what it does"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.extend(_row(o, plugin) for o in options)
    return "\n".join(lines)


def render(parser: OptionParser | None = None) -> str:
    """The whole page, ending with a newline."""
    parser = parser if parser is not None else builtin_settings()
    out = [_HEADER, "## Top-level keys\n",
           _table(sorted(parser.keys.values(), key=lambda o: o.key), plugin=True), ""]
    for table in sorted(parser.tables):
        options = list(parser.tables[table].values())
        plugins = sorted({o.owner for o in options})
        out.append(f"## `[{table}]`\n\nDeclared by {', '.join(plugins)}.\n")
        out.append(_table(options, plugin=False))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def check(path: Path = DEFAULT_OUTPUT) -> bool:
    """Whether ``path`` holds exactly what :func:`render` produces now."""
    return path.is_file() and path.read_text(encoding="utf-8") == render()


_HEADER = """\
# Settings reference

<!-- Generated from the plugins' declarations by `python tools/docgen.py`; do not edit. -->

Every key lfsplug reads from `lfsplug.toml` (or `[tool.lfsplug]` in `pyproject.toml`): the
top-level keys, then each plugin's table. Each is declared once, by the kernel or a plugin
(see [writing-plugins.md](writing-plugins.md)), with its type, default and help; the kernel
converts the value and, when it is wrong or the key is one nobody declares, stops with a
one-line error naming the file and line (exit 4). A key of a plugin blocked with `-p no:NAME`
is ignored, with a warning.

Where a setting has an option, the option wins: precedence is the command line, then
`LFSPLUG_ADDOPTS`, then the file, then the default. Besides these keys the file holds
`plugins` (plugins to load), `disable` (finding codes to silence) and `[env]` (variables added
to every script's environment); see [user-guide.md](user-guide.md).

Durations are seconds, or a string with units (`"90s"`, `"10m"`, `"1h30m"`, `"2d"`); sizes are
bytes, or a string with K, M, G or T (powers of 1024). A relative path is taken from the
file's directory when written in the file, from the current directory on the command line.
"""
