"""Validation: is every script fit to run, before anything runs?

Checks, each a :class:`~lfsplug._model.Finding` with a stable code (``docs/lint-codes.md``):

* syntax: ``bash -n`` on every script (SYN), fast and cached (:mod:`.syntax`, :mod:`.cache`);
* shellcheck, when installed, under shellcheck's own codes (SC) (:mod:`.shellcheck`);
* LFS lint: placeholders left unedited, interactive ``read``, ``| tee`` hiding failures, no
  error handling, ``make -j``, a hard-coded ``/mnt/lfs``, unchecked ``cd``... (LFS)
  (:mod:`.lint`), and ``cd $VAR`` into a variable that neither the script nor its environment
  sets (LFS009, read with tree-sitter-bash: :mod:`.cdvars`, :mod:`.cdenv`);
* security: scripts others could change before they run as root (SEC) (:mod:`.security`), and
  ``[env]`` variables that make every script run other code (SEC004, SEC005) (:mod:`.configenv`);
* integrity: source files named by scripts present and matching ``md5sums``/``sha256sums``, and
  scripts changed since they last passed (INT) (:mod:`.integrity`, :mod:`.history`).

Options: ``--shellcheck auto|on|off`` and ``--sources DIR`` (``check`` and ``run``). Results of
the content checks are cached by content hash in ``cache/validation.json`` in the state
directory, so an unchanged tree re-checks in well under a second.

The rest of the package: :mod:`.validator` runs the checks over a session's scripts;
:mod:`.shellread` reads bash for lint (comments, quotes, heredocs, continuations, commands) and
:mod:`.focus` picks the lines worth reading; :mod:`.syntaxtree` parses a script with
tree-sitter-bash, once, for the rules that ask about its structure (:mod:`.interactive`,
:mod:`.cdvars`), and :mod:`.cdenv` holds LFS009's findings against each script's environment;
:mod:`.refs` finds the source files a script names; :mod:`.records` holds the cached records;
:mod:`.hooks` is the hook this plugin adds.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from lfsplug import Finding, SettingsTable, Severity, StashKey, choice, hookimpl
from lfsplug_validation import hooks
from lfsplug_validation.history import PassedRecord

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser, PluginManager, Script, Session
    from lfsplug_validation.shown import ShownRecord

__all__ = ["MODES", "OPTIONS", "PASSED_RECORD"]

#: The values of ``--shellcheck``.
MODES = ("auto", "on", "off")

#: Validation's options (top-level keys of the file too).
OPTIONS = SettingsTable()
SHELLCHECK = OPTIONS.add(
    "shellcheck", choice(*MODES), "auto", "run shellcheck on the scripts: auto (when "
    "installed), on (its absence is an error), off", option=("--shellcheck",),
    commands=("check", "run"))
SOURCES = OPTIONS.add(
    "sources", str, None, "the directory of source tarballs, patches and md5sums to verify "
    "(default: $LFS/sources, from --lfs)", option=("--sources",), commands=("check", "run"),
    metavar="DIR")
#: The name the record of passed scripts is registered under (``-p no:validation-passed``).
PASSED_RECORD = "validation-passed"
#: What ``run`` has shown (:mod:`.shown`), from the findings' marking to the session's end.
SHOWN: StashKey[ShownRecord] = StashKey()


@hookimpl
def lfsplug_addhooks(pluginmanager: PluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(OPTIONS)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    pm = config.pluginmanager
    # The state plugin records every pass in its database and answers the same question; with
    # it loaded, a second record of the same thing would only be written twice.
    if not pm.is_blocked(PASSED_RECORD) and not pm.has_plugin("state"):
        pm.register(PassedRecord(config), PASSED_RECORD)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    record = config.pluginmanager.get_plugin(PASSED_RECORD)
    if record is not None:
        config.pluginmanager.unregister(record)


@hookimpl
def lfsplug_validate_scripts(session: Session, scripts: list[Script]) -> list[Finding] | None:
    if not scripts:
        return None
    # imported here: commands that validate nothing (list, status...) do not pay for it
    from lfsplug_validation.validator import Validator

    return Validator(session).validate(scripts)


@hookimpl(trylast=True)
def lfsplug_validation_modifyfindings(session: Session, findings: list[Finding]) -> None:
    # run shows a warning once (new, or its script changed); check shows all, remembers nothing
    if session.config.command != "run":
        return
    from lfsplug_validation.shown import ShownRecord

    record = session.stash[SHOWN] = ShownRecord.load(session)
    record.mark(findings)


@hookimpl
def lfsplug_sessionfinish(session: Session) -> None:
    record = session.stash.get(SHOWN)
    if record is not None and session.plan is not None:  # run printed the findings
        record.remember(session.findings)


@hookimpl
def lfsplug_validate_host(config: Config) -> list[Finding] | None:
    from lfsplug_validation.configenv import check_config_env

    found = check_config_env(config)
    if config.get(SHELLCHECK) == "on" and shutil.which("shellcheck") is None:
        found.append(Finding("VAL001", Severity.ERROR,
                             "shellcheck is not installed, and --shellcheck=on asks for it", None,
                             None, "install shellcheck, or use --shellcheck=auto or off",
                             "validation"))
    return found or None
