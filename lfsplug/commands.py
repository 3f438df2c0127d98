"""The subcommands of ``lfsplug``: what ``lfsplug_addcommands`` fills in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lfsplug.errors import UsageError

if TYPE_CHECKING:
    from lfsplug.config import Config

__all__ = ["Command", "CommandSet"]


@dataclass
class Command:
    """A subcommand: ``callback(config)`` returns its exit code."""

    name: str
    callback: Callable[[Config], int]
    help: str
    takes_paths: bool
    plugin: str
    arguments: tuple[str, ...] = ()


class CommandSet:
    """The subcommands of ``lfsplug``, filled through ``lfsplug_addcommands``."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}

    def add(
        self,
        name: str,
        callback: Callable[[Config], int],
        help: str = "",
        takes_paths: bool = False,
        arguments: Sequence[str] = (),
    ) -> None:
        """Add command ``name``.

        ``arguments`` names required positional arguments (``("name",)`` for
        ``lfsplug log NAME``), which the callback reads from ``config.arguments``;
        ``takes_paths`` adds the optional ``[PATH]...`` after them.
        """
        plugin = getattr(callback, "__module__", "?")
        other = self.commands.get(name)
        if other is not None:
            raise UsageError(
                f"command {name!r} is added by two plugins: {other.plugin} and {plugin}"
            )
        self.commands[name] = Command(name, callback, help, takes_paths, plugin,
                                      tuple(arguments))
