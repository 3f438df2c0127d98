"""The registry of discovered scripts, which plugins query through ``session.registry``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from lfsplug.model import Script

__all__ = ["ScriptRegistry"]


class ScriptRegistry:
    """The scripts of a session, looked up by name, by what they provide, or by phase.

    Built once discovery is complete; a script *provides* its own name and every name in its
    ``provides`` list (``binutils-pass1`` and ``binutils-pass2`` both provide ``binutils``).
    """

    def __init__(self, scripts: Sequence[Script]) -> None:
        self._scripts = list(scripts)
        self._by_name = {s.name: s for s in self._scripts}
        self._providers: dict[str, list[Script]] = {}
        self._phases: dict[str | None, list[Script]] = {}
        for script in self._scripts:
            for name in dict.fromkeys([script.name, *script.provides]):
                self._providers.setdefault(name, []).append(script)
            self._phases.setdefault(script.phase, []).append(script)

    def __iter__(self) -> Iterator[Script]:
        return iter(self._scripts)

    def __len__(self) -> int:
        return len(self._scripts)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Script | None:
        """The script called ``name``, or None."""
        return self._by_name.get(name)

    def providers(self, name: str) -> list[Script]:
        """The scripts that provide ``name`` (by their name or ``provides``), in layout order."""
        return list(self._providers.get(name, ()))

    def by_phase(self, phase: str | None) -> list[Script]:
        """The scripts of one phase (``None``: those with no phase), in layout order."""
        return list(self._phases.get(phase, ()))

    @property
    def phases(self) -> list[str | None]:
        """The phases present, in the order they first appear."""
        return list(self._phases)
