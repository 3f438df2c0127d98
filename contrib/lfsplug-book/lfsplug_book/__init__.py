"""lfsplug-book: build from the LFS book's XML itself, as jhalfs does.

Give lfsplug a checkout of the book (a folder with ``index.xml``, ``general.ent`` and
``packages.ent``) where it takes a script tree: ``lfsplug list ~/lfs-book``, ``lfsplug run
~/lfs-book``. Each page of chapters 4 to 10 that has commands becomes a script (:mod:`.pages`,
:mod:`.render`), written into ``STATE/book/INIT-ARCH/`` as jhalfs names them
(``chapter05/501-binutils-pass1``) with ``# lfsplug:`` headers (:mod:`.generate`); discovery then
reads that folder as any jhalfs tree, so exporting the scripts (``lfsplug book export BOOK DIR``)
and building the folder gives the same plan as building the book.

What the plugin adds through hooks:

* ``lfsplug_collect_path``: a book becomes its folder of scripts; ``lfsplug_ignore_path``: the
  book's own files are not scripts;
* the ordering plugin, given the book's folder, orders chapter 8 by its
  ``appendices/dependencies.xml`` (as ``--book-deps``) and in graph order where neither
  ``--order`` nor ``[ordering] phases`` says otherwise;
* ``lfsplug_addcommands``: ``lfsplug book export BOOK DIR``.

The choices are ``[book]`` in lfsplug.toml, or options: ``--book-init sysv|systemd``,
``--book-tests none|critical|all``, ``arch``, ``locales``, ``strip``, ``kernel_config`` and
``[book.values]`` (timezone, paper_size, locale, hostname...: the book's placeholders). The
user's documentation is docs/book.md in lfsplug.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import (
    ExitCode,
    MetaSource,
    SettingsTable,
    StashKey,
    UsageError,
    choice,
    hookimpl,
    string,
    table_of,
)

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser, Script, Session
    from lfsplug_book.generate import Generated
    from lfsplug_book.render import Choices
    from lfsplug_book.source import Profile

__all__ = ["book_folder", "choices", "profile"]

#: The commands whose PATH may be a book.
COMMANDS = ("run", "check", "list", "graph", "sources", "book")
TABLE = SettingsTable("book")
INIT = TABLE.add("init", choice("sysv", "systemd"), "sysv", "which book to build: the System V "
                 "or the systemd one (the XML's revision attribute)", option=("--book-init",),
                 commands=COMMANDS)
TESTS = TABLE.add("tests", choice("none", "critical", "all"), "critical", "which test suites "
                  "run: none, the critical ones (chapter 8's gcc, glibc, gmp, mpfr and "
                  "binutils), or all", option=("--book-tests",), commands=COMMANDS)
ARCH = TABLE.add("arch", string(empty=False), os.uname().machine, "the architecture the book "
                 "is profiled for (its arch attribute)", shown_default="this machine's")
LOCALES = TABLE.add("locales", choice("test", "full"), "test", "glibc's locales: those its "
                    "tests need (the book's list), or all of them")
STRIP = TABLE.add("strip", bool, False, "build the book's optional stripping pages")
KERNEL_CONFIG = TABLE.add("kernel_config", Path, None, "the kernel's .config, copied after "
                          "make mrproper (chapter 10)")
VALUES = TABLE.add("values", table_of(string(), entry="NAME"), {}, "the book's placeholders: "
                   "timezone, paper_size, locale, hostname, domain, ip, interface, "
                   "nameserver1, nameserver2, root_device, swap_device, root_fstype, or the "
                   'placeholder\'s own text ("<xxx>"), or PAGE:text')

#: The books named on the command line (resolved) and the folder of their scripts.
BOOKS = StashKey[tuple[list[str], str]]()


def profile(config: Config) -> Profile:
    from lfsplug_book.source import Profile

    return Profile(config.get(INIT), config.get(ARCH))


def choices(config: Config) -> Choices:
    from lfsplug_book.render import Choices

    kernel = config.get(KERNEL_CONFIG)
    return Choices(config.get(TESTS), config.get(STRIP), dict(config.get(VALUES)),
                   None if kernel is None else os.path.abspath(kernel))


def book_folder(config: Config) -> Path:
    """Where the scripts of the book are written for a build of it."""
    chosen = profile(config)
    return config.state_dir / "book" / f"{chosen.init}-{chosen.arch}"


def _is_book(path: Path) -> bool:
    from lfsplug_book.source import is_book

    return is_book(path)


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(TABLE)


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    commands.add("book", cmd_book, arguments=("action", "book", "folder"),
                 help="Write the LFS book's scripts: ACTION is export. BOOK is a checkout of "
                      "the book's XML; FOLDER gets one script per page (chapterNN/NNN-name), "
                      "with its wget-list and md5sums.")


@hookimpl(trylast=True)
def lfsplug_configure(config: Config) -> None:
    books = [os.path.abspath(p) for p in config.paths if _is_book(Path(p))]
    # (ignore_path is asked of every path discovery walks: what it needs, worked out once)
    config.stash[BOOKS] = (books, str(book_folder(config)) if books else "")


@hookimpl
def lfsplug_ignore_path(path: Path, config: Config) -> bool | None:
    """The book's own files (XML, stylesheets, helper scripts) are not build scripts."""
    books, scripts = config.stash.get(BOOKS, ([], ""))
    if not books:
        return None
    text = os.path.abspath(path)
    if text == scripts or text.startswith(scripts + os.sep):
        return None  # the scripts written for it (in the state directory, maybe in the book)
    for book in books:
        if text == book or text.startswith(book + os.sep):
            return True
    return None


@hookimpl
def lfsplug_script_metadata(script: Script, session: Session) -> list[MetaSource] | None:
    """``page``: the book's page a script was written from (``chapter08/glibc``, from its
    jhalfs name ``chapter08/803-glibc``), for the tests plugin's known failures of that page.
    Metadata, not a header line: the scripts' text, and so what a build reuses, stays as it
    was."""
    _books, scripts = session.config.stash.get(BOOKS, ([], ""))
    path = os.path.abspath(script.path)
    if not scripts or not path.startswith(scripts + os.sep):
        return None
    name = re.sub(r"^\d+(?:-\d+)?-", "", os.path.basename(path))
    page = f"{os.path.basename(os.path.dirname(path))}/{name}"
    return [MetaSource("the LFS book plugin", {"page": page}, priority=MetaSource.LAYOUT)]


@hookimpl
def lfsplug_collection_finish(session: Session) -> None:
    session.claim_metadata("page")  # this plugin's own key (above)


@hookimpl(tryfirst=True)
def lfsplug_collect_path(path: Path, session: Session) -> list[Script] | None:
    """A book: its scripts, written into the state directory, found as a jhalfs tree is."""
    if not _is_book(Path(path)):
        return None
    done = write_scripts(session.config, Path(path), book_folder(session.config))
    found: list[Script] = []
    for scripts in session.config.hook.lfsplug_collect_path(path=done.folder, session=session):
        found.extend(scripts or [])
    return found


def write_scripts(config: Config, book: Path, folder: Path) -> Generated:
    from lfsplug_book.generate import generate

    return generate(book, profile(config), choices(config), folder, config.get(LOCALES))


def cmd_book(config: Config) -> int:
    """``lfsplug book export BOOK FOLDER``."""
    action = config.arguments.get("action", "")
    if action != "export":
        raise UsageError(f"lfsplug book {action}: unknown action {action!r} (known: export)")
    book = Path(config.arguments["book"])
    if not _is_book(book):
        raise UsageError(f"{book}: not a checkout of the LFS book (no index.xml, general.ent "
                         f"and packages.ent)")
    folder = Path(config.arguments["folder"])
    done = write_scripts(config, book, folder)
    print(f"wrote {len(done.scripts)} scripts of {book} ({config.get(INIT)}) to {folder}")
    for line in done.skipped:
        print(f"left out {line}")
    for name, missing in done.missing.items():
        print(f"{name}: to edit before it can run: {', '.join(dict.fromkeys(missing))}")
    return ExitCode.OK
