"""A script's tree-sitter-bash syntax tree, parsed on first use, for the lint rules that read
it (LFS002 in :mod:`.interactive`, LFS009 in :mod:`.cdvars`): they share one parse, and a script
that none of them needs is never parsed (each rule first looks at the text)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lfsplug_shell

if TYPE_CHECKING:
    from tree_sitter import Node, Query

__all__ = ["ScriptTree", "compile_query"]


class ScriptTree:
    """The bytes of one script and, once a rule asks, their syntax tree."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._root: Node | None = None

    @property
    def root(self) -> Node:
        """The tree's root node (the script is parsed the first time this is read)."""
        if self._root is None:
            self._root = lfsplug_shell.parse(self.data).root_node
        return self._root

    def captures(self, query: Query) -> dict[str, list[Node]]:
        """The nodes ``query`` captures in the script, by capture name."""
        from tree_sitter import QueryCursor

        return QueryCursor(query).captures(self.root)


def compile_query(source: str) -> Query:
    """A query over the bash grammar (compile it once per process: it takes a few ms)."""
    from tree_sitter import Query

    language = lfsplug_shell.parser().language
    if language is None:  # the shared parser is always made with the bash grammar
        raise RuntimeError("the bash parser has no language")
    return Query(language, source)
