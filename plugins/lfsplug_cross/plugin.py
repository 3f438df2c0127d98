"""The per-command object of the cross plugin: the target, its toolchain, and the hooks that
use them (metadata, environment, validation, the checks after a script, the summary)."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import (
    FailureClass,
    Finding,
    Origin,
    Script,
    ScriptResult,
    Severity,
    Status,
    hookimpl,
)
from lfsplug_cross import ELF_CHECK, ELF_IGNORE, PHASES, QEMU, TARGET, TOOLCHAIN
from lfsplug_cross.environment import MODES, cross_env, infer_mode, site_text, write_site
from lfsplug_cross.hostinfo import HostPlatform, detect_host
from lfsplug_cross.toolchain import Toolchain, find_toolchains
from lfsplug_cross.triplets import Triplet, book_triplet, parse_target

if TYPE_CHECKING:
    from lfsplug import Config, RunRequest, Session

__all__ = ["META_KEYS", "Cross"]

#: The metadata keys this plugin reads: what a script produces, and how it crosses.
META_KEYS = ("produces", "cross")
#: The book's pages after which it checks the toolchain (chapter05/glibc.xml and
#: chapter08/gcc.xml): the package and its phase (a script of no known phase is not inferred).
BOOK_CHECKS = {("glibc", "cross"), ("gcc", "system")}
#: The failure class of a script whose toolchain or installed files failed a check.
FAILURE = "toolchain-check"


class Cross:
    """The cross plugin for one command."""

    def __init__(self, config: Config) -> None:
        self.config = config
        targets = config.get(TARGET)
        #: the user chose the target (``--target``, ``target =``); else the book's default
        self.explicit = bool(targets)
        self.target: Triplet = parse_target(targets[-1] if targets else book_triplet())
        self.arch = self.target.info
        self.lfs = os.path.abspath(config.lfs)
        self.phases = {p.lower() for p in config.get(PHASES)}
        self._chains: list[Toolchain] | None = None
        self.scripts: list[Script] = []
        #: what the checks after scripts found, by script, for the summary
        self.failed: dict[str, list[Finding]] = {}
        self._runner: str | None = None
        self._site_written = False
        self.modes: dict[str, str] = {}

    @property
    def host(self) -> HostPlatform:
        """The host (asked of its compiler once per process, and only when needed: a build
        without a target never spawns it)."""
        return detect_host()

    @property
    def target_name(self) -> str:
        return str(self.target)

    # -- the toolchain ---------------------------------------------------------------------

    def toolchains(self, refresh: bool = False) -> list[Toolchain]:
        if self._chains is None or refresh:
            chosen = self.config.get(TOOLCHAIN)
            if chosen:  # that one or none (it may be a script of the build that makes it)
                there = os.path.isfile(chosen) and os.access(chosen, os.X_OK)
                self._chains = [_chosen(chosen, self.target, self.lfs)] if there else []
            else:
                self._chains = find_toolchains(self.target, self.lfs)
        return self._chains

    def toolchain(self, refresh: bool = False) -> Toolchain | None:
        chains = self.toolchains(refresh)
        return chains[0] if chains else None

    def is_cross(self, script: Script) -> bool:
        return (script.phase or "").lower() in self.phases

    def mode(self, script: Script) -> str:
        """How ``script`` crosses: its ``cross=``, else what its commands show (read once)."""
        given = script.meta.get("cross")
        if given:
            return given.strip().lower()
        found = self.modes.get(script.name)
        if found is None:
            try:
                text = script.path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            found = self.modes[script.name] = infer_mode(text)[0]
        return found

    # -- discovery: what each script produces ----------------------------------------------

    @hookimpl
    def lfsplug_collection_finish(self, session: Session) -> None:
        for script in session.scripts:
            phase = (script.phase or "").lower()
            if "produces" not in script.meta and (script.package, phase) in BOOK_CHECKS:
                script.meta["produces"] = "toolchain"
                script.origins["produces"] = Origin(
                    "the book's toolchain checks (chapter05/glibc.xml, chapter08/gcc.xml)")
            mode = script.meta.get("cross", "env").strip().lower()
            if mode not in MODES:
                origin = script.origins.get("cross")
                session.findings.append(Finding(
                    "CROSS030", Severity.ERROR, f"cross={mode}: expected one of "
                    f"{', '.join(MODES)}", str(script.path),
                    origin.line if origin else None, plugin="cross"))
        session.claim_metadata(*META_KEYS)
        self.scripts = list(session.scripts)

    def produces_toolchain(self, script: Script) -> bool:
        produces = {p.strip().lower() for p in script.meta.get("produces", "").split(",")}
        return "toolchain" in produces

    # -- the environment -------------------------------------------------------------------

    @hookimpl
    def lfsplug_script_env(self, script: Script, env: dict[str, str], config: Config) -> None:
        if not self.explicit:
            return  # the book's default target: the executor's LFS_TGT, nothing more
        given = config.env
        chain = self.toolchain()
        if "LFS_TGT" not in given:
            env["LFS_TGT"] = self.target_name
        runner = self.runner(chain)
        if runner and "LFSPLUG_TARGET_RUN" not in given:
            env["LFSPLUG_TARGET_RUN"] = runner
        if chain is None or not self.is_cross(script) or self.mode(script) != "env":
            return  # no toolchain: validation said so (CROSS001)
        site = config.state_dir / "cross" / self.target_name / "config.site"
        if not self._site_written and not config.getoption("dry_run", False):
            write_site(site, site_text(self.target_name, chain, self.lfs))  # once a run
            self._site_written = True
        for key, value in cross_env(chain, self.lfs, site).items():
            if key not in given:
                env[key] = value

    def runner(self, chain: Toolchain | None) -> str:
        """How a script runs a program of the target (``$LFSPLUG_TARGET_RUN``): qemu-user
        with the target's libraries where the target is another machine, else nothing."""
        if self._runner is None:
            from lfsplug_cross.sanity import run_prefix

            found = run_prefix(chain.gcc, self.arch, chain.sysroot) if chain else None
            self._runner = shlex.join(found) if found else ""
        return self._runner

    @hookimpl
    def lfsplug_report_header(self, config: Config) -> str | None:
        if not self.explicit:
            return None
        chain = self.toolchain()  # the target itself is among the build's labels
        if chain is None:
            return f"toolchain: none found yet for {self.target_name}"
        return (f"toolchain: {chain.gcc} {chain.version} ({chain.where}, sysroot "
                f"{chain.sysroot})")

    # -- validation: the host's toolchain for the target ----------------------------------

    @hookimpl
    def lfsplug_validate_host(self, config: Config) -> list[Finding] | None:
        cross_scripts = [s for s in self.scripts if self.is_cross(s)]
        producers = [s.name for s in self.scripts if self.produces_toolchain(s)]
        if not self.explicit and not cross_scripts:
            return None  # a native build: nothing of a target to check
        chain = self.toolchain()
        if chain is None:
            if not self.explicit or not cross_scripts:
                return None
            if producers:
                return [Finding("CROSS001", Severity.INFO,
                                f"no toolchain builds for {self.target_name} yet: "
                                f"{producers[0]} produces it", plugin="cross")]
            return [_missing(self.target, self.lfs, configured=config.get(TOOLCHAIN))]
        if chain.where == "host" and not self.explicit:
            return None  # the host's own compiler: hostreqs checks it
        findings = list(chain.findings)
        if not any(f.severity is Severity.ERROR for f in findings):
            findings += self.sanity(chain)
        return findings

    def sanity(self, chain: Toolchain, *, native: bool = False, root: str = "/",
               gcc: str | None = None) -> list[Finding]:
        from lfsplug_cross.sanity import check_toolchain

        return check_toolchain(gcc or chain.gcc, name=chain.name, arch=self.arch,
                               sysroot=chain.sysroot, lfs=self.lfs, native=native, root=root,
                               qemu=bool(self.config.get(QEMU)))

    # -- after each script: the toolchain it produced, the files it installed --------------

    @hookimpl(wrapper=True)
    def lfsplug_run_script(self, session: Session,
                           request: RunRequest) -> Generator[None, ScriptResult | None,
                                                             ScriptResult | None]:
        started = time.time() - 1.0  # file times are in whole seconds on some file systems
        result = yield
        if result is None or result.status is not Status.PASSED:
            return result
        script = request.script
        findings = self.after(session, script, started)
        if findings:
            self.report(result, request.log_path, script, findings)
        return result

    def after(self, session: Session, script: Script, started: float) -> list[Finding]:
        findings: list[Finding] = []
        if self.produces_toolchain(script):
            findings += self.check_produced(session, script)
        elf = self.config.get(ELF_CHECK)
        if (self.explicit and elf != "off" and self.is_cross(script) and self.arch is not None
                and os.path.isdir(self.lfs)):
            from lfsplug_cross.sanity import scan_tree

            found = scan_tree(self.lfs, self.arch, since=started,
                              ignore=self.config.get(ELF_IGNORE))
            if elf == "warning":
                found = [_as_warning(f) for f in found]
            findings += found
        return findings

    def check_produced(self, session: Session, script: Script) -> list[Finding]:
        """The book's checks of the toolchain ``script`` produced: the cross compiler after a
        script of a cross phase, else the native one where the script ran (the chroot)."""
        if self.is_cross(script):
            chain = self.toolchain(refresh=True)
            if not self.explicit and (chain is None or chain.where != "lfs-tools"):
                # the book's own build: its cross compiler, or nothing to check
                return [Finding("CROSS001", Severity.WARNING, f"after {script.name}, no "
                                f"{self.target_name}-gcc in {self.lfs}/tools/bin: the book's "
                                f"toolchain checks were not run", plugin="cross")]
            if chain is None:
                return [_missing(self.target, self.lfs, after=script.name,
                                 configured=self.config.get(TOOLCHAIN))]
            return [*chain.findings, *self.sanity(chain)]
        root = session.hook.lfsplug_script_root(script=script, config=session.config) or "/"
        gcc = "cc" if root != "/" else _native_compiler()
        native = Toolchain("", "host", gcc, triplet=self.host.triplet, sysroot="/")
        return self.sanity(native, native=True, root=root, gcc=gcc)

    def report(self, result: ScriptResult, log: Path, script: Script,
               findings: list[Finding]) -> None:
        errors = [f for f in findings if f.severity is Severity.ERROR]
        lines = [f"lfsplug: {f.severity} {f.code}: {f.message}" for f in findings]
        try:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for line in lines))
        except OSError:
            pass
        result.tail = [*result.tail, *lines][-max(len(result.tail), 20):]
        self.failed[script.name] = findings
        if errors:
            result.status = Status.FAILED
            result.message = errors[0].message

    @hookimpl(tryfirst=True)
    def lfsplug_classify_failure(self, session: Session, script: Script,
                                 result: ScriptResult) -> FailureClass | None:
        findings = self.failed.get(script.name)
        if not findings or result.exit_code not in (0, None):
            return None
        errors = [f for f in findings if f.severity is Severity.ERROR]
        return FailureClass(FAILURE, f"{script.name} passed, but {errors[0].code}: its "
                            f"toolchain or the files it installed are wrong", False,
                            tuple(f"{f.code}: {f.message}" for f in errors[:10]),
                            "see docs/cross.md for each check")

    @hookimpl
    def lfsplug_terminal_summary(self, session: Session, exitstatus: int,
                                 write: object) -> None:
        if not callable(write):
            return
        chain = self.toolchain() if self.explicit else None
        if chain is not None:  # the target itself is among the build's labels
            write(f"toolchain: {chain.gcc} {chain.version} (sysroot {chain.sysroot})")
        for name, findings in self.failed.items():
            for finding in findings[:5]:
                write(f"{name}: {finding.severity} {finding.code}: {finding.message}")


def _as_warning(finding: Finding) -> Finding:
    return Finding(finding.code, Severity.WARNING, finding.message, finding.path, finding.line,
                   finding.hint, finding.plugin)


def _native_compiler() -> str:
    import shutil

    return shutil.which("cc") or shutil.which("gcc") or "cc"


def _chosen(gcc: str, target: Triplet, lfs: str) -> Toolchain:
    """The toolchain of ``[cross] toolchain``: its tools are named like its compiler."""
    from concurrent.futures import ThreadPoolExecutor

    from lfsplug_cross.toolchain import _probe

    name = os.path.basename(gcc)
    prefix = name[: -len("gcc")] if name.endswith("gcc") else ""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return _probe(gcc, prefix, "configured", target=target, lfs=lfs,
                      path=os.environ.get("PATH", ""), pool=pool)


def _missing(target: Triplet, lfs: str, after: str | None = None,
             configured: str | None = None) -> Finding:
    arch = target.info
    debian = f"{arch.name if arch else target.arch}-linux-{target.abi or 'gnu'}"
    where = f"after {after}, " if after else ""
    if configured:
        return Finding("CROSS001", Severity.ERROR, f"{where}the toolchain of [cross] toolchain, "
                       f"{configured}, is not there (or cannot be run)", plugin="cross")
    return Finding(
        "CROSS001", Severity.ERROR,
        f"{where}no toolchain builds for {target}: no {target}-gcc in {lfs}/tools/bin, and no "
        f"*-gcc for that machine in PATH or /usr/bin",
        hint=f"Debian: apt-get install gcc-{debian} binutils-{debian}; or build the book's "
             f"chapter 5 first", plugin="cross")
