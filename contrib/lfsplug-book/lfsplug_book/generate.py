"""Writing the book's scripts into a folder, as jhalfs's ``chapterNN/NNN-name`` files, with the
book's ``wget-list`` and ``md5sums`` beside them.

A file whose content is unchanged is not written again (its time stays, and the validation
cache with it); a script of an earlier choice that is no longer made is removed, in a folder
this module made (``.lfsplug-book`` marks it) and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lfsplug_book.pages import Page, pages
from lfsplug_book.render import Choices, render
from lfsplug_book.source import Book, Profile, load

__all__ = ["MARK", "Generated", "generate", "plan"]

#: The file that marks a folder of generated scripts.
MARK = ".lfsplug-book"


@dataclass
class Generated:
    """What :func:`generate` wrote: the scripts, in book order, and the placeholders left."""

    folder: Path
    scripts: list[Path] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)  # script -> placeholders
    skipped: list[str] = field(default_factory=list)  # pages left out, and why


def plan(book: Book, choices: Choices, locales: str) -> tuple[list[tuple[Page, str]], list[str]]:
    """The pages that become scripts with their file names; the pages left out, and why."""
    chosen: list[tuple[Page, str]] = []
    skipped: list[str] = []
    for page in pages(book, locales):
        if "stripping" in page.filename and not choices.strip:
            skipped.append(f"{page.dirname}/{page.filename}: stripping is optional "
                           f"([book] strip = true builds it)")
            continue
        chosen.append((page, f"{page.dirname}/{page.order}-{page.filename}"))
    return chosen, skipped


def _write(path: Path, text: str, mode: int = 0o755) -> None:
    """Write ``text`` unless the file holds it already."""
    try:
        if path.read_text() == text:
            if path.stat().st_mode & 0o777 != mode:
                path.chmod(mode)
            return
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def _lists(book: Book) -> tuple[str, str]:
    """The book's ``wget-list`` and ``md5sums`` (chapter 3's packages and patches)."""
    urls = "".join(f"{m.url}\n" for m in book.materials)
    sums = "".join(f"{m.md5}  {m.name}\n" for m in book.materials if m.md5)
    return urls, sums


def generate(path: Path, profile: Profile, choices: Choices, folder: Path,
             locales: str = "test") -> Generated:
    """Read the book at ``path`` and write its scripts into ``folder``."""
    book = load(path, profile)
    chosen, skipped = plan(book, choices, locales)
    if folder.exists() and any(folder.iterdir()) and not (folder / MARK).exists():
        from lfsplug_book.source import BookError

        raise BookError(f"{folder}: not empty and not written by lfsplug book export; "
                        f"choose an empty or new folder")
    folder.mkdir(parents=True, exist_ok=True)
    done = Generated(folder, skipped=skipped)
    label = f"{profile.init}, {profile.arch}"
    written: set[Path] = set()
    for page, name in chosen:
        text, missing = render(page, choices, label)
        target = folder / name
        _write(target, text)
        written.add(target)
        done.scripts.append(target)
        if missing:
            done.missing[name] = missing
    urls, sums = _lists(book)
    for name, text in (("wget-list", urls), ("md5sums", sums)):
        _write(folder / name, text, 0o644)
    _write(folder / MARK, f"{path.resolve()}\n{label}\n", 0o644)
    for chapter in folder.glob("chapter[0-9]*"):  # scripts of an earlier choice
        for stale in chapter.iterdir():
            if stale.is_file() and stale not in written:
                stale.unlink()
    return done
