"""The book's toolchain sanity checks, and the ELF check of a target tree.

After glibc in chapter 5 and after the final gcc in chapter 8 the book compiles a dummy program
and reads what the compiler did (``-v -Wl,--verbose``): the program interpreter it requests,
the start files it found, the header and library search paths, the C library and the dynamic
linker it linked against. :func:`check_toolchain` does all of it for any compiler, reading the
program's ELF headers with pyelftools, and runs the program through qemu-user where the target
is another machine and qemu is there. :func:`scan_tree` reads the ELF header of every file a
script installed under ``$LFS`` and names each that is not for the target machine.

Each failed check is a :class:`~lfsplug.Finding` naming the check and showing its evidence.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lfsplug import Finding, Severity
from lfsplug_cross.hostinfo import detect_host
from lfsplug_cross.triplets import Arch, arch_of

__all__ = ["CHECKS", "DEFAULT_IGNORE", "ElfHeader", "check_toolchain", "elf_header", "run_prefix",
           "scan_tree"]

#: The checks of :func:`check_toolchain` by code, as docs/cross.md lists them.
CHECKS = {
    "CROSS010": "compile",
    "CROSS011": "machine",
    "CROSS012": "interpreter",
    "CROSS013": "start files",
    "CROSS014": "search paths",
    "CROSS015": "libc",
    "CROSS016": "dynamic linker",
    "CROSS017": "qemu",
}
_CODE = {name: code for code, name in CHECKS.items()}

DUMMY = "int main(void) { return 0; }\n"
_OPENED = re.compile(r"^attempt to open (\S+) succeeded$", re.M)
_FOUND = re.compile(r"^found (\S+) at (\S+)$", re.M)
_SEARCH_DIR = re.compile(r'SEARCH_DIR\("([^"]*)"\)')
_START_FILES = (("crt1.o", "Scrt1.o", "rcrt1.o", "gcrt1.o"), ("crti.o",), ("crtn.o",))


@dataclass(frozen=True)
class ElfHeader:
    machine: str
    bits: int
    little_endian: bool
    kind: str
    interpreter: str | None

    def describe(self) -> str:
        order = "little-endian" if self.little_endian else "big-endian"
        return f"{self.machine.removeprefix('EM_')}, ELF{self.bits}, {order}"

    def fits(self, arch: Arch) -> bool:
        return (self.machine == arch.machine and self.bits == arch.bits
                and self.little_endian == arch.little_endian)


def elf_header(path: str | Path, *, interpreter: bool = False) -> ElfHeader | None:
    """The ELF header of ``path`` read with pyelftools (and its program interpreter, if
    asked); None for a file that is not ELF or cannot be read."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.segments import InterpSegment

    try:
        with open(path, "rb") as handle:
            if handle.read(4) != b"\x7fELF":
                return None
            handle.seek(0)
            elf = ELFFile(handle)
            interp = None
            if interpreter:
                for segment in elf.iter_segments():
                    if isinstance(segment, InterpSegment):
                        interp = segment.get_interp_name()
            return ElfHeader(str(elf["e_machine"]), elf.elfclass, elf.little_endian,
                             str(elf["e_type"]), interp)
    except (OSError, ELFError, ValueError, KeyError, AssertionError):
        return None


@dataclass
class Compiled:
    """What the compiler said and made, seen from the host."""

    code: int
    log: str
    program: Path
    #: where the compiler's ``/`` is on the host (``$LFS`` inside the chroot)
    root: str

    def host_path(self, path: str) -> str:
        if self.root in ("", "/") or not path.startswith("/"):
            return path
        return os.path.join(self.root, path.lstrip("/"))


def _compile(gcc: str, root: str, workdir: Path, env: dict[str, str] | None) -> Compiled:
    source = workdir / "dummy.c"
    source.write_text(DUMMY, encoding="ascii")
    program = workdir / "dummy"
    if root in ("", "/"):
        argv = [gcc, "dummy.c", "-v", "-Wl,--verbose", "-o", "dummy"]
    else:  # the chroot's compiler, entered as the book enters it (env -i)
        inside = "/" + os.path.relpath(workdir, root)
        argv = [shutil.which("chroot") or "chroot", root, "/usr/bin/env", "-i",
                "PATH=/usr/bin:/usr/sbin", "LC_ALL=C", "/bin/sh", "-c",
                'cd "$1" && shift && exec "$@"', "sh", inside, gcc, "dummy.c", "-v",
                "-Wl,--verbose", "-o", "dummy"]
    run_env = {**(env if env is not None else os.environ), "LC_ALL": "C"}
    try:
        done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True,
                              errors="replace", timeout=120, env=run_env, check=False)
        code, log = done.returncode, done.stdout + done.stderr
    except (OSError, subprocess.SubprocessError) as exc:
        code, log = 127, str(exc)
    (workdir / "dummy.log").write_text(log, encoding="utf-8")
    return Compiled(code, log, program, root)


def _include_dirs(log: str) -> list[str]:
    dirs: list[str] = []
    inside = False
    for line in log.splitlines():
        if line.startswith("#include <...> search starts here:"):
            inside = True
        elif line.startswith("End of search list."):
            inside = False
        elif inside and line.startswith(" "):
            dirs.append(line.strip().split(" (")[0])
    return dirs


def _inside(path: str, folder: str) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(folder)
    return real == top or real.startswith(top.rstrip("/") + "/")


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept) if kept else "no output"


@dataclass
class _Context:
    name: str
    gcc: str
    arch: Arch | None
    sysroot: str | None
    lfs: str
    native: bool
    findings: list[Finding]

    def fail(self, check: str, message: str, evidence: str, path: str | None = None) -> None:
        self.findings.append(Finding(
            _CODE[check], Severity.ERROR,
            f"toolchain {self.name}: check {check!r} failed: {message} (evidence: {evidence})",
            path=path, plugin="cross"))

    def note(self, check: str, message: str) -> None:
        self.findings.append(Finding(_CODE[check], Severity.INFO,
                                     f"toolchain {self.name}: check {check!r}: {message}",
                                     plugin="cross"))

    @property
    def confined(self) -> str | None:
        """The folder every path the compiler uses must be in: its sysroot, for a cross
        compiler with one of its own (not a distribution's ``/``)."""
        if self.native or not self.sysroot or self.sysroot == "/":
            return None
        return self.sysroot

    def allowed(self, path: str) -> bool:
        confined = self.confined
        if confined is None:
            return True
        own = os.path.dirname(os.path.dirname(os.path.realpath(self.gcc)))  # its --prefix
        return _inside(path, confined) or _inside(path, own)


def check_toolchain(gcc: str, *, name: str, arch: Arch | None, sysroot: str | None, lfs: str,
                    native: bool = False, root: str = "/", qemu: bool = True,
                    env: dict[str, str] | None = None) -> list[Finding]:
    """The book's sanity checks of the compiler ``gcc``, as findings (errors for what failed,
    information for what could not be checked).

    :param arch: the target's architecture (None: unknown, the machine checks are skipped).
    :param sysroot: the compiler's sysroot (``-print-sysroot``).
    :param native: the compiler builds for the machine it runs on (the final gcc, chapter 8):
        its paths are the system's own, and none may lead into the temporary tools.
    :param root: where the compiler's ``/`` is on the host (``$LFS`` for one in the chroot).
    """
    ctx = _Context(name, gcc, arch, sysroot, lfs, native, [])
    base = os.path.join(root, "tmp") if root not in ("", "/") else None
    with tempfile.TemporaryDirectory(prefix="lfsplug-toolchain.", dir=base) as tmp:
        compiled = _compile(gcc, root, Path(tmp), env)
        if compiled.code != 0 or not compiled.program.exists():
            ctx.fail("compile", f"{gcc} could not compile and link a dummy program (exit "
                     f"{compiled.code})", _tail(compiled.log))
            return ctx.findings
        header = elf_header(compiled.program, interpreter=True)
        _check_machine(ctx, header)
        _check_interpreter(ctx, header)
        opened = _OPENED.findall(compiled.log)
        _check_start_files(ctx, compiled, opened)
        _check_search_paths(ctx, compiled)
        _check_libc(ctx, compiled, opened)
        _check_loader(ctx, compiled)
        if (qemu and not native and header is not None and header.interpreter
                and (ctx.arch is None or header.fits(ctx.arch))):
            _check_qemu(ctx, compiled, header.interpreter)
    return ctx.findings


def _check_machine(ctx: _Context, header: ElfHeader | None) -> None:
    if header is None:
        ctx.fail("machine", "the dummy program is not an ELF file", "pyelftools read no header")
    elif ctx.arch is None:
        ctx.note("machine", f"the program is {header.describe()}; no machine is known for the "
                 "target's architecture, so it was not compared")
    elif not header.fits(ctx.arch):
        ctx.fail("machine", f"the dummy program is for {header.describe()}, not for the "
                 f"target ({ctx.arch.describe})", f"ELF header e_machine={header.machine}")


def _check_interpreter(ctx: _Context, header: ElfHeader | None) -> None:
    if header is None:
        return
    interp = header.interpreter
    shown = f"[Requesting program interpreter: {interp}]"
    if interp is None:
        ctx.fail("interpreter", "the dummy program requests no program interpreter (linked "
                 "statically?)", "no PT_INTERP segment")
        return
    lfs = ctx.lfs.rstrip("/")
    if (lfs and lfs != "" and interp.startswith(lfs + "/")) or "/tools/" in interp:
        ctx.fail("interpreter", f"the program interpreter {interp} points into $LFS or the "
                 "temporary tools, where the finished system will not have it", shown)
    elif ctx.arch is not None and interp not in _loaders(ctx.arch):
        ctx.fail("interpreter", f"the program interpreter is {interp}, expected "
                 f"{ctx.arch.loader}", shown)


def _loaders(arch: Arch) -> set[str]:
    """The interpreters glibc gives this machine (also under /usr/lib, merged-usr)."""
    loaders = {arch.loader, "/usr" + arch.loader}
    if arch.name == "arm":
        loaders |= {"/lib/ld-linux.so.3", "/usr/lib/ld-linux.so.3"}  # soft-float ARM
    return loaders


def _check_start_files(ctx: _Context, compiled: Compiled, opened: list[str]) -> None:
    for names in _START_FILES:
        found = [p for p in opened if os.path.basename(p) in names]
        if not found:
            ctx.fail("start files", f"{' or '.join(names)} was not found by the linker",
                     "no 'attempt to open .../" + names[0] + " succeeded' line")
            continue
        path = found[0]
        host = compiled.host_path(path)
        if not ctx.allowed(host):
            ctx.fail("start files", f"{path} is outside the sysroot {ctx.confined}",
                     f"attempt to open {path} succeeded")
            continue
        header = elf_header(host)
        if ctx.arch is not None and header is not None and not header.fits(ctx.arch):
            ctx.fail("start files", f"{path} is for {header.describe()}, not the target",
                     f"attempt to open {path} succeeded")


def _check_search_paths(ctx: _Context, compiled: Compiled) -> None:
    includes = _include_dirs(compiled.log)
    if not includes:
        ctx.fail("search paths", "the compiler showed no header search list",
                 "no '#include <...> search starts here:' in -v output")
    searches = _SEARCH_DIR.findall(compiled.log)
    tools = os.path.join(ctx.lfs.rstrip("/"), "tools") if ctx.lfs else "/tools"
    for folder in includes:
        host = compiled.host_path(folder)
        if ctx.native and (_inside(host, tools) or folder.startswith("/tools")):
            ctx.fail("search paths", f"the headers are searched in {folder}, in the temporary "
                     "tools", f"#include <...> search list: {', '.join(includes)}")
        elif not ctx.allowed(host):
            ctx.fail("search paths", f"the headers are searched in {folder}, outside the "
                     f"sysroot {ctx.confined}: the host's headers would be used",
                     f"#include <...> search list: {', '.join(includes)}")
    for folder in searches:
        if folder.startswith("="):  # relative to the sysroot: where it belongs
            continue
        if ctx.native and ("/tools" in folder):
            ctx.fail("search paths", f"the linker searches {folder}, in the temporary tools",
                     f'SEARCH_DIR("{folder}")')
        elif not ctx.allowed(compiled.host_path(folder)):
            ctx.fail("search paths", f"the linker searches {folder}, outside the sysroot "
                     f"{ctx.confined}: the host's libraries would be linked",
                     f'SEARCH_DIR("{folder}")')


def _check_libc(ctx: _Context, compiled: Compiled, opened: list[str]) -> None:
    libcs = [p for p in opened if os.path.basename(p) in ("libc.so.6", "libc.so", "libc.a")]
    real = [p for p in libcs if os.path.basename(p) != "libc.so"] or libcs
    if not real:
        ctx.fail("libc", "no C library was linked", "no 'attempt to open .../libc.so.6 "
                 "succeeded' line")
        return
    path = real[0]
    host = compiled.host_path(path)
    if not ctx.allowed(host):
        ctx.fail("libc", f"the C library linked is {path}, outside the sysroot {ctx.confined}",
                 f"attempt to open {path} succeeded")
        return
    if ctx.native and "/tools/" in path:
        ctx.fail("libc", f"the C library linked is {path}, in the temporary tools",
                 f"attempt to open {path} succeeded")
    header = elf_header(host)
    if ctx.arch is not None and header is not None and not header.fits(ctx.arch):
        ctx.fail("libc", f"the C library linked ({path}) is for {header.describe()}, not the "
                 "target: the host's", f"attempt to open {path} succeeded")


def _check_loader(ctx: _Context, compiled: Compiled) -> None:
    found = _FOUND.findall(compiled.log)
    loaders = [(name, path) for name, path in found if name.startswith("ld")]
    if not loaders:
        ctx.fail("dynamic linker", "the linker did not find the dynamic linker",
                 "no 'found ld-... at ...' line in the linker's --verbose output")
        return
    name, path = loaders[0]
    if not ctx.allowed(compiled.host_path(path)):
        ctx.fail("dynamic linker", f"{name} was found at {path}, outside the sysroot "
                 f"{ctx.confined}", f"found {name} at {path}")
    elif ctx.native and "/tools/" in path:
        ctx.fail("dynamic linker", f"{name} was found at {path}, in the temporary tools",
                 f"found {name} at {path}")


def _qemu_prefixes(compiled: Compiled, interpreter: str, sysroot: str | None) -> Iterator[str]:
    """Folders that hold the target's ``/`` for ``qemu -L``: where the linker found the
    dynamic linker, less the interpreter's own path; the sysroot; the host's root."""
    for name, path in _FOUND.findall(compiled.log):
        if not name.startswith("ld"):
            continue
        real = compiled.host_path(path)
        for suffix in (interpreter, "/usr" + interpreter):
            if real.endswith(suffix):
                yield real[: -len(suffix)] or "/"
        if "/lib" in real:
            yield real.split("/lib", 1)[0] or "/"
    if sysroot:
        yield sysroot
    yield "/"


def _check_qemu(ctx: _Context, compiled: Compiled, interpreter: str) -> None:
    arch = ctx.arch
    if arch is None:
        return
    host = arch_of(detect_host().machine)
    if host is not None and host.name == arch.name:
        return  # the host runs the target's programs itself
    qemu = shutil.which(arch.qemu)
    if qemu is None:
        ctx.note("qemu", f"{arch.qemu} is not installed: the dummy program was not run "
                 "(Debian: apt-get install qemu-user)")
        return
    prefix = next((p for p in _qemu_prefixes(compiled, interpreter, ctx.sysroot)
                   if os.path.exists(os.path.join(p, interpreter.lstrip("/")))), None)
    if prefix is None:
        ctx.fail("qemu", f"no folder holds the program interpreter {interpreter} for qemu",
                 "looked where the linker found it and in the sysroot")
        return
    argv = [qemu, "-L", prefix, str(compiled.program)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                              timeout=60, check=False)
        code, out = done.returncode, done.stdout + done.stderr
    except (OSError, subprocess.SubprocessError) as exc:
        code, out = 127, str(exc)
    if code != 0:
        ctx.fail("qemu", f"the dummy program did not run under {arch.qemu} (exit {code})",
                 f"{' '.join(argv)}: {_tail(out, 3)}")


# -- the target tree ------------------------------------------------------------------------

#: Folders of ``$LFS`` whose programs are not for the target: the cross toolchain (runs on the
#: host), the build trees, kernel file systems, firmware for other processors.
DEFAULT_IGNORE = ("tools", "sources", "proc", "sys", "dev", "run", "tmp", "lost+found",
                  "usr/lib/firmware", "lib/firmware", "usr/lib/grub", "boot")


def scan_tree(root: str | Path, arch: Arch, *, since: float | None = None,
              ignore: Sequence[str] = DEFAULT_IGNORE, limit: int = 50) -> list[Finding]:
    """Every ELF file under ``root`` (changed at or after ``since``, when given) that is not
    for ``arch``: a finding naming the file and what it is for. ``ignore``: folders under
    ``root`` not looked in. At most ``limit`` findings (then one saying how many more)."""
    top = os.path.realpath(root)
    skipped = {os.path.join(top, i) for i in ignore}
    found: list[Finding] = []
    more = 0
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.path not in skipped:
                        stack.append(entry.path)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.st_size < 52 or (since is not None and stat.st_ctime < since
                                     and stat.st_mtime < since):
                continue
            header = elf_header(entry.path)
            if header is None or header.fits(arch):
                continue
            if len(found) >= limit:
                more += 1
                continue
            found.append(Finding(
                "CROSS020", Severity.ERROR,
                f"{entry.path} is for {header.describe()}, not for the target "
                f"({arch.describe}): a host program in the target tree",
                path=entry.path, plugin="cross",
                hint="a package was built with the host's compiler: check its --host and CC"))
    if more:
        found.append(Finding("CROSS020", Severity.ERROR, f"and {more} more files under {top} "
                             "not for the target", path=top, plugin="cross"))
    return found


def run_prefix(gcc: str, arch: Arch | None, sysroot: str | None) -> list[str] | None:
    """How to run a program of the target on this host: ``[qemu-ARCH, -L, PREFIX]`` with the
    folder that holds the target's dynamic linker (asked of the compiler); ``[]`` where the
    host runs it itself; None where it cannot (no qemu-user for the machine)."""
    if arch is None:
        return None
    host = arch_of(detect_host().machine)
    if host is not None and host.name == arch.name:
        return []
    qemu = shutil.which(arch.qemu)
    if qemu is None:
        return None
    try:
        done = subprocess.run([gcc, f"-print-file-name={arch.loader_name}"], capture_output=True,
                              text=True, timeout=30, check=False)
        found = os.path.realpath(done.stdout.strip()) if done.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        found = ""
    candidates = []
    for suffix in (arch.loader, "/usr" + arch.loader):
        if found.endswith(suffix):
            candidates.append(found[: -len(suffix)] or "/")
    candidates += [sysroot or "/", "/"]
    for prefix in candidates:
        if os.path.exists(os.path.join(prefix, arch.loader.lstrip("/"))):
            return [qemu, "-L", prefix]
    return [qemu]
