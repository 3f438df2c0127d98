"""Variables a collection's driver exports (``script.env``), and ``$VAR`` references in them.

A driver script exports what its build scripts rely on (``SOURCES``, ``LFSLOG``...) before it
runs them, often in terms of the build environment (``SOURCES=${LFS}/sources``). lfsplug adds
them to a script's environment after the book's clean environment and before ``[env]``, each
expanded against the environment built so far. The expander knows ``$NAME`` and ``${NAME}``
and nothing else: it is never a shell, so a value cannot run anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from lfsplug import BOOK_ENV, UsageError, expand_variables

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["OWNED", "add_driver_env", "check_env", "expand"]

#: The book's clean environment: a driver's exports never override these (lfsplug sets them
#: from ``--lfs`` and the machine; ``[env]`` may).
OWNED = BOOK_ENV


def expand(text: str, env: Mapping[str, str]) -> str:
    """``text`` with each ``$NAME`` and ``${NAME}`` replaced by its value in ``env`` (empty when
    unset, as in the shell); any other ``$`` is left as it is."""
    return expand_variables(text, lambda name: env.get(name, ""))


def add_driver_env(env: dict[str, str], driver: Mapping[str, str]) -> None:
    """Add the driver's exports to ``env`` in their order, each expanded against ``env`` as it
    stands (so a later export may refer to an earlier one); the :data:`OWNED` names are kept."""
    for name, value in driver.items():
        if name not in OWNED:
            env[name] = expand(value, env)


def check_env(config: Config) -> None:
    """``[env] PATH`` with no directory in it (``PATH = ""``) leaves every script without bash
    and its commands: a usage error (exit 4) at the file's line, not a failure of each script."""
    path = config.env.get("PATH")
    if path is not None and not any(part.strip() for part in path.split(":")):
        raise UsageError(f"{config.file.where('PATH', 'env')}: [env] PATH is empty: no script "
                         f"could find bash or any command; remove it to keep the book's PATH, "
                         f"or give directories (PATH = \"/usr/bin:/bin\")")
