"""Walking a tree: which files are scripts, in what order, and what is wrong with the others.

One :class:`Walker` walks one root. In each directory it looks for a list file first (the list
then says which scripts to build and in what order); otherwise it takes the numbered files and
directories in version order (:func:`~lfsplug_discovery.names.order_key`). Layouts mix freely: a
jhalfs ``lfs-commands/`` tree, a folder of ``NN-name.sh`` files and a directory with a
``build_order.txt`` may sit side by side under one root. Every file is read once (its head);
anything that cannot be a script is skipped with a finding that says why, never a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import Finding, MetaSource, Origin, Script, Severity
from lfsplug_discovery.cache import DiscoveryCache, Facts, Known, stat_key
from lfsplug_discovery.head import read_head
from lfsplug_discovery.listfile import ListEntry, read_list
from lfsplug_discovery.names import SCRIPT_SUFFIXES, is_candidate, order_key, parse_filename
from lfsplug_discovery.phases import stage_rank

if TYPE_CHECKING:
    from lfsplug import Config
    from lfsplug_discovery.drivers import Followed
    from lfsplug_discovery.evaluate import Call
    from lfsplug_discovery.pkglists import Packages
    from lfsplug_discovery.settings import Settings
    from lfsplug_discovery.shapes import Shapes

__all__ = ["SKIP_DIRS", "DiscoveryState", "Pending", "Walker", "driver_sources"]

#: Directories that never hold scripts: version control, caches, state, jhalfs' own logs.
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".lfsplug", "logs", "test-logs",
})


@dataclass(frozen=True)
class Pending:
    """A finding made during the walk, reported once discovery is complete; ``script`` is the
    path of the script it is about (dropped if a plugin deselects that script)."""

    finding: Finding
    script: str | None = None


@dataclass
class DiscoveryState:
    """What discovery keeps during one session: what each script's head and name say (read
    once or taken from the cache, used by the metadata hook), the cache, and the findings to
    report when collection finishes."""

    facts: dict[str, Known] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    cache: DiscoveryCache | None = None
    #: how the collection's driver runs each script it reaches (by path)
    calls: dict[str, Call] = field(default_factory=dict)
    #: the package lists read this run, by directory (pkglists.Packages)
    package_lists: dict[str, Packages] = field(default_factory=dict)
    _shapes: Shapes | None = None

    @property
    def shapes(self) -> Shapes:
        """What each file is (shell, library, possible driver), through the cache."""
        if self._shapes is None:
            from lfsplug_discovery.shapes import Shapes

            self._shapes = Shapes(self.cache)
        return self._shapes

    def note(self, code: str, severity: Severity, message: str, path: str | None, *,
             line: int | None = None, hint: str | None = None, script: str | None = None) -> None:
        """Keep a finding for :func:`lfsplug_collection_finish` to report."""
        self.pending.append(Pending(
            Finding(code, severity, message, path, line, hint, "discovery"), script
        ))


def shown(name: str) -> str:
    """A file name safe to print on one line: control characters and undecodable bytes
    escaped (``01-a\\nb.sh``, ``01-caf\\xe9.sh``)."""
    return repr(os.fsencode(name))[2:-1]


def bad_name(name: str) -> str | None:
    """Why a file name cannot name a script (not UTF-8, control characters), or None."""
    if name.isascii() and name.isprintable():
        return None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a newline or another control character"
    return None


class Walker:
    """Walks one root and collects its scripts in layout order (see the module docstring)."""

    def __init__(self, config: Config, settings: Settings, state: DiscoveryState,
                 root: str) -> None:
        self.config = config
        self.settings = settings
        self.state = state
        self.root = root
        self.root_path = Path(root)
        self.real_root = os.path.realpath(root)
        self.state_dir = os.path.abspath(config.state_dir)
        # never scripts: the state directory, and $LFS where it lies inside the tree (the
        # system being built: its absolute links, bin -> /usr/bin, lead out to the host's)
        lfs = os.path.abspath(config.lfs)
        inside = lfs.startswith(os.path.abspath(root).rstrip("/") + "/")
        self.not_scripts = {self.state_dir, *([lfs] if inside else [])}
        self.found: list[Script] = []
        self._walked: set[tuple[int, int]] = set()
        self._ignore = config.hook.lfsplug_ignore_path
        # Most runs have no lfsconf.py that ignores paths: then skip a hook call per file.
        self._ignoring = bool(self._ignore.get_hookimpls())

    # -- directories ---------------------------------------------------------------------------

    def walk(self, directory: str) -> None:
        """Walk one directory: through its list file if it has one, else in version order."""
        try:
            info = os.stat(directory)
        except OSError as exc:
            self._unreadable_dir(directory, exc)
            return
        if (info.st_dev, info.st_ino) in self._walked:
            self.state.note("DISC026", Severity.INFO, "this directory was walked already (a "
                            "symbolic link loop); skipped", directory)
            return
        self._walked.add((info.st_dev, info.st_ino))
        entries = self.scan(directory)
        if entries is None:
            return
        names = {e.name for e in entries}
        listed = next((n for n in self.settings.list_files if n in names), None)
        if listed is not None:
            self.walk_list(directory, os.path.join(directory, listed), entries)
            return
        here = Path(directory)
        for entry in entries:
            self._visit(entry, here)

    def scan(self, directory: str, *, quiet: bool = False) -> list[os.DirEntry[str]] | None:
        """The entries of ``directory`` in layout order, or None (with a finding, unless
        ``quiet``: the walk that follows will say it)."""
        try:
            with os.scandir(directory) as found:
                entries = list(found)
        except OSError as exc:
            if not quiet:
                self._unreadable_dir(directory, exc)
            return None
        cache = self.state.cache
        if cache is None:
            return sorted(entries, key=lambda e: entry_key(e.name))
        # Hidden entries are never scripts (the state dir, made by the first run, is one): they
        # stay out of the key, so that it holds from that first run on, and go last.
        by_name = {e.name: e for e in entries if not e.name.startswith(".")}
        hidden = [e for e in entries if e.name.startswith(".")]
        order = cache.order(directory, list(by_name))
        if order is None:
            shown = sorted(by_name.values(), key=lambda e: entry_key(e.name))
            cache.put_order(directory, [e.name for e in shown])
            return shown + hidden
        return [by_name[name] for name in order] + hidden

    def _unreadable_dir(self, directory: str, exc: OSError) -> None:
        self.state.note("DISC020", Severity.WARNING,
                        f"cannot read this directory: {exc.strerror or exc}; skipped", directory)

    def _visit(self, entry: os.DirEntry[str], here: Path) -> None:
        name = entry.name
        if name.startswith("."):
            return
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            self._visit_dir(entry)
        elif not self._is_script(entry.path, name):
            return
        elif is_file:
            if (self._usable(entry.path, name) and not self._ignored(entry.path)
                    and self._build_step(entry.path, name)):
                self.add(entry.path, here=here, entry=entry)
        elif not self._ignored(entry.path):
            self._not_a_file(entry.path)

    # -- what a script is ----------------------------------------------------------------------

    def _is_script(self, path: str, name: str | None = None) -> bool:
        """Whether a file met in the tree may be a build script: numbered (``01-x``,
        ``501-binutils``), named ``.sh``/``.bash``, or an extension-less file whose ``#!``
        names a shell."""
        name = name or os.path.basename(path)
        if name.endswith(SCRIPT_SUFFIXES) or is_candidate(name):
            return True
        if "." in name.lstrip(".") or name.startswith(".") or name.endswith("~"):
            return False
        return _shell_bang(path)

    def _build_step(self, path: str, name: str) -> bool:
        """False for what a walk meets that is no build step: a library (``functions.sh``,
        only definitions) or a file that does not read as shell (a zone file named
        ``127.0.0``: an info finding)."""
        numbered = is_candidate(name)
        if numbered and name.endswith(SCRIPT_SUFFIXES):
            return True  # NN-name.sh: a build script, read no further
        from lfsplug_discovery.shapes import read_file

        shape = self.state.shapes.of(path, read_file)
        if not shape.shell:
            self.state.note("DISC042", Severity.INFO, "not a shell script (it does not parse as "
                            "one, or does not start like one): skipped", path,
                            hint="start it with #!/bin/bash if it is a build script")
            return False
        return numbered or not shape.library  # a numbered file is a step, whatever it does

    # -- drivers -------------------------------------------------------------------------------

    def follow_drivers(self) -> bool:
        """Find the tree's drivers and take the scripts they run, in their order; False when
        the tree has none (then the walk's own order stands)."""
        files = self.tree_files(self.root)
        followed = self._followed(files)
        if followed is None:
            return False
        self._take_followed(followed, files)
        return True

    def _followed(self, files: list[str]) -> Followed | None:
        """Follow the drivers, or take what following them gave last time when no file of
        the tree changed (a warm ``lfsplug list`` parses no driver)."""
        cache = self.state.cache
        signature = None
        if cache is not None:
            signature = _tree_signature(files, self.settings.driver)
            if signature is not None:
                known = cache.get_followed(self.root, signature)
                if known == 0 and type(known) is int:
                    return None  # no driver last time, and no file changed: nothing to import
                if known is not None:
                    from lfsplug_discovery.drivers import followed_from_json

                    try:
                        return followed_from_json(known)
                    except (TypeError, ValueError, KeyError, IndexError):
                        pass  # a malformed entry: follow again
        from lfsplug_discovery.drivers import DriverFollower, followed_to_json

        follower = DriverFollower(self.root, files, self._is_script, self.state.shapes,
                                  driver=self.settings.driver)
        followed = follower.follow()
        if cache is not None and signature is not None:
            cache.put_followed(self.root, signature, followed_to_json(followed))
        return followed

    def tree_files(self, directory: str) -> list[str]:
        """Every file under ``directory`` in tree order (what the walk skips left out)."""
        files: list[str] = []
        entries = self.scan(directory, quiet=True)
        for entry in entries or []:
            name = entry.name
            if name.startswith(".") or bad_name(name):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if (name in SKIP_DIRS or os.path.abspath(entry.path) in self.not_scripts
                        or (entry.is_symlink() and self._inside(os.path.realpath(entry.path)))):
                    continue
                files.extend(self.tree_files(entry.path))
            elif entry.is_file():
                files.append(entry.path)
        return files

    def _take_followed(self, followed: Followed, files: list[str]) -> None:
        from lfsplug_discovery.drivers import merge_by_tree_order

        order = followed.order
        fill = bool(followed.unresolved) or self.settings.unreached == "build"
        if fill and followed.unreached:
            order = merge_by_tree_order(order, files, followed.unreached)
        for path, call in order:
            if self._ignored(path):
                continue
            before = len(self.found)
            self.add(path, "driver")
            if call is None or len(self.found) == before:
                continue
            self.state.calls[path] = call
            if call.how != "exec":  # bash X.sh needs no #! line
                self.state.pending[:] = [p for p in self.state.pending if not (
                    p.script == path and p.finding.code == "DISC023")]
        self._driver_findings(followed, fill)

    def _driver_findings(self, followed: Followed, fill: bool) -> None:
        note = self.state.note
        count = len(followed.order)
        for entry in followed.entry_points:
            note("DISC043", Severity.INFO, f"a driver: lfsplug builds the {count} scripts the "
                 "drivers run, in their order (a driver is not a build step)", entry)
        for entry, other in followed.alternatives:
            note("DISC044", Severity.INFO, "another driver for scripts that "
                 f"{os.path.relpath(other, self.root)} runs already: not followed", entry,
                 hint="name the driver to follow with --driver or [discovery] driver")
        for call in followed.unresolved:
            note("DISC041", Severity.WARNING, f"cannot tell which script this runs "
                 f"({call.text}): {call.why}", call.driver, line=call.line,
                 hint="the scripts no driver reaches fill in by tree order; name the script "
                      "literally to put it in the driver's order")
        if not fill:
            for path in followed.unreached:
                note("DISC040", Severity.INFO, "no driver runs this script: not built", path,
                     hint='call it from the driver, or set [discovery] unreached = "build"')

    def _visit_dir(self, entry: os.DirEntry[str]) -> None:
        path = entry.path
        if entry.name in SKIP_DIRS or os.path.abspath(path) in self.not_scripts:
            return
        if not self._usable(path, entry.name) or self._ignored(path):
            return
        if entry.is_symlink() and self._inside(os.path.realpath(path)):
            self.state.note("DISC026", Severity.INFO, "symbolic link to a directory inside the "
                            "tree: not followed, so that no script is found twice or in a loop",
                            path)
            return
        self.walk(path)

    def _inside(self, real: str) -> bool:
        return real == self.real_root or real.startswith(self.real_root + os.sep)

    def _ignored(self, path: str) -> bool:
        return self._ignoring and bool(self._ignore(path=Path(path), config=self.config))

    def _usable(self, path: str, name: str) -> bool:
        """False, with a finding, for a name that cannot name a script (an error: a build step
        would be missing) or a directory of them (a warning)."""
        reason = bad_name(name)
        if reason is None:
            return True
        severity = Severity.WARNING if os.path.isdir(path) else Severity.ERROR
        self.state.note("DISC027", severity, f"the name {shown(name)!r} {reason}: "
                        "skipped", os.path.dirname(path) or ".", hint="rename it")
        return False

    def _not_a_file(self, path: str) -> None:
        try:
            os.stat(path)
            what = "not a regular file (a FIFO, socket or device)"
        except OSError as exc:
            what = f"a symbolic link that leads nowhere ({exc.strerror or exc})"
        self.state.note("DISC026", Severity.INFO, f"{what}: skipped", path)

    # -- list files ----------------------------------------------------------------------------

    def walk_list(self, directory: str, listfile: str, entries: list[os.DirEntry[str]]) -> None:
        """Take the scripts a list file names, in its order; report what it leaves out."""
        items, error = read_list(listfile)
        if error is not None:
            self.state.note("DISC014", Severity.ERROR, f"cannot read the list file: {error}; "
                            "no script of its directory is built", listfile)
            return
        index = _name_index(entries)
        taken: set[str] = {os.path.basename(listfile)}
        seen: dict[str, int] = {}
        for item in items:
            target = self._resolve(directory, listfile, item, index)
            if target is None:
                continue
            if target in seen:
                self.state.note("DISC012", Severity.WARNING, f"{item.text!r} is listed already "
                                f"(line {seen[target]}): this entry is ignored", listfile,
                                line=item.line)
                continue
            seen[target] = item.line
            taken.add(os.path.relpath(target, directory).split(os.sep, 1)[0])
            self._take(target)
        for entry in entries:
            self._unlisted(entry, taken, listfile)

    def _resolve(self, directory: str, listfile: str, item: ListEntry,
                 index: dict[str, str]) -> str | None:
        text = item.text
        if os.path.isabs(text) or ".." in text.replace("\\", "/").split("/"):
            self.state.note("DISC013", Severity.ERROR, f"{text!r} is outside the list's "
                            "directory", listfile, line=item.line,
                            hint="list files name scripts in their own directory or below it")
            return None
        path = os.path.join(directory, text.rstrip("/"))
        if path == listfile:
            self.state.note("DISC010", Severity.ERROR, "the list names itself", listfile,
                            line=item.line, hint="list the scripts to build")
            return None
        for candidate in (path, path + ".sh"):
            if os.path.lexists(candidate):
                return candidate
        found = index.get(text) or index.get(text.lower())
        if found is not None:
            return found
        self.state.note("DISC010", Severity.ERROR, f"{text!r} is listed, but no such script "
                        f"exists in {os.path.relpath(directory, self.root)}/", listfile,
                        line=item.line, hint="fix the entry, or remove it from the list")
        return None

    def _take(self, target: str) -> None:
        name = os.path.basename(target)
        if os.path.isdir(target):
            if self._usable(target, name) and not self._ignored(target):
                self.walk(target)
        elif os.path.isfile(target):
            if self._usable(target, name) and not self._ignored(target):
                self.add(target, "list")
        else:
            self._not_a_file(target)

    def _unlisted(self, entry: os.DirEntry[str], taken: set[str], listfile: str) -> None:
        name = entry.name
        if name in taken or name.startswith(".") or name in SKIP_DIRS or bad_name(name):
            return
        try:
            is_dir = entry.is_dir()
        except OSError:
            return
        if is_dir and os.path.abspath(entry.path) in self.not_scripts:
            return
        if not is_dir and not (is_candidate(name) or name.endswith(SCRIPT_SUFFIXES)):
            return
        what = "directory" if is_dir else "script"
        self.state.note("DISC011", Severity.INFO, f"this {what} is not named in "
                        f"{os.path.basename(listfile)}, so it is not built", entry.path,
                        hint=f"add it to {os.path.basename(listfile)} to build it")

    # -- scripts -------------------------------------------------------------------------------

    def add(self, path: str, layout: str | None = None, *, here: Path | None = None,
            entry: os.DirEntry[str] | None = None) -> None:
        """Read the head of ``path`` (or take what it says from the cache) and, unless it cannot
        be a script, make it a Script. A walk passes the file's directory entry and the
        directory as a Path (``path`` is then in normal form, and a child of a known Path is
        made without parsing the whole path again)."""
        found = self._facts(path, entry)
        if found is None:
            return
        facts, filename = found
        if here is None:
            script_path = Path(path)
            path = str(script_path)  # the key the metadata hook looks it up by
        else:
            script_path = here / os.path.basename(path)
        script = Script(name=filename.name, path=script_path, root=self.root_path,
                        index=len(self.found))
        script.origins["name"] = Origin("file name")
        script.meta["layout"] = layout or _layout(path, filename.number)
        self.found.append(script)
        self.state.facts[path] = found
        for code, severity, message, line, hint in facts.findings:
            self.state.note(code, Severity(severity), message, path, line=line, hint=hint,
                            script=path)

    def _facts(self, path: str, entry: os.DirEntry[str] | None) -> Known | None:
        """What the head and the name of ``path`` say, from the cache when its stat key is
        unchanged; None (with a finding) for a file that is unreadable or binary, which is
        never cached."""
        cache = self.state.cache
        key = None
        if cache is not None:
            try:
                key = stat_key(os.stat(path) if entry is None else entry.stat())
            except OSError:
                pass  # read_head says why
            else:
                cached = cache.get(path, key)
                if cached is not None:
                    return cached
        head = read_head(path)
        if head.error is not None:
            self.state.note("DISC020", Severity.ERROR, f"cannot read this file: {head.error}; "
                            "skipped", path, hint="bash could not read it either: fix its "
                            "permissions")
            return None
        if head.binary:
            self.state.note("DISC021", Severity.ERROR, "a binary file (a NUL byte in its first "
                            "block), named like a build script; skipped", path,
                            hint="move it out of the tree, or rename it")
            return None
        found = Facts.from_head(head), parse_filename(os.path.basename(path))
        if cache is not None and key is not None:
            cache.put(path, key, *found)
        return found


def entry_key(name: str) -> tuple[object, ...]:
    """The walk's order of a directory's entries: numbered ones by number (``order_key``),
    then the others by the stage their name says, then in natural (``sort -V``) order."""
    key = order_key(name)
    if key[0] == 0:
        return key
    return (1, stage_rank(name), *key[1:])


def _tree_signature(files: list[str], driver: str | None) -> str | None:
    """A digest of every file of a tree with its stat key, and the driver setting: what
    following the drivers depends on (None when a file cannot be stat'ed)."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{driver}\n".encode())
    for path in [*files, *([driver] if driver else [])]:
        try:
            key = stat_key(os.stat(path))
        except OSError:
            return None
        digest.update(f"{path}\0{key}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _shell_bang(path: str) -> bool:
    """Whether the file starts with a ``#!`` that names a shell."""
    try:
        with open(path, "rb") as handle:
            first = handle.read(128)
    except OSError:
        return False
    from lfsplug_discovery.shapes import names_shell

    return names_shell(first)


def driver_sources(script: Script, call: Call) -> list[MetaSource]:
    """What the driver's call says of how ``script`` runs: as whom, in the chroot, inside
    which unpacked tarball, in which directory, with which exported variables."""
    driver = call.driver
    root = str(script.root).rstrip("/") + "/"
    where = f"driver {driver[len(root):] if driver.startswith(root) else driver}:{call.line}"
    values: dict[str, str] = {}
    if call.chroot:
        values["chroot"] = "yes"
    if call.user is not None:
        values["user"] = call.user
    if call.unpack is not None:
        values["unpack"] = call.unpack
    if call.workdir is not None:
        values["workdir"] = call.workdir
    if call.env:
        script.env.update(call.env)
        script.origins["env"] = Origin(where, path=driver)
    return [MetaSource(where, values, MetaSource.LAYOUT, path=driver)] if values else []


def _layout(path: str, number: str | None) -> str:
    """How a walked script is named: ``jhalfs`` (no extension), ``numbered``, or ``file``."""
    if number is None:
        return "file"
    return "numbered" if path.endswith(SCRIPT_SUFFIXES) else "jhalfs"


def _name_index(entries: list[os.DirEntry[str]]) -> dict[str, str]:
    """Files of a directory by the names a list may call them: stem and script name."""
    index: dict[str, str] = {}
    for entry in entries:
        name = entry.name
        if name.startswith(".") or bad_name(name):
            continue
        stem = name[:-3] if name.endswith(".sh") else name
        index.setdefault(stem, entry.path)
        index.setdefault(parse_filename(name).name, entry.path)
    return index
