"""The cross environment of a script: how it crosses, and the variables that make it cross.

A script in a cross phase crosses in one of three ways (its ``cross=`` metadata, else read
from its text):

- ``self``: it names the target itself (``--host=$LFS_TGT``, ``--target=``), as the book's
  chapters 5 and 6 do: it gets ``$LFS_TGT`` and nothing that would change what its own host
  builds (the book's ncurses builds ``tic`` for the host with a plain ``configure``);
- ``env``: a plain ``./configure && make``: the environment makes it a cross build, with the
  toolchain's tools in ``CC``, ``CXX``, ``AR``..., and a ``CONFIG_SITE`` file that gives
  configure the ``--host``/``--build`` pair unless it was given one;
- ``no``: a program for the host (a build tool): nothing but ``$LFS_TGT``.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from lfsplug_cross.hostinfo import detect_host
from lfsplug_cross.toolchain import Toolchain

__all__ = ["MODES", "SELF_CROSSING", "cross_env", "infer_mode", "site_text", "write_site"]

MODES = ("env", "self", "no")
#: What in a script's text shows that it names the target itself.
SELF_CROSSING = re.compile(r"\bLFS_TGT\b|--host[= ]|--target[= ]|\bCROSS_COMPILE\b")

#: The variables of ``env`` mode and the tool each names.
TOOL_VARIABLES = (("CC", "gcc"), ("CXX", "g++"), ("AR", "ar"), ("AS", "as"), ("LD", "ld"),
                  ("NM", "nm"), ("RANLIB", "ranlib"), ("STRIP", "strip"),
                  ("OBJDUMP", "objdump"), ("READELF", "readelf"))


def infer_mode(text: str) -> tuple[str, str]:
    """The crossing mode of a script with this text, and why (comments do not count)."""
    for line, raw in enumerate(text.splitlines(), 1):
        code = _COMMENT.sub("", raw)
        match = SELF_CROSSING.search(code)
        if match:
            return "self", (f"its commands name the target themselves "
                            f"({match.group(0).strip()}, line {line})")
    return "env", "its commands do not name the target: the environment makes them cross"


#: A comment: a line's ``#`` that starts a word (not ``$#``, ``${#x}`` or ``a#b``) to its end.
_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$")


def site_text(target: str, chain: Toolchain, lfs: str) -> str:
    """The ``CONFIG_SITE`` file of ``env`` mode: the host/build pair where configure was not
    given one, then the book's own site file if ``$LFS`` has one."""
    host = chain.triplet or chain.prefix.rstrip("-") or target
    build = detect_host().triplet
    book = os.path.join(lfs, "usr", "share", "config.site")
    return (
        f"# Written by lfsplug's cross plugin: configure cross-compiles for {target} with\n"
        f"# {chain.gcc}. A --host or --build given to configure wins.\n"
        f"test -n \"$host_alias\" || host_alias={shlex.quote(host)}\n"
        f"test -n \"$build_alias\" || build_alias={shlex.quote(build)}\n"
        f"cross_compiling=yes\n"
        f"if test -r {shlex.quote(book)}; then . {shlex.quote(book)}; fi\n"
    )


def write_site(path: Path, text: str) -> None:
    """Write the site file if its text changed (several scripts may start at once)."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def cross_env(chain: Toolchain, lfs: str, site: Path) -> dict[str, str]:
    """The variables of ``env`` mode for ``chain``, building into ``$LFS``."""
    env = {name: path for name, tool in TOOL_VARIABLES if (path := chain.tool(tool))}
    env["CROSS_COMPILE"] = os.path.join(os.path.dirname(chain.gcc), chain.prefix)
    env["CONFIG_SITE"] = str(site)
    env["PKG_CONFIG_SYSROOT_DIR"] = lfs
    env["PKG_CONFIG_LIBDIR"] = f"{lfs}/usr/lib/pkgconfig:{lfs}/usr/share/pkgconfig"
    if chain.sysroot is None or os.path.realpath(chain.sysroot) != os.path.realpath(lfs):
        # the toolchain's own sysroot holds the C library; what earlier scripts installed
        # into $LFS is found through the flags
        env["CPPFLAGS"] = f"-I{lfs}/usr/include"
        env["LDFLAGS"] = f"-L{lfs}/usr/lib -Wl,-rpath-link,{lfs}/usr/lib"
    return env
