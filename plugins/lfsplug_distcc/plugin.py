"""The per-command object of the distcc plugin: the helpers validated before the build, the
environment of each script whose compiles are distributed, the jobs counted per script."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import (
    Alert,
    AlertLevel,
    Finding,
    Script,
    ScriptNote,
    ScriptResult,
    Severity,
    hookimpl,
)
from lfsplug_distcc import (
    CCACHE,
    COMPILERS,
    ENGINE,
    FALLBACK,
    HOSTS,
    IO_TIMEOUT,
    LOCAL_PACKAGES,
    LOCAL_PHASES,
    LOCAL_SLOTS,
    SCHEDULER,
    SLOTS_LIMIT,
    TIMEOUT,
)
from lfsplug_distcc.distlog import Jobs, LiveJobs, parse_log
from lfsplug_distcc.hosts import Host, hosts_value, parse_hosts, slots

if TYPE_CHECKING:
    from lfsplug import Config, Event, RunRequest, Session

__all__ = ["META_KEYS", "Distcc"]

META_KEYS = ("distcc",)
#: How often the running scripts' client logs are read for the dashboard, at most (seconds).
LIVE_EVERY = 1.0
_NO = {"no", "off", "false", "local"}
#: The compilers a build's scripts call by these names (the masquerade directory's links).
NAMES = ("cc", "gcc", "c++", "g++")
#: Where each engine's client is.
CLIENTS = {"distcc": "distcc", "pump": "distcc", "icecream": "icecc"}


class Distcc:
    """The distcc plugin for one ``run`` or ``check``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        try:
            self.hosts: list[Host] = parse_hosts(config.get(HOSTS))
        except ValueError as exc:
            raise config.error(HOSTS, str(exc)) from None
        self.engine = config.get(ENGINE)
        self.fallback = config.get(FALLBACK)
        self.local_slots = config.get(LOCAL_SLOTS)
        self.local_phases = {p.lower() for p in config.get(LOCAL_PHASES)}
        self.local_packages = {p.lower() for p in config.get(LOCAL_PACKAGES)}
        self.folder = config.state_dir / "distcc"
        self.jobs: dict[str, Jobs] = {}
        self.why_local: dict[str, str] = {}
        self._live: dict[str, tuple[LiveJobs, int]] = {}
        self._said = 0.0
        self._lock = threading.Lock()
        self._pump: dict[str, str] = {}

    # -- which scripts are distributed -----------------------------------------------------------

    def local_reason(self, session: Session | None, script: Script) -> str | None:
        """Why ``script`` compiles here only, or None: it is distributed."""
        said = script.meta.get("distcc", "").strip().lower()
        if said in _NO:
            return f"distcc={said}"
        if (script.phase or "").lower() in self.local_phases:
            return f"phase {script.phase} ([distcc] local_phases)"
        if script.package.lower() in self.local_packages:
            return f"package {script.package} ([distcc] local_packages)"
        hook = self.config.hook
        root = hook.lfsplug_script_root(script=script, config=self.config) if hasattr(
            hook, "lfsplug_script_root") else None
        if root:
            return "it runs inside the chroot, where the distcc client is not"
        return None

    @hookimpl
    def lfsplug_collection_finish(self, session: Session) -> None:
        session.claim_metadata(*META_KEYS)
        for script in session.scripts:
            reason = self.local_reason(session, script)
            if reason is not None:
                self.why_local[script.name] = reason

    # -- before the build ------------------------------------------------------------------------

    def compilers(self) -> list[str]:
        """The compilers to look for on the helpers: configured, else those of cc, gcc, g++ and
        ``$LFS_TGT-gcc`` that exist here."""
        given = self.config.get(COMPILERS)
        if given:
            return list(given)
        target = f"{os.uname().machine}-lfs-linux-gnu"
        tools = os.path.join(self.config.lfs, "tools", "bin")
        found = [name for name in ("gcc", "g++") if shutil.which(name)]
        cross = os.path.join(tools, f"{target}-gcc")
        if os.access(cross, os.X_OK):
            found.append(cross)
        return found

    @hookimpl
    def lfsplug_validate_host(self, config: Config) -> list[Finding] | None:
        from lfsplug_distcc.probe import local_version, probe_hosts

        findings = self.engine_findings()
        severity = Severity.WARNING if self.fallback else Severity.ERROR
        remote = [h for h in self.hosts if h.kind != "localhost"]
        compilers = self.compilers()
        probes = probe_hosts(remote, compilers, timeout=config.get(TIMEOUT),
                             workdir=self.folder / "probe") if self.engine != "icecream" else []
        local = {c: local_version(c) for c in compilers}
        fallback = " (their compiles run here: [distcc] fallback)" if self.fallback else ""
        for probe in probes:
            name = probe.host.name
            if probe.reachable is False:
                findings.append(_finding("DIST001", severity, f"distcc helper {name} cannot be "
                                         f"reached: {probe.error}{fallback}"))
            elif probe.reachable and not probe.answered:
                findings.append(_finding("DIST002", severity, f"distcc helper {name} does not "
                                         f"answer: {probe.error}{fallback}"))
            for compiler in probe.missing:
                findings.append(_finding(
                    "DIST003", severity, f"distcc helper {name} does not run {compiler}: "
                    f"{probe.reasons.get(compiler, 'refused')}{fallback}",
                    hint="distccd runs only the compilers it knows (Debian: a link in "
                         "/usr/lib/distcc); the book's $LFS_TGT-gcc exists only here: use "
                         "icecream, or [distcc] local_phases"))
            for compiler, version in probe.versions.items():
                mine = local.get(compiler)
                if version and mine and version != mine:
                    findings.append(_finding(
                        "DIST004", Severity.ERROR, f"distcc helper {name} has {compiler} "
                        f"'{version}', this machine '{mine}': objects would differ"))
        self.probes = probes
        return findings

    def engine_findings(self) -> list[Finding]:
        found: list[Finding] = []
        client = CLIENTS[self.engine]
        if shutil.which(client) is None:
            package = "icecc" if self.engine == "icecream" else "distcc"
            found.append(_finding("DIST005", Severity.ERROR, f"[distcc] engine = "
                                  f"{self.engine}: {client} is not installed (Debian: "
                                  f"apt-get install {package})"))
        if self.engine == "pump":
            if shutil.which("distcc-pump") is None and shutil.which("pump") is None:
                found.append(_finding("DIST005", Severity.ERROR, "[distcc] engine = pump: the "
                                      "pump script is not installed (Debian: distcc-pump)"))
            plain = [h.name for h in self.hosts if h.kind != "localhost" and not h.pump]
            if plain:
                found.append(_finding("DIST005", Severity.ERROR, "[distcc] engine = pump: "
                                      f"these hosts lack ,cpp: {', '.join(plain)}"))
        if self.engine == "icecream" and not _iceccd_running():
            found.append(_finding("DIST005", Severity.ERROR, "[distcc] engine = icecream: no "
                                  "iceccd runs on this machine (icecc sends its compiles "
                                  "through it)", hint="start iceccd -s SCHEDULER"))
        if self.config.get(CCACHE) and shutil.which("ccache") is None:
            found.append(_finding("DIST005", Severity.ERROR, "[distcc] ccache = true: ccache "
                                  "is not installed (Debian: apt-get install ccache)"))
        return found

    # -- each script's environment ---------------------------------------------------------------

    def masquerade(self) -> Path:
        """A folder of links named like the compilers, to the client (or ccache): first in a
        script's PATH, so that ``gcc`` runs through it whatever the Makefile says."""
        folder = self.folder / "bin"
        client = shutil.which("ccache" if self.config.get(CCACHE) else
                              CLIENTS[self.engine]) or CLIENTS[self.engine]
        target = f"{os.uname().machine}-lfs-linux-gnu"
        folder.mkdir(parents=True, exist_ok=True)
        for name in (*NAMES, f"{target}-gcc", f"{target}-g++"):
            link = folder / name
            if not link.is_symlink() or os.readlink(link) != client:
                tmp = folder / f".{name}.{os.getpid()}"
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(client)
                os.replace(tmp, link)
        return folder

    def client_log(self, script: Script) -> Path:
        return self.folder / "logs" / f"{script.name.replace('/', '_')}.log"

    @hookimpl
    def lfsplug_script_env(self, script: Script, env: dict[str, str], config: Config) -> None:
        reason = self.why_local.get(script.name)
        if reason is not None or config.command != "run":
            return
        dry = bool(config.getoption("dry_run", False))
        folder = self.folder / "bin" if dry else self.masquerade()
        env["PATH"] = f"{folder}:{env.get('PATH', '/usr/bin')}"
        total = slots(self.hosts) + self.local_slots
        if self.engine == "icecream":
            scheduler = config.get(SCHEDULER)
            if scheduler:
                env["USE_SCHEDULER"] = scheduler
        else:
            local = [f"localhost/{self.local_slots}"] if self.local_slots else []
            env["DISTCC_HOSTS"] = " ".join([hosts_value(self.hosts), *local])
            env["DISTCC_FALLBACK"] = "1" if self.fallback else "0"
            env["DISTCC_DIR"] = str(self.folder / "client")
            env["DISTCC_LOG"] = str(self.client_log(script))
            env["DISTCC_IO_TIMEOUT"] = str(int(config.get(IO_TIMEOUT)))
            env["DISTCC_SKIP_LOCAL_RETRY"] = "0"
            env.update(self._pump)
        if config.get(CCACHE):
            env["CCACHE_PREFIX"] = CLIENTS[self.engine]
        makeflags = env.get("MAKEFLAGS", "")
        if "--jobserver" not in makeflags:  # lfsplug's shared jobserver sizes itself
            env["MAKEFLAGS"] = f"-j{min(total, config.get(SLOTS_LIMIT))}"

    @hookimpl
    def lfsplug_sessionstart(self, session: Session) -> None:
        if self.config.command != "run" or self.config.getoption("dry_run", False):
            return
        (self.folder / "client").mkdir(parents=True, exist_ok=True)
        (self.folder / "logs").mkdir(parents=True, exist_ok=True)
        if self.engine == "pump":
            self._pump = _start_pump(hosts_value(self.hosts))

    @hookimpl
    def lfsplug_sessionfinish(self, session: Session, exitstatus: int) -> None:
        if self._pump:
            _stop_pump(self._pump)
            self._pump = {}

    @hookimpl
    def lfsplug_script_start(self, session: Session, script: Script, attempt: int) -> None:
        if script.name in self.why_local or self.engine == "icecream":
            return
        log = self.client_log(script)
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("", encoding="utf-8")  # this attempt's lines only
        except OSError:
            pass
        with self._lock:
            self._live[script.name] = (LiveJobs(), 0)

    # -- while it runs, and after ----------------------------------------------------------------

    @hookimpl
    def lfsplug_events(self, session: Session, events: list[Event]) -> None:
        now = time.monotonic()
        if now - self._said < LIVE_EVERY:
            return
        self._said = now
        with self._lock:
            live = dict(self._live)
        for name, (counter, start) in live.items():
            script = session.script(name)
            if script is None:
                continue
            lines, offset = _read_from(self.client_log(script), start)
            changed = False
            for line in lines:
                changed = counter.feed(line) or changed
            with self._lock:
                if name in self._live:
                    self._live[name] = (counter, offset)
            if changed:
                session.emit(ScriptNote(_note(counter.jobs)), name)

    @hookimpl(wrapper=True)
    def lfsplug_run_script(self, session: Session,
                           request: RunRequest) -> Generator[None, ScriptResult | None,
                                                             ScriptResult | None]:
        result = yield
        script = request.script
        with self._lock:
            self._live.pop(script.name, None)
        if result is None or script.name in self.why_local or self.engine == "icecream":
            return result
        try:
            with open(self.client_log(script), encoding="utf-8", errors="replace") as handle:
                jobs = parse_log(handle.read().splitlines())
        except OSError:
            return result
        if not jobs.compiles and not jobs.failed:
            return result
        self.jobs[script.name] = jobs
        result.resources["distcc"] = jobs.to_dict()
        _append(request.log_path, f"lfsplug: {_note(jobs)}")
        for host in jobs.lost:
            session.alert(Alert("distcc", AlertLevel.WARN, f"distcc helper {host} failed during "
                                f"{script.name} ({jobs.failed.get(host, 0)} compiles; "
                                f"{jobs.fallbacks} run here instead)", time.time()))
        return result

    @hookimpl
    def lfsplug_terminal_summary(self, session: Session, exitstatus: int,
                                 write: Callable[[str], None]) -> None:
        if not self.jobs:
            return
        total = Jobs()
        for jobs in self.jobs.values():
            for host, count in jobs.remote.items():
                total.remote[host] = total.remote.get(host, 0) + count
            for host, count in jobs.failed.items():
                total.failed[host] = total.failed.get(host, 0) + count
            total.local += jobs.local
            total.fallbacks += jobs.fallbacks
            total.lost.extend(h for h in jobs.lost if h not in total.lost)
        write(_note(total, long=True))


def _finding(code: str, severity: Severity, message: str, hint: str | None = None) -> Finding:
    return Finding(code, severity, message, hint=hint, plugin="distcc")


def _note(jobs: Jobs, long: bool = False) -> str:
    """``distcc: 12 on 127.0.0.2:3632, 8 on 127.0.0.3:3632, 3 here; 1 fallback; lost X``."""
    parts = [f"{count} on {host}" for host, count in sorted(jobs.remote.items())]
    parts.append(f"{jobs.local} here")
    text = "distcc: " + ", ".join(parts)
    if jobs.fallbacks:
        text += f"; {jobs.fallbacks} fell back here"
    if jobs.refused:
        text += f"; {jobs.refused} refused (no fallback)"
    if jobs.lost:
        text += f"; lost {', '.join(jobs.lost)}"
    return text if not long else text.replace("distcc: ", "distcc compiles: ", 1)


def _read_from(path: Path, offset: int) -> tuple[list[str], int]:
    """The complete lines of ``path`` after ``offset``, and the offset after them."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    text = data[:end].decode("utf-8", "replace")
    return text.splitlines(), offset + end


def _append(log: Path, line: str) -> None:
    try:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError:
        pass


def _iceccd_running() -> bool:
    import psutil

    return any(p.info.get("name") == "iceccd" for p in psutil.process_iter(["name"]))


def _start_pump(hosts: str) -> dict[str, str]:
    """Start pump mode's include server for ``hosts``; the variables the clients need to
    find it (none if it did not start: validation said why)."""
    pump = shutil.which("distcc-pump") or shutil.which("pump")
    if pump is None:
        return {}
    done = subprocess.run([pump, "--startup"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DISTCC_HOSTS": hosts}, check=False)
    found: dict[str, str] = {}
    for said in done.stdout.splitlines():
        name, sep, value = said.strip().removeprefix("export ").partition("=")
        if sep and name.startswith("INCLUDE_SERVER"):
            found[name] = value.strip("'\"").rstrip(";").strip("'\"")
    return found


def _stop_pump(variables: dict[str, str]) -> None:
    pump = shutil.which("distcc-pump") or shutil.which("pump")
    if pump is None:
        return
    subprocess.run([pump, "--shutdown"], env={**os.environ, **variables}, capture_output=True,
                   timeout=60, check=False)

