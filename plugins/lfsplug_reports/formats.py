"""The machine-readable formats: ``json`` (everything the database knows of the run), ``junit``
(one test case per script, for CI) and ``trace`` (Chrome/Perfetto trace events).

Each ``write_*`` takes the :class:`~lfsplug_reports.data.RunData` of one run and a path;
docs/reports.md documents every shape.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import redact
from lfsplug_reports.charts import spans

if TYPE_CHECKING:
    from lfsplug import StoredEvent
    from lfsplug_reports.data import RunData, ScriptRecord

__all__ = ["JSON_VERSION", "json_report", "trace_events", "write_json", "write_junit",
           "write_trace"]

#: The version of the ``json`` report's shape; more keys may come without a new version.
JSON_VERSION = 1


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


# -- json --------------------------------------------------------------------------------------


def write_json(data: RunData, path: Path) -> None:
    """Write the ``json`` report: the samples' values are copied as the database holds them
    (re-encoding a million numbers is most of the work otherwise); the rest is encoded in one
    shot, which runs in C (``json.dump`` would encode chunk by chunk in Python)."""
    report = json_report(data, samples=data.sample_texts is None)
    head = json.dumps(report, separators=(",", ":"), default=str)
    with path.open("w", encoding="utf-8") as file:
        if data.sample_texts is None:
            file.write(head)
        else:
            file.write(head[:-1] + ',"samples":[')
            file.write(",".join(_sample_texts(data)))
            file.write("]}")
        file.write("\n")


def _sample_texts(data: RunData) -> list[str]:
    names: dict[str | None, str] = {None: "null"}
    texts = data.sample_texts or []
    rows = []
    for (when, script, _values), values in zip(data.samples, texts, strict=True):
        name = names.get(script)
        if name is None:
            name = names[script] = json.dumps(script)
        rows.append(f'{{"time":{float(when)!r},"script":{name},"values":{values}}}')
    return rows


def json_report(data: RunData, samples: bool = True) -> dict[str, Any]:
    """The ``json`` report as a dict (see docs/reports.md for the shape); ``samples=False``
    leaves the samples out, for :func:`write_json` to add."""
    run, unit = data.run, data.sbu_seconds()
    return {
        "format": "lfsplug-report", "version": JSON_VERSION, "source": data.source,
        "run": {
            "id": run.id, "started": _iso(run.started), "finished": _iso(run.finished),
            "exit_code": run.exit_code, "state": run.state,
            "started_ts": run.started, "finished_ts": run.finished,
            "command_line": run.command_line, "lfsplug_version": run.version,
            "host": run.host, "total": run.total, "counts": dict(run.counts),
        },
        "summary": {**data.counts(), "duration_s": round(data.end - run.started, 3),
                    "sbu_seconds": unit, "make_jobs": data.jobs},
        "labels": dict(run.labels),
        **({"target": run.target} if run.target is not None else {}),
        "scripts": [_script(data, s, unit) for s in data.scripts],
        "events": [_event(data, e) for e in data.events],
        "alerts": [{"time": e.time, "alert": alert.kind, "level": str(alert.level),
                    "message": data.redact(alert.message)} for e, alert in data.alerts],
    } | ({"samples": [{"time": when, "script": script, "values": values}
                      for when, script, values in data.samples]} if samples else {})


def _script(data: RunData, script: ScriptRecord, unit: float | None) -> dict[str, Any]:
    return {
        **script.status_json(),
        "cached": script.cached, "reused_from_run": script.reused_run,
        "position": script.position, "path": script.path, "phase": script.phase,
        "version": script.version, "packages": script.packages, "state": script.status,
        "reason": script.reason,
        "message": script.message, "signal": script.signal,
        "failed_step": script.failed_step, "evidence": script.evidence,
        "started": script.started, "finished": script.finished,
        "sbu": data.script_sbu(script, unit), "resources": script.resources,
        "attempt_details": [{"attempt": a.attempt, "started": a.started,
                             "finished": a.finished, "log": a.log_path}
                            for a in script.attempt_records()],
    }


def _event(data: RunData, event: StoredEvent) -> dict[str, Any]:
    """An event; its payload redacted (a retry's ``env``, say)."""
    return {"seq": event.seq, "time": event.time, "kind": event.kind,
            "priority": event.priority, "script": event.script,
            "payload": redact(event.record.to_data(), data.secrets)}


# -- junit -------------------------------------------------------------------------------------

#: Characters XML 1.0 cannot hold (terminal escapes and other controls in logs).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """``text`` with each character XML cannot hold written as ``\\xNN``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def write_junit(data: RunData, path: Path, tail_lines: int) -> None:
    """One ``<testsuite>`` for the run, one ``<testcase>`` per script: ``<failure>`` (its
    ``type`` the failure class) with the failing command and the log tail, ``<skipped>`` for
    skipped and not-run scripts."""
    import xml.etree.ElementTree as ET

    run, counts = data.run, data.counts()
    total = len(data.scripts)
    elapsed = f"{max(data.end - run.started, 0.0):.3f}"
    attributes = {"name": "lfsplug", "tests": str(total), "failures": str(counts["failed"]),
                  "errors": "0", "skipped": str(counts["skipped"] + counts["not-run"]),
                  "time": elapsed}
    suites = ET.Element("testsuites", attributes)
    suite = ET.SubElement(suites, "testsuite", {
        **attributes, "name": f"lfsplug run {run.id}" if run.id else "lfsplug run",
        "timestamp": datetime.datetime.fromtimestamp(run.started).isoformat(timespec="seconds"),
        "hostname": run.host})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("command_line", run.command_line), ("lfsplug_version", run.version),
                        ("state", run.state), ("exit_code", str(run.exit_code)),
                        *run.labels.items()):
        ET.SubElement(properties, "property", {"name": _xml_text(name),
                                               "value": _xml_text(value)})
    for script in data.scripts:
        _testcase(ET.SubElement(suite, "testcase"), data, script, tail_lines)
    for script in data.scripts:
        if script.tests is not None:
            _test_suite(suites, script)
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _testcase(case: Any, data: RunData, script: ScriptRecord, tail_lines: int) -> None:
    import xml.etree.ElementTree as ET

    duration = script.duration if script.ran else None
    case.attrib.update({"classname": _xml_text(script.group), "name": _xml_text(script.name),
                        "time": f"{duration or 0.0:.3f}", "file": _xml_text(script.path)})
    if script.status == "failed":
        how = (f"killed by signal {script.signal}" if script.signal
               else f"exit status {script.exit_code}")
        message = "; ".join(p for p in (how, script.failure_class, script.message) if p)
        failure = ET.SubElement(case, "failure", {"message": _xml_text(message),
                                                  "type": script.failure_class or "failed"})
        tail = data.tail(script, tail_lines)
        head = f"log: {script.log_path}\n" if script.log_path else ""
        if script.failed_command:
            line = f" (line {script.failed_line})" if script.failed_line else ""
            head = f"failed command{line}: {script.failed_command}\n{head}"
        body = "\n".join(tail) if tail is not None else "(the log cannot be read)"
        failure.text = _xml_text(f"{head}{body}\n")
    elif script.json_status in ("skipped", "not-run"):
        reason = script.message or ("interrupted" if script.status == "interrupted"
                                    else "not run")
        ET.SubElement(case, "skipped", {"message": _xml_text(reason)})
    elif script.cached:
        out = ET.SubElement(case, "system-out")
        out.text = f"reused from run {script.reused_run}" if script.reused_run else "reused"


#: How each outcome of a package's test is written: a failure, skipped, or a pass.
_FAILURES = {"fail", "error", "xpass"}


def _test_suite(suites: Any, script: ScriptRecord) -> None:
    """The package's own test suite, under the run's: one ``<testcase>`` per test its output
    named (classname the package and suite), with the counts of those it only counted."""
    import xml.etree.ElementTree as ET

    tests = script.tests or {}
    expected = set(tests.get("expected_failed", []))
    because = tests.get("because", {})
    package = script.packages[0] if script.packages else script.name
    total = sum(int(tests.get(k, 0) or 0) for k in ("pass", "fail", "expected", "skip", "error"))
    suite = ET.SubElement(suites, "testsuite", {
        "name": _xml_text(f"{script.name}: test suite"), "tests": str(total),
        "failures": str(tests.get("fail", 0)), "errors": str(tests.get("error", 0)),
        "skipped": str(tests.get("skip", 0)), "package": _xml_text(package)})
    properties = ET.SubElement(suite, "properties")
    for key in ("pass", "fail", "expected", "skip", "error"):
        ET.SubElement(properties, "property", {"name": key, "value": str(tests.get(key, 0))})
    for name in tests.get("started_failing", []):
        ET.SubElement(properties, "property", {"name": "started_failing",
                                               "value": _xml_text(name)})
    for suite_name, name, outcome, detail in script.test_cases():
        own = not suite_name or suite_name.split()[0].lower() == package.lower()
        classname = package if own else f"{package}.{suite_name}"  # gcc.g++, not demo.demo 1.0
        case = ET.SubElement(suite, "testcase", {"classname": _xml_text(classname),
                                                 "name": _xml_text(name)})
        if outcome in _FAILURES and name not in expected:
            ET.SubElement(case, "failure", {"type": outcome, "message": _xml_text(
                detail or f"{outcome}: {name}")})
        elif outcome == "skip":
            ET.SubElement(case, "skipped", {"message": _xml_text(detail or "skipped")})
        elif outcome in ("xfail", "fail"):
            out = ET.SubElement(case, "system-out")
            out.text = _xml_text(f"expected to fail: {because.get(name) or detail or outcome}")


# -- trace -------------------------------------------------------------------------------------

#: The counter tracks of the trace: name, then the system metrics on it.
COUNTERS = {"CPU (%)": ["cpu_percent"], "memory (%)": ["mem_percent", "swap_percent"],
            "load": ["load1"]}
PID = 1


def write_trace(data: RunData, path: Path) -> None:
    run = data.run
    trace = {"traceEvents": trace_events(data), "displayTimeUnit": "ms",
             "otherData": {"lfsplug_run": run.id, "host": run.host,
                           "command_line": run.command_line, "labels": dict(run.labels),
                           **({"target": run.target} if run.target is not None else {})}}
    path.write_text(json.dumps(trace, separators=(",", ":")) + "\n", encoding="utf-8")


def _test_totals(tests: dict[str, Any] | None) -> dict[str, Any]:
    """A script's test totals for its trace slice (none without a test suite)."""
    if tests is None:
        return {}
    return {"tests": {k: tests.get(k, 0) for k in ("pass", "fail", "expected", "skip",
                                                   "error")}}


def trace_events(data: RunData) -> list[dict[str, Any]]:
    """Chrome trace events: an ``X`` span per attempt on a thread per parallel slot, ``C``
    counters from the system samples, ``i`` marks for alerts, ``M`` names."""
    origin = data.run.started

    def micros(stamp: float) -> float:
        return round((stamp - origin) * 1e6, 1)

    items = spans(data)
    tests = {s.name: s.tests for s in data.scripts if s.tests is not None}
    slots = max((s.slot for s in items), default=-1) + 1
    title = f"lfsplug run {data.run.id}" if data.run.id else "lfsplug run"
    if data.run.labels:
        title += f" ({data.run.labels_text(' ')})"
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": PID, "tid": 0, "args": {"name": title}}]
    events += [{"name": "thread_name", "ph": "M", "pid": PID, "tid": slot + 1,
                "args": {"name": f"slot {slot + 1}"}} for slot in range(slots)]
    events += [{"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": slot + 1,
                "args": {"sort_index": slot + 1}} for slot in range(slots)]
    for item in items:
        events.append({"name": item.name, "cat": "script", "ph": "X", "pid": PID,
                       "tid": item.slot + 1, "ts": micros(item.start),
                       "dur": round((item.end - item.start) * 1e6, 1),
                       "args": {"attempt": item.attempt, "status": item.status,
                                **_test_totals(tests.get(item.name))}})
    events += _counters(data, micros)
    for event, alert in data.alerts:
        events.append({"name": f"{alert.kind} {alert.level}",
                       "cat": "alert", "ph": "i", "s": "g", "pid": PID, "tid": 0,
                       "ts": micros(event.time), "args": {"message": alert.message}})
    return events


def _counters(data: RunData, micros: Any) -> list[dict[str, Any]]:
    """A ``C`` event per system sample and counter track, with the track's metrics then."""
    events = []
    for when, script, values in data.samples:
        if script is not None:
            continue
        stamp = micros(when)
        for name, metrics in COUNTERS.items():
            args = {m: values[m] for m in metrics if m in values}
            if args:
                events.append({"name": name, "ph": "C", "pid": PID, "ts": stamp, "args": args})
    return events
