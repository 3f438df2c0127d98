"""mini-lfs's own hook: fetch-from-debian.sh sits beside the scripts but is not one of them."""

from __future__ import annotations

from pathlib import Path

from lfsplug import hookimpl


@hookimpl
def lfsplug_ignore_path(path: Path) -> bool | None:
    return True if path.name == "fetch-from-debian.sh" else None
