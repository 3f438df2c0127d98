"""The records that pass between plugins, and the exit codes and errors of lfsplug.

Every phase of a build hands its data to the next as plain dataclasses: discovery makes
:class:`Script` records, validation :class:`Finding` records, ordering a :class:`Plan` of
:class:`Edge` records, execution :class:`RunRequest` and :class:`ScriptResult` records, and
monitoring :class:`Event`, :class:`Sample` and :class:`Alert` records. Plugins never bolt
attributes onto these; state of their own lives in the config's stash.

Each :class:`LfsplugError` has an :class:`ExitCode` and a one-line message naming its cause
(file, line, plugin, hook or option); :func:`lfsplug._cli.main` prints it and exits with the code.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lfsplug._events import Record

__all__ = [
    "BOOK_ENV", "Alert", "AlertLevel", "Choice", "Edge", "Estimate", "EstimateSource", "Event",
    "ExitCode", "FailureClass", "Finding", "LfsplugError", "MetaSource", "Origin", "Plan",
    "PluginError", "Priority", "Recovery", "RecoveryAction", "Requirement", "RunRequest",
    "RunningScript", "Sample", "Scalar", "Script", "ScriptResult", "Severity", "Status",
    "UsageError", "pass_base",
]

#: A JSON scalar: what the figures of an alert (and other small records) are made of.
Scalar = str | int | float | bool | None

#: The variables of the book's clean build environment (chapter 4), which the executor gives
#: every script: what a driver exports never replaces them, and a script may count on them.
BOOK_ENV = frozenset({"HOME", "TERM", "LFS", "LC_ALL", "LFS_TGT", "PATH", "CONFIG_SITE",
                      "MAKEFLAGS"})

_PASS = re.compile(r"^(?P<base>.+?)[-_]pass[-_]?\d+$")
_REQUIREMENT = re.compile(r"^\s*([^\s<>=!]+)\s*(?:(>=|<=|==|=|>|<)\s*([0-9A-Za-z]\S*))?\s*$")


def pass_base(name: str) -> str | None:
    """The package a pass build builds (``binutils-pass1`` gives ``binutils``), or None."""
    match = _PASS.match(name)
    return match.group("base") if match else None


class Choice(enum.StrEnum):
    """A string enumeration whose bad values get a one-line error that lists the good ones:
    ``AlertLevel("wran")`` raises ``ValueError: 'wran' is not an alert level (clear, warn, stop
    or halt)``. Members compare equal to their text (``AlertLevel.WARN == "warn"``)."""

    @classmethod
    def _missing_(cls, value: object) -> Choice:
        words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", cls.__name__).lower()
        article = "an" if words[0] in "aeiou" else "a"
        names = [str(member) for member in cls]
        choices = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise ValueError(f"{value!r} is not {article} {words} ({choices})")


class Severity(Choice):
    """How bad a :class:`Finding` is; an ``error`` stops ``run`` with exit code 6."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Status(Choice):
    """The outcome of one script in one run (the ``status`` of ``status --json``)."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class Requirement:
    """A dependency on a name, optionally constrained by version (``glibc>=2.39``)."""

    name: str
    op: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Requirement:
        """Parse ``name``, ``name>=1.2`` (operators ``>= > = == <= <``); ValueError if malformed."""
        match = _REQUIREMENT.match(text)
        if match is None:
            raise ValueError(f"not a requirement: {text!r} (expected NAME or NAME>=VERSION)")
        name, op, version = match.groups()
        return cls(name, "=" if op == "==" else op, version)

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.version}" if self.op else self.name


@dataclass(frozen=True)
class Origin:
    """Where a metadata value of a script came from, for ``lfsplug list --why`` and findings.

    ``source`` names what gave it (``# lfsplug: header``); ``line`` is the line it was read on,
    in the script itself unless ``path`` names another file (a package list, the configuration
    file); ``note`` follows, with its leading space: ``# lfsplug: header line 3 (book chapter 5)``.
    """

    source: str
    path: str | None = None
    line: int | None = None
    note: str = ""

    def __str__(self) -> str:
        text = self.source if self.line is None else f"{self.source} line {self.line}"
        return text + self.note

    def noted(self, note: str) -> Origin:
        """The same origin with ``note`` added to the end of what it says."""
        return replace(self, note=self.note + note)


@dataclass
class Script:
    """One build script found by discovery, with the metadata every source gave it.

    ``index`` is its place in the layout's own sequence (book order); ``origins`` maps each
    metadata field to the :class:`Origin` of its value; ``meta`` keeps, for plugins, the keys
    that no field claims. ``$VAR`` references in ``unpack``, ``workdir`` and the values of
    ``env`` (``${LFS}/sources``) are expanded from the script's environment when it runs.
    """

    name: str
    path: Path
    root: Path
    index: int = 0
    version: str | None = None
    phase: str | None = None
    depends: list[Requirement] = field(default_factory=list)
    recommends: list[Requirement] = field(default_factory=list)
    optional: list[Requirement] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    timeout: float | None = None
    sbu: float | None = None
    user: str | None = None
    chroot: bool | None = None
    disable: set[str] = field(default_factory=set)
    #: a source tarball to unpack first (a file name in the sources directory, or a path); the
    #: script then runs inside its top directory, removed after success, as jhalfs does
    unpack: str | None = None
    #: the directory the script runs in, relative to the unpacked top directory, else the script's
    workdir: str | None = None
    #: variables the collection's own driver exports before it runs this script
    env: dict[str, str] = field(default_factory=dict)
    #: the packages a multi-package file builds, from its banners (``binutils-pass1``...)
    packages: list[str] = field(default_factory=list)
    origins: dict[str, Origin] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        """The line of the script itself that set metadata ``key``, or None (set elsewhere)."""
        origin = self.origins.get(key)
        return origin.line if origin is not None and origin.path is None else None

    @property
    def package(self) -> str:
        """The package the script builds: its name without an ``@WHERE`` (two builds of one
        package) or ``-passN`` suffix (``gcc@phase2`` and ``gcc-pass1`` give ``gcc``)."""
        name = self.name.partition("@")[0]
        return pass_base(name) or name

    @property
    def relpath(self) -> str:
        """The path relative to its tree's root, as shown to users."""
        path, root = str(self.path), str(self.root).rstrip("/") + "/"
        return path[len(root):] if path.startswith(root) else path


@dataclass
class MetaSource:
    """Metadata one source gives one script: raw ``key -> text`` values and where they came from.

    The session merges every source of a script: for each key the highest ``priority`` wins
    (the ``# lfsplug:`` header uses :data:`MetaSource.HEADER`, above everything else). Each
    value chosen gets an :class:`Origin` of ``source``, ``path`` and its line in ``lines``.
    """

    HEADER = 100
    LAYOUT = 50
    FILENAME = 10

    source: str
    values: dict[str, str]
    priority: int = LAYOUT
    lines: dict[str, int] = field(default_factory=dict)
    path: str | None = None

    def origin(self, key: str) -> Origin:
        """Where this source's value of ``key`` comes from."""
        return Origin(self.source, self.path, self.lines.get(key))


@dataclass(frozen=True)
class Finding:
    """A problem found by validation (or discovery, or ordering), with where and what to do.
    ``known``: an earlier ``run`` showed it (that run counts it instead of printing it)."""

    code: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    hint: str | None = None
    plugin: str | None = None
    known: bool = field(default=False, compare=False)

    @property
    def location(self) -> str:
        if self.path is None:
            return "<host>"
        return f"{self.path}:{self.line}" if self.line else self.path

    def to_dict(self) -> dict[str, Scalar]:
        return {"code": self.code, "severity": str(self.severity), "path": self.path,
                "line": self.line, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class Edge:
    """``after`` must not start before ``before`` has passed; ``origin`` says who declared it."""

    before: str
    after: str
    kind: str
    origin: str


@dataclass
class Plan:
    """The order to build in: scripts in a deterministic order, the edges that constrain them,
    topological levels (scripts in one level may run in parallel) and the critical path."""

    scripts: list[Script]
    edges: list[Edge] = field(default_factory=list)
    levels: list[list[str]] = field(default_factory=list)
    critical_path: list[str] = field(default_factory=list)
    mode: str = "sequence"
    #: each script's expected duration (history, else ``sbu=``, else the others' average), in
    #: seconds when any is known in seconds, else in SBU: the scheduler ranks scripts by it
    durations: dict[str, float] = field(default_factory=dict)

    def predecessors(self) -> dict[str, set[str]]:
        """Map each script name to the names it waits for."""
        preds: dict[str, set[str]] = {s.name: set() for s in self.scripts}
        for edge in self.edges:
            if edge.after in preds and edge.before in preds:
                preds[edge.after].add(edge.before)
        return preds


@dataclass(frozen=True)
class EstimateSource:
    """One past build that an :class:`Estimate` rests on."""

    #: where it was recorded: an imported report (``jhalfs:/path/x.report``), ``this machine``
    source: str
    #: how long it took there, in that source's own seconds
    seconds: float
    #: the package version it built and the make jobs (``-jN``) it ran with, where known
    version: str | None = None
    jobs: int | None = None
    #: its share of the estimate (the shares of one estimate add up to 1)
    weight: float = 1.0


@dataclass(frozen=True)
class Estimate:
    """How long a script is expected to take on this machine, and what that rests on."""

    seconds: float
    #: the same in SBU (this machine's, else the sources' own), when an SBU is known
    sbu: float | None = None
    #: the past builds it comes from, the weightiest first
    sources: tuple[EstimateSource, ...] = ()


@dataclass
class RunRequest:
    """Everything the executor needs to run one attempt of one script."""

    script: Script
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    attempt: int = 1
    timeout: float | None = None
    silence_timeout: float | None = None


@dataclass
class ScriptResult:
    """What one script did in this run. ``tail`` keeps the last lines of its output."""

    name: str
    status: Status
    exit_code: int | None = None
    signal: int | None = None
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    log_path: Path | None = None
    tail: list[str] = field(default_factory=list)
    failure_class: str | None = None
    message: str | None = None
    cached: bool = False
    #: where it failed, from the recovery plugin: the command, its line in the script, the
    #: step (``configure``, ``make``, ``test``, ``install``...) and the lines showing the class
    failed_command: str | None = None
    failed_line: int | None = None
    failed_step: str | None = None
    evidence: list[str] = field(default_factory=list)
    #: exact totals of the script's processes from the kernel's accounting when the executor
    #: reaped it (``utime``, ``stime`` in s, ``maxrss`` in KiB, ``inblock``/``oublock`` in
    #: 512-byte blocks), plus what monitoring plugins add (peaks, disk figures)
    resources: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    @property
    def ok(self) -> bool:
        return self.status in (Status.PASSED, Status.SKIPPED) and not self.failed_dependency

    @property
    def failed_dependency(self) -> bool:
        message = self.message or ""
        return self.status is Status.SKIPPED and message.startswith("dependency failed")


@dataclass
class RunningScript:
    """A script attempt in :attr:`Session.running` from its process's start to its reaping:
    monitoring plugins sample its process tree from ``pid`` (the process group's leader,
    ``pgid == pid``). ``last_line`` is its latest line of output."""

    name: str
    pid: int
    started: float
    attempt: int = 1
    log_path: Path | None = None
    last_line: str = ""


@dataclass(frozen=True)
class FailureClass:
    """A label for a failure (``oom``, ``network``, ``test-suite``...), as Portage names them."""

    name: str
    reason: str
    transient: bool = False
    #: the lines (of the log, the kernel's records...) that matched
    evidence: tuple[str, ...] = ()
    #: the usual fix for the class, for the failure documents and reports ("" if none known)
    fix: str = ""


class RecoveryAction(Choice):
    """What a :class:`Recovery` does."""

    RETRY = "retry"
    SKIP = "skip"
    STOP = "stop"


@dataclass(frozen=True)
class Recovery:
    """What to do after a failure: ``retry`` (after ``delay`` s, with ``env`` added), ``skip``
    (count the script as skipped and go on) or ``stop``. An ``action`` given as text (by an
    ``lfsconf.py``) becomes a :class:`RecoveryAction`, or raises :class:`ValueError`."""

    action: RecoveryAction
    reason: str = ""
    delay: float = 0.0
    env: dict[str, str] = field(default_factory=dict)
    #: the retry runs with nothing else running beside it (out of memory, a parallel-make race)
    exclusive: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", RecoveryAction(self.action))


class Priority(enum.IntEnum):
    """Event priorities: lower is delivered first, so an alert overtakes queued progress."""

    ALERT = 0
    STATUS = 10
    PROGRESS = 20
    SAMPLE = 30


@dataclass(slots=True)
class Event:
    """One thing that happened: ``kind`` (``script-output``, ``alert``...), when, at which
    priority, for which script (None: the whole build), in which order (``seq``), and the typed
    ``record`` (a :class:`~lfsplug._events.Record`, whose class gives the kind and priority)."""

    kind: str
    time: float
    priority: int
    script: str | None
    record: Record
    seq: int = 0
    emitted: float = 0.0  # perf_counter() at emit, for latency measurement


@dataclass(frozen=True)
class Sample:
    """One resource sample: ``values`` maps metric names (``cpu_percent``...) to numbers."""

    time: float
    values: dict[str, float]
    script: str | None = None


class AlertLevel(Choice):
    """How bad an :class:`Alert` is: ``clear`` (over), ``warn``, ``stop`` (start no new
    script) or ``halt`` (end the running ones too)."""

    CLEAR = "clear"
    WARN = "warn"
    STOP = "stop"
    HALT = "halt"


@dataclass(frozen=True)
class Alert:
    """A threshold crossing (``kind``: ``disk``, ``memory``, ``overrun``...) at ``level``;
    ``data`` holds its figures (the metric, the value, the floor...). A ``level`` given as
    text becomes an :class:`AlertLevel`, or raises :class:`ValueError`."""

    kind: str
    level: AlertLevel
    message: str
    time: float
    data: dict[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", AlertLevel(self.level))


class ExitCode(enum.IntEnum):
    """The documented exit codes of the ``lfsplug`` command."""

    OK = 0
    SCRIPT_FAILED = 1
    INTERRUPTED = 2
    INTERNAL_ERROR = 3
    USAGE_ERROR = 4
    NO_SCRIPTS = 5
    INVALID_TREE = 6


class LfsplugError(Exception):
    """Base class: an error with a one-line message and an exit code."""

    exit_code = ExitCode.INTERNAL_ERROR


class UsageError(LfsplugError):
    """Bad command line, configuration file, plugin name or ``lfsconf.py`` (exit 4)."""

    exit_code = ExitCode.USAGE_ERROR


class PluginError(LfsplugError):
    """A plugin raised in a hook (exit 3); the message names the plugin, hook and script."""

    def __init__(self, plugin: str, hook: str, error: BaseException, script: str | None = None):
        self.plugin = plugin
        self.hook = hook
        self.error = error
        self.script = script
        where = f" while running script {script!r}" if script else ""
        super().__init__(f"plugin {plugin!r} failed in hook {hook}{where}: "
                         f"{type(error).__name__}: {error}")
