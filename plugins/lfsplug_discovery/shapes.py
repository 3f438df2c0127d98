"""What a file of a script tree is, from its content: shell or not, a library, a possible driver.

* **shell**: a ``#!`` naming a shell, or a ``.sh``/``.bash`` name, says so; any other file (a
  numbered file with no ``#!``, a name a driver or list gives) must parse as shell without an
  error and start with a plausible command, so that a DNS zone file named ``127.0.0``, notes or
  a patch are not taken for scripts;
* **library**: a file that only sets variables and defines functions (``config.sh``,
  ``functions.sh``, ``lfs.conf``): sourced by others, never a build step;
* **may_call**: the file's text mentions another script, a shell, ``source``, ``chroot``,
  ``su`` or ``sudo``: only such files are evaluated as possible drivers.

Shapes depend on the content alone: they are kept for the run and, through the discovery cache,
between runs (keyed like its entries by the file's stat).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

    from lfsplug_discovery.cache import DiscoveryCache

__all__ = ["Shape", "Shapes", "names_shell", "read_file", "shape_of"]

_SHELL_BANG = re.compile(rb"^#!\s*\S*?(?:/|\s)(?:env\s+(?:-\S+\s+)*)?(?:ba|da|k|z|a)?sh\b")
_MAY_CALL = re.compile(
    rb"""\.(?:ba)?sh\b|(?:^|[\s;&|({`])(?:source|\.)[ \t]+\S|\b(?:ba|da|k|z)?sh[ \t]+["'$./\w-]"""
    rb"""|\bchroot\b|\bsu[ \t]|\bsudo\b""",
    re.MULTILINE,
)
#: A command at the start of a line that only a build step runs (a library's commands sit
#: indented in its functions): a file with one before any function is no library, and needs
#: no parse to say so.
_WORKS = re.compile(
    rb"^(?:make|\./configure|\.\./configure|tar|cd|patch|sed|install|cmake|meson|ninja|mkdir"
    rb"|cp|mv|ln|rm|chmod|chown|echo|printf|pushd|python3?|perl|gcc|cc)\b", re.MULTILINE)
#: A function definition: the commands after one may be its body, written unindented.
_DEFINES = re.compile(rb"\(\s*\)|^\s*function\s", re.MULTILINE)
#: Statements a library may hold besides assignments and functions.
_QUIET = frozenset({
    "set", "shopt", "umask", "export", "alias", "unset", "true", ":", "readonly", "source",
    ".", "trap", "return", "declare", "typeset", "local", "[", "[[", "test",
})
_DEFINITIONS = frozenset({"variable_assignment", "variable_assignments", "declaration_command",
                          "function_definition"})
#: Commands a script without ``#!`` or ``.sh`` may start with for it to count as shell.
PLAUSIBLE = frozenset({
    "set", "cd", "export", "source", ".", "echo", "printf", "make", "tar", "mkdir", "rm", "cp",
    "mv", "ln", "sed", "patch", "install", "cat", "chmod", "chown", "touch", "test", "[", "[[",
    "if", "for", "while", "case", "trap", "umask", "pushd", "popd", "bash", "sh", "env", "sudo",
    "su", "chroot", "exec", "unset", "shopt", "ninja", "meson", "cmake", "python3", "perl",
    "find", "grep", "wget", "curl", "git", "mount", "umount", "useradd", "groupadd", "rmdir",
    "true", "false", "exit", "return", "local", "declare", "readonly", "time", "gzip",
    "xz", "bzip2", "unzip", "strip", "ldconfig", "pwconv", "grpconv", "passwd", "install-info",
})


def read_file(path: str) -> bytes | None:
    """A regular file's first MB, None when it is not one (a FIFO would block a read),
    cannot be read or is binary."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(1 << 20)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None if b"\0" in data[:8192] else data


def names_shell(head: bytes) -> bool:
    """Whether a file's first bytes are a ``#!`` line that names a shell."""
    return bool(_SHELL_BANG.match(head))


@dataclass(frozen=True, slots=True)
class Shape:
    """What one file is (see the module docstring)."""

    shell: bool
    library: bool
    may_call: bool

    def to_json(self) -> int:
        return self.shell | self.library << 1 | self.may_call << 2

    @classmethod
    def from_json(cls, bits: int) -> Shape:
        return cls(bool(bits & 1), bool(bits & 2), bool(bits & 4))


NOT_SHELL = Shape(False, False, False)


def shape_of(path: str, data: bytes | None) -> Shape:
    """The shape of the file at ``path`` with content ``data`` (None: unreadable or binary)."""
    if data is None or not data.strip():
        # unreadable, binary or empty: what it is is for the head's read to say (DISC020-22)
        return Shape(True, False, False)
    may_call = bool(_MAY_CALL.search(data))
    # any #! says "a script" (another interpreter's is DISC024's to report)
    said = data.startswith(b"#!") or path.endswith((".sh", ".bash"))
    work = _WORKS.search(data) if said and not may_call else None
    if work is not None and not _DEFINES.search(data, 0, work.start()):
        return Shape(True, False, False)  # most build scripts: no parse needed
    from lfsplug_shell import parse

    root = parse(data).root_node
    if not said and not _plausible(root):
        return NOT_SHELL
    return Shape(True, _is_library(root), may_call)


def _plausible(root: Node) -> bool:
    """Whether a file with no ``#!`` nor ``.sh`` reads as shell: no parse error, and its first
    statement is a command shell scripts start with, an assignment or a definition."""
    if root.has_error:
        return False
    for node in root.named_children:
        if node.type == "comment":
            continue
        if node.type in _DEFINITIONS or node.type.endswith("_statement"):
            return True
        if node.type == "command":
            name = node.child_by_field_name("name")
            word = name.text.decode("utf-8", "replace") if name is not None and name.text else ""
            return word in PLAUSIBLE or "/" in word
        return node.type in ("list", "pipeline", "redirected_statement", "subshell")
    return False


def _is_library(root: Node) -> bool:
    """Whether a file only defines: variables, functions, quiet settings (never a build)."""
    defines = False
    for node in root.named_children:
        if node.type == "comment":
            continue
        if node.type in _DEFINITIONS:
            defines = True
        elif not _quiet(node):
            return False
    return defines


def _quiet(node: Node) -> bool:
    if node.type == "comment" or node.type in _DEFINITIONS:
        return True
    if node.type == "command":
        name = node.child_by_field_name("name")
        return name is not None and (name.text or b"").decode("utf-8", "replace") in _QUIET
    if node.type in ("test_command", "negated_command"):
        return True
    if node.type in ("list", "if_statement", "elif_clause", "else_clause", "compound_statement",
                     "redirected_statement"):
        return all(_quiet(child) for child in node.named_children
                   if child.type not in ("file_redirect", "heredoc_redirect"))
    return False


class Shapes:
    """The shapes of one run's files, from the cache while a file's stat is unchanged."""

    def __init__(self, cache: DiscoveryCache | None) -> None:
        self.cache = cache
        self._known: dict[str, Shape] = {}

    def of(self, path: str, read: Callable[[str], bytes | None]) -> Shape:
        shape = self._known.get(path)
        if shape is not None:
            return shape
        key = None
        if self.cache is not None:
            try:
                key = _stat_key(path)
            except OSError:
                key = None
            if key is not None:
                bits = self.cache.get_shape(path, key)
                if bits is not None:
                    shape = self._known[path] = Shape.from_json(bits)
                    return shape
        shape = self._known[path] = shape_of(path, read(path))
        if self.cache is not None and key is not None:
            self.cache.put_shape(path, key, shape.to_json())
        return shape


def _stat_key(path: str) -> list[int]:
    from lfsplug_discovery.cache import stat_key

    return stat_key(os.stat(path))
