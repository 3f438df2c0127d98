"""Generate the hook reference, ``docs/hooks.md``, from :mod:`lfsplug._hookspec` (and the
settings reference, ``docs/settings.md``, from the declarations: ``tools/settingsdoc.py``).

    python tools/docgen.py            rewrite docs/hooks.md and docs/settings.md
    python tools/docgen.py --check    exit 1 if either is out of date

The page follows the module: one section per phase (the banner comments of ``_hookspec.py``),
in each the hooks in source order with their signature, their pluggy options and their docstring
rendered as Markdown. ``_hookspec.py`` stays the one source of truth; never edit the page by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import lfsplug._hookspec as spec_module  # the module, whatever the package attribute is typed as
from lfsplug import _events as records
from lfsplug._model import Priority

__all__ = [
    "DEFAULT_OUTPUT",
    "EVENT_RECORDS",
    "Phase",
    "check",
    "hook_specs",
    "main",
    "phases",
    "render",
    "render_docstring",
    "signature",
]

#: Where the page lives in a source checkout.
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"

#: The kernel's event records, in the table's order, each with whether its events name a
#: script. tests/test_docs.py checks that these are every record class of
#: lfsplug/_events.py and that every record the kernel emits is one of them.
EVENT_RECORDS: dict[type[records.Record], str] = {
    records.RunStarted: "no",
    records.ScriptOutput: "yes",
    records.ScriptRetry: "yes",
    records.ScriptNote: "yes",
    records.SampleTaken: "if per script",
    records.AlertRaised: "no",
    records.Progress: "no",
    records.StopRequested: "no",
    records.RunFinished: "no",
}

_BANNER = re.compile(r"^# -{20,}\s*$")
_DEF = re.compile(r"^def (lfsplug_\w+)\(")
_FIELD = re.compile(r"^:(\w+)(?: (\w+))?:\s*(.*)$")
_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj):`(~?)([\w.]+)`")
_CODE_HOOK = re.compile(r"`(lfsplug_\w+)`")
_NAME_IN_PROSE = re.compile(r"\blfsplug[\w.]*\w")
_WIDTH = 88


@dataclass
class Phase:
    """One banner section of ``_hookspec.py``: its title, its comment, its hooks in order."""

    title: str
    intro: str = ""
    hooks: list[str] = field(default_factory=list)


def hook_specs(module: ModuleType = spec_module) -> dict[str, Callable[..., Any]]:
    """The functions of ``module`` marked as hook specifications, by name."""
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isfunction(value) and hasattr(value, "lfsplug_spec")
    }


def phases(module: ModuleType = spec_module) -> list[Phase]:
    """The phases of ``module`` in source order, each with the hooks defined under its banner."""
    lines = inspect.getsource(module).splitlines()
    found: list[Phase] = []
    i = 0
    while i < len(lines):
        if _BANNER.match(lines[i]):
            end = next((j for j in range(i + 1, len(lines)) if _BANNER.match(lines[j])),
                       len(lines))
            found.append(_phase_from_comment(" ".join(ln.lstrip("# ") for ln in lines[i + 1:end])))
            i = end + 1
            continue
        match = _DEF.match(lines[i])
        if match:
            if not found:
                found.append(Phase("Hooks"))
            found[-1].hooks.append(match.group(1))
        i += 1
    return found


def _phase_from_comment(text: str) -> Phase:
    title, _, intro = re.sub(r"\s+", " ", text).strip().partition(" ")
    intro = intro.strip()
    return Phase(title.rstrip(".:"), intro[:1].upper() + intro[1:])


def signature(name: str, function: Callable[..., Any]) -> str:
    """The hook's signature as a Python ``def`` line (one parameter a line when long)."""
    sig = inspect.signature(function)
    params = [f"{p.name}: {_annotation(p.annotation)}" for p in sig.parameters.values()]
    returns = _annotation(sig.return_annotation)
    line = f"def {name}({', '.join(params)}) -> {returns}: ..."
    if len(line) <= _WIDTH:
        return line
    inner = "".join(f"    {p},\n" for p in params)
    return f"def {name}(\n{inner}) -> {returns}: ..."


def _annotation(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "Any"
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _options(function: Callable[..., Any]) -> str:
    opts: dict[str, Any] = getattr(function, "lfsplug_spec", {})
    notes = []
    if opts.get("firstresult"):
        notes.append("**firstresult**: the first implementation to return something other than "
                     "None gives the result; the rest are not called.")
    if opts.get("historic"):
        notes.append("**historic**: the call is remembered, and replayed for every plugin "
                     "registered later.")
    if not notes:
        collected = inspect.signature(function).return_annotation not in ("None", None)
        notes.append("Every implementation is called" + (
            "; the results that are not None come back as a list." if collected else "."))
    return " ".join(notes)


def render_docstring(doc: str, hooks: Sequence[str] = ()) -> str:
    """A reST-flavoured docstring as Markdown: ``:param x:`` fields become a list."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", inspect.cleandoc(doc)):
        lines = paragraph.splitlines()
        if _FIELD.match(lines[0]):
            blocks.append(_fields(lines, hooks))
        else:
            blocks.append(_inline(" ".join(ln.strip() for ln in lines), hooks))
    return "\n\n".join(blocks)


def _fields(lines: list[str], hooks: Sequence[str]) -> str:
    items: list[list[str]] = []
    for line in lines:
        if _FIELD.match(line) or not items:
            items.append([line])
        else:
            items[-1].append(line.strip())
    params, others = [], []
    for item in items:
        match = _FIELD.match(item[0])
        kind, name, first = match.groups() if match else ("note", None, item[0])
        text = _inline(" ".join([first, *item[1:]]), hooks)
        if kind == "param" and name:
            params.append(f"- `{name}`: {text}")
        else:
            label = "Returns" if kind in ("return", "returns") else kind.capitalize()
            others.append(f"**{label}:** {text}")
    head = ["**Parameters:**\n\n" + "\n".join(params)] if params else []
    return "\n\n".join(head + others)


def _inline(text: str, hooks: Sequence[str]) -> str:
    def role(match: re.Match[str]) -> str:
        target = match.group(2)
        return f"``{target.rsplit('.', 1)[-1] if match.group(1) else target}``"

    text = _ROLE.sub(role, text).replace("``", "`")
    return _CODE_HOOK.sub(lambda m: _link(m.group(1), hooks) or m.group(0), text)


def _link(name: str, hooks: Sequence[str]) -> str | None:
    return f"[`{name}`](#{name})" if name in hooks else None


def _prose(comment: str, hooks: Sequence[str]) -> str:
    """A banner comment as Markdown: names in code, arrows as arrows, hooks linked."""
    text = _NAME_IN_PROSE.sub(lambda m: f"`{m.group(0)}`", comment).replace("->", "→")
    return _CODE_HOOK.sub(lambda m: _link(m.group(1), hooks) or m.group(0), text)


def render(module: ModuleType = spec_module) -> str:
    """The whole page, ending with a newline."""
    specs = hook_specs(module)
    sections = [p for p in phases(module) if any(h in specs for h in p.hooks)]
    listed = {h for p in sections for h in p.hooks}
    missing = [h for h in specs if h not in listed]
    if missing:
        sections.append(Phase("Other", "", missing))
    names = list(specs)
    out = [_HEADER.format(count=len(specs))]
    for section in sections:
        hooks = ", ".join(f"[`{h}`](#{h})" for h in section.hooks if h in specs)
        out.append(f"- **{section.title}**: {hooks}")
    out.append("")
    for section in sections:
        out.append(f"## {section.title}\n")
        if section.intro:
            out.append(_prose(section.intro, names) + "\n")
        for name in (h for h in section.hooks if h in specs):
            out.append(_render_hook(name, specs[name], names))
    out.append(_events())
    return "\n".join(out).rstrip("\n") + "\n"


def _render_hook(name: str, function: Callable[..., Any], hooks: Sequence[str]) -> str:
    doc = render_docstring(function.__doc__ or "(undocumented)", hooks)
    return (f"### `{name}`\n\n```python\n{signature(name, function)}\n```\n\n"
            f"{_options(function)}\n\n{doc}\n")


def _events() -> str:
    rows = "\n".join(
        f"| `{cls.kind}` | `{_cell(_record_signature(cls))}` | `{Priority(cls.priority).name}` "
        f"| {script} | {_cell(_inline(' '.join((cls.__doc__ or '').split()), ()))} |"
        for cls, script in EVENT_RECORDS.items()
    )
    order = " < ".join(f"`{p.name}` ({p.value})" for p in sorted(Priority))
    return _EVENTS.format(rows=rows, order=order)


def _cell(text: str) -> str:
    """``text`` in a Markdown table cell (a ``|``, even in code, would end the cell)."""
    return text.replace("|", "\\|")


def _record_signature(cls: type[records.Record]) -> str:
    """``RunStarted(total: int)``: the record's fields with their annotations."""
    fields = ", ".join(f"{f.name}: {_annotation(f.type)}"
                       for f in dataclasses.fields(cast(Any, cls)))
    return f"{cls.__name__}({fields})"


_HEADER = """\
# Hook reference

<!-- Generated from lfsplug/_hookspec.py by `python tools/docgen.py`; do not edit. -->

lfsplug has {count} hooks. Implement one by writing a function of the same name marked with
`@lfsplug.hookimpl`, in a plugin module, a plugin class or a local `lfsconf.py`; it may take any
subset of the parameters, by name. See [writing-plugins.md](writing-plugins.md) for the how, and
[user-guide.md](user-guide.md) for what users see.
"""

_EVENTS = """\
## Event kinds

The kinds of event the kernel defines. Each event carries a record, a frozen dataclass of
`lfsplug` whose class gives the event's kind and priority; the kernel and the monitor emit
these with `session.emit(record, script)`. [`lfsplug_events`](#lfsplug_events) receives them
in batches, lower priority value first:

{order}

Every event also has `kind`, `time`, `priority`, `script` (the script's name, or None), `seq`
and `record`. A script's start and its final result are not events: they reach plugins
through [`lfsplug_script_start`](#lfsplug_script_start) and
[`lfsplug_script_finish`](#lfsplug_script_finish). Plugins add kinds of their own with a
subclass of `lfsplug.Record` (see writing-plugins.md).

| kind | record | priority | names a script | what happened |
|---|---|---|---|---|
{rows}
"""


def check(path: Path = DEFAULT_OUTPUT) -> bool:
    """Whether ``path`` holds exactly what :func:`render` produces now."""
    return path.is_file() and path.read_text(encoding="utf-8") == render()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: write the page, or with ``--check`` say whether it is stale."""
    parser = argparse.ArgumentParser(prog="python tools/docgen.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, metavar="FILE",
                        help=f"the page to write or check (default: {DEFAULT_OUTPUT})")
    import settingsdoc

    parser.add_argument("--settings-output", type=Path, default=settingsdoc.DEFAULT_OUTPUT,
                        metavar="FILE", help="the settings page to write or check (default: "
                                             f"{settingsdoc.DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    pages: list[tuple[Path, Callable[[Path], bool], Callable[[], str]]] = [
        (args.output, check, render),
        (args.settings_output, settingsdoc.check, settingsdoc.render),
    ]
    if args.check:
        stale = [path for path, is_current, _render in pages if not is_current(path)]
        for path in stale:
            print(f"{path} is out of date: run python tools/docgen.py", file=sys.stderr)
        return 1 if stale else 0
    for path, _is_current, make in pages:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
