"""The script registry that plugins query through ``session.registry``."""

from __future__ import annotations

from pathlib import Path

import lfsplug
from lfsplug import Script
from lfsplug._session import ScriptRegistry
from lfsplug.testing import Lfsplugger


def script(name: str, phase: str | None = None, provides: tuple[str, ...] = ()) -> Script:
    return Script(name=name, path=Path(f"/t/{name}"), root=Path("/t"), phase=phase,
                  provides=list(provides))


def test_lookups() -> None:
    scripts = [script("binutils-pass1", "cross", ("binutils",)), script("gcc-pass1", "cross"),
               script("binutils-pass2", "temp", ("binutils",)), script("loose")]
    registry = ScriptRegistry(scripts)
    assert registry.get("gcc-pass1") is scripts[1]
    assert registry.get("nope") is None
    assert "loose" in registry and "binutils" not in registry
    assert [s.name for s in registry.providers("binutils")] == ["binutils-pass1",
                                                                 "binutils-pass2"]
    assert registry.providers("gcc-pass1") == [scripts[1]]
    assert [s.name for s in registry.by_phase("cross")] == ["binutils-pass1", "gcc-pass1"]
    assert registry.by_phase(None) == [scripts[3]]
    assert registry.phases == ["cross", "temp", None]
    assert len(registry) == 4 and list(registry) == scripts


def test_session_registry_after_collection(lfsplugger: Lfsplugger) -> None:
    seen: dict[str, list[str]] = {}

    class Query:
        @lfsplug.hookimpl
        def lfsplug_collection_finish(self, session: object) -> None:
            registry = session.registry  # type: ignore[attr-defined]
            seen["cc"] = [s.name for s in registry.providers("cc")]
            seen["cross"] = [s.name for s in registry.by_phase("cross")]

    lfsplugger.make_tree({"01-gcc.sh": "# lfsplug: provides=cc phase=cross",
                          "02-clang.sh": "# lfsplug: provides=cc", "03-x.sh": "echo"})
    assert lfsplugger.run("list", plugins=[Query()]).ret == 0
    assert seen == {"cc": ["gcc", "clang"], "cross": ["gcc"]}
