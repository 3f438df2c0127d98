"""Meta-tests that keep the plugins apart: a plugin uses the kernel's public API and other
plugins' services through hooks, never another plugin's modules, objects or tables.

Every module of every built-in plugin (``plugins/lfsplug_*``) and of every plugin published
from ``contrib/`` is read with :mod:`ast` (nothing is imported) and must:

* import no other plugin package (``lfsplug_shell``, a library, is the one exception);
* import from the kernel only what ``lfsplug`` itself exports: no ``lfsplug.<module>`` (its
  modules may be renamed ``lfsplug/_x.py`` at any time), no private ``lfsplug._x``;
* look up no plugin object by a name it does not define itself
  (``pluginmanager.get_plugin("state-store")``);
* run no SQL unless it is the ``state`` plugin, which owns ``state.db``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import lfsplug

ROOT = Path(__file__).resolve().parent.parent
#: Packages any plugin may import: libraries, not plugins.
LIBRARIES = {"lfsplug_shell"}
#: The one plugin that keeps a database.
SQL_OWNER = "lfsplug_state"
PUBLIC = set(lfsplug.__all__)


def packages() -> list[Path]:
    """Every plugin package: the built-ins and those of contrib/."""
    found = [p for p in (ROOT / "plugins").glob("lfsplug_*") if (p / "__init__.py").is_file()]
    found += [p for p in (ROOT / "contrib").glob("*/lfsplug_*") if (p / "__init__.py").is_file()]
    return sorted(found)


def modules() -> list[Path]:
    return [module for package in packages() for module in sorted(package.rglob("*.py"))]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def imported(tree: ast.AST) -> Iterator[tuple[int, str, list[str]]]:
    """Each absolute import: its line, the module, and the names taken from it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def violations(path: Path, package: str) -> list[str]:
    """What ``path`` (a module of plugin package ``package``) does against the contract, one
    ``FILE:LINE: what`` each, in line order."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for line, module, names in imported(tree):
        top = module.partition(".")[0]
        if top.startswith("lfsplug_") and top not in (package, *LIBRARIES):
            found.append((line, f"imports plugin package {module}"))
        elif top == "lfsplug" and module != "lfsplug":
            found.append((line, f"imports kernel module {module} (use `from lfsplug import`)"))
        elif module == "lfsplug":
            found += [(line, f"imports lfsplug.{name}, which lfsplug does not export")
                      for name in names if name not in PUBLIC]
        if top == "sqlite3" and package != SQL_OWNER:
            found.append((line, "imports sqlite3: only the state plugin runs SQL (use the "
                                "state service)"))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "lfsplug" and node.attr not in PUBLIC):
            found.append((node.lineno, f"uses lfsplug.{node.attr}, which lfsplug does not "
                                       f"export"))
    found += _lookups(tree, _own_strings(path.parent))
    return [f"{_name(path)}:{line}: {what}" for line, what in sorted(found)]


def _own_strings(package: Path) -> set[str]:
    """The string constants a package assigns at module level (its own plugin names)."""
    strings = set()
    for module in package.rglob("*.py"):
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                strings.add(value.value)
    return strings


def _lookups(tree: ast.AST, own: set[str]) -> list[tuple[int, str]]:
    """``get_plugin("name")`` calls whose name is no constant of the plugin's own."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get_plugin" and node.args):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and arg.value not in own:
                found.append((node.lineno, f"looks up plugin {arg.value!r}, not its own (use "
                                           f"a hook or the other plugin's service)"))
    return found


def _package_of(path: Path) -> str:
    return next(p.name for p in packages() if path.is_relative_to(p))


@pytest.mark.parametrize("path", modules(), ids=_name)
def test_a_plugin_uses_only_the_public_kernel_and_its_own_package(path: Path) -> None:
    found = violations(path, _package_of(path))
    assert not found, "\n".join(found)


def test_every_plugin_package_is_checked() -> None:
    names = {p.name for p in packages()}
    assert {"lfsplug_state", "lfsplug_reports", "lfsplug_monitor", "lfsplug_notify"} <= names


def test_the_checks_catch_each_kind_of_reach(tmp_path: Path) -> None:
    package = tmp_path / "lfsplug_probe"
    package.mkdir()
    (package / "__init__.py").write_text('NAME = "probe"\n')
    module = package / "reach.py"
    module.write_text(
        "import sqlite3\n"
        "import lfsplug._config\n"
        "from lfsplug import Script, config\n"
        "from lfsplug._state import StoredRun\n"
        "from lfsplug_state.store import StateStore\n"
        "from lfsplug_shell import parse\n"
        "from lfsplug_probe import NAME\n"
        "def f(pm):\n"
        "    pm.get_plugin(NAME)\n"
        "    pm.get_plugin('probe')\n"
        "    pm.get_plugin('state-store')\n"
        "    return lfsplug._session.Session, lfsplug.format_duration\n")
    found = [line.removeprefix(f"{module}:") for line in violations(module, "lfsplug_probe")]
    assert found == [
        "1: imports sqlite3: only the state plugin runs SQL (use the state service)",
        "2: imports kernel module lfsplug._config (use `from lfsplug import`)",
        "3: imports lfsplug.config, which lfsplug does not export",
        "4: imports kernel module lfsplug._state (use `from lfsplug import`)",
        "5: imports plugin package lfsplug_state.store",
        "11: looks up plugin 'state-store', not its own (use a hook or the other plugin's "
        "service)",
        "12: uses lfsplug._session, which lfsplug does not export",
    ]
