"""The HTML report: one self-contained file, rendered with jinja2 (autoescaped: script names,
messages and log lines are untrusted), charts drawn as inline SVG from :mod:`.charts`.

Sections: the run's summary, the Gantt timeline of attempts, the CPU, memory, disk (and
pressure) charts from the system samples, a sortable table of the scripts, the failures with
their log tails, and the alerts. A section whose data was not recorded says so instead of
drawing an empty chart.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import format_duration
from lfsplug_reports import charts

if TYPE_CHECKING:
    from lfsplug import Alert, StoredEvent
    from lfsplug_reports.data import RunData, ScriptRecord

__all__ = ["context", "render", "write_report"]


def write_report(data: RunData, path: Path, tail_lines: int) -> None:
    path.write_text(render(data, tail_lines), encoding="utf-8")


def render(data: RunData, tail_lines: int) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lfsplug_reports", "templates"),
        autoescape=True,  # every value is escaped, whatever the template's name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["duration"] = format_duration
    env.filters["megabytes"] = _megabytes
    return env.get_template("report.html.j2").render(**context(data, tail_lines))


def context(data: RunData, tail_lines: int) -> dict[str, Any]:
    """What the template shows, computed once: the geometry of every chart included."""
    run, unit = data.run, data.sbu_seconds()
    items = charts.spans(data)
    # one time axis: the timeline and every resource chart start at the same x
    left = charts.plot_left(charts.row_labels(items)) if items else charts.MIN_LEFT
    line_charts = charts.line_charts(data, left)
    notes = _notes(data, items, line_charts)
    return {
        "run": run,
        "title": (f"lfsplug run {run.id}" if run.id else "lfsplug run")
                 + (f", target {run.target}" if run.target is not None else ""),
        "started": _when(run.started),
        "finished": _when(run.finished),
        "elapsed": data.end - run.started,
        "counts": data.counts(),
        "sbu_seconds": unit,
        "sbu_hint": data.sbu_hint() if unit is None else None,
        "gantt": charts.gantt(data, items, left) if items else None,
        "charts": line_charts,
        "rows": [_row(data, s, unit) for s in data.scripts],
        "failures": [_failure(data, s, tail_lines) for s in data.scripts
                     if s.status == "failed"],
        "alerts": [_alert(data, e, alert) for e, alert in data.alerts],
        "notes": notes,
        "tests": [(s.name, s.tests) for s in data.scripts if s.tests is not None],
    }


def _notes(data: RunData, items: list[charts.Span],
           line_charts: list[charts.LineChart]) -> list[str]:
    notes = []
    if not items:
        notes.append("No script ran in this run (every one was reused, skipped or never "
                     "reached): there is no timeline.")
    if not line_charts:
        notes.append("No system samples were recorded (is the monitor plugin loaded?): there "
                     "are no CPU, memory or disk charts.")
    if data.source == "session":
        notes.append("No state database recorded this run: events and samples are the last "
                     "ones the event bus kept.")
    dropped = data.run.counts.get("samples_dropped", 0)
    if dropped:
        notes.append(f"{dropped} samples past the state database's cap were not kept.")
    dropped = data.run.counts.get("events_dropped", 0)
    if dropped:
        notes.append(f"{dropped} events past the state database's cap were not kept.")
    return notes


def _row(data: RunData, script: ScriptRecord, unit: float | None) -> dict[str, Any]:
    sbu = data.script_sbu(script, unit)
    offset = script.started - data.run.started if script.started and script.ran else None
    efficiency = script.resources.get("cpu_efficiency")
    return {
        "position": script.position, "name": script.name, "group": script.group,
        "status": script.status, "cached": script.cached, "reused_run": script.reused_run,
        "offset": offset, "duration": script.duration if not script.cached else None,
        "sbu": sbu, "attempts": script.attempts, "peak_rss": script.peak_rss,
        "disk": script.disk,
        "efficiency": efficiency if isinstance(efficiency, int | float) else None,
        "note": _note(script),
    }


def _note(script: ScriptRecord) -> str:
    if script.cached:
        return f"reused from run {script.reused_run}" if script.reused_run else "reused"
    parts = [script.failure_class, script.message]
    if script.signal:
        parts.append(f"signal {script.signal}")
    left = script.disk.get("left")
    if left is not None:  # a script that did not pass installed nothing: say what it left
        parts.append(f"left {_megabytes(left)} MB more in $LFS than before it ran" if left >= 0
                     else f"left $LFS {_megabytes(-left)} MB smaller than before it ran")
    return "; ".join(p for p in parts if p)


def _failure(data: RunData, script: ScriptRecord, tail_lines: int) -> dict[str, Any]:
    tail = data.tail(script, tail_lines)
    return {
        "name": script.name, "exit_code": script.exit_code, "signal": script.signal,
        "failure_class": script.failure_class, "message": script.message,
        "failed_command": script.failed_command, "failed_line": script.failed_line,
        "log": script.log_path, "attempts": script.attempts,
        "tail": tail, "tail_note": None if tail is not None else "the log cannot be read",
    }


def _alert(data: RunData, event: StoredEvent, alert: Alert) -> dict[str, Any]:
    return {"offset": event.time - data.run.started, "kind": alert.kind,
            "level": str(alert.level), "message": data.redact(alert.message),
            "script": event.script}


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(stamp).astimezone()
    return moment.isoformat(sep=" ", timespec="seconds")


def _megabytes(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"
