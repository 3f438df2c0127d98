"""The LFS book's host requirements, written down as data.

Source: *Linux From Scratch*, development version after 12.3 (upstream commit 6a04e24,
2025-05-24):

- ``chapter02/hostreqs.xml``: the ``version-check.sh`` script (its ``ver_check`` lines give
  each tool, the command that is asked for ``--version`` and the minimum version; its
  ``alias_check`` lines give the awk/yacc/sh checks), the notes of the requirement list, and the
  hardware recommendation (four cores, 8 GB of memory);
- ``general.ent``: the ``min-kernel`` entity;
- ``chapter02/creatingpartition.xml``: a partition of about 10 GB, 30 GB for growth.

``tests/test_hostreqs.py`` reads the book's XML when it is present and fails when this table and
the book disagree, so that a new book version cannot leave the table behind silently. When the
book changes, update the table and :data:`BOOK_VERSION` together.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALIASES",
    "BOOK_VERSION",
    "MIN_DISK_GB",
    "MIN_KERNEL",
    "RECOMMENDED_CORES",
    "RECOMMENDED_DISK_GB",
    "RECOMMENDED_MEMORY_GB",
    "TOOLS",
    "AliasRequirement",
    "ToolRequirement",
]

#: The book version the table below comes from.
BOOK_VERSION = "LFS development after 12.3 (commit 6a04e24, 2025-05-24)"


@dataclass(frozen=True)
class ToolRequirement:
    """One ``ver_check`` line: the book's name, the command run with ``--version``, the minimum.

    ``note`` is the book's own remark on the requirement, shown as part of the hint.
    """

    name: str
    command: str
    minimum: str
    note: str = ""


@dataclass(frozen=True)
class AliasRequirement:
    """One ``alias_check`` line: ``command --version`` must mention ``expected``."""

    command: str
    expected: str
    note: str


_GCC_NOTE = (
    "GCC must include the C++ compiler, g++, and the C and C++ standard libraries with their "
    "headers, so that the C++ compiler can build hosted programs"
)

#: The ``ver_check`` lines of ``version-check.sh``, in the book's order (Coreutils first: the
#: book's script needs ``sort --version-sort`` for every other comparison).
TOOLS: tuple[ToolRequirement, ...] = (
    ToolRequirement("Coreutils", "sort", "8.1"),
    ToolRequirement("Bash", "bash", "3.2", "/bin/sh should be a symbolic or hard link to bash"),
    ToolRequirement("Binutils", "ld", "2.13.1"),
    ToolRequirement("Bison", "bison", "2.7",
                    "/usr/bin/yacc should be a link to bison or a small script that executes "
                    "bison"),
    ToolRequirement("Diffutils", "diff", "2.8.1"),
    ToolRequirement("Findutils", "find", "4.2.31"),
    ToolRequirement("Gawk", "gawk", "4.0.1", "/usr/bin/awk should be a link to gawk"),
    ToolRequirement("GCC", "gcc", "5.2", _GCC_NOTE),
    ToolRequirement("GCC (C++)", "g++", "5.2", _GCC_NOTE),
    ToolRequirement("Grep", "grep", "2.5.1a"),
    ToolRequirement("Gzip", "gzip", "1.3.12"),
    ToolRequirement("M4", "m4", "1.4.10"),
    ToolRequirement("Make", "make", "4.0"),
    ToolRequirement("Patch", "patch", "2.5.4"),
    ToolRequirement("Perl", "perl", "5.8.8"),
    ToolRequirement("Python", "python3", "3.4"),
    ToolRequirement("Sed", "sed", "4.1.5"),
    ToolRequirement("Tar", "tar", "1.22"),
    ToolRequirement("Texinfo", "texi2any", "5.0"),
    ToolRequirement("Xz", "xz", "5.0.0"),
)

#: ``<!ENTITY min-kernel "5.4">`` of general.ent: glibc is configured for it in chapters 5 and 8.
MIN_KERNEL = "5.4"

#: The ``alias_check`` lines: the names the build calls must be the GNU programs.
ALIASES: tuple[AliasRequirement, ...] = (
    AliasRequirement("awk", "GNU", "/usr/bin/awk should be a link to gawk"),
    AliasRequirement("yacc", "Bison",
                     "/usr/bin/yacc should be a link to bison or a small script that executes "
                     "bison"),
    AliasRequirement("sh", "Bash", "/bin/sh should be a symbolic or hard link to bash"),
)

#: creatingpartition.xml: "A minimal system requires a partition of around 10 gigabytes (GB)."
MIN_DISK_GB = 10.0
#: creatingpartition.xml: "A 30 GB partition is a reasonable size to provide for growth."
RECOMMENDED_DISK_GB = 30.0
#: hostreqs.xml (Hardware): "at least 8 GB of memory"; less still works, only slower.
RECOMMENDED_MEMORY_GB = 8.0
#: hostreqs.xml (Hardware): "at least four cores".
RECOMMENDED_CORES = 4
