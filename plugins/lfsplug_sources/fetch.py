"""Fetching files: a pool of threads, each downloading one file at a time with ``urllib``.

For each :class:`~lfsplug_sources.lists.Need` a worker:

1. keeps the file when it is there and matches its checksums (a copy that does not is fetched
   again);
2. copies it from the cache (``[sources] cache``, jhalfs's ``SRC_ARCHIVE``) when the cache holds
   a copy that matches;
3. downloads it from each of its URLs, then from each mirror (``MIRROR/NAME``), until one gives a
   file that matches: into ``NAME.part``, resumed with an HTTP ``Range`` request when a part is
   there (a server that ignores ``Range`` sends the whole file, which replaces the part); a
   connection error, a timeout, a truncated body, HTTP 408, 429 or 5xx is tried again after
   ``backoff``, ``2 x backoff``, ``4 x backoff``... seconds, ``retries`` times; another HTTP
   error (404) or a checksum mismatch moves on to the next URL;
4. renames the part to ``NAME`` and copies it into the cache.

A file that no URL gives is an :class:`Outcome` ``failed`` whose ``detail`` says, on one line,
what each URL answered. Its part stays, for the next fetch to resume.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from lfsplug import __version__, format_size
from lfsplug_sources.lists import Need, Sum

__all__ = ["Display", "Fetcher", "Outcome", "Policy", "StoppedError", "mismatch"]

CHUNK = 64 * 1024
#: HTTP statuses worth asking the same URL again for.
RETRY_STATUS = frozenset({408, 425, 429})
_RANGE = re.compile(r"^bytes (\d+)-\d+/(\d+|\*)$")


@dataclass(frozen=True)
class Policy:
    """How files are fetched (the ``[sources]`` settings)."""

    connections: int = 4
    retries: int = 3
    backoff: float = 1.0
    timeout: float = 30.0
    mirrors: tuple[str, ...] = ()
    cache: Path | None = None


@dataclass
class Outcome:
    """What became of one file: ``present``, ``cached``, ``fetched`` or ``failed``, and the
    words that say how (where from, or why not)."""

    need: Need
    status: str
    detail: str = ""


class Display(Protocol):
    """Where progress goes: called from the workers' threads."""

    def start(self, key: str, name: str, total: int | None, done: int) -> None: ...

    def advance(self, key: str, count: int) -> None: ...

    def finish(self, key: str) -> None: ...

    def line(self, text: str) -> None: ...


class StoppedError(Exception):
    """The fetch was interrupted."""


class _RetryError(Exception):
    """Worth asking the same URL again."""


class _NextUrlError(Exception):
    """Not to be had from this URL (HTTP 404, a wrong checksum): the next one."""


class _FatalError(Exception):
    """Not to be had at all (the file cannot be written)."""


def mismatch(path: Path, sums: Sequence[Sum]) -> str | None:
    """Why ``path`` does not match ``sums`` (one phrase), or None when it does."""
    if not sums:
        return None
    hashers = {s.algorithm: hashlib.new(s.algorithm) for s in sums}
    try:
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                for hasher in hashers.values():
                    hasher.update(block)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    for expected in sums:
        got = hashers[expected.algorithm].hexdigest()
        if got != expected.digest:
            return (f"{expected.algorithm} mismatch: {expected.where} says {expected.digest}, "
                    f"the file has {got}")
    return None


def _why(exc: BaseException, timeout: float) -> str:
    """An error of the network, in a few words."""
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return _why(reason, timeout)
        return str(reason)
    if isinstance(exc, TimeoutError):
        return f"timed out (no data for {timeout:g} s)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Fetcher:
    """Fetches needs with a :class:`Policy`, telling a :class:`Display`; ``stop`` ends it."""

    def __init__(self, policy: Policy, display: Display,
                 done: Callable[[Outcome], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        self.policy = policy
        self.display = display
        #: called with each outcome as it comes, from the worker's thread
        self.done = done
        self.stop = stop or threading.Event()

    def run(self, needs: Sequence[Need]) -> list[Outcome]:
        """Fetch every need, ``connections`` at a time; the outcomes in the needs' order."""
        if not needs:
            return []
        workers = max(1, min(self.policy.connections, len(needs)))
        with ThreadPoolExecutor(workers, thread_name_prefix="lfsplug-fetch") as pool:
            futures = [pool.submit(self._one, need) for need in needs]
            try:
                return [future.result() for future in futures]
            except BaseException:  # Ctrl-C: the workers stop at their next block
                self.stop.set()
                for future in futures:
                    future.cancel()
                raise

    def _one(self, need: Need) -> Outcome:
        outcome = self.fetch(need)
        if self.done is not None:
            self.done(outcome)
        return outcome

    def fetch(self, need: Need) -> Outcome:
        """One need, as the module docstring says."""
        known = self._present(need) or self._from_cache(need)
        if known is not None:
            return known
        urls = list(dict.fromkeys([*need.urls, *(f"{m.rstrip('/')}/{quote(need.name)}"
                                                 for m in self.policy.mirrors)]))
        if not urls:
            return Outcome(need, "failed", f"no URL: the wget-list does not list it and no "
                                           f"[sources] mirrors are set (needed by {need.why})")
        errors = []
        for url in urls:
            started = time.monotonic()
            try:
                size = self._download(need, url)
            except _NextUrlError as exc:
                errors.append(f"{url}: {exc}")
                continue
            except _FatalError as exc:
                return Outcome(need, "failed", str(exc))
            took = time.monotonic() - started
            self._to_cache(need)
            return Outcome(need, "fetched", f"{format_size(size)} in {took:.1f} s from {url}")
        return Outcome(need, "failed", "; ".join(errors))

    def _present(self, need: Need) -> Outcome | None:
        """``present`` when the file is there and matches; None when it must be fetched (a
        copy that does not match is removed first)."""
        if not need.path.is_file():
            return None
        bad = mismatch(need.path, need.sums)
        if bad is None:
            return Outcome(need, "present")
        self.display.line(f"{need.path}: {bad}: fetching it again")
        try:
            need.path.unlink()
        except OSError as exc:
            return Outcome(need, "failed", f"{bad}, and it cannot be removed: "
                                           f"{exc.strerror or exc}")
        return None

    # -- the cache ------------------------------------------------------------------------------

    def _from_cache(self, need: Need) -> Outcome | None:
        cache = self.policy.cache
        if cache is None:
            return None
        cached = cache / need.name
        if not cached.is_file() or _same(cached, need.path):
            return None
        bad = mismatch(cached, need.sums)
        if bad is not None:
            self.display.line(f"{cached}: {bad}: not used")
            return None
        temp = need.path.with_name(f".{need.name}.from-cache")
        try:
            need.directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, temp)
            os.replace(temp, need.path)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            return Outcome(need, "failed", f"cannot copy {cached} here: {exc.strerror or exc}")
        return Outcome(need, "cached", f"from the cache {cache}")

    def _to_cache(self, need: Need) -> None:
        cache = self.policy.cache
        if cache is None or _same(cache / need.name, need.path):
            return
        temp = cache / f".{need.name}.{os.getpid()}.{threading.get_ident()}"
        try:
            cache.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(need.path, temp)
            os.replace(temp, cache / need.name)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            self.display.line(f"{need.name}: not added to the cache {cache}: "
                              f"{exc.strerror or exc}")

    # -- downloading ----------------------------------------------------------------------------

    def _download(self, need: Need, url: str) -> int:
        """Download ``url`` to ``NAME.part``, retrying, check it and rename it: its size."""
        part = need.path.with_name(need.name + ".part")
        afresh = False  # a resumed part that does not match: once more from the start
        while True:
            resumed = self._attempts(need, url, part)
            bad = mismatch(part, need.sums)
            if bad is None:
                break
            part.unlink(missing_ok=True)
            if resumed and not afresh:
                afresh = True
                self.display.line(f"{need.name}: the resumed download {bad}: downloading it "
                                  f"again from the start")
                continue
            raise _NextUrlError(bad)
        size = part.stat().st_size
        os.replace(part, need.path)
        return size

    def _attempts(self, need: Need, url: str, part: Path) -> bool:
        """Download ``url`` into ``part`` with retries; whether it resumed a part."""
        tries = self.policy.retries + 1
        for attempt in range(1, tries + 1):
            try:
                return self._get(need, url, part)
            except _RetryError as exc:
                if attempt == tries:
                    raise _NextUrlError(f"{exc} ({tries} attempts)") from None
                delay = self.policy.backoff * 2 ** (attempt - 1)
                self.display.line(f"{need.name}: {exc} from {url}; trying again in {delay:g} s "
                                  f"(attempt {attempt + 1} of {tries})")
                if self.stop.wait(delay):
                    raise StoppedError from None
        raise AssertionError("unreachable")

    def _open(self, url: str, have: int) -> http.client.HTTPResponse:
        headers = {"User-Agent": f"lfsplug/{__version__}"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            response: http.client.HTTPResponse = urlopen(Request(url, headers=headers),
                                                         timeout=self.policy.timeout)
        except HTTPError as exc:
            exc.close()
            reason = f"HTTP {exc.code} {exc.reason}".rstrip()
            if exc.code in RETRY_STATUS or exc.code >= 500:
                raise _RetryError(reason) from None
            if exc.code == 416 and have:  # the part is no prefix of the file: start again
                raise _RestartError from None
            raise _NextUrlError(reason) from None
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(getattr(exc, "reason", None), FileNotFoundError):  # file://: no copy
                raise _NextUrlError(_why(exc, self.policy.timeout)) from None
            raise _RetryError(_why(exc, self.policy.timeout)) from None
        return response

    def _get(self, need: Need, url: str, part: Path) -> bool:
        """One attempt: ``url`` into ``part``, resuming it; whether it resumed."""
        have = part.stat().st_size if part.is_file() else 0
        try:
            response = self._open(url, have)
        except _RestartError:
            part.unlink()
            have, response = 0, self._open(url, 0)
        with response:
            start = 0
            if have and (getattr(response, "status", None) or 200) == 206:
                found = _RANGE.match(response.headers.get("Content-Range", "").strip())
                if not found or int(found[1]) != have:  # a part of the file, not the rest
                    part.unlink()
                    return self._get(need, url, part)
                start = have
            if have and not start:
                self.display.line(f"{need.name}: {url} does not resume (it ignores HTTP "
                                  f"Range): downloading it from the start")
            length = response.headers.get("Content-Length", "")
            total = start + int(length) if length.strip().isdigit() else None
            done = self._copy(need, response, part, start, total)
        if total is not None and done < total:
            raise _RetryError(f"truncated: the connection closed after {done} of {total} bytes")
        return start > 0

    def _copy(self, need: Need, response: http.client.HTTPResponse, part: Path, start: int,
              total: int | None) -> int:
        """The body into ``part`` (appended from ``start``); the bytes it then holds."""
        done = start
        self.display.start(str(part), need.name, total, done)
        try:
            need.directory.mkdir(parents=True, exist_ok=True)
            out = part.open("ab" if start else "wb")
        except OSError as exc:
            self.display.finish(str(part))
            raise _FatalError(f"cannot write {part}: {exc.strerror or exc}") from None
        with out:
            try:
                while True:
                    if self.stop.is_set():
                        raise StoppedError
                    try:
                        block = response.read1(CHUNK)  # what came, not a full block
                    except (OSError, http.client.HTTPException) as exc:
                        raise _RetryError(f"{_why(exc, self.policy.timeout)} after {done} bytes"
                                     + (f" of {total}" if total is not None else "")) from None
                    if not block:
                        return done
                    try:
                        out.write(block)
                    except OSError as exc:
                        raise _FatalError(f"cannot write {part}: {exc.strerror or exc}") from None
                    done += len(block)
                    self.display.advance(str(part), len(block))
            finally:
                self.display.finish(str(part))


class _RestartError(Exception):
    """The server will not resume this part (HTTP 416): start from nothing."""


def _same(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except OSError:
        return False
