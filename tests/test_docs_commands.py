"""Every command the documentation shows runs, and prints what the documentation shows.

The convention, for README.md and docs/*.md:

* The commands are the lines of fenced blocks whose info string is ``console``, ``sh`` or
  ``bash``: in a ``console`` block the lines starting with ``$ `` (unindented; the rest, up to
  the next ``$ ``, is the output it shows); in ``sh``/``bash`` blocks also the lines starting
  with ``lfsplug ``, ``pip install `` or ``python -m `` (no output shown; ``export NAME=...``
  lines hold for the block's later commands). A here-document (``cat > f <<'EOF'`` ...
  ``EOF``) belongs to its command.
* Each such block is meant to run, unless an HTML comment on the line before its fence says
  otherwise (readers of the rendered page do not see it):

  - ``<!-- docs-test: run -->``: meant to run (a block without a comment runs too, so that a
    new one is checked from the day it is written: README.md's tour has none);
  - ``<!-- docs-test: skip: WHY -->``: not run, WHY shown as the skip reason (a tree that is
    only sketched, a real LFS partition, the network);
  - ``<!-- docs-test: slow -->``: builds for long; runs only with ``LFSPLUG_DOCS_SLOW=1``;
  - ``<!-- docs-test: needs: root, cc -->``: skipped, saying which, without root or a tool
    (a command on ``examples/hello`` needs ``cc``, and ends its block without it);
  - ``<!-- docs-test: tree -->``: first make the tree that the nearest block above without an
    info string sketches (``numbered/`` then ``├── chapter05/`` ...), each file a script that
    runs ``true``;
  - ``<!-- docs-test: file: NAME -->``: first write the nearest ``python`` block above to NAME
    (the plugin module a page has just shown).

  Several go in one comment, separated by ``;``.
* A command must exit 0, unless its line ends with a comment saying otherwise:
  ``$ lfsplug check syn      # exit 6``.
* The output shown must be what the command prints (stdout and stderr, as a terminal shows
  them; trailing blanks ignored), line for line: ``*`` in a line stands for any text, ``...``
  alone on a line for any number of lines (``...`` within a line is ``*`` too); a duration
  shown as ``0.0 s`` stands for any (``12.3 s``). The scratch copy's root is shown as
  ``/home/me``.
* The blocks of one page run in order, in one scratch copy of the repository (what git would
  commit: ``examples/`` included, no state directories), from its root, with ``lfsplug``
  running ``python -m lfsplug``, a home of their own and no ``LFSPLUG_*`` variables.
  ``pip install ...`` before ``&&`` is taken as done (the tree is installed), and the test
  suite (``python -m pytest``) is not run from within itself.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"console", "sh", "bash"}
SHOWN_ROOT = "/home/me"
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")
EXIT = re.compile(r"#\s*exits?\s+(\d+)\s*$")
TIMEOUT = 300
#: What the repository's own trees need, for blocks that cannot carry a marker of their own
#: (README.md's tour): without it, the block's later commands are not run.
TREE_NEEDS = {"examples/hello": ("cc",)}


@dataclass
class Command:
    line: int
    text: str
    shown: list[str] | None = None  # the output a console block shows; None: none shown
    status: int = 0


@dataclass
class Block:
    page: Path
    line: int
    language: str
    options: dict[str, str] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)
    exports: dict[int, str] = field(default_factory=dict)  # command index -> export lines
    sketch: list[str] = field(default_factory=list)  # the tree sketched above it, if any
    python: str = ""  # the nearest python block above it

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


# -- reading the pages ----------------------------------------------------------------------


def parse_marker(text: str) -> dict[str, str]:
    """``skip: WHY; needs: root, cc`` -> {"skip": "WHY", "needs": "root, cc"}."""
    options = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, _, value = part.partition(":")
        key = key.strip()
        if key not in {"run", "skip", "slow", "needs", "tree", "file"}:
            raise ValueError(f"unknown docs-test option {key!r} (run, skip, slow, needs, tree, "
                             "file)")
        options[key] = value.strip()
    return options


def read_blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    sketch: list[str] = []
    python = ""
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, language = match.group(2), match.group(3)
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if not language and i + 1 < end and re.fullmatch(r"[\w.-]+/", lines[i + 1].strip()):
            sketch = lines[i + 1:end]
        if language == "python":
            python = "\n".join(lines[i + 1:end]) + "\n"
        if language in LANGUAGES:
            marker = MARKER.match(lines[i - 1]) if i else None
            try:
                options = parse_marker(marker.group(1)) if marker else {}
            except ValueError as exc:  # the page's test says so
                options = {"invalid": str(exc)}
            block = Block(page, i + 1, language, options, sketch=list(sketch), python=python)
            _commands(block, lines[i + 1:end], i + 2)
            if block.commands:
                found.append(block)
        i = end + 1
    return found


def _commands(block: Block, body: list[str], first: int) -> None:
    console = block.language == "console"
    exports: list[str] = []
    n = 0
    while n < len(body):
        raw = body[n].strip()
        if body[n].startswith("$ "):  # unindented: an indented one is output
            text = raw[2:]
        elif raw.startswith(("lfsplug ", "pip install ", "python -m ")) and not console:
            text = raw
        else:
            if not console and raw.startswith("export "):
                exports.append(raw)
            elif console and block.commands and block.commands[-1].shown is not None:
                block.commands[-1].shown.append(body[n].rstrip())
            n += 1
            continue
        command = Command(first + n, text, [] if console else None)
        heredoc = HEREDOC.search(text)
        if heredoc:  # the lines up to its delimiter are the command's
            while n + 1 < len(body):
                n += 1
                command.text += "\n" + body[n]
                if body[n].strip() == heredoc.group(2):
                    break
        status = EXIT.search(text.splitlines()[0])
        if status:
            command.status = int(status.group(1))
        if exports:
            block.exports[len(block.commands)] = "\n".join(exports)
        block.commands.append(command)
        n += 1


# -- matching the output ----------------------------------------------------------------------


def _pattern(shown: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in re.split(r"\*|\.\.\.", shown.rstrip())]
    timed = [re.sub(r"(?<![\d.])\d+\\\.\d\\ s\b", r"\\d+\\.\\d\\ s", p) for p in parts]
    return re.compile(".*".join(timed) + r"\Z", re.S)


def output_matches(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is what ``shown`` shows (``...`` lines: any lines)."""
    shown = [s.rstrip() for s in shown]
    printed = [p.rstrip() for p in printed]
    while shown and not shown[-1]:
        shown.pop()
    while printed and not printed[-1]:
        printed.pop()

    def match(s: int, p: int) -> bool:
        if s == len(shown):
            return p == len(printed)
        if shown[s].strip() == "...":
            return any(match(s + 1, q) for q in range(p, len(printed) + 1))
        return (p < len(printed) and _pattern(shown[s]).match(printed[p]) is not None
                and match(s + 1, p + 1))

    return match(0, 0)


# -- running them ---------------------------------------------------------------------------


def scratch_copy(target: Path) -> Path:
    """What git would commit (tracked files and new ones not ignored), as they are now."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    return target


def environment(tmp: Path) -> dict[str, str]:
    shims = tmp / "bin"
    shims.mkdir()
    shim = shims / "lfsplug"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m lfsplug "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    home, scratch = tmp / "home", tmp / "tmp"
    home.mkdir()
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LFSPLUG_", "PYTEST_", "_LFSPLUG"))}
    env.update(PATH=f"{shims}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}", HOME=str(home),
               XDG_STATE_HOME=str(home / ".local/state"), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_CONFIG_HOME=str(home / ".config"), TMPDIR=str(scratch), NO_COLOR="1",
               TERM="dumb", COLUMNS="100")
    return env


def make_tree(sketch: list[str], cwd: Path) -> None:
    """Make the folders and files a sketch shows (what follows two blanks is a comment)."""
    parents: list[Path] = []
    for line in sketch:
        match = re.match(r"^([│├└─\s]*)(\S+)", line)
        if match is None:
            continue
        depth = len(match.group(1)) // 4
        path = (parents[depth - 1] if depth else cwd) / match.group(2)
        del parents[depth:]
        if match.group(2).endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            parents.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("#!/bin/bash\ntrue\n", encoding="utf-8")


def why_not(block: Block) -> str | None:
    """Why a block does not run here, or None."""
    options = block.options
    if "skip" in options:
        return options["skip"] or "marked skip"
    if "slow" in options and os.environ.get("LFSPLUG_DOCS_SLOW") != "1":
        return f"builds for long ({options['slow'] or 'slow'}): LFSPLUG_DOCS_SLOW=1 runs it"
    needs = [n.strip() for n in options.get("needs", "").split(",") if n.strip()]
    missing = [n for n in needs if (os.geteuid() != 0 if n == "root" else not shutil.which(n))]
    if missing:
        return "needs " + ", ".join(missing)
    return None


def prepared(text: str) -> tuple[str | None, str | None]:
    """The command to run (``pip install ... &&`` taken as done), or None and why not."""
    parts = text.split(" && ")
    while len(parts) > 1 and parts[0].strip().startswith("pip install"):
        parts.pop(0)
    rest = " && ".join(parts)
    if re.match(r"\s*(pip install|python -m pytest|pytest)\b", rest):
        return None, f"{rest.split('#')[0].strip()}: not run from within the test suite"
    return rest, None


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """Run a block's commands; yield a description of each that failed or drifted."""
    exports = ""
    for n, command in enumerate(block.commands):
        exports = block.exports.get(n, exports)
        text, _ = prepared(command.text)
        if text is None:
            continue
        if any(tree in text and not all(shutil.which(t) for t in tools)
               for tree, tools in TREE_NEEDS.items()):
            return  # the example compiles C (tests/test_e2e.py skips likewise)
        script = f"{exports}\n{text}" if exports else text
        try:
            done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, text=True,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            yield f"{block.page.name}:{command.line}: $ {text}\n    ran over {TIMEOUT} s"
            continue
        printed = done.stdout.replace(str(cwd), SHOWN_ROOT).splitlines()
        where = f"{block.page.relative_to(ROOT)}:{command.line}: $ {text.splitlines()[0]}"
        if done.returncode != command.status:
            yield (f"{where}\n    exited {done.returncode}, not {command.status}:\n"
                   + "\n".join("      " + line for line in printed[-15:]))
        elif command.shown is not None and not output_matches(command.shown, printed):
            yield (f"{where}\n    shows:\n" + "\n".join("      " + s for s in command.shown)
                   + "\n    prints:\n" + "\n".join("      " + p for p in printed))


PAGE_BLOCKS = {page: read_blocks(page) for page in PAGES}


@pytest.mark.parametrize("page", [p for p, b in PAGE_BLOCKS.items() if b],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_commands_a_page_shows_run_as_shown(page: Path, tmp_path: Path) -> None:
    tree = scratch_copy(tmp_path / "repo")
    env = environment(tmp_path)
    problems: list[str] = []
    skipped: list[str] = []
    for block in PAGE_BLOCKS[page]:
        if "invalid" in block.options:
            problems.append(f"{block.where}: {block.options['invalid']}")
            continue
        reason = why_not(block)
        if reason is not None:
            skipped.append(f"{block.where}: {reason}")
            continue
        if "tree" in block.options:
            make_tree(block.sketch, tree)
        if block.options.get("file"):
            (tree / block.options["file"]).write_text(block.python, encoding="utf-8")
        problems.extend(run_block(block, tree, env))
    assert not problems, "\n\n".join(problems)
    if skipped and len(skipped) == len(PAGE_BLOCKS[page]):
        pytest.skip("; ".join(skipped))


# -- the convention itself ------------------------------------------------------------------


def test_reading_a_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n<!-- docs-test: needs: root; slow -->\n```console\n$ mkdir s\n"
        "$ cat > s/a <<'EOF'\necho $x\nEOF\n$ lfsplug check s     # exit 6\nerror *\n...\n```\n\n"
        "```sh\nexport A=1\nlfsplug list s    # the plan\n# lfsplug: name=x\n```\n\n"
        "```python\nlfsplug run\n```\n", encoding="utf-8")
    first, second = read_blocks(page)
    assert (first.line, first.options) == (4, {"needs": "root", "slow": ""})
    assert [(c.line, c.text, c.shown, c.status) for c in first.commands] == [
        (5, "mkdir s", [], 0),
        (6, "cat > s/a <<'EOF'\necho $x\nEOF", [], 0),
        (9, "lfsplug check s     # exit 6", ["error *", "..."], 6)]
    assert second.options == {} and second.exports == {0: "export A=1"}
    assert [(c.text, c.shown) for c in second.commands] == [("lfsplug list s    # the plan",
                                                             None)]
    with pytest.raises(ValueError, match="unknown docs-test option 'skp'"):
        parse_marker("skp: typo")


def test_making_a_sketched_tree(tmp_path: Path) -> None:
    make_tree(["numbered/", "├── chapter05/", "│   ├── 5.2-binutils.sh",
               "│   └── 5.10-x.sh     after", "└── chapter06/6.2-m4.sh           m4",
               "lfsplug.toml"], tmp_path)
    made = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert made == ["lfsplug.toml", "numbered/chapter05/5.10-x.sh",
                    "numbered/chapter05/5.2-binutils.sh", "numbered/chapter06/6.2-m4.sh"]


def test_the_output_matcher() -> None:
    assert output_matches(["[1/2] start   hello", "==== * in * s ===="],
                          ["[1/2] start   hello  ", "==== 2 passed in 0.1 s ====", ""])
    assert not output_matches(["[1/2] start   hello"], ["[1/2] start   hello", "more"])
    assert not output_matches(["[1/2] start"], ["[2/2] start"])  # [ is no character class
    assert output_matches(["first", "...", "last"], ["first", "a", "b", "last"])
    assert output_matches(["first", "...", "last"], ["first", "last"])
    assert output_matches(["a ... b"], ["a anything b"])
    assert output_matches(["[1/2] passed  hello  0.0 s"], ["[1/2] passed  hello  12.3 s"])
    assert not output_matches(["passed  0.0 s"], ["passed  0.0 min"])
    assert not output_matches(["first", "...", "last"], ["first", "a"])


def test_prepared_commands() -> None:
    assert prepared("pip install -e . && lfsplug run examples/hello   # build it") == (
        "lfsplug run examples/hello   # build it", None)
    assert prepared("pip install -e '.[test]' && python -m pytest    # run the tests")[0] is None


# -- what the pages say about the code --------------------------------------------------------


def builtin_plugins() -> set[str]:
    """The built-in plugins: the entry points of the group ``lfsplug`` in setup.cfg."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    group = parser["options.entry_points"]["lfsplug"]
    return {line.split("=")[0].strip() for line in group.splitlines() if "=" in line}


def test_the_user_guide_lists_every_builtin_plugin() -> None:
    guide = (ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    section = guide.split("\n## Plugins\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("| plugin | does |", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"^\| `(\w+)` \|", table, re.M)) == builtin_plugins()


def test_the_readme_layout_lists_every_builtin_plugin() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"the built-in plugins \(([^)]*)\)", " ".join(readme.split()))
    assert listed is not None
    assert {name.strip() for name in listed.group(1).split(",")} == builtin_plugins()


def test_skip_reasons_name_the_shared_data_folder_one_way() -> None:
    """tests/helpers.py alone spells the data folder's path; the others skip with
    ``helpers.no_data(path)``, so that every reason names it the same way."""
    spelled = re.compile(r"""shared["']?\s*/\s*["']?data|shared/data|\.\./shared""")
    others = [p.name for p in (ROOT / "tests").glob("*.py")
              if p.name not in {"helpers.py", Path(__file__).name}
              and spelled.search(p.read_text(encoding="utf-8"))]
    assert others == []
    from helpers import BOOK, DATA, no_data

    assert no_data(BOOK) == f"lfs-book is not in the shared data folder {DATA}"
