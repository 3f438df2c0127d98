"""The hook the validation plugin adds (through ``lfsplug_addhooks``) for other plugins.

It lets the plugin that records builds say which content each script had when it last passed,
so that validation can report a script changed since (INT005). Until a state plugin exists, the
validation plugin answers it from a small file of its own (see :mod:`lfsplug_validation.history`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import hookspec

if TYPE_CHECKING:
    from lfsplug import Config, Script


@hookspec(firstresult=True)
def lfsplug_validation_passed_digests(
    config: Config, scripts: list[Script]
) -> dict[str, str] | None:
    """The content each script had when it last passed a build.

    :param config: the configuration (``config.state_dir`` is where build records live).
    :param scripts: the scripts being validated.
    :returns: a mapping from script name to the SHA-256 (hex) of the script's bytes when it
        last passed, for the scripts whose last pass is known; or None to let another plugin
        answer. firstresult: the validation plugin's own record answers last (``trylast``), so
        a plugin that records builds takes over by implementing this hook (and may block the
        record with ``-p no:validation-passed``).
    """
