"""How lfsplug runs a script, as lint needs to know it: with errexit (``bash -e``) or not.

The executor runs every script with ``bash +h -e SCRIPT`` (``lfsplug_script_command``), and a
plugin or an ``lfsconf.py`` may answer that hook first (another shell, other options; the chroot
plugin wraps the command and may set the shell's options). Lint does not guess: it asks the hook,
as the executor will, for each script whose lint says something that depends on it (LFS004,
LFS007: a script without ``set -e``), with an empty environment (the build environment is
shaped only when the script runs), and reads the answer's shell options. When the answer cannot
be read (no ``bash``/``sh`` in it, a ``-c`` string, the hook failed or no plugin answers), lint
assumes no ``-e``: the script's own ``set -e`` is then all there is, and LFS004 and LFS007 say
so.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lfsplug import Config, Script

__all__ = ["argv_errexit", "runs_with_errexit"]

#: The shells whose options are read (the last one in the command runs the script).
SHELLS = frozenset({"bash", "sh"})


def argv_errexit(argv: list[str], script: str | None = None) -> bool | None:
    """Whether ``argv`` runs its script with errexit on; None when it cannot be told.

    The last ``bash``/``sh`` word before the script's path (``script``, when it is in ``argv``)
    is the shell; its options up to the first operand decide: ``-e``, ``-xe``, ``-o errexit``
    turn it on, ``+e``, ``+o errexit`` off, later words winning; ``-c`` (a command string) cannot
    be told.
    """
    end = argv.index(script) if script is not None and script in argv else len(argv)
    shells = [i for i, word in enumerate(argv[:end]) if os.path.basename(word) in SHELLS]
    if not shells:
        return None
    errexit = False
    words = iter(argv[shells[-1] + 1:end])
    for word in words:
        if word == "--" or len(word) < 2 or word[0] not in "-+":
            break
        if word.startswith("--"):
            continue  # --login, --norc...
        on, letters = word[0] == "-", word[1:]
        if "c" in letters:
            return None
        if "e" in letters:
            errexit = on
        if "o" in letters and next(words, "") == "errexit":
            errexit = on
    return errexit


def runs_with_errexit(config: Config, script: Script) -> bool:
    """Whether lfsplug runs ``script`` with errexit on, from the command the
    ``lfsplug_script_command`` hook gives for it (False when that cannot be told)."""
    try:
        argv = config.hook.lfsplug_script_command(script=script, env={}, config=config)
    except Exception:  # a command hook that needs a real environment: not told
        return False
    if not isinstance(argv, list) or not all(isinstance(w, str) for w in argv):
        return False
    return bool(argv_errexit(argv, str(script.path)))
