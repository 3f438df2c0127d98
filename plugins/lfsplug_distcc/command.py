"""``lfsplug hosts [--json]``: each helper with its state, slots and compiler versions (asked
now, with a real compile), and the jobs it ran in the last build (from the state)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from lfsplug import ExitCode
from lfsplug_distcc import HOSTS, TIMEOUT

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["cmd_hosts", "last_build_jobs"]


def last_build_jobs(config: Config) -> tuple[int | None, dict[str, dict[str, int]]]:
    """The last run's number, and per helper the compiles it ran and failed in it (``here``:
    this machine's)."""
    service = config.hook.lfsplug_state_service(config=config)
    run = service.current_run() if service is not None else None
    if service is None:
        return None, {}
    try:
        stored = run if run is not None else service.run()
    except LookupError:
        return None, {}
    totals: dict[str, dict[str, int]] = {}
    for result in service.results(stored.id):
        jobs = (result.resources or {}).get("distcc")
        if not isinstance(jobs, dict):
            continue
        for host, count in (jobs.get("remote") or {}).items():
            totals.setdefault(host, {"jobs": 0, "failed": 0})["jobs"] += int(count)
        for host, count in (jobs.get("failed") or {}).items():
            totals.setdefault(host, {"jobs": 0, "failed": 0})["failed"] += int(count)
        here = totals.setdefault("here", {"jobs": 0, "failed": 0})
        here["jobs"] += int(jobs.get("local", 0) or 0)
    return stored.id, totals


def cmd_hosts(config: Config) -> int:
    from lfsplug_distcc.hosts import parse_hosts
    from lfsplug_distcc.plugin import Distcc
    from lfsplug_distcc.probe import local_version, probe_hosts

    try:
        hosts = parse_hosts(config.get(HOSTS))
    except ValueError as exc:
        raise config.error(HOSTS, str(exc)) from None
    if not hosts:
        click.echo("lfsplug: no distcc helpers configured ([distcc] hosts)", err=True)
        return ExitCode.OK
    plugin = Distcc(config)
    compilers = plugin.compilers()
    remote = [h for h in hosts if h.kind != "localhost"]
    probes = {p.host.spec: p for p in probe_hosts(
        remote, compilers, timeout=config.get(TIMEOUT), workdir=plugin.folder / "probe")}
    local = {c: local_version(c) for c in compilers}
    run_id, jobs = last_build_jobs(config)
    rows: list[dict[str, Any]] = []
    for host in hosts:
        probe = probes.get(host.spec)
        state = ("local" if probe is None else "up" if probe.ok
                 else "no answer" if probe.reachable else "unreachable"
                 if probe.reachable is False else "not probed")
        rows.append({
            "host": host.name, "spec": host.spec, "kind": host.kind, "slots": host.slots,
            "state": state, "error": probe.error if probe else None,
            "compilers": dict(probe.versions) if probe else dict(local),
            "missing": list(probe.missing) if probe else [],
            "same_as_here": (all(v == local.get(c) for c, v in probe.versions.items() if v)
                             if probe else True),
            "last_build": jobs.get("here" if host.kind == "localhost" else host.name,
                                   {"jobs": 0, "failed": 0}),
        })
    if config.getoption("json"):
        click.echo(json.dumps({"engine": plugin.engine, "run": run_id, "local": local,
                               "hosts": rows}, indent=2))
    else:
        for row in rows:
            versions = ", ".join(f"{c.rsplit('/', 1)[-1]} {v.split(') ')[-1] if v else '?'}"
                                 for c, v in row["compilers"].items()) or "-"
            built = row["last_build"]
            click.echo(f"{row['host']:<24} {row['state']:<12} {row['slots']:>3} slots  "
                       f"{versions}  last build: {built['jobs']} jobs"
                       + (f", {built['failed']} failed" if built["failed"] else ""))
            if row["error"]:
                click.echo(f"    {row['error']}")
            for compiler in row["missing"]:
                click.echo(f"    does not run {compiler}")
    down = sum(1 for r in rows if r["state"] in ("unreachable", "no answer"))
    return ExitCode.INVALID_TREE if down and not plugin.fallback else ExitCode.OK
