"""Shared by every test module."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_build_index(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-user index of the builds run (``lfsplug run`` writes it, ``status`` without PATH
    reads it) is each test's own, not the user's: ``$XDG_STATE_HOME``, for child processes too."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
