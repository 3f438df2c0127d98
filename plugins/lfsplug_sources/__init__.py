"""Sources: fetch and verify the source files a build needs, as jhalfs does before it builds.

``lfsplug sources fetch [PATH]...`` downloads the files of the book's ``wget-list`` (in the
sources directory, ``$LFS/sources`` by default, or ``--list FILE``) and the tarballs the scripts
under PATH unpack (``unpack=``) that are not there, checks them against ``md5sums`` and
``sha256sums``, and says, one line each, which file failed and why (exit 1). ``lfsplug run
--fetch`` does the same before anything is validated or built (:func:`lfsplug_collection_finish`).

This module is the gate: settings, the command and the hook. :mod:`.lists` reads the lists and
works out what is needed, :mod:`.fetch` downloads (threads, resume, retries, mirrors, cache),
:mod:`.progress` shows it. docs/sources.md describes it all for users.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import (
    ExitCode,
    SettingsTable,
    UsageError,
    hookimpl,
    integer,
    list_of,
    run_session,
    seconds,
    string,
)

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser, Script, Session
    from lfsplug_sources.fetch import Outcome, Policy
    from lfsplug_sources.lists import Need, Sum

__all__ = ["FetchError", "fetch_sources"]

#: ``run``'s option (a top-level key of the file too).
OPTIONS = SettingsTable()
FETCH = OPTIONS.add("fetch", bool, False, "first fetch the source files the scripts need that "
                    "are missing (the wget-list's, the unpack= tarballs; see [sources])",
                    option=("--fetch",), commands=("run",))
#: The ``[sources]`` table.
TABLE = SettingsTable("sources")
DEST = TABLE.add("dest", Path, None, "the sources directory: where the files go, and where "
                 "wget-list, md5sums and sha256sums are read", option=("--dest",),
                 commands=("sources",), metavar="DIR",
                 shown_default="--sources, else $SOURCES of [env], else $LFS/sources")
LIST = TABLE.add("wget_list", Path, None, "the list of URLs to fetch, one per line",
                 option=("--list",), commands=("sources",), metavar="FILE",
                 shown_default="wget-list in the sources directory")
SUMS = TABLE.add("md5sums", Path, None, "the checksums to check against: `HASH  FILE` lines, "
                 "MD5 or SHA-256 by the hash's length", option=("--md5sums",),
                 commands=("sources",), metavar="FILE",
                 shown_default="md5sums and sha256sums in the sources directory")
CACHE = TABLE.add("cache", Path, None, "a cache of source files shared by builds (jhalfs's "
                  "SRC_ARCHIVE): a file is copied from it when there, and into it once fetched",
                  option=("--cache",), commands=("sources", "run"), metavar="DIR")
MIRRORS = TABLE.add("mirrors", list_of(string(empty=False)), [], "base URLs tried in order for "
                    "a file its own URL does not give (MIRROR/NAME)")
CONNECTIONS = TABLE.add("connections", integer(1, 64), 4, "downloads at once (sources fetch "
                        "-j N overrides it)")
RETRIES = TABLE.add("retries", integer(0, 100), 3, "how many times a download broken on the way "
                    "(connection, timeout, truncated, HTTP 408/429/5xx) is tried again")
BACKOFF = TABLE.add("backoff", seconds(0, 3600), 1.0, "seconds before the first retry of a "
                    "download, doubled before each next one")
TIMEOUT = TABLE.add("timeout", seconds(positive=True), 30.0, "give up on a connection that "
                    "sends nothing for S seconds (then retry)")

#: The URL schemes a mirror may have.
SCHEMES = ("http://", "https://", "ftp://", "file://")


class FetchError(UsageError):
    """``run --fetch`` could not fetch every file: exit 1 (a download failed, as a script
    may: retry later), not 4; nothing was validated or built."""

    exit_code = ExitCode.SCRIPT_FAILED


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(OPTIONS, TABLE)
    parser.offer("lfs", ("sources",))
    parser.offer("jobs", ("sources",))


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    commands.add("sources", cmd_sources, arguments=("action",), takes_paths=True,
                 help="Fetch the source files: ACTION is fetch. Downloads the wget-list's "
                      "files and the unpack= tarballs of the scripts under PATH that are "
                      "missing, and checks them against md5sums/sha256sums.")


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command not in ("run", "sources"):
        return
    for mirror in config.get(MIRRORS):
        if not mirror.startswith(SCHEMES):
            raise config.error(MIRRORS, f"{mirror!r} is not a base URL (it must start with "
                                        f"{', '.join(SCHEMES)})")
    cache = config.get(CACHE)
    if cache is not None and cache.exists() and not cache.is_dir():
        raise config.error(CACHE, f"{cache} is not a directory")


@hookimpl
def lfsplug_collection_finish(session: Session) -> None:
    """``run --fetch``: fetch what is missing once the scripts are known, before validation
    (which checks the sources) and the build."""
    config = session.config
    if config.command != "run" or not config.get(FETCH):
        return
    failed = fetch_sources(config, session.scripts, plain=bool(config.getoption("plain", False)),
                           dry=bool(config.getoption("dry_run", False)))
    if failed:
        raise FetchError(f"sources: {failed} file(s) could not be fetched (each said above); "
                          f"nothing was built")


def cmd_sources(config: Config) -> int:
    """``lfsplug sources fetch [PATH]...``."""
    action = config.arguments.get("action", "")
    if action != "fetch":
        raise UsageError(f"lfsplug sources {action}: unknown action {action!r} (known: fetch)")
    return run_session(config, _fetch_command)


def _fetch_command(session: Session) -> int:
    config = session.config
    scripts = session.collect()
    found = _plan(config, scripts, listed_is_needed=True)
    if found is None:
        return ExitCode.NO_SCRIPTS
    failed = _fetch(config, *found, plain=False, dry=False)
    return ExitCode.SCRIPT_FAILED if failed else ExitCode.OK


def destination(config: Config) -> Path:
    """The sources directory: ``--dest`` / ``[sources] dest``, else ``run``'s ``--sources``
    (the validation plugin's), else ``$SOURCES`` of ``[env]``, else ``$LFS/sources``."""
    dest = config.get(DEST)
    if dest is not None:
        return Path(os.path.abspath(dest))
    other = config.getoption("sources", None)
    if other:
        return Path(os.path.abspath(other))
    env = config.env
    return Path(os.path.abspath(env.get("SOURCES") or f"{config.lfs}/sources"))


def policy(config: Config) -> Policy:
    from lfsplug_sources.fetch import Policy

    connections = config.get(CONNECTIONS)
    if config.command == "sources" and config.option_source("jobs") != "default":
        connections = config.jobs
    return Policy(connections=connections, retries=config.get(RETRIES),
                  backoff=config.get(BACKOFF), timeout=config.get(TIMEOUT),
                  mirrors=tuple(config.get(MIRRORS)), cache=config.get(CACHE))


def _plan(config: Config, scripts: list[Script],
          listed_is_needed: bool) -> tuple[Path, list[Need], list[str]] | None:
    """The sources directory, what to fetch and what cannot be (lines); None when there is
    nothing to fetch at all (said)."""
    from lfsplug_sources.lists import SUMS_FILES, Need, read_sums, read_wget_list, script_needs
    from lfsplug_sources.progress import LineDisplay

    dest = destination(config)
    wget_list = config.get(LIST)
    if wget_list is not None and not wget_list.is_file():
        raise config.error(LIST, f"{wget_list}: no such file")
    shipped = _shipped_list(scripts) if wget_list is None else None
    wget_list = Path(os.path.abspath(wget_list or dest / "wget-list"))
    if not wget_list.is_file() and shipped is not None:
        wget_list = shipped
    listed = read_wget_list(wget_list) if wget_list.is_file() else []
    sums_file = config.get(SUMS)
    if sums_file is not None and not sums_file.is_file():
        raise config.error(SUMS, f"{sums_file}: no such file")
    sums_files = [sums_file] if sums_file is not None else [
        dest / name for name in SUMS_FILES if (dest / name).is_file()]
    if not sums_files and sums_file is None and wget_list == shipped:
        sums_files = [wget_list.parent / n for n in SUMS_FILES if (wget_list.parent / n).is_file()]
        _place_sums(sums_files, dest)
    sums: dict[str, list[Sum]] = {}
    for path in sums_files:
        for name, found in read_sums(path).items():
            sums.setdefault(name, []).extend(found)
    needs: dict[tuple[Path, str], Need] = {}
    urls: dict[str, list[str]] = {}
    for name, url, where in listed:
        urls.setdefault(name, []).append(url)
        if listed_is_needed:
            need = needs.setdefault((dest, name), Need(name, dest, why=where))
            need.urls.append(url)
    wanted, unknown = script_needs(scripts, config, urls)
    for need in wanted:
        needs.setdefault((need.directory, need.name), need)
    for need in needs.values():
        need.sums = sums.get(need.name, [])
    if not needs and not unknown:
        if not listed and not any(s.unpack for s in scripts):
            LineDisplay().line(f"nothing to fetch: no {wget_list} and no script under "
                               f"{', '.join(map(str, config.paths))} unpacks a tarball")
            return None
        LineDisplay().line("nothing to fetch: every tarball the scripts unpack is there")
    return dest, list(needs.values()), unknown


def _shipped_list(scripts: list[Script]) -> Path | None:
    """The ``wget-list`` a script tree ships (at its root, or in its ``sources/``), as the
    scripts lfsplug-book writes from the book do: used when the sources directory has none."""
    for root in dict.fromkeys(script.root for script in scripts):
        for candidate in (root / "wget-list", root / "sources" / "wget-list"):
            if candidate.is_file():
                return Path(os.path.abspath(candidate))
    return None


def _place_sums(sums_files: list[Path], dest: Path) -> None:
    """Copy the tree's checksum files into the sources directory, as the book has its reader
    download ``md5sums`` there: integrity validation reads them from there."""
    import shutil

    for path in sums_files:
        with contextlib.suppress(OSError):
            dest.mkdir(parents=True, exist_ok=True)
            if not (dest / path.name).exists():
                shutil.copyfile(path, dest / path.name)


def fetch_sources(config: Config, scripts: list[Script], *, plain: bool, dry: bool) -> int:
    """Fetch what ``scripts`` (and the wget-list) need for ``run --fetch``: how many files
    could not be had."""
    found = _plan(config, scripts, listed_is_needed=True)
    return 0 if found is None else _fetch(config, *found, plain=plain, dry=dry)


def _fetch(config: Config, dest: Path, needs: list[Need], unknown: list[str], *, plain: bool,
           dry: bool) -> int:
    """Fetch ``needs`` and say how it went; the number of files that failed."""
    from lfsplug_sources.fetch import Fetcher
    from lfsplug_sources.progress import LineDisplay, make_display

    if dry:
        lines = LineDisplay()
        for need in needs:
            if not need.path.is_file():
                where = need.urls[0] if need.urls else "a mirror" if config.get(MIRRORS) \
                    else "nowhere (no URL)"
                lines.line(f"would fetch {need.path} from {where}")
        for text in unknown:
            lines.line(text)
        return 0
    display = make_display(len(needs), plain)
    outcomes: list[Outcome] = []

    def told(outcome: Outcome) -> None:
        outcomes.append(outcome)
        display.file_done()
        text = _said(outcome)
        if text:
            display.line(text)

    with display:
        Fetcher(policy(config), display, told).run(needs)
    for text in unknown:
        display.line(text)
    counts = {s: sum(o.status == s for o in outcomes)
              for s in ("fetched", "cached", "present", "failed")}
    failed = counts["failed"] + len(unknown)
    if needs:
        display.line(f"{counts['fetched']} fetched, {counts['cached']} from the cache, "
                     f"{counts['present']} already there, {failed} failed, in {dest}")
    return failed


def _said(outcome: Outcome) -> str | None:
    need = outcome.need
    if outcome.status == "fetched":
        return f"fetched {need.name} ({outcome.detail})"
    if outcome.status == "cached":
        return f"copied {need.name} {outcome.detail}"
    if outcome.status == "failed":
        return f"{need.path} failed: {outcome.detail}"
    return None
