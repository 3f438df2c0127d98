"""Target triplets and what each architecture means for a build: its ELF machine, word size,
byte order, dynamic loader and qemu-user program.

A triplet is ``ARCH-VENDOR-OS-ABI`` (``x86_64-lfs-linux-gnu``, the book's ``$LFS_TGT``) or
``ARCH-OS-ABI`` (``aarch64-linux-gnu``, as Debian names its cross compilers). Two triplets that
differ only in the vendor describe the same machine: a toolchain installed as
``aarch64-linux-gnu-gcc`` serves the target ``aarch64-lfs-linux-gnu``.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

__all__ = ["ARCHES", "Arch", "Triplet", "arch_of", "book_triplet", "parse_target"]


@dataclass(frozen=True)
class Arch:
    """One architecture as a Linux target."""

    name: str
    #: pyelftools' name of the ELF header's ``e_machine``
    machine: str
    bits: int
    little_endian: bool
    #: the program interpreter a dynamic program requests (glibc's, for the default ABI)
    loader: str
    #: the qemu-user program that runs its programs on another machine
    qemu: str
    #: the ABI a bare architecture means (``arm`` is ``gnueabihf``)
    abi: str = "gnu"
    aliases: tuple[str, ...] = ()

    @property
    def loader_name(self) -> str:
        return self.loader.rsplit("/", 1)[-1]

    @property
    def describe(self) -> str:
        order = "little-endian" if self.little_endian else "big-endian"
        return f"{self.machine.removeprefix('EM_')}, ELF{self.bits}, {order}"


ARCHES: tuple[Arch, ...] = (
    Arch("x86_64", "EM_X86_64", 64, True, "/lib64/ld-linux-x86-64.so.2", "qemu-x86_64",
         aliases=("amd64", "x86-64")),
    Arch("i686", "EM_386", 32, True, "/lib/ld-linux.so.2", "qemu-i386",
         aliases=("i386", "i486", "i586", "x86", "ia32")),
    Arch("aarch64", "EM_AARCH64", 64, True, "/lib/ld-linux-aarch64.so.1", "qemu-aarch64",
         aliases=("arm64",)),
    Arch("arm", "EM_ARM", 32, True, "/lib/ld-linux-armhf.so.3", "qemu-arm", "gnueabihf",
         aliases=("armhf", "armv7", "armv7l", "armv7a", "armv7hl")),
    Arch("riscv64", "EM_RISCV", 64, True, "/lib/ld-linux-riscv64-lp64d.so.1", "qemu-riscv64"),
    Arch("powerpc64le", "EM_PPC64", 64, True, "/lib64/ld64.so.2", "qemu-ppc64le",
         aliases=("ppc64le", "ppc64el")),
    Arch("powerpc64", "EM_PPC64", 64, False, "/lib64/ld64.so.1", "qemu-ppc64",
         aliases=("ppc64",)),
    Arch("s390x", "EM_S390", 64, False, "/lib/ld64.so.1", "qemu-s390x"),
    Arch("loongarch64", "EM_LOONGARCH", 64, True, "/lib64/ld-linux-loongarch-lp64d.so.1",
         "qemu-loongarch64"),
    Arch("mipsel", "EM_MIPS", 32, True, "/lib/ld.so.1", "qemu-mipsel"),
    Arch("mips64el", "EM_MIPS", 64, True, "/lib64/ld.so.1", "qemu-mips64el", "gnuabi64"),
    Arch("sparc64", "EM_SPARCV9", 64, False, "/lib64/ld-linux.so.2", "qemu-sparc64"),
)

_BY_NAME = {alias: arch for arch in ARCHES for alias in (arch.name, *arch.aliases)}


def arch_of(name: str) -> Arch | None:
    """The architecture ``name`` (or an alias: ``arm64``, ``amd64``) stands for; the ARM
    variants (``armv7l``) all mean 32-bit ARM."""
    found = _BY_NAME.get(name.lower())
    if found is None and name.lower().startswith("arm") and not name.lower().startswith("arm64"):
        found = _BY_NAME["arm"]
    return found


@dataclass(frozen=True)
class Triplet:
    """A parsed target triplet."""

    arch: str
    vendor: str
    os: str
    abi: str

    def __str__(self) -> str:
        parts = [self.arch, self.vendor, self.os, self.abi]
        return "-".join(p for p in parts if p)

    @property
    def info(self) -> Arch | None:
        return arch_of(self.arch)

    @property
    def key(self) -> tuple[str, str, str]:
        """What a toolchain must match: the architecture, the kernel and the ABI; not the
        vendor (``pc``, ``lfs``, none)."""
        info = self.info
        return (info.name if info else self.arch, self.os, self.abi)

    @classmethod
    def parse(cls, text: str) -> Triplet | None:
        """``ARCH-VENDOR-OS-ABI``, ``ARCH-OS-ABI`` or ``ARCH-VENDOR-OS``; None for what is
        not a triplet (no kernel part among the known ones)."""
        parts = text.strip().split("-")
        if len(parts) < 2 or not all(parts):
            return None
        arch, rest = parts[0], parts[1:]
        for index, word in enumerate(rest):
            if word in _KERNELS:
                vendor = "-".join(rest[:index])
                abi = "-".join(rest[index + 1:])
                return cls(arch, vendor, word, abi)
        return None


#: The kernels a Linux From Scratch target may have (``none`` for bare metal toolchains).
_KERNELS = ("linux", "none", "elf")


def book_triplet(arch: str | None = None) -> str:
    """The book's ``$LFS_TGT``: ``$(uname -m)-lfs-linux-gnu`` (the ABI of ARM hard-float where
    the machine is 32-bit ARM)."""
    machine = arch or platform.machine()
    info = arch_of(machine)
    abi = info.abi if info else "gnu"
    return f"{machine}-lfs-linux-{abi}"


def parse_target(text: str) -> Triplet:
    """A ``--target`` value: an architecture (``aarch64``, ``arm64``: the book's form of the
    triplet for it) or a full triplet. Raises ValueError, saying why, for anything else."""
    value = text.strip()
    if not value:
        raise ValueError("an empty target (give an architecture like aarch64, or a triplet "
                         "like aarch64-linux-gnu)")
    if "-" not in value:
        info = arch_of(value)
        if info is None:
            known = ", ".join(a.name for a in ARCHES)
            raise ValueError(f"unknown architecture {value!r} (known: {known}; or give a full "
                             f"triplet)")
        return Triplet(info.name, "lfs", "linux", info.abi)
    triplet = Triplet.parse(value)
    if triplet is None:
        raise ValueError(f"{value!r} is not a target triplet (ARCH-VENDOR-OS-ABI or "
                         f"ARCH-OS-ABI, e.g. aarch64-linux-gnu)")
    return triplet
