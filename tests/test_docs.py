"""Meta-tests that keep the documentation honest.

The hook reference is generated from lfsplug/_hookspec.py and must be current; every hook spec
documents each of its parameters and its return value, and is exercised by some test; every
command and every exit code is in the user guide; the event kinds listed in the reference are
the ones the kernel emits.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lfsplug
from lfsplug import _hookspec as hookspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import docgen  # noqa: E402 - the generator is a tool of the repository, not of the package
import settingsdoc  # noqa: E402

from lfsplug._model import ExitCode

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"
HOOKS = sorted(name for name in vars(hookspec) if name.startswith("lfsplug_"))
PHASES = ["Bootstrap", "Session", "Discovery", "Validation", "Ordering", "Execution",
          "Monitoring", "Recovery", "Reporting"]


def spec(name: str) -> Callable[..., Any]:
    function: Callable[..., Any] = getattr(hookspec, name)
    return function


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# -- the generated reference ------------------------------------------------------------------


def test_hooks_md_is_up_to_date() -> None:
    assert docgen.check(DOCS / "hooks.md"), (
        "docs/hooks.md is stale: run python tools/docgen.py and commit the result"
    )


def test_check_command_reports_a_stale_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page, settings = tmp_path / "hooks.md", tmp_path / "settings.md"
    both = ["--output", str(page), "--settings-output", str(settings)]
    assert docgen.main(["--check", *both]) == 1  # missing
    assert docgen.main(both) == 0
    assert docgen.main(["--check", *both]) == 0
    for stale in (page, settings):
        text = stale.read_text(encoding="utf-8")
        stale.write_text(text + "edited by hand\n", encoding="utf-8")
        assert docgen.main(["--check", *both]) == 1
        assert f"{stale} is out of date" in capsys.readouterr().err
        stale.write_text(text, encoding="utf-8")


# -- the settings reference, generated from the declarations -----------------------------------


def test_settings_md_is_up_to_date() -> None:
    assert settingsdoc.check(DOCS / "settings.md"), (
        "docs/settings.md is stale: run python tools/docgen.py and commit the result"
    )


def test_every_setting_is_in_settings_md() -> None:
    """Each declared key is a row of its table's section, with its option flags."""
    page = read("settings.md")
    sections = re.split(r"^## ", page, flags=re.M)
    by_title = {s.split("\n", 1)[0]: s for s in sections[1:]}
    parser = settingsdoc.builtin_settings()
    assert parser.declared
    for option in parser.declared:
        table = option.setting.table
        section = by_title["`[" + table + "]`" if table else "Top-level keys"]
        row = next((ln for ln in section.splitlines() if ln.startswith(f"| `{option.key}` |")),
                   None)
        assert row is not None, f"{option.setting.label} is not in docs/settings.md"
        assert all(f"`{flag}`" in row for flag in option.names), row


def test_the_settings_page_follows_a_new_declaration() -> None:
    parser = settingsdoc.builtin_settings()
    before = settingsdoc.render(parser)
    table = lfsplug.SettingsTable("extra")
    table.add("knob", lfsplug.integer(0), 2, "turns a knob", option=("--knob",),
              commands=("run",))
    parser.bound("extra").add(table)
    after = settingsdoc.render(parser)
    assert after != before
    assert "## `[extra]`\n\nDeclared by extra." in after
    assert ("| `knob` | a whole number from 0 up | `2` | `--knob` (run) | turns a knob |"
            in after)


def test_hooks_are_grouped_by_phase_in_module_order() -> None:
    phases = docgen.phases()
    assert [p.title for p in phases] == PHASES
    in_order = [h for p in phases for h in p.hooks]
    source = inspect.getsource(hookspec)
    assert in_order == sorted(in_order, key=lambda h: source.index(f"def {h}("))
    assert sorted(in_order) == HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_function_is_a_marked_spec(name: str) -> None:
    assert hasattr(spec(name), "lfsplug_spec"), f"{name} lacks the @hookspec marker"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_in_hooks_md(name: str) -> None:
    page = read("hooks.md")
    assert f"### `{name}`" in page
    assert f"def {name}(" in page


def test_docstring_rendering() -> None:
    text = docgen.render_docstring(
        """Do a thing with :class:`~lfsplug._model.Plan`.

        :param plan: the plan,
            on two lines.
        :returns: ``True``; see :func:`lfsplug_build_plan`.
        """,
        hooks=["lfsplug_build_plan"],
    )
    assert text == (
        "Do a thing with `Plan`.\n\n**Parameters:**\n\n- `plan`: the plan, on two lines.\n\n"
        "**Returns:** `True`; see [`lfsplug_build_plan`](#lfsplug_build_plan)."
    )


def test_signature_breaks_long_lines() -> None:
    short = docgen.signature("lfsplug_configure", spec("lfsplug_configure"))
    assert short == "def lfsplug_configure(config: Config) -> None: ..."
    long = docgen.signature("lfsplug_recover", spec("lfsplug_recover"))
    assert long.splitlines()[1] == "    session: Session,"
    assert long.endswith(") -> Recovery | None: ...")


# -- the specs document themselves ------------------------------------------------------------


@pytest.mark.parametrize("name", HOOKS)
def test_every_parameter_and_return_is_documented(name: str) -> None:
    function = spec(name)
    doc = inspect.getdoc(function) or ""
    assert doc, f"{name} has no docstring"
    sig = inspect.signature(function)
    documented = re.findall(r"^:param (\w+):", doc, re.M)
    missing = [p for p in sig.parameters if p not in documented]
    assert not missing, f"{name}: no :param line for {missing}"
    stale = [p for p in documented if p not in sig.parameters]
    assert not stale, f"{name}: :param lines for parameters it does not have: {stale}"
    if sig.return_annotation not in ("None", None):
        assert re.search(r"^:returns?:", doc, re.M), f"{name} returns a value: add :returns:"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_exercised_by_a_test(name: str) -> None:
    texts = [p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py")
             if p.name != "test_docs.py"]
    assert any(name in text for text in texts), f"no test under tests/ mentions {name}"


# -- the user guide ---------------------------------------------------------------------------


def _commands(capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert lfsplug.main(["--help"]) == 0
    out = capsys.readouterr().out
    listing = out.split("Commands:", 1)[1]
    return re.findall(r"^  (\S+)", listing, re.M)


@pytest.fixture
def builtin_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only lfsplug's own plugins: a third-party command is not ours to document."""
    monkeypatch.setenv("LFSPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name in ("LFSPLUG_ADDOPTS", "LFSPLUG_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("builtin_only")
def test_every_command_is_in_the_user_guide(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands(capsys)
    assert {"run", "list", "check", "plugins"} <= set(commands)
    guide = read("user-guide.md")
    missing = [c for c in commands if f"lfsplug {c}" not in guide]
    assert not missing, f"docs/user-guide.md does not describe: {missing}"


@pytest.mark.usefixtures("builtin_only")
def test_every_option_of_every_command_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    """An option a user finds in --help is explained somewhere under docs/."""
    docs = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    missing = {}
    for command in _commands(capsys):
        assert lfsplug.main([command, "--help"]) == 0
        flags = set(re.findall(r"(--[a-z][a-z0-9-]+)", capsys.readouterr().out)) - {"--help"}
        absent = sorted(f for f in flags if f not in docs)
        if absent:
            missing[command] = absent
    assert not missing, f"options in --help that no page under docs/ mentions: {missing}"


def test_every_exit_code_is_in_the_user_guide_table() -> None:
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*`?(\w+)`?\s*\|", read("user-guide.md"), re.M)
    table = {int(code): name for code, name in rows}
    assert table == {int(code): code.name for code in ExitCode}


# -- the event kinds --------------------------------------------------------------------------


def test_event_kinds_are_the_ones_the_kernel_emits() -> None:
    from lfsplug import _events as records

    defined = {value for value in vars(records).values() if isinstance(value, type)
               and issubclass(value, records.Record) and value is not records.Record
               and "kind" in value.__dict__}
    assert set(docgen.EVENT_RECORDS) == defined
    emitted = set()
    for path in (ROOT / "lfsplug").glob("*.py"):
        emitted |= set(re.findall(r"\bemit\(\s*(\w+)\(", path.read_text(encoding="utf-8")))
    assert emitted and emitted <= {cls.__name__ for cls in defined}
