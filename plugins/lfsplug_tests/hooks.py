"""The hook the tests plugin adds (through ``lfsplug_addhooks``): failures known for a script's
package, from any plugin. The book plugin answers it for its pages; ``lfsconf.py`` may too.
Implement it with ``@hookimpl(optionalhook=True)``: the tests plugin may be blocked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import hookspec

if TYPE_CHECKING:
    from lfsplug import Config, Script
    from lfsplug_tests.known import KnownFailure


@hookspec
def lfsplug_known_test_failures(script: Script, config: Config) -> list[KnownFailure] | None:
    """The tests of ``script``'s package that are known to fail (harmless, as the book says).

    :param script: a script whose test suite ran.
    :param config: the configuration.
    :returns: :class:`lfsplug_tests.known.KnownFailure` entries (names or patterns, or a count,
        with where the expectation comes from), or None. The answers of every plugin are used
        together, with the user's ``[tests.known_failures]``.
    """
