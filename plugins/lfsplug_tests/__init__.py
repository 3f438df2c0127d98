"""tests: package test suites: the test phase recognised, the summaries parsed, known failures,
trends across runs.

- :mod:`.parsers` reads what real suites print: automake (parallel and serial), DejaGnu (gcc,
  binutils), glibc, meson, Perl's harness, Python's unittest, TAP; and counts their per-test
  lines as they stream (:class:`~.parsers.LiveCounter`).
- :mod:`.known`: the failures the LFS book says are harmless (a data file read from the book's
  chapter 8 pages), the user's ``[tests.known_failures]``, and :mod:`.hooks`'
  ``lfsplug_known_test_failures`` for other plugins (the book plugin answers it).
- :mod:`.results` adds a script's suites up, sorts its failures into expected and not, and sets
  them against the last run that tested it.
- :mod:`.plugin`: after each script with a test phase (``make check``... in its commands, or
  ``tests=`` in its header) its log is read; the results go with its result (``status --json``'s
  ``tests``, every report, JUnit test cases), the suite's lines into ``NAME.tests.log``; a
  failure no one expects warns, or fails the script where ``[tests.policies]`` says so. While a
  suite runs, its counts so far are shown beside the script on the dashboard.

docs/tests.md is the user's page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import SettingsTable, choice, hookimpl, list_of, string, table_of

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser, PluginManager, Script
    from lfsplug_tests.known import KnownFailure

__all__ = ["PLUGIN_NAME"]

#: The name the per-command :class:`~.plugin.TestSuites` object is registered under.
PLUGIN_NAME = "test-suites"

TABLE = SettingsTable("tests")
DETECT = TABLE.add("detect", choice("auto", "all", "off"), "auto",
                   "which logs are read for test results: auto (the scripts whose commands "
                   "run a test suite, or whose header says tests=), all, or off")
POLICY = TABLE.add("policy", choice("warn", "fail"), "warn",
                   "what a test failure that is not known does: warn (said in the summary and "
                   "the reports; the script passes) or fail the script")
POLICIES = TABLE.add("policies", table_of(choice("warn", "fail", "off"),
                                          key=lambda k: k.strip().lower(), entry="PACKAGE"), {},
                     "the policy per package (warn, fail, or off: its results are not read)")
KNOWN = TABLE.add("known_failures", table_of(list_of(string(empty=False)),
                                             key=lambda k: k.strip().lower(), entry="PACKAGE"),
                  {}, "tests known to fail, per package: names or patterns as the suite "
                  "prints them (package = [\"test name\", ...])")
BOOK = TABLE.add("book_known_failures", bool, True,
                 "also expect the failures the LFS book lists on its chapter 8 pages, for the "
                 "packages of the same name")


@hookimpl
def lfsplug_addhooks(pluginmanager: PluginManager) -> None:
    from lfsplug_tests import hooks

    pluginmanager.add_hookspecs(hooks)


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(TABLE)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command != "run" or config.get(DETECT) == "off":
        return
    from lfsplug_tests.plugin import TestSuites

    config.pluginmanager.register(TestSuites(config), PLUGIN_NAME)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if plugin is not None:
        config.pluginmanager.unregister(plugin, PLUGIN_NAME)


@hookimpl(optionalhook=True)
def lfsplug_known_test_failures(script: Script, config: Config) -> list[KnownFailure] | None:
    """The user's ``[tests.known_failures]``; the book's, for a script written from one of its
    pages (``page=chapter08/glibc``, as the book plugin writes it) of the same chapter and
    package, or (``[tests] book_known_failures``) for any package of the same name."""
    from lfsplug_tests.known import book_known_failures, from_config

    package = script.package.lower()
    found = list(from_config(config.get(KNOWN)).get(package, []))
    page = script.meta.get("page", "").strip()
    book = book_known_failures().get(package, [])
    if page:
        chapter = page.split("/", 1)[0]
        found += [k for k in book if k.page.split("/", 1)[0] == chapter]
    elif config.get(BOOK):
        found += book
    return found or None
