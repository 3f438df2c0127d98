"""Finding the toolchains that build for a target, and what each of their tools is.

A toolchain is a ``gcc`` named for a triplet (``aarch64-linux-gnu-gcc``) with its binutils
beside it. They are looked for where a builder has them: the book's cross toolchain in
``$LFS/tools/bin``, then every folder of ``PATH`` and the folders distributions install
cross compilers in. The vendor part of the triplet does not count (``aarch64-linux-gnu-gcc``
builds for ``aarch64-lfs-linux-gnu``). Each tool is recorded with its path and version, the
compiler with its sysroot (``-print-sysroot``); what is missing or does not agree is a finding
naming the tool.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfsplug import Finding, Severity
from lfsplug_cross.hostinfo import detect_host, run_text
from lfsplug_cross.triplets import Triplet

__all__ = ["BINUTILS", "TOOLS", "Tool", "Toolchain", "find_toolchains", "toolchain_findings"]

#: The tools a toolchain is made of, in the order they are shown.
TOOLS = ("gcc", "g++", "as", "ld", "ar", "ranlib", "strip", "readelf", "objdump", "nm")
#: The tools of one binutils: their versions must agree.
BINUTILS = ("as", "ld", "ar", "ranlib", "strip", "readelf", "objdump", "nm")
#: Where distributions install cross compilers, after PATH.
SYSTEM_DIRS = ("/usr/bin", "/usr/local/bin", "/opt/cross/bin")

_VERSION = re.compile(r"(\d+(?:\.\d+)+)")


@dataclass
class Tool:
    name: str
    path: str | None
    version: str | None = None
    #: the first line of ``--version`` (what the tool says it is)
    banner: str | None = None
    #: all it said to ``--version`` (the assembler names its target there)
    text: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "version": self.version}


@dataclass
class Toolchain:
    """The tools of one ``PREFIX-gcc``."""

    #: the name prefix of its tools (``aarch64-linux-gnu-``)
    prefix: str
    #: ``lfs-tools`` ($LFS/tools/bin), ``path`` (named for the target, in PATH),
    #: ``distribution`` (another vendor's triplet for the same machine), ``host`` (the
    #: host's own compiler under its triplet's name)
    where: str
    gcc: str
    #: what the compiler says it builds for (``gcc -dumpmachine``)
    triplet: str = ""
    version: str | None = None
    sysroot: str | None = None
    tools: dict[str, Tool] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def tool(self, name: str) -> str | None:
        found = self.tools.get(name)
        return found.path if found else None

    @property
    def name(self) -> str:
        return self.prefix.rstrip("-") or "gcc"

    def to_dict(self) -> dict[str, Any]:
        return {
            "triplet": self.triplet or self.prefix.rstrip("-"),
            "gcc": self.gcc,
            "version": self.version,
            "sysroot": self.sysroot,
            "prefix": self.prefix,
            "where": self.where,
            "tools": {name: tool.to_dict() for name, tool in self.tools.items()},
            "findings": [f.to_dict() for f in self.findings],
        }


def _candidates(target: Triplet, lfs: str, path: str) -> list[tuple[str, str, str]]:
    """(gcc path, prefix, where) of every compiler named for the target's machine."""
    found: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    exact = str(target)

    def add(gcc: str, prefix: str, where: str) -> None:
        real = os.path.realpath(gcc)
        if real not in seen and os.access(gcc, os.X_OK) and not os.path.isdir(gcc):
            seen.add(real)
            found.append((gcc, prefix, where))

    add(os.path.join(lfs, "tools", "bin", f"{exact}-gcc"), f"{exact}-", "lfs-tools")
    folders = [d for d in path.split(os.pathsep) if d]
    folders += [d for d in SYSTEM_DIRS if d not in folders]
    host = Triplet.parse(detect_host().triplet)
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if not name.endswith("-gcc"):
                continue
            triplet = Triplet.parse(name[: -len("-gcc")])
            if triplet is None or triplet.key != target.key:
                continue
            prefix = name[: -len("gcc")]
            if str(triplet) == exact:
                where = "path"
            elif host is not None and str(triplet) == str(host):
                where = "host"
            else:
                where = "distribution"
            add(os.path.join(folder, name), prefix, where)
    return found


def _version(banner: str) -> str | None:
    found = _VERSION.findall(banner)
    return str(found[-1]) if found else None


def _probe_tool(name: str, path: str | None) -> Tool:
    if path is None:
        return Tool(name, None)
    code, out = run_text([path, "--version"])
    banner = out.strip().splitlines()[0] if out.strip() else ""
    return Tool(name, path, _version(banner) if code == 0 else None, banner or None, out)


def _locate(prefix: str, name: str, folder: str, path: str) -> str | None:
    """``PREFIX-NAME`` beside the compiler, else in PATH."""
    candidate = os.path.join(folder, prefix + name)
    if os.access(candidate, os.X_OK):
        return candidate
    for other in path.split(os.pathsep):
        if other and os.access(os.path.join(other, prefix + name), os.X_OK):
            return os.path.join(other, prefix + name)
    return None


def _probe(gcc: str, prefix: str, where: str, *, target: Triplet, lfs: str, path: str,
           pool: ThreadPoolExecutor) -> Toolchain:
    folder = os.path.dirname(gcc)
    chain = Toolchain(prefix, where, gcc)
    located = {name: (gcc if name == "gcc" else _locate(prefix, name, folder, path))
               for name in TOOLS}
    tools = {name: pool.submit(_probe_tool, name, tool) for name, tool in located.items()}
    machine = pool.submit(run_text, [gcc, "-dumpmachine"])
    version = pool.submit(run_text, [gcc, "-dumpfullversion", "-dumpversion"])
    sysroot = pool.submit(run_text, [gcc, "-print-sysroot"])
    chain.tools = {name: future.result() for name, future in tools.items()}
    code, out = machine.result()
    chain.triplet = out.strip() if code == 0 else ""
    code, out = version.result()
    chain.version = out.strip().splitlines()[0] if code == 0 and out.strip() else None
    if chain.version:
        chain.tools["gcc"].version = chain.version
    code, out = sysroot.result()
    chain.sysroot = (out.strip() or "/") if code == 0 else None
    chain.findings = toolchain_findings(chain, target, lfs, chain.tools["as"].text)
    return chain


def find_toolchains(target: Triplet, lfs: str, path: str | None = None) -> list[Toolchain]:
    """Every toolchain that builds for ``target``, the best first: the book's own in
    ``$LFS/tools``, one named for the exact triplet, another vendor's, the host's."""
    search = os.environ.get("PATH", "") if path is None else path
    candidates = _candidates(target, lfs, search)
    rank = {"lfs-tools": 0, "path": 1, "distribution": 2, "host": 3}
    candidates.sort(key=lambda c: rank[c[2]])
    if not candidates:
        return []
    with ThreadPoolExecutor(max_workers=8) as pool:
        return [_probe(gcc, prefix, where, target=target, lfs=lfs, path=search, pool=pool)
                for gcc, prefix, where in candidates]


def _finding(code: str, severity: Severity, message: str, hint: str | None = None) -> Finding:
    return Finding(code, severity, message, hint=hint, plugin="cross")


def toolchain_findings(chain: Toolchain, target: Triplet, lfs: str,
                       assembler: str = "") -> list[Finding]:
    """What is missing from ``chain`` or does not agree with the rest of it or the target."""
    out: list[Finding] = []
    name = chain.name
    for tool in chain.tools.values():
        if tool.path is None:
            out.append(_finding(
                "CROSS002", Severity.ERROR,
                f"toolchain {name}: {chain.prefix}{tool.name} is missing",
                hint=f"install it beside {chain.gcc} (binutils and gcc for the target)"))
        elif tool.version is None:
            out.append(_finding(
                "CROSS002", Severity.ERROR,
                f"toolchain {name}: {tool.path} does not run ({tool.banner or 'no output'})"))
    versions = {t.name: t.version for t in chain.tools.values()
                if t.name in BINUTILS and t.version}
    if len(set(versions.values())) > 1:
        common = Counter(versions.values()).most_common(1)[0][0]
        for tool_name, version in sorted(versions.items()):
            if version != common:
                out.append(_finding(
                    "CROSS003", Severity.ERROR,
                    f"toolchain {name}: {chain.prefix}{tool_name} is binutils {version}, the "
                    f"others {common}",
                    hint="mixed binutils: reinstall them together"))
    gxx = chain.tools.get("g++")
    gcc_version = chain.version
    if gxx and gxx.version and gcc_version and gxx.version != gcc_version:
        out.append(_finding(
            "CROSS003", Severity.ERROR,
            f"toolchain {name}: {chain.prefix}g++ is {gxx.version}, {chain.prefix}gcc "
            f"{gcc_version}"))
    built_for = Triplet.parse(chain.triplet) if chain.triplet else None
    if chain.triplet and (built_for is None or built_for.key != target.key):
        out.append(_finding(
            "CROSS004", Severity.ERROR,
            f"toolchain {name}: {chain.gcc} builds for {chain.triplet} (gcc -dumpmachine), "
            f"not for {target}"))
    match = re.search(r"configured for a target of [`'](\S+?)'", assembler)
    if match:
        as_for = Triplet.parse(match.group(1))
        if as_for is None or as_for.key != target.key:
            out.append(_finding(
                "CROSS004", Severity.ERROR,
                f"toolchain {name}: {chain.tool('as')} assembles for {match.group(1)}, not "
                f"for {target}"))
    if chain.sysroot is not None and chain.sysroot != "/" and not Path(chain.sysroot).is_dir():
        out.append(_finding(
            "CROSS005", Severity.ERROR,
            f"toolchain {name}: its sysroot {chain.sysroot} (gcc -print-sysroot) does not exist",
            hint="the compiler was configured --with-sysroot for another place"))
    if (chain.where == "lfs-tools" and chain.sysroot is not None
            and os.path.realpath(chain.sysroot) != os.path.realpath(lfs)):
        out.append(_finding(
            "CROSS005", Severity.ERROR,
            f"toolchain {name}: its sysroot is {chain.sysroot}, not $LFS ({lfs})",
            hint="the book configures binutils and gcc pass 1 --with-sysroot=$LFS"))
    return out
