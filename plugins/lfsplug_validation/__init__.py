"""Validation: every script must at least parse (``bash -n``), checked in parallel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from lfsplug import Finding, Script, Severity, hookimpl

if TYPE_CHECKING:
    from lfsplug.session import Session

_LINE = re.compile(r"line (\d+): (.*)")


def bash_syntax(bash: str, script: Script) -> list[Finding]:
    """Run ``bash -n`` on one script; a finding for the first error bash reports."""
    try:
        proc = subprocess.run(
            [bash, "-n", str(script.path)], capture_output=True, check=False, timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return [Finding("SYN002", Severity.ERROR, "bash -n did not finish within 60 s",
                        str(script.path))]
    if proc.returncode == 0:
        return []
    text = proc.stderr.decode("utf-8", errors="replace")
    prefix = f"{script.path}: "
    line, messages = None, []
    for raw in text.splitlines():
        rest = raw[len(prefix):] if raw.startswith(prefix) else raw
        match = _LINE.match(rest)
        if match and line is None:
            line = int(match.group(1))
            rest = match.group(2)
        messages.append(rest.strip())
    message = "; ".join(m for m in messages if m) or f"bash -n exited {proc.returncode}"
    return [Finding("SYN001", Severity.ERROR, f"bash syntax error: {message}",
                    str(script.path), line, "bash -n FILE shows it")]


@hookimpl
def lfsplug_validate_scripts(session: Session, scripts: list[Script]) -> list[Finding] | None:
    if not scripts:
        return None
    bash = shutil.which("bash")
    if bash is None:
        return [Finding("SYN000", Severity.ERROR, "bash not found on PATH: scripts cannot be "
                        "checked or run", None, None, "install bash")]
    workers = min(32, (os.cpu_count() or 1) * 2, len(scripts))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda s: bash_syntax(bash, s), scripts)
        return [finding for found in results for finding in found]
