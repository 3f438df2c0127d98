"""The validator: runs every check over the scripts of a session, using the cache.

One pass: read every script once (bytes, hash, ``stat``); look each content hash up in the cache;
for what is new, start the syntax screen and shellcheck in the background (they are other
processes) and lint in this thread meanwhile; then add the checks that depend on more than the
content (permissions and owners, the sources directory, the record of past builds), which are
cheap and never cached.
"""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
import stat
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lfsplug import Finding, Script, Severity, WorkProgress
from lfsplug_validation import SHELLCHECK, SOURCES
from lfsplug_validation.cache import FileDigests, ResultCache, Section, reader_key, stat_key
from lfsplug_validation.records import (
    CHECKER_VERSION,
    PLUGIN,
    CdUse,
    Issue,
    Ref,
    Sourced,
    cd_use_from_json,
    issue_from_json,
    ref_from_json,
    sourced_from_json,
    to_finding,
)
from lfsplug_validation.security import SecurityChecker
from lfsplug_validation.syntax import bash_version, check_syntax

if TYPE_CHECKING:
    from lfsplug import Session
    from lfsplug_validation.cdenv import CdEnvironment

__all__ = ["ScriptFile", "Validator", "read_script_file"]

CACHE_FILE = Path("cache") / "validation.json"
SOURCES_CACHE_FILE = Path("cache") / "sources.json"
#: Larger files are still checked by bash and shellcheck, but not linted.
LINT_LIMIT = 4 << 20


@dataclass
class ScriptFile:
    """A script as read for validation: its hash, its bytes (None until a check needs them when
    the hash came from the record of files), or why it could not be read. ``link``: whether
    the path is a symbolic link (None: not looked at)."""

    script: Script
    path: str
    data: bytes | None = None
    digest: str = ""
    info: os.stat_result | None = None
    error: str | None = None
    link: bool | None = None

    def content(self) -> bytes:
        """The bytes, read now if only the hash was known (b"" if the file went away)."""
        if self.data is None and self.error is None:
            self.data = read_script_file(self.script).data or b""
        return self.data or b""


def read_script_file(script: Script) -> ScriptFile:
    """Read a script without blocking on a FIFO or following it into a device."""
    path = str(script.path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return ScriptFile(script, path, error=f"cannot be opened: {exc.strerror}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return ScriptFile(script, path, info=info, error="is not a regular file")
        wanted = info.st_size + 1  # one byte more than stat says: a short read means EOF
        data = os.read(fd, wanted)
        if len(data) == wanted:  # it grew since: read the rest
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
    except OSError as exc:
        return ScriptFile(script, path, error=f"cannot be read: {exc.strerror}")
    finally:
        os.close(fd)
    return ScriptFile(script, path, data, hashlib.sha256(data).hexdigest(), info)


def stat_script_file(script: Script, known: FileDigests) -> ScriptFile:
    """A script's hash from the record of files when its stat key is unchanged (its bytes are
    then read only if a check needs them), else its bytes read and hashed (and recorded)."""
    path = str(script.path)
    try:
        info = os.lstat(path)
        link = stat.S_ISLNK(info.st_mode)
        if link:
            info = os.stat(path)
    except OSError:
        return read_script_file(script)  # which says why
    if stat.S_ISREG(info.st_mode):
        digest = known.get(path, stat_key(info))
        if digest is not None:
            return ScriptFile(script, path, None, digest, info, link=link)
    read_at = time.time_ns()
    file = read_script_file(script)
    file.link = link
    if file.data is not None and file.info is not None:  # stat taken before the bytes read
        known.put(path, stat_key(file.info), file.digest, read_at)
    return file


def _workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1



def _split_cached(
    unique: dict[str, ScriptFile], section: Section
) -> tuple[dict[str, list[Issue]], dict[str, str]]:
    """The cached issues by content digest, and the files still to check (path -> digest)."""
    found: dict[str, list[Issue]] = {}
    todo: dict[str, str] = {}
    for digest, file in unique.items():
        cached = _cached_issues(section, digest)
        if cached is None:
            todo[file.path] = digest
        else:
            found[digest] = cached
    return found, todo

def _cached_issues(section: Section, digest: str) -> list[Issue] | None:
    value = section.get(digest)
    if value is None:
        return None
    try:
        return [issue_from_json(item) for item in value]
    except (ValueError, TypeError):
        section.discard(digest)
        return None


class Linted(NamedTuple):
    """What lint found in one content: issues, source files named, and the ``cd`` into
    variables the script does not set with the files it sources (LFS009, whose verdict
    depends on each script's environment: see :mod:`.cdenv`)."""

    issues: list[Issue]
    refs: list[Ref]
    cds: list[CdUse] = []
    sources: list[Sourced] = []

    def to_json(self) -> Any:
        """The cached form: 0 when nothing was found (most scripts)."""
        if not (self.issues or self.refs or self.cds):
            return 0
        value: dict[str, Any] = {"i": [list(i) for i in self.issues],
                                 "r": [list(r) for r in self.refs]}
        if self.cds:
            value["c"] = [list(c) for c in self.cds]
            value["s"] = [list(s) for s in self.sources]
        return value


def _cached_lint(section: Section, digest: str) -> Linted | None:
    value = section.get(digest)
    if value is None:
        return None
    if value == 0 and type(value) is int:  # nothing found (most scripts)
        return Linted([], [])
    try:
        issues, refs = value["i"], value["r"]
        cds, sources = value.get("c"), value.get("s")
        return Linted([issue_from_json(i) for i in issues] if issues else [],
                      [ref_from_json(r) for r in refs] if refs else [],
                      [cd_use_from_json(c) for c in cds] if cds else [],
                      [sourced_from_json(s) for s in sources] if sources else [])
    except (ValueError, TypeError, KeyError, AttributeError):
        section.discard(digest)
        return None


def _lint_one(file: ScriptFile, lfs: str, runner_errexit: bool) -> Linted:
    data = file.content()
    if b"\0" in data or len(data) > LINT_LIMIT:
        return Linted([], [])  # binary or huge: bash -n speaks for it
    # the rules: only for content not seen before
    from lfsplug_validation.cdvars import cd_uses
    from lfsplug_validation.lint import lint
    from lfsplug_validation.syntaxtree import ScriptTree

    tree = ScriptTree(data)  # parsed at most once, if a rule needs it
    issues, refs = lint(data.decode("utf-8", errors="replace"), lfs, tree, runner_errexit)
    return Linted(issues, refs, *cd_uses(tree))


def _by_line(issues: list[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (i.line or 0, i.code))


#: shellcheck's codes that say what a lint code says more specifically on the same line: the
#: lint issue stays and names the other (LFS007 knows whether lfsplug's bash -e stops the script).
MERGED = {"SC2164": "LFS007"}
#: Appended to a content's hash for its lint issues when lfsplug runs the script with -e.
ERREXIT = ":e"
#: The lint codes that depend on whether lfsplug runs the script with -e (see :mod:`.runner`).
RUNNER_CODES = frozenset({"LFS004", "LFS007"})


def _merged(issues: list[Issue]) -> list[Issue]:
    """One issue per problem: a shellcheck issue that a lint issue on its line says more
    specifically (:data:`MERGED`) is dropped, and the lint issue's message names its code."""
    kept = {(i.code, i.line) for i in issues if i.code in MERGED.values()}
    dropped = {(MERGED[i.code], i.line): i.code for i in issues
               if i.code in MERGED and (MERGED[i.code], i.line) in kept}
    if not dropped:
        return issues
    out = []
    for issue in issues:
        if issue.code in MERGED and (MERGED[issue.code], issue.line) in dropped:
            continue
        other = dropped.get((issue.code, issue.line))
        out.append(issue._replace(message=f"{issue.message} (also {other})") if other else issue)
    return out


def _without_parse_noise(shellcheck: list[Issue], lint_issues: list[Issue]) -> list[Issue]:
    """shellcheck's issues, less its parser's on lines with a placeholder (LFS001 says it)."""
    placeholders = {i.line for i in lint_issues if i.code == "LFS001"}
    if not placeholders:
        return shellcheck
    return [i for i in shellcheck if not (i.code < "SC2000" and i.line in placeholders)]


def _host(code: str, severity: Severity, message: str, hint: str) -> Finding:
    return Finding(code, severity, message, None, None, hint, PLUGIN)


class Validator:
    """Validates the scripts of one command; keeps what the record of builds needs."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.config = session.config
        self.workers = _workers()
        #: Set when validation is interrupted, so that the background checks stop too.
        self.stop = threading.Event()
        self._environment: CdEnvironment | None = None
        #: contents done and to do by each check, for the progress line (checks in threads)
        self._done: dict[str, int] = {}
        self._todo: dict[str, int] = {}
        self._lock = threading.Lock()

    def _tick(self, check: str, count: int) -> None:
        with self._lock:
            self._done[check] = self._done.get(check, 0) + count

    def _expect(self, check: str, count: int) -> None:
        with self._lock:
            self._todo[check] = count

    def _progress(self, scripts: int) -> int:
        """How many of ``scripts`` are done: the share of the slowest check."""
        with self._lock:
            shares = [min(1.0, self._done.get(c, 0) / n) for c, n in self._todo.items() if n]
        return int(scripts * min(shares, default=0.0))

    @property
    def lfs(self) -> str:
        return self.config.lfs

    @property
    def sources_dir(self) -> Path:
        given = self.config.get(SOURCES)
        return Path(given).absolute() if given else Path(self.lfs) / "sources"

    def validate(self, scripts: list[Script]) -> list[Finding]:
        """Every finding of every check for ``scripts``."""
        # Tens of thousands of small records and a large cache are made here, none of them in
        # reference cycles; the cyclic collector would scan them over and over (a third of the
        # time of a warm check of 10,000 scripts), so it waits until validation is done.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._validate(scripts)
        finally:
            if enabled:
                gc.enable()

    def _validate(self, scripts: list[Script]) -> list[Finding]:
        cache = ResultCache.load(self.config.state_dir / CACHE_FILE)
        known = FileDigests(cache.section("files", reader_key()))
        files = [stat_script_file(s, known) for s in scripts]
        readable = [f for f in files if f.error is None]
        self.session.digests.update((f.path, f.digest) for f in readable)
        unique = {f.digest: f for f in readable}
        findings: list[Finding] = []
        try:
            with WorkProgress(self.config, "validating", "scripts",
                              lambda: self._progress(len(files)), len(files)):
                content, keys = self._content(unique, readable, cache, findings)
        except BaseException:  # ^C: no new screen or bash -n may start behind our back
            self.stop.set()
            raise
        refs: dict[str, list[Ref]] = {}
        security = SecurityChecker()
        for file in files:
            if file.error is not None or file.info is None:
                findings.append(Finding("SYN004", Severity.ERROR, f"the script {file.error}",
                                        file.path, None, "make it a readable file", PLUGIN))
                continue
            found = content[keys[file.path]]
            issues, refs[file.path] = found.issues, [*found.refs, *_unpacked(file.script)]
            if found.cds:  # rare: the environment is looked at only for these scripts
                issues = _by_line(issues + self._unset_cds(file.script, found))
            issues = issues + security.check(file.script.path, file.info, file.link)
            findings.extend(to_finding(i, file.path) for i in issues)
        findings.extend(self._integrity(refs))
        findings.extend(self._changed(readable))
        problem = cache.save()
        if problem:
            findings.append(_host("VAL003", Severity.INFO,
                                  f"the validation cache {cache.path} was not written: "
                                  f"{problem}", "make the state directory writable "
                                  "(--state-dir); everything is checked again next time"))
        return findings

    def _unset_cds(self, script: Script, found: Linted) -> list[Issue]:
        """LFS009: the script's ``cd`` into variables it does not set, held against its
        environment and the files it sources as they are now (never cached)."""
        if self._environment is None:
            from lfsplug_validation.cdenv import CdEnvironment

            self._environment = CdEnvironment(self.config)
        return self._environment.issues(script, found.cds, found.sources)

    def _content(self, unique: dict[str, ScriptFile], readable: list[ScriptFile],
                 cache: ResultCache, findings: list[Finding],
                 ) -> tuple[dict[str, Linted], dict[str, str]]:
        """Syntax, shellcheck and lint issues, and source references, by lint key; and each
        file's lint key: its content's hash, with :data:`ERREXIT` when lfsplug runs it with -e
        and lint says something of that (:data:`RUNNER_CODES`)."""
        syntax = self._start_syntax(unique, cache, findings)
        shellcheck = self._start_shellcheck(unique, cache)
        section = cache.section("lint", f"{CHECKER_VERSION}:{self.lfs}")
        self._expect("lint", len(unique))
        linted = {key: self._lint(section, key, file) for key, file in unique.items()}
        keys = {f.path: f.digest for f in readable}
        dependent = {d for d, found in linted.items()
                     if any(i.code in RUNNER_CODES for i in found.issues)}
        if dependent:  # rare in a tree with set -e: only then is the command asked for
            from lfsplug_validation.runner import runs_with_errexit

            for file in readable:
                if file.digest in dependent and runs_with_errexit(self.config, file.script):
                    key = keys[file.path] = file.digest + ERREXIT
                    if key not in linted:
                        linted[key] = self._lint(section, key, file)
        syntax_issues = syntax.result() if syntax else {}
        checked, errors = shellcheck.result() if shellcheck else ({}, [])
        findings.extend(_host("VAL002", Severity.WARNING, f"shellcheck failed: {error}",
                              "run shellcheck on the scripts by hand to see why")
                        for error in dict.fromkeys(errors))
        out = {}
        for key, found in linted.items():
            digest = key.removesuffix(ERREXIT)
            lint_issues = found.issues
            issues = syntax_issues.get(digest) or []
            if not any(i.code == "SYN001" for i in issues):  # after a parse error: no SC noise
                issues = issues + _without_parse_noise(checked.get(digest, []), lint_issues)
            if lint_issues or len(issues) > 1:
                issues = _merged(_by_line(issues + lint_issues))
            out[key] = found._replace(issues=issues)
        return out, keys

    def _lint(self, section: Section, key: str, file: ScriptFile) -> Linted:
        """Lint's result for the lint key ``key`` (cached, or found now)."""
        found = _cached_lint(section, key)
        if found is None:
            found = _lint_one(file, self.lfs, key.endswith(ERREXIT))
            section.put(key, found.to_json())
        self._tick("lint", 1)
        return found

    def _start_syntax(self, unique: dict[str, ScriptFile], cache: ResultCache,
                      findings: list[Finding]) -> Future[dict[str, list[Issue]]] | None:
        bash = shutil.which("bash")
        version = bash_version(bash) if bash else None
        if bash is None or version is None:
            findings.append(_host("SYN000", Severity.ERROR, "bash not found on PATH (or it "
                                  "does not run): scripts cannot be checked or run",
                                  "install bash"))
            return None
        section = cache.section("syntax", f"{CHECKER_VERSION}:{version}")
        self._expect("syntax", len(unique))
        return _background(self._syntax, bash, version, unique, section)

    def _syntax(self, bash: str, version: str, unique: dict[str, ScriptFile],
                section: Section) -> dict[str, list[Issue]]:
        found, todo = _split_cached(unique, section)
        self._tick("syntax", len(found))
        binary = {p for p, d in todo.items() if b"\0" in unique[d].content()}
        checked = check_syntax(bash, list(todo), binary, self.workers, version=version,
                               stop=self.stop, tick=lambda n: self._tick("syntax", n))
        for path, issues in checked.items():
            found[todo[path]] = issues
            if not any(i.code == "SYN002" for i in issues):  # a timeout may pass next time
                section.put(todo[path], [list(i) for i in issues])
        return found

    def _start_shellcheck(self, unique: dict[str, ScriptFile], cache: ResultCache,
                          ) -> Future[tuple[dict[str, list[Issue]], list[str]]] | None:
        mode = self.config.get(SHELLCHECK)
        if mode == "off":
            return None
        from lfsplug_validation.shellcheck import find_shellcheck, shellcheck_key

        executable = find_shellcheck()
        if executable is None:
            return None  # "on" without shellcheck is a host finding (lfsplug_validate_host)
        directories = {Path(d) for d in {os.path.dirname(f.path) for f in unique.values()}}
        section = cache.section("shellcheck", shellcheck_key(executable, directories))
        self._expect("shellcheck", len(unique))
        return _background(self._shellcheck, executable, unique, section)

    def _shellcheck(self, executable: str, unique: dict[str, ScriptFile],
                    section: Section) -> tuple[dict[str, list[Issue]], list[str]]:
        found, todo = _split_cached(unique, section)
        self._tick("shellcheck", len(found))
        from lfsplug_validation.shellcheck import SIZE_LIMIT, run_shellcheck, too_large

        checked: dict[str, list[Issue]] = {}
        for file in unique.values():  # too large for shellcheck: VAL004 is its result
            if file.path in todo:
                size = file.info.st_size if file.info is not None else len(file.content())
                if size > SIZE_LIMIT:
                    checked[file.path] = [too_large(size)]
        rest = [path for path in todo if path not in checked]
        self._tick("shellcheck", len(checked))
        found_now, errors = run_shellcheck(executable, rest, self.workers,
                                           lambda n: self._tick("shellcheck", n))
        checked.update(found_now)
        for path, issues in checked.items():
            if path in todo:
                found[todo[path]] = issues
                section.put(todo[path], [list(i) for i in issues])
        return found, errors

    def _integrity(self, refs: dict[str, list[Ref]]) -> list[Finding]:
        explicit = self.config.get(SOURCES) is not None
        if not explicit and not any(refs.values()):
            return []  # nothing names a source file: no need to look
        from lfsplug_validation.integrity import DigestCache, Sources, verify_sources

        cache = DigestCache(self.config.state_dir / SOURCES_CACHE_FILE)
        findings = verify_sources(Sources.scan(self.sources_dir), refs, cache, self.workers)
        cache.save()
        return findings

    def _changed(self, files: list[ScriptFile]) -> list[Finding]:
        scripts = [f.script for f in files]
        passed: dict[str, str] | None = self.config.hook.lfsplug_validation_passed_digests(
            config=self.config, scripts=scripts)
        if not passed:
            return []
        return [Finding("INT005", Severity.INFO, "the script changed since its last successful "
                        "build", f.path, None, "it will be built again; nothing to fix if the "
                        "change was intended", PLUGIN)
                for f in files if passed.get(f.script.name, f.digest) != f.digest]


def _background(function: Any, *args: Any) -> Future[Any]:
    """Run ``function`` in a thread of its own (it waits on other processes)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lfsplug-validation")
    future = pool.submit(function, *args)
    pool.shutdown(wait=False)
    return future


def _unpacked(script: Script) -> list[Ref]:
    """The tarball ``unpack=`` names by a bare name (looked up in the sources directory), as a
    source file the script names: its checksum is checked (INT003). A glob stays a pattern; a
    path or a variable is known only when the script runs."""
    value = script.unpack
    if not value or "$" in value or "/" in value:
        return []
    return [Ref(value, script.line_of("unpack") or 0, pattern=bool(set(value) & set("*?[")),
                required=False)]
