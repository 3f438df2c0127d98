"""``lfsplug toolchain [--target T]... [--json]``: the host and the toolchains for each target."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from lfsplug import ExitCode, Severity
from lfsplug_cross import TARGET
from lfsplug_cross.hostinfo import detect_host
from lfsplug_cross.plugin import Cross
from lfsplug_cross.triplets import book_triplet, parse_target

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["cmd_toolchain"]


def _one(config: Config, target: str, explicit: bool) -> dict[str, Any]:
    cross = Cross(config)
    cross.target = parse_target(target)
    cross.arch = cross.target.info
    cross.explicit = explicit
    chains = cross.toolchains()
    checked = []
    for number, chain in enumerate(chains):
        entry = chain.to_dict()
        if number == 0 and not any(f.severity is Severity.ERROR for f in chain.findings):
            entry["checks"] = [f.to_dict() for f in cross.sanity(chain)]
        checked.append(entry)
    arch = cross.arch
    return {
        "target": target,
        "arch": arch.name if arch else cross.target.arch,
        "machine": arch.describe if arch else None,
        "loader": arch.loader if arch else None,
        "selected": chains[0].gcc if chains else None,
        "toolchains": checked,
    }


def cmd_toolchain(config: Config) -> int:
    host = detect_host()
    given = config.get(TARGET)
    targets = given or [book_triplet()]
    results = [_one(config, t, bool(given)) for t in targets]
    problems = sum(1 for r in results if not r["toolchains"]) + sum(
        1 for r in results for c in r["toolchains"][:1]
        for f in [*c["findings"], *c.get("checks", [])] if f["severity"] == "error")
    if config.getoption("json"):
        document: dict[str, Any] = {"host": host.triplet, "platform": host.to_dict()}
        if len(results) == 1:
            document.update(results[0])
        else:
            document["targets"] = results
            document["target"] = results[0]["target"]
            document["toolchains"] = results[0]["toolchains"]
        click.echo(json.dumps(document, indent=2))
    else:
        _show(host.describe(), host.triplet_from, results)
    return ExitCode.INVALID_TREE if problems and given else ExitCode.OK


def _show(host: str, source: str, results: list[dict[str, Any]]) -> None:
    click.echo(f"host: {host} (triplet from {source})")
    for result in results:
        machine = f" ({result['machine']}, {result['loader']})" if result["machine"] else ""
        click.echo(f"target: {result['target']}{machine}")
        if not result["toolchains"]:
            click.echo("  no toolchain found: looked in $LFS/tools/bin, PATH and /usr/bin")
        for number, chain in enumerate(result["toolchains"]):
            mark = "*" if number == 0 else " "
            click.echo(f" {mark}{chain['triplet']} [{chain['where']}] gcc {chain['version']}, "
                       f"sysroot {chain['sysroot']}")
            for name, tool in chain["tools"].items():
                shown = f"{tool['path']}  {tool['version'] or '?'}" if tool["path"] else "MISSING"
                click.echo(f"     {name:<8} {shown}")
            for finding in [*chain["findings"], *chain.get("checks", [])]:
                click.echo(f"     {finding['severity']} {finding['code']}: {finding['message']}")
            if "checks" in chain and not any(f["severity"] == "error" for f in chain["checks"]):
                click.echo("     sanity checks: passed")
