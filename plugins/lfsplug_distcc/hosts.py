"""distcc host specifications: parse ``[distcc] hosts``, give DISTCC_HOSTS and the slot count.

The grammar is distcc(1)'s HOST SPECIFICATIONS (distcc 3.4)::

    HOSTSPEC          = LOCAL_HOST | SSH_HOST | TCP_HOST | OLDSTYLE_TCP_HOST
    LOCAL_HOST        = localhost[/LIMIT]
    SSH_HOST          = [USER]@HOSTID[/LIMIT][:COMMAND][OPTIONS]
    TCP_HOST          = HOSTID[:PORT][/LIMIT][OPTIONS]
    OLDSTYLE_TCP_HOST = HOSTID[/LIMIT][:PORT][OPTIONS]
    HOSTID            = HOSTNAME | IPV4 | [IPV6]
    OPTIONS           = ,OPTION[OPTIONS]
    OPTION            = lzo | cpp | auth[=AUTH_NAME]

Defaults from the man page: port 3632, a limit of four jobs per host and two for localhost.
Where distcc's own parser silently ignores trailing junk (``h/3x``, ``h:``), this one refuses
it, so that a typo is reported before a build rather than compiled around.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_PORT", "Host", "hosts_value", "parse_host", "parse_hosts", "slots"]

DEFAULT_PORT = 3632
DEFAULT_SLOTS = 4  # distcc(1): "The limit defaults to four per host (two for localhost)"
LOCALHOST_SLOTS = 2

HostKind = Literal["tcp", "ssh", "localhost"]

_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_USER = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")
_DIGITS = re.compile(r"[0-9]+")
_GLOBAL_WORDS = ("--randomize", "--localslots", "--localslots_cpp")


@dataclass(frozen=True)
class Host:
    """One distcc volunteer, as written in the hosts list and as distcc understands it."""

    spec: str
    kind: HostKind
    address: str
    port: int | None = None  # TCP hosts only
    slots: int = DEFAULT_SLOTS
    options: tuple[str, ...] = ()  # "lzo", "cpp", "auth" or "auth=NAME", "down"
    user: str | None = None  # ssh hosts only
    command: str | None = None  # ssh hosts only: the remote distccd path

    @property
    def name(self) -> str:
        """The host as a log or a report names it: ``addr:port``, ``[v6]:port``, ``user@addr``,
        ``localhost``."""
        if self.kind == "tcp":
            address = f"[{self.address}]" if ":" in self.address else self.address
            return f"{address}:{self.port}"
        if self.kind == "ssh":
            return f"{self.user}@{self.address}" if self.user else f"@{self.address}"
        return "localhost"

    @property
    def lzo(self) -> bool:
        return "lzo" in self.options

    @property
    def pump(self) -> bool:
        """Preprocessing on the server (``,cpp``): the build must run under distcc-pump."""
        return "cpp" in self.options


class _SpecError(ValueError):
    """A spec distcc would not take; the message says why, without the item prefix."""


def parse_hosts(specs: Sequence[str]) -> list[Host]:
    """Parse the configured hosts, one distcc host specification per item.

    Raises ValueError naming the first bad item: ``hosts item 2 'x:y': bad port 'y' ...``.
    """
    if isinstance(specs, str):
        raise ValueError("hosts: a list of host specifications, not one string")
    hosts: list[Host] = []
    for number, spec in enumerate(specs, start=1):
        try:
            hosts.append(parse_host(spec))
        except ValueError as exc:
            raise ValueError(f"hosts item {number} {spec!r}: {exc}") from None
    return hosts


def parse_host(spec: str) -> Host:
    """Parse one host specification; ValueError says what is wrong with it."""
    if not isinstance(spec, str):
        raise _SpecError(f"a host specification is a string, not {type(spec).__name__}")
    if not spec:
        raise _SpecError("empty host specification")
    if spec != spec.strip() or any(c.isspace() or c == "#" for c in spec):
        raise _SpecError("one host per item: no spaces and no '#' comments")
    _refuse_words(spec)
    if spec == "localhost" or spec.startswith("localhost/"):
        return _localhost(spec)
    if "@" in spec:
        return _ssh(spec)
    return _tcp(spec)


def hosts_value(hosts: Sequence[Host], *, randomize: bool = False) -> str:
    """The DISTCC_HOSTS value for these hosts, in order (distcc prefers the first ones)."""
    words = ["--randomize"] if randomize else []
    return " ".join([*words, *(host.spec for host in hosts)])


def slots(hosts: Sequence[Host]) -> int:
    """How many jobs distcc may run at once on these hosts: the sum of their limits (a make -j)."""
    return sum(host.slots for host in hosts if "down" not in host.options)


def _refuse_words(spec: str) -> None:
    if spec == "+zeroconf":
        raise _SpecError("'+zeroconf' discovers hosts at build time, so they cannot be checked "
                       "before it: list the hosts themselves")
    for word in _GLOBAL_WORDS:
        if spec == word or spec.startswith(word + "="):
            raise _SpecError(f"{word!r} is a distcc global option, not a host"
                           + (": set randomize instead" if word == "--randomize" else
                              ": not supported in the hosts list"))
    if spec.startswith(("-", "+")):
        raise _SpecError("not a host: distcc knows no such word")


def _localhost(spec: str) -> Host:
    rest = spec[len("localhost"):]
    limit, rest = _limit(rest, LOCALHOST_SLOTS)
    if rest:
        raise _SpecError(f"unexpected {rest!r} after localhost[/LIMIT]: localhost takes no port "
                       "or options (to use a daemon on this machine, give its IP address)")
    return Host(spec=spec, kind="localhost", address="localhost", slots=limit)


def _ssh(spec: str) -> Host:
    user, _, rest = spec.partition("@")
    if user and not _USER.fullmatch(user):
        raise _SpecError(f"bad user name {user!r}")
    if rest.startswith("["):
        raise _SpecError("distcc takes no [IPv6] address for an ssh host: use a host name")
    address, rest = _take(rest, "/:,")
    if not address:
        raise _SpecError("a host name is required after '@'")
    _check_hostname(address)
    limit, rest = _limit(rest, DEFAULT_SLOTS)
    command = None
    if rest.startswith(":"):
        command, rest = _take(rest[1:], ",")
        if not command:
            raise _SpecError("empty ssh command after ':'")
    options = _options(rest)
    return Host(spec=spec, kind="ssh", address=address, slots=limit, options=options,
                user=user or None, command=command)


def _tcp(spec: str) -> Host:
    rest = spec
    if rest.startswith("["):
        address, sep, rest = rest[1:].partition("]")
        if not sep:
            raise _SpecError("an IPv6 address needs its closing ']'")
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise _SpecError(f"bad IPv6 address {address!r}") from None
    else:
        address, rest = _take(rest, "/:,")
        if not address:
            raise _SpecError("a host name is required")
        _check_hostname(address)
    had_limit = rest.startswith("/")  # the old style: HOSTID/LIMIT:PORT
    limit, rest = _limit(rest, DEFAULT_SLOTS)
    port = DEFAULT_PORT
    if rest.startswith(":"):
        text, rest = _take(rest[1:], "/,")
        if ":" in text:
            written = spec.split("/", maxsplit=1)[0]
            raise _SpecError(f"an IPv6 address goes in brackets: [{written}]")
        port = _port(text)
        if not had_limit:
            limit, rest = _limit(rest, DEFAULT_SLOTS)
    options = _options(rest)
    return Host(spec=spec, kind="tcp", address=address, port=port, slots=limit, options=options)


def _take(text: str, stops: str) -> tuple[str, str]:
    """Split text at the first of the stop characters."""
    for index, char in enumerate(text):
        if char in stops:
            return text[:index], text[index:]
    return text, ""


def _limit(rest: str, default: int) -> tuple[int, str]:
    if not rest.startswith("/"):
        return default, rest
    digits, tail = _take(rest[1:], ":,")
    if not _DIGITS.fullmatch(digits) or int(digits) == 0:
        raise _SpecError(f"bad limit '/{digits}': a job count of 1 or more")
    return int(digits), tail


def _port(text: str) -> int:
    if not _DIGITS.fullmatch(text) or not 0 < int(text) < 65536:
        raise _SpecError(f"bad port {text!r}: a number from 1 to 65535")
    return int(text)


def _options(rest: str) -> tuple[str, ...]:
    if not rest:
        return ()
    if not rest.startswith(","):
        raise _SpecError(f"unexpected {rest!r}: expected ,OPTION (lzo, cpp, auth)")
    options = tuple(rest[1:].split(","))
    for option in options:
        if option == "zstd":
            raise _SpecError("',zstd' is newer than distcc 3.4: use ,lzo")
        if option not in ("lzo", "cpp", "auth", "down") and not (
                option.startswith("auth=") and _HOSTNAME.fullmatch(option[5:])):
            raise _SpecError(f"unknown option {option!r}: distcc takes lzo, cpp, auth[=NAME]")
    if "cpp" in options and "lzo" not in options:
        raise _SpecError("pump mode (',cpp') requires compression (',lzo')")
    return options


def _check_hostname(address: str) -> None:
    if not _HOSTNAME.fullmatch(address):
        raise _SpecError(f"bad host name {address!r}")
