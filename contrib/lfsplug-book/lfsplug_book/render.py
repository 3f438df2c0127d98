"""A page as a build script: its ``# lfsplug:`` header, then its commands as jhalfs writes them,
with lfsplug's own choices where they differ (docs/book.md says which, page by page).

* The package is unpacked before the script runs and its tree removed after (``unpack=``): the
  script is the book's commands, from the package's directory.
* ``make`` in an install command runs with ``-j1``, as jhalfs's (parallel installs race).
* Test commands (``remap="test"``) run as ``--book-tests`` says (``none``; ``critical``: gcc,
  glibc, gmp, mpfr and binutils of chapter 8; ``all``); one that is off is there, commented out.
  One that runs keeps going (``make -k``, as jhalfs's) and a failure is never hidden: the
  script's log says ``lfsplug: test suite failed (exit N): COMMAND``, and the build goes on.
* A ``replaceable`` takes its value from ``[book.values]`` (by name, by its text, or by
  ``PAGE:text``); a placeholder left without one (``<xxx>``, ``[alias]``) stays as the book
  wrote it under a ``# This block must be edited`` line: a validation error until it is set.
* The kernel's ``make mrproper`` is followed by copying ``[book] kernel_config`` to ``.config``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import etree

    from lfsplug_book.pages import Page

__all__ = ["CRITICAL", "EDIT_MARK", "Choices", "placeholder_key", "render", "tests_run"]

#: The packages whose test suites ``--book-tests critical`` runs (the book calls them critical).
CRITICAL = ("gcc", "glibc", "gmp", "mpfr", "binutils")
#: The line above a command that cannot run as the book wrote it (as the book's own
#: ``make dump-commands`` marks one); the validation plugin refuses any script that has it.
EDIT_MARK = "# This block must be edited"
#: A replaceable whose text is one of these shapes must be given a value: ``<xxx>``, ``[alias]``.
_PLACEHOLDER = re.compile(r"^\s*(<[^<>]+>.*|\[[^\]]+\].*)$", re.DOTALL)
_MAKE = re.compile(r"(?<![\w.-])make(?![\w.-])")
_HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")


@dataclass(frozen=True)
class Choices:
    """What the user chose: test suites, stripping, values, the kernel's configuration."""

    tests: str = "critical"  # none, critical, all
    strip: bool = False
    values: Mapping[str, str] = field(default_factory=dict)
    kernel_config: str | None = None


def placeholder_key(page: Page, text: str) -> str | None:
    """The name of the ``[book.values]`` entry a replaceable of ``page`` takes, if it has one."""
    if page.filename == "glibc":
        return "timezone"
    if page.filename == "groff":
        return "paper_size"
    if page.filename == "fstab":
        return {"<xxx>": "root_device", "<yyy>": "swap_device", "<fff>": "root_fstype"}.get(text)
    if page.filename == "network" and text.strip() in _NETWORK:
        return _NETWORK[text.strip()]
    rules = (("<ll>_<CC>", "locale"), ("Domain", "domain"), ("primary", "nameserver1"),
             ("secondary", "nameserver2"), ("nameserver", "nameserver1"),
             ("192.168.", "ip"), ("network-device-name", "interface"), ("HOSTNAME", "hostname"),
             ("<lfs>", "hostname"), ("FQDN", "fqdn"), ("alias", "aliases"))
    return next((key for needle, key in rules if needle in text), None)


#: The values of the System V network page's example (each a replaceable) by name.
_NETWORK = {"eth0": "interface", "192.168.1.2": "ip", "192.168.1.1": "gateway", "24": "prefix",
            "192.168.1.255": "broadcast", "ipv4-static": "service", "yes": "onboot"}
#: The book's example values that are not marked as replaceables, in its configuration pages:
#: (page, the book's text, the text with [book.values] names in braces); the first whose names
#: are all set replaces it (else the book's example stays, as the book wrote it).
EXAMPLES = (
    ("network", "Address=192.168.0.2/24", "Address={ip}/{prefix}"),
    ("network", "Gateway=192.168.0.1", "Gateway={gateway}"),
    ("network", "DNS=192.168.0.1", "DNS={nameserver1}\nDNS={nameserver2}"),
    ("network", "DNS=192.168.0.1", "DNS={nameserver1}"),
    ("usage", 'KEYMAP="bg_bds-utf8"', 'KEYMAP="{keymap}"'),
    ("usage", 'FONT="LatArCyrHeb-16"', 'FONT="{font}"\nLOGLEVEL="{log_level}"'),
    ("usage", 'FONT="LatArCyrHeb-16"', 'FONT="{font}"'),
    ("usage", "UTC=1", "UTC={utc}"),
    ("console", "KEYMAP=de-latin1", "KEYMAP={keymap}"),
    ("console", "FONT=Lat2-Terminus16", "FONT={font}"),
    ("clock", "\nLOCAL", "\n{hardware_clock}"),
)


def _examples(page: Page, text: str, values: Mapping[str, str]) -> str:
    """``text`` with the book's example values of ``page`` replaced by the user's."""
    for where, example, template in EXAMPLES:
        if where == page.filename and example in text:
            names = re.findall(r"\{(\w+)\}", template)
            if all(name in values for name in names):
                text = text.replace(example, template.format(**{n: values[n] for n in names}))
    return text


def _value(page: Page, text: str, values: Mapping[str, str]) -> str | None:
    for key in (f"{page.filename}:{text}", text, placeholder_key(page, text)):
        if key is not None and key in values:
            return values[key]
    key = placeholder_key(page, text)
    if key == "fqdn" and "hostname" in values and "domain" in values:
        return f"{values['hostname']}.{values['domain']}"
    if key == "aliases":
        return ""  # optional: none
    return None


def _text(element: etree._Element, page: Page, values: Mapping[str, str],
          missing: list[str]) -> str:
    """The command's text, each replaceable given its value where it has one."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "replaceable":
            shown = "".join(child.itertext())
            value = _value(page, shown, values)
            if value is None and _PLACEHOLDER.match(shown):
                missing.append(shown)
            parts.append(shown if value is None else value)
        elif isinstance(child.tag, str):
            parts.append(_text(child, page, values, missing))
        parts.append(child.tail or "")
    return "".join(parts)


def tests_run(page: Page, tests: str) -> bool:
    """Whether the page's test commands run for ``--book-tests`` ``tests``."""
    if tests == "all":
        return True
    return tests == "critical" and page.phase == "system" and page.filename in CRITICAL


def _keep_going(line: str) -> str:
    """``make`` made ``make -k`` (all the tests run, and a failure still counts)."""
    if re.search(r"(?<![\w.-])make\s+-k\b", line):
        return line
    return _MAKE.sub("make -k", line, count=1)


def _test(text: str, run: bool) -> list[str]:
    lines = text.split("\n")
    delimiter: str | None = None
    kept = []
    for line in lines:  # no -k inside a here-document's text
        kept.append(line if delimiter is not None else _keep_going(line))
        if delimiter is not None and line.strip() == delimiter:
            delimiter = None
        elif delimiter is None:
            opened = _HEREDOC.search(line)
            delimiter = opened.group(1) if opened else None
    if not run:
        return [f"# {line}" for line in kept]
    said = lines[0].strip()[:120].replace("'", "'\\''")
    # grep's exit 1 says it found nothing (no FAIL line): no failure
    tolerated = " 1" if lines[0].lstrip().startswith("grep ") else ""
    return ["{ " + kept[0], *kept[1:], f"}} || lfsplug_test_failed $? '{said}'{tolerated}"]


def _install(text: str) -> str:
    """The first ``make`` of an install command made ``make -j1``."""
    return re.sub(r"(?<![\w.-])make ", "make -j1 ", text, count=1)


def _commands(page: Page, choices: Choices) -> tuple[list[str], list[str], bool]:
    """The script's command lines, the placeholders left unset and whether a test runs."""
    lines: list[str] = []
    missing_all: list[str] = []
    tested = False
    for block in page.blocks:
        missing: list[str] = []
        text = _examples(page, _text(block.element, page, choices.values, missing),
                         choices.values)
        if block.remap == "locale-tests" and choices.tests != "all":
            continue
        if block.remap == "test":
            run = tests_run(page, choices.tests)
            tested = tested or run
            body = _test(text, run)
        elif text.strip() == "make mrproper" and page.filename == "kernel":
            if choices.kernel_config:
                body = [text, f"cp -v {shlex.quote(choices.kernel_config)} .config"]
            else:
                missing.append("kernel_config")
                body = [text, "cp -v <kernel_config> .config"]
        elif block.remap == "install" and page.phase != "host":
            body = [_install(text)]
        else:
            body = [text]
        if missing:
            wanted = ", ".join(dict.fromkeys(_key_said(page, m) for m in missing))
            lines.append(f"{EDIT_MARK}: set {wanted}")
            missing_all.extend(missing)
        lines.extend(body)
    return lines, missing_all, tested


def _key_said(page: Page, text: str) -> str:
    if text == "kernel_config":
        return "[book] kernel_config (the kernel's .config)"
    key = placeholder_key(page, text)
    name = key if key is not None else f'"{text}"'
    return f"[book.values] {name} (for {text})" if key else f"[book.values] {name}"


def _header(page: Page, book_file: str, profile: str) -> list[str]:
    """``# lfsplug:`` metadata, then the page and the book's figures in words (the checksums of
    the tarball and patches are in the book's md5sums, which ``lfsplug sources fetch`` puts
    beside them, where integrity validation reads them)."""
    words = [f"phase={page.phase}"]
    if page.version:
        words.append(f"version={page.version}")
    if page.installation and page.tarball:
        words.append(f"unpack={page.tarball}")
    if page.sbu is not None:
        words.append(f"sbu={page.sbu:g}")
    if page.user:
        words.append(f"user={page.user}")
    figures = [f"{page.sbu:g} SBU" if page.sbu is not None else "", page.disk or ""]
    said = "; ".join(f for f in figures if f)
    lines = ["# lfsplug: " + " ".join(words),
             f"# From the LFS book ({profile}): {book_file}, \"{page.title}\""
             + (f": {said}" if said else "")]
    if page.installation and page.tarball and page.md5:
        lines.append(f"# {page.tarball}: md5 {page.md5}")
    lines.extend(f"# {m.name}: md5 {m.md5}" for m in page.patches if m.md5)
    return lines


def render(page: Page, choices: Choices, profile: str) -> tuple[str, list[str]]:
    """The script of ``page`` and the placeholders it leaves unset."""
    commands, missing, tested = _commands(page, choices)
    head = ["#!/bin/bash", *_header(page, f"{page.dirname}/{page.filename}", profile),
            "# the book's commands as it wrote them: shellcheck's advice is for its editors",
            "# shellcheck disable=all", "set +h"]
    if "stripping" not in page.filename:  # as jhalfs: stripping goes on past a failure
        head.append("set -e")
    if tested:
        head += ["# a failed test suite is said in the log, and the build goes on",
                 'lfsplug_test_failed() { [ "$1" = "${3:-}" ] || '
                 'echo "lfsplug: test suite failed (exit $1): $2" >&2; }']
    return "\n".join([*head, "", *commands, ""]), missing

