"""The monitor plugin: samples, alerts with hysteresis, disk STOP and HALT, per-script figures,
SBU, expected durations from imported history, and the ETA."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest

import lfsplug
from helpers import REPORTS, no_data
from lfsplug import Edge, HistoryEntry, Plan, Script, StoredResult, StoredSamples, UsageError
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_monitor import eta as eta_module
from lfsplug_monitor import monitor as monitor_module
from lfsplug_monitor import sampler as sampler_module
from lfsplug_monitor.eta import Estimator, History, median_relative_error
from lfsplug_monitor.guards import Crossing, LevelGuard, OnceGuard
from lfsplug_monitor.sampler import read_psi
from lfsplug_monitor.settings import DiskRule, parse_disk_rule
from lfsplug_monitor.stats import Series, percentile
from lfsplug_reports.sbu import history_entries, read_report
from lfsplug_state.store import StateStore

RUN = ("run", "--shellcheck", "off", "--host-check", "off", "--sample-interval", "0.1")
SYSTEM_KEYS = {"cpu_percent", "mem_percent", "mem_available", "swap_percent", "load1"}
SCRIPT_KEYS = {"cpu_percent", "rss", "procs", "read_bytes", "write_bytes"}
GiB, MiB = 1024**3, 1024**2


# -- helpers -----------------------------------------------------------------------------------


def fake_statvfs(free: int, used: int = 0, inodes: int = 1_000_000) -> os.statvfs_result:
    frsize = 4096
    bfree = free // frsize
    return os.statvfs_result((frsize, frsize, (free + used) // frsize, bfree, bfree,
                              10_000_000, inodes, inodes, 0, 255))


class FakeDisk:
    """A statvfs for ``lfs`` whose free space is what the scripts write to ``control``
    (``FREE`` or ``FREE USED`` in bytes, with K/M/G), or, with ``measure``, the size of the
    files under ``lfs`` as its used space; other paths are real."""

    def __init__(self, lfs: Path, measure: bool = False) -> None:
        self.lfs = str(lfs)
        self.control = lfs.parent / "disk-control"
        self.measure = measure

    def __call__(self, path: str) -> os.statvfs_result:
        if not path.startswith(self.lfs):
            return os.statvfs(path)
        if self.measure:
            used = sum(p.stat().st_size for p in Path(self.lfs).rglob("*") if p.is_file())
            return fake_statvfs(100 * GiB, used)
        try:
            words = self.control.read_text(encoding="ascii").split()
        except OSError:
            words = []
        if not words:
            return fake_statvfs(100 * GiB)
        sizes = [lfsplug._config.byte_size(w) for w in words]
        return fake_statvfs(*sizes)


def with_fake_disk(lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
                   measure: bool = False) -> FakeDisk:
    lfs = lfsplugger.path / "lfs"
    lfs.mkdir(exist_ok=True)
    (lfs / "sources").mkdir(exist_ok=True)
    disk = FakeDisk(lfs, measure)
    monkeypatch.setattr(sampler_module, "statvfs", disk)
    monkeypatch.setattr(sampler_module, "own_file_system", lambda path: str(path) == disk.lfs)
    return disk


def records(result: RunResult) -> list[lfsplug.Record]:
    """The records of every event the bus delivered, in order."""
    return [e.record for c in result.getcalls("lfsplug_events") for e in c.events]


def alert_records(result: RunResult) -> list[lfsplug.Alert]:
    return [r.alert for r in records(result) if isinstance(r, lfsplug.AlertRaised)]


def alerts(result: RunResult) -> list[tuple[str, str]]:
    return [(a.kind, a.level) for a in alert_records(result)]


def samples(result: RunResult) -> list[lfsplug.Sample]:
    return [r.sample for r in records(result) if isinstance(r, lfsplug.SampleTaken)]


def progress(result: RunResult) -> list[dict[str, Any]]:
    """The progress events' records, as JSON data."""
    return [lfsplug.record_to_data(r) for r in records(result)
            if isinstance(r, lfsplug.Progress)]


def no_process_left(pids: list[int]) -> bool:
    """None of ``pids`` runs (a zombie that init has not reaped yet runs no more)."""
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def db_rows(lfsplugger: Lfsplugger, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the state database (in ``.lfsplug/`` of the tree, or of its ``s/``)."""
    db = lfsplugger.path / ".lfsplug" / "state.db"
    if not db.exists():
        db = lfsplugger.path / "s" / ".lfsplug" / "state.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


# -- alerts: edges and hysteresis --------------------------------------------------------------


def test_a_level_fires_once_per_crossing_and_clears_with_hysteresis() -> None:
    guard = LevelGuard({"warn": {"space": 10.0}, "stop": {"space": 2.0}, "halt": {"space": 0.5}},
                       hysteresis=0.05)
    seen = [guard.update({"space": v}) for v in
            (20, 9.9, 9.0, 9.99, 10.2, 10.4, 10.6, 10.6, 9.5, 9.6, 1.9, 1.8, 2.05, 2.2, 9.0,
             10.0, 11.0, 0.4, 0.3)]
    edges = [(i, c.level) for i, c in enumerate(seen) if c is not None]
    # one warn at the first fall below 10, no clear at 10.2 or 10.4 (within 5 %), one at 10.6;
    # warn again; stop; getting better (2.2, 9.0) is silent; clear only above 10.5; halt
    assert edges == [(1, "warn"), (6, "clear"), (8, "warn"), (10, "stop"), (16, "clear"),
                     (17, "halt")]
    assert seen[1] == Crossing("warn", "space", 9.9, 10.0)
    assert all(isinstance(c.level, lfsplug.AlertLevel) for c in seen if c is not None)
    assert guard.level is lfsplug.AlertLevel.HALT


def test_inodes_count_like_space_and_a_guard_without_floors_says_nothing() -> None:
    guard = LevelGuard({"warn": {"space": 10.0, "inodes": 100.0}, "stop": {}}, hysteresis=0.1)
    assert guard.update({"space": 50.0, "inodes": 99.0}) == Crossing("warn", "inodes", 99.0,
                                                                     100.0)
    assert guard.update({"space": 50.0, "inodes": 105.0}) is None   # within 10 %
    assert guard.update({"space": 50.0, "inodes": 111.0}) == Crossing("clear")
    assert LevelGuard({"warn": {}}).update({"space": 0.0}) is None


def test_once_guard() -> None:
    once = OnceGuard()
    assert once.fire("gcc") and not once.fire("gcc") and "gcc" in once
    assert once.reset("gcc") and not once.reset("gcc") and once.fire("gcc")


# -- settings ----------------------------------------------------------------------------------


def test_disk_rules_are_written_as_bitbake_writes_them() -> None:
    assert parse_disk_rule("STOPTASKS,lfs,1G,100K") == DiskRule("stop", "lfs", GiB, 102400)
    assert parse_disk_rule("halt,/var/tmp,,1K") == DiskRule("halt", "/var/tmp", None, 1024)
    assert parse_disk_rule("WARN, sources, 512M") == DiskRule("warn", "sources", 512 * MiB,
                                                              None)
    for bad, why in (("PANIC,lfs,1G", "ACTION must be"), ("WARN,tmp,1G", "DIR must be"),
                     ("WARN,lfs,,", "give a SPACE"), ("WARN,lfs,lots", "not a size"),
                     ("WARN", "expected ACTION,DIR")):
        with pytest.raises(ValueError, match=why):
            parse_disk_rule(bad)


def test_bad_monitor_settings_name_the_file_and_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    config = lfsplugger.make_config('[monitor]\ndisk = ["WARN,lfs,10G", "STOP,lfs,2X"]\n')
    result = lfsplugger.run(*RUN)
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: {config}:2: [monitor] disk: rule 2: 'STOP,lfs,2X': "
                               f"'2X' is not a size (a number, optionally with K, M, G or T)"]
    lfsplugger.make_config("[monitor]\nsilent_afterr = 5\n")
    assert "unknown key 'silent_afterr'" in lfsplugger.run(*RUN).errlines[0]
    lfsplugger.make_config("[monitor]\nsample_interval = 100\n")
    assert lfsplugger.run(*RUN[:-2]).ret == 4
    bad = lfsplugger.run("run", "--sample-interval", "0.01")
    assert bad.ret == 4 and "--sample-interval" in bad.errlines[0]


# -- samples -----------------------------------------------------------------------------------


def test_samples_of_the_machine_and_of_each_scripts_tree(lfsplugger: Lfsplugger,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with_fake_disk(lfsplugger, monkeypatch)
    lfsplugger.make_tree({
        "s/01-busy.sh": "timeout 1 sh -c 'while :; do :; done' || true\nsleep 0.3",
        "s/02-quiet.sh": "sleep 0.5",
    })
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfsplugger.path / "lfs"),
                            "--state-dir", ".lfsplug")
    assert result.ret == 0, result.errlines
    system = [s.values for s in samples(result) if s.script is None]
    assert system and all(set(v) >= SYSTEM_KEYS for v in system)
    for label in ("lfs", "sources", "state"):
        assert {f"disk_free:{label}", f"disk_percent:{label}", f"inodes_free:{label}"} <= set(
            system[-1])
    assert system[-1]["disk_free:lfs"] == 100 * GiB   # the fake statvfs was used
    if Path("/proc/pressure/cpu").exists():
        assert {"psi_cpu", "psi_memory", "psi_io"} <= set(system[-1])
    busy = [s.values for s in samples(result) if s.script == "busy"]
    assert busy and all(set(v) == SCRIPT_KEYS for v in busy)
    assert max(v["procs"] for v in busy) >= 2            # bash and the loop under timeout
    assert max(v["cpu_percent"] for v in busy) > 20     # the loop's CPU is in the tree
    assert max(v["rss"] for v in busy) > 0
    # the run's samples are in the state database, and the thread is gone
    assert db_rows(lfsplugger, "SELECT COUNT(*) FROM samples WHERE script = 'busy'")[0][0] > 0
    assert not [t for t in threading.enumerate() if t.name == "lfsplug-monitor"]


def test_pressure_stall_information_is_read_where_present(tmp_path: Path) -> None:
    (tmp_path / "cpu").write_text("some avg10=1.50 avg60=0.20 avg300=0.00 total=1\n")
    (tmp_path / "io").write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=2\n"
                                 "full avg10=9.00 avg60=0.00 avg300=0.00 total=2\n")
    assert read_psi(tmp_path) == {"psi_cpu": 1.5, "psi_io": 0.0}
    assert read_psi(tmp_path / "absent") == {}


def test_summaries_and_percentiles() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.95) == pytest.approx(4.8)
    series = Series()
    for value in range(1, 20001):
        series.add(float(value))
    summary = series.summary()
    assert summary["min"] == 1 and summary["max"] == 20000 and summary["mean"] == 10000.5
    assert summary["p95"] == pytest.approx(19000, rel=0.01)
    assert len(series.kept) < 8192                  # bounded, however long the script ran


# -- per-script figures and the state database -------------------------------------------------


def test_disk_figures_sbu_efficiency_and_stats_go_into_the_result(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_fake_disk(lfsplugger, monkeypatch, measure=True)
    lfsplugger.make_tree({
        "s/01-binutils.sh": "# lfsplug: name=binutils-pass1\nsleep 0.4",
        # installs 4 MiB, and needs 8 MiB more while it builds
        "s/02-pkg.sh": ("head -c 8388608 /dev/zero > $LFS/build.tmp\nsleep 0.6\n"
                        "head -c 4194304 /dev/zero > $LFS/installed\nrm $LFS/build.tmp\n"
                        "sleep 0.2"),
    })
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfsplugger.path / "lfs"),
                            "--state-dir", ".lfsplug")
    assert result.ret == 0, result.errlines
    pkg = result.results["pkg"].resources
    # before and after: du of $LFS (its empty sources folder's few KiB); required: the peak
    disk = pkg["disk"]
    assert disk["after"] - disk["before"] == 4096 and disk["before"] < 64
    assert disk["required"] == 8192 and disk["installed"] == 4096
    binutils = result.results["binutils-pass1"]
    assert binutils.resources["sbu"] == 1.0
    assert pkg["sbu"] == pytest.approx(
        result.results["pkg"].duration / binutils.duration, rel=0.05)
    assert 0 <= pkg["cpu_efficiency"] <= 1
    assert set(pkg["stats"]) == SCRIPT_KEYS
    assert set(pkg["stats"]["rss"]) == {"min", "mean", "max", "p95"}
    # the state plugin kept them, and the run's own figures in runs.metrics
    (raw,), = db_rows(lfsplugger, "SELECT resources FROM results WHERE name = 'pkg'")
    assert json.loads(raw)["disk"]["installed"] == 4096
    (metrics,), = db_rows(lfsplugger, "SELECT metrics FROM runs")
    run = json.loads(metrics)
    # the monitor times a script from its first start hook, the executor from its spawn: the
    # hooks between them take milliseconds on a busy machine
    assert run["sbu_seconds"] == pytest.approx(binutils.duration, abs=0.05)
    assert run["sbu_source"] == "binutils-pass1, this build"
    assert set(run["system"]) >= SYSTEM_KEYS
    assert run["sampler"]["ticks"] > 0 and run["sampler"]["cpu_share"] < 1
    result.stdout.fnmatch_lines(["SBU: * s (binutils-pass1, this build)"])


def test_progress_events_count_scripts_and_phases(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "s/01-a.sh": "# lfsplug: phase=cross\nsleep 0.3",
        "s/02-b.sh": "# lfsplug: phase=cross\necho b",
        "s/03-c.sh": "# lfsplug: phase=system\necho c",
    })
    result = lfsplugger.run(*RUN, "s", "-p", "no:chroot")  # phases, no lfs user or chroot
    assert result.ret == 0
    events = progress(result)
    assert events and all(set(e) == {"done", "total", "elapsed", "eta", "bound", "sbu_seconds",
                                     "phases", "running"} for e in events)
    last = max(events, key=lambda e: (e["done"], e["elapsed"]))
    assert last["done"] == last["total"] == 3
    assert last["phases"] == {"cross": [2, 2], "system": [1, 1]}
    assert any(e["running"] == {"a": None} for e in events)   # sampled while a ran
    assert all(e["eta"] is None for e in events)              # under 15 s: no ETA


def test_the_build_works_without_the_monitor(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    result = lfsplugger.run(*RUN[:-2], "-p", "no:monitor")
    assert result.ret == 0
    assert not progress(result) and not samples(result)


def test_a_failing_sample_subscriber_is_a_plugin_error(lfsplugger: Lfsplugger) -> None:
    class Broken:
        @lfsplug.hookimpl
        def lfsplug_events(self, events: list[lfsplug.Event]) -> None:
            if any(isinstance(e.record, lfsplug.SampleTaken) for e in events):
                raise RuntimeError("cannot keep up")

    lfsplugger.make_tree({"01-a.sh": "sleep 0.3"})
    result = lfsplugger.run(*RUN, plugins=[Broken()])
    assert result.ret == 3
    assert result.errlines[-1] == ("lfsplug: plugin 'Broken' failed in hook lfsplug_events: "
                                   "RuntimeError: cannot keep up")


# -- disk STOP and HALT ------------------------------------------------------------------------


def test_disk_stop_lets_the_running_script_finish_and_starts_no_other(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    disk = with_fake_disk(lfsplugger, monkeypatch)
    lfsplugger.make_tree({
        "s/01-fill.sh": f"echo 1500M > {disk.control}\nsleep 0.6\necho $$ > pid.fill",
        "s/02-next.sh": "echo never > next.ran",
        "s/03-last.sh": "echo never",
    })
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfsplugger.path / "lfs"),
                            "--state-dir", ".lfsplug")
    assert result.ret == 2
    assert result.statuses() == {"fill": "passed", "next": "not-run", "last": "not-run"}
    assert not (lfsplugger.path / "s" / "next.ran").exists()
    assert alerts(result) == [("disk", "stop")]   # straight past WARN: the worst level only
    stop = [a for a in alert_records(result) if a.level == "stop"]
    assert len(stop) == 1 and stop[0].data["label"] == "lfs" and stop[0].data["free"] == 1500 * MiB
    assert "below the STOP floor of 2.0 GiB" in stop[0].message
    stopped = [r for r in records(result) if isinstance(r, lfsplug.StopRequested)]
    assert [r.hard for r in stopped] == [False]
    assert db_rows(lfsplugger, "SELECT state, exit_code FROM runs") == [("interrupted", 2)]


def test_disk_halt_ends_the_running_script_and_its_children(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    disk = with_fake_disk(lfsplugger, monkeypatch)
    lfsplugger.make_tree({
        "s/01-ok.sh": "echo fine",
        "s/02-fill.sh": (f"echo $$ > pids\nsleep 60 &\necho $! >> pids\n"
                         f"echo 100M > {disk.control}\nwait"),
        "s/03-next.sh": "echo never > next.ran",
    })
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfsplugger.path / "lfs"),
                            "--state-dir", ".lfsplug")
    assert result.ret == 2
    assert result.statuses() == {"ok": "passed", "fill": "failed", "next": "not-run"}
    fill = result.results["fill"]
    assert fill.duration is not None and fill.duration < 30
    assert fill.message is not None and "HALT floor" in fill.message
    assert not (lfsplugger.path / "s" / "next.ran").exists()
    levels = [level for kind, level in alerts(result) if kind == "disk"]
    assert levels == ["halt"]     # straight past WARN and STOP: one alert, the worst
    pids = [int(p) for p in (lfsplugger.path / "s" / "pids").read_text().split()]
    assert len(pids) == 2 and no_process_left(pids)
    assert "interrupted: running scripts were ended" in result.outlines


def test_the_first_sample_is_taken_before_the_first_script_starts(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_fake_disk(lfsplugger, monkeypatch)
    lfsplugger.make_tree({"s/01-quick.sh": "sleep 0.3"})
    result = lfsplugger.run(*RUN[:-1], "5", "s", "--lfs", str(lfsplugger.path / "lfs"),
                            "--state-dir", ".lfsplug")
    assert result.ret == 0, result.errlines
    system = [s for s in samples(result) if s.script is None]
    quick = result.results["quick"]
    assert system and quick.started is not None and system[0].time <= quick.started


def test_a_disk_below_stop_at_launch_starts_no_script(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    disk = with_fake_disk(lfsplugger, monkeypatch)
    disk.control.write_text("1500M\n")  # filled before the build: the first tick is 5 s away
    lfsplugger.make_tree({"s/01-a.sh": "echo ran > a.ran", "s/02-b.sh": "echo b"})
    result = lfsplugger.run(*RUN[:-1], "5", "s", "--lfs", str(lfsplugger.path / "lfs"),
                            "--state-dir", ".lfsplug")
    assert result.ret == 2
    assert result.statuses() == {"a": "not-run", "b": "not-run"}
    assert not (lfsplugger.path / "s" / "a.ran").exists()
    assert alerts(result) == [("disk", "stop")]


def test_a_disk_at_halt_at_launch_stops_the_run_with_one_line(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    disk = with_fake_disk(lfsplugger, monkeypatch)
    disk.control.write_text("100M\n")
    lfsplugger.make_tree({"s/01-a.sh": "echo ran > a.ran\nsleep 5", "s/02-b.sh": "echo b"})
    lfs = lfsplugger.path / "lfs"
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfs), "--state-dir", ".lfsplug")
    assert result.ret == 2
    assert result.statuses() == {"a": "not-run", "b": "not-run"}
    assert not (lfsplugger.path / "s" / "a.ran").exists()
    assert not result.getcalls("lfsplug_script_start")
    assert result.errlines == [f"lfsplug: error: disk halt: disk: lfs ({lfs}) has 100.0 MiB "
                               f"free, below the HALT floor of 500.0 MiB"]
    stopped = [r for r in records(result) if isinstance(r, lfsplug.StopRequested)]
    assert [(r.hard, r.reason.endswith("; no script started")) for r in stopped] == [
        (True, True)]
    assert db_rows(lfsplugger, "SELECT state, exit_code FROM runs") == [("interrupted", 2)]
    # the summary says what happened: nothing was running, so nothing was ended
    assert "interrupted: no script was running; none was ended" in result.outlines
    assert not [line for line in result.outlines if "were ended" in line], result.outlines


def test_a_script_ended_by_halt_after_stop_names_the_halt_floor(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    disk = with_fake_disk(lfsplugger, monkeypatch)
    lfsplugger.make_tree({
        "s/01-fill.sh": (f"echo 1500M > {disk.control}\nsleep 0.6\n"
                         f"echo 100M > {disk.control}\nsleep 60"),
        "s/02-next.sh": "echo never",
    })
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfsplugger.path / "lfs"),
                            "--state-dir", ".lfsplug")
    assert result.ret == 2
    assert [level for kind, level in alerts(result) if kind == "disk"] == ["stop", "halt"]
    fill = result.results["fill"]
    assert fill.status == "failed" and fill.duration is not None and fill.duration < 30
    assert fill.message is not None
    assert "below the HALT floor of 500.0 MiB; ending the running scripts" in fill.message
    assert "STOP" not in fill.message


def test_disk_alerts_once_per_crossing_in_a_real_run(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    disk = with_fake_disk(lfsplugger, monkeypatch)
    steps = ["9G", "9.5G", "10.2G", "10.6G", "10.6G", "9G"]   # warn, -, -, clear, -, warn
    body = "".join(f"echo {s} > {disk.control}\nsleep 0.4\n" for s in steps)
    lfsplugger.make_tree({"s/01-wave.sh": body})
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfsplugger.path / "lfs"),
                            "--state-dir", ".lfsplug")
    assert result.ret == 0
    assert alerts(result) == [("disk", "warn"), ("disk", "clear"), ("disk", "warn")]
    ticks = len([s for s in samples(result) if s.script is None])
    assert ticks > 10    # many samples below the floor, still one alert per crossing


# -- memory, overrun and silence ---------------------------------------------------------------


def test_memory_low_warns_once_and_clears(lfsplugger: Lfsplugger,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = sampler_module.read_meminfo
    flag = lfsplugger.path / "memory-low"

    def fake_memory() -> dict[str, float] | None:
        memory = real()
        assert memory is not None
        memory["mem_available"] = 300 * MiB if flag.exists() else 2 * GiB
        return memory

    monkeypatch.setattr(sampler_module, "read_meminfo", fake_memory)
    lfsplugger.make_config('[monitor]\nmemory_floor = "1G"\n')
    lfsplugger.make_tree({"s/01-a.sh": f"touch {flag}\nsleep 0.5\nrm {flag}\nsleep 0.4"})
    result = lfsplugger.run(*RUN, "s", "--min-free-memory", "0")
    assert result.ret == 0
    assert [a for a in alerts(result) if a[0] == "memory"] == [("memory", "warn"),
                                                                ("memory", "clear")]


def test_overrun_and_silence_each_alert_once(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree({"s/01-slow.sh": "sleep 0.1"})
    lfsplugger.make_config("[monitor]\noverrun_factor = 2\noverrun_min = 0\n"
                           "silent_after = 0.5\n")
    assert lfsplugger.run(*RUN, "s").ret == 0           # history: about 0.1 s
    (tree / "s" / "01-slow.sh").write_text("#!/bin/bash\necho start\nsleep 1.2\necho end\n"
                                           "sleep 0.8\n")
    result = lfsplugger.run(*RUN, "s")
    assert result.ret == 0
    got = alerts(result)
    assert got.count(("overrun", "warn")) == 1
    assert got.count(("silent", "warn")) == 2 and got.count(("silent", "clear")) == 1
    overrun = next(a for a in alert_records(result) if a.kind == "overrun")
    assert overrun.data["script"] == "slow" and overrun.data["expected"] < 0.6


# -- SBU, history and the ETA ------------------------------------------------------------------


def parse_jhalfs(path: Path) -> tuple[float, list[HistoryEntry]]:
    """A jhalfs SBU report read as ``lfsplug report --import`` reads it: its SBU unit, and each
    package build as a history entry."""
    report = read_report(path)
    assert report.sbu_seconds is not None
    return report.sbu_seconds, history_entries(report, path.name)


def script(name: str, phase: str | None = None) -> Script:
    return Script(name, Path(f"/s/{name}"), Path("/s"), phase=phase)


needs_reports = pytest.mark.skipif(not REPORTS.is_dir(), reason=no_data(REPORTS))


@needs_reports
def test_history_from_one_report_predicts_another(capsys: pytest.CaptureFixture[str]) -> None:
    older = REPORTS / "r12.1-17-systemd-wip-SBU_DU-2024-03-19.report"
    newer = REPORTS / "r12.2-111-systemd-wip-SBU_DU-2025-03-01.report"
    _, old_entries = parse_jhalfs(older)
    new_unit, new_entries = parse_jhalfs(newer)
    assert len(old_entries) > 100 and len(new_entries) > 100
    history = History(old_entries)
    # the packages built twice: the phase-suffixed script is the earlier build
    firsts = [e for e in old_entries if e.name == "m4"]
    assert len(firsts) == 2
    assert history.entries(script("m4-temp", "temp")) == [firsts[0]]
    assert history.entries(script("m4", "system")) == [firsts[1]]
    # as discovery names a package built twice: by where each build is
    assert history.entries(script("m4@chapter06", "temp")) == [firsts[0]]
    assert history.entries(script("m4@chapter08", "system")) == [firsts[1]]
    # predict each package of the newer report from the older one, in the newer one's SBU
    predicted, actual = {}, {}
    seen: dict[str, int] = {}
    for entry in new_entries:
        seen[entry.name] = seen.get(entry.name, 0) + 1
        twice = sum(1 for e in new_entries if e.name == entry.name) > 1
        name = f"{entry.name}-temp" if twice and seen[entry.name] == 1 else entry.name
        sbu = history.sbu(script(name, "temp" if name.endswith("-temp") else "system"))
        if sbu is not None:
            predicted[f"{name}#{entry.position}"] = sbu * new_unit
            actual[f"{name}#{entry.position}"] = entry.seconds
    error, count = median_relative_error(predicted, actual, floor=10.0)
    with capsys.disabled():
        print(f"\nhistory from {older.name} predicts {newer.name}: median relative error "
              f"{error:.1%} over {count} package builds of 10 s or more")
    assert count > 50
    assert error < 0.25


def test_expected_durations_come_from_imported_history_scaled_to_this_sbu(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({"s/01-binutils-pass1.sh": "sleep 0.5",
                          "s/02-gcc-pass1.sh": "sleep 0.2", "s/03-m4-temp.sh": "true",
                          "s/04-m4.sh": "true"})
    store = StateStore.open(lfsplugger.path / "s" / ".lfsplug", create=True)
    try:
        store.add_history("other.report", [
            HistoryEntry("binutils-pass1", 100.0, sbu_seconds=100.0),
            HistoryEntry("gcc-pass1", 1200.0, sbu_seconds=100.0),
            HistoryEntry("m4", 30.0, sbu_seconds=100.0),
            HistoryEntry("m4", 50.0, sbu_seconds=100.0)])
    finally:
        store.close()
    result = lfsplugger.run(*RUN, "s")
    assert result.ret == 0
    # before this build's SBU is known, the imported unit (100 s) stands in
    first = progress(result)[0]
    assert first["sbu_seconds"] == 100.0
    asked = {c.script.name for c in result.getcalls("lfsplug_expected_duration")}
    assert {"gcc-pass1", "m4-temp", "m4"} <= asked
    # once binutils-pass1 passed, its time is the SBU and gcc-pass1 is expected at 12 SBU
    sbu = result.results["binutils-pass1"].duration
    assert sbu is not None
    running_gcc = [e["running"]["gcc-pass1"] for e in progress(result)
                   if "gcc-pass1" in e["running"]]
    assert running_gcc and running_gcc[-1] == pytest.approx(12 * sbu, rel=0.01)
    assert result.results["gcc-pass1"].resources["sbu"] == pytest.approx(
        result.results["gcc-pass1"].duration / sbu, rel=0.01)


def plan_of(*names: str, chain: bool = False) -> Plan:
    scripts = [script(n) for n in names]
    pairs = itertools.pairwise(names) if chain else ()
    edges = [Edge(a, b, "sequence", "test") for a, b in pairs]
    return Plan(scripts, edges)


def test_eta_waits_for_15_s_and_5_percent_then_scales_by_the_observed_rate() -> None:
    plan = plan_of("a", "b", "c", "d", chain=True)
    est = Estimator.for_plan(plan, {"a": 10.0, "b": 10.0, "c": 10.0, "d": 70.0}, (), 0.0)
    est.start("a", 0.0)
    assert est.estimate(14.0)["eta"] is None            # not 15 s yet
    assert est.estimate(16.0)["eta"] is None            # nothing finished: 0 % of the work
    est.finish("a", 20.0, ran=True)                     # twice as slow as expected
    est.start("b", 20.0)
    figures = est.estimate(20.0)
    assert figures["eta"] == pytest.approx(2 * 90)      # the rest, at the observed rate
    assert figures["bound"] == pytest.approx(2 * 90)    # one chain: the bound is the rest
    assert est.first_eta == (20.0, figures["eta"])
    est.finish("b", 20.0, ran=True)
    est.finish("c", 20.0, ran=True)
    est.finish("d", 140.0, ran=True)
    error = est.eta_error(200.0)
    assert error == {"at": 20.0, "eta": 180.0, "actual": 180.0, "error": 0.0, "relative": 0.0}


def test_eta_ignores_history_off_by_ten_times() -> None:
    plan = plan_of("a", "b", "c", "d", "e")
    est = Estimator.for_plan(plan, {"a": 10.0, "b": 1.0, "c": 10.0, "d": 10.0, "e": 10.0},
                             (), 0.0)
    est.finish("a", 10.0, ran=True)                     # as expected
    est.finish("b", 30.0, ran=True)                     # 30 x: its history was wrong
    est.finish("c", 10.0, ran=True)
    assert est.rate() == pytest.approx(1.0)
    assert est.estimate(50.0)["eta"] == pytest.approx(20.0)


def test_eta_divides_by_the_parallelism_seen_and_waits_on_unknowns() -> None:
    plan = plan_of("a", "b", "c", "d")
    est = Estimator.for_plan(plan, {}, (), 0.0)
    assert est.estimate(100.0)["eta"] is None           # nothing known, nothing finished
    for name in ("a", "b"):
        est.start(name, 0.0)
    est.finish("a", 20.0, ran=True)
    est.finish("b", 20.0, ran=True)
    figures = est.estimate(20.0)
    # unknown expectations take the mean of what finished (20 s); two ran at once
    assert figures["eta"] == pytest.approx(20.0)


def test_the_bound_is_null_until_a_script_has_an_expectation() -> None:
    plan = plan_of("a", "b", "c", "d", chain=True)
    est = Estimator.for_plan(plan, {}, (), 0.0)
    est.start("a", 0.0)
    est.finish("a", 0.02, ran=True)                     # a quick first script, no history
    est.start("b", 0.02)
    figures = est.estimate(0.5)
    # the mean of what ended (0.02 s) is no knowledge of the chain left: null, not 0.0
    assert figures["bound"] is None
    assert est.estimate(0.6, full=False)["bound"] is None   # nor when counted down
    est.set_expected("c", 40.0)                         # one expectation: a bound again,
    # the others (b, running for 0.68 s, and d) taking the mean of the known
    assert est.estimate(0.7)["bound"] == pytest.approx(3 * 40.0 - 0.68, abs=0.05)


def test_an_eta_from_the_mean_of_quick_first_scripts_is_not_the_one_held_against_the_run(
) -> None:
    """mini-lfs as a new user builds it: three quick host scripts, then packages with sbu=
    and no SBU known; 15 s in, the mean of the quick ones (0.1 s) says nearly nothing left. It
    is shown, but it is not "the first estimate" the summary compares with what it took."""
    plan = plan_of("host", "layout", "cross", "m4", "sed")
    est = Estimator.for_plan(plan, {}, (), 0.0)
    for name in ("host", "layout", "cross"):
        est.start(name, 0.0)
        est.finish(name, 0.1, ran=True)
    est.start("m4", 0.3)
    assert est.estimate(16.0)["eta"] is not None
    assert est.first_eta is None
    est.set_expected("sed", 60.0)                       # an expectation: now it is informed
    figures = est.estimate(17.0)
    assert est.first_eta == (17.0, figures["eta"])


def test_an_eta_whose_only_known_script_has_ended_is_not_held_against_the_run() -> None:
    """examples/cross as lfsplug built it: the one package with sbu= passed, the two scripts
    left had no figure; the ETA then (the mean of what ended, 18 s each) said 36 s for what
    took 0.1 s, and the summary called it the first estimate, off by +26165 %."""
    plan = plan_of("toolchain", "libtasn1", "demo", "run")
    est = Estimator.for_plan(plan, {}, (), 0.0)
    est.set_expected("libtasn1", 18.0)
    est.start("toolchain", 0.0)
    est.finish("toolchain", 0.05, ran=True)
    est.start("libtasn1", 0.1)
    est.finish("libtasn1", 18.2, ran=True)
    est.start("demo", 18.4)
    assert est.estimate(18.5)["eta"] is not None        # shown, as the mean of what ended
    assert est.first_eta is None                        # but no script left has its own


def test_without_an_sbu_unit_the_builds_own_sbu_figures_give_one(lfsplugger: Lfsplugger,
                                                                  ) -> None:
    lfsplugger.make_tree({
        "s/01-host.sh": "true",
        "s/02-a.sh": "# lfsplug: sbu=1\nsleep 0.5",
        "s/03-b.sh": "# lfsplug: sbu=2\nsleep 1",
    })
    result = lfsplugger.run(*RUN, "s")
    assert result.ret == 0, result.errlines
    a, b = result.results["a"], result.results["b"]
    (metrics,), = db_rows(lfsplugger, "SELECT metrics FROM runs")
    run = json.loads(metrics)
    assert run["sbu_source"] == "this build's scripts and their sbu= figures"
    # a passed first: its seconds are its 1 SBU; b's 2 SBU then took about 2 of them
    # (a loaded machine starts a script late by some tenths of a second: loose bounds)
    assert b.resources["sbu"] == pytest.approx(2.0, rel=0.4)
    assert run["sbu_seconds"] == pytest.approx((a.duration + b.duration) / 3, rel=0.2)
    result.stdout.fnmatch_lines(["SBU: * s (this build's scripts and their sbu= figures)"])


@pytest.mark.parametrize("cached", [True, False])
def test_eta_error_is_recorded_for_the_run(lfsplugger: Lfsplugger,
                                           monkeypatch: pytest.MonkeyPatch,
                                           cached: bool) -> None:
    monkeypatch.setattr(eta_module, "ETA_MIN_ELAPSED", 0.2)
    # a full estimate at every finish (a real build has it once a second): in a build of 1.2 s
    # the first informed ETA must come early enough to be worth measuring
    monkeypatch.setattr(monitor_module, "FULL_ESTIMATE_EVERY", 0.0)
    lfsplugger.make_tree({f"s/0{i}-p{i}.sh": "sleep 0.3" for i in range(1, 5)})
    assert lfsplugger.run(*RUN, "s").ret == 0            # history: each about 0.3 s
    result = lfsplugger.run(*RUN, "s", *(() if cached else ("--force-all",)))
    assert result.ret == 0
    metrics = json.loads(db_rows(lfsplugger, "SELECT metrics FROM runs ORDER BY id")[-1][0])
    if cached:   # nothing ran: no estimate was needed
        assert "eta_error" not in metrics or metrics["eta_error"] is None
        return
    error = metrics["eta_error"]
    assert error is not None and abs(error["relative"]) < 0.5
    assert any(e["eta"] is not None for e in progress(result))


def test_the_sampler_costs_little(lfsplugger: Lfsplugger) -> None:
    """Not a timing assertion: the sampler's own CPU is recorded for the benchmark's sake."""
    lfsplugger.make_tree({"01-a.sh": "sleep 0.5"})
    assert lfsplugger.run(*RUN).ret == 0
    metrics = json.loads(db_rows(lfsplugger, "SELECT metrics FROM runs")[0][0])
    assert set(metrics["sampler"]) == {"interval", "ticks", "cpu_s", "cpu_share", "tick_ms"}


# -- the state service -------------------------------------------------------------------------


class OwnState:
    """A state service of another plugin's (the contract, not the built-in state plugin): an
    SBU script that passed in its run 7 in 0.5 s, imported history for gcc-pass1, and the
    metrics it is given."""

    def __init__(self) -> None:
        self.metrics: list[dict[str, Any]] = []

    @lfsplug.hookimpl
    def lfsplug_state_service(self, config: lfsplug.Config) -> lfsplug.StateService:
        return self

    def current_run(self) -> None:
        return None

    def flush(self) -> None:
        pass

    def record_run_metrics(self, metrics: Any) -> None:
        self.metrics.append(dict(metrics))

    def run(self, run_id: int | None = None) -> lfsplug.StoredRun:
        raise UsageError("no runs here")

    def results(self, run_id: int) -> list[StoredResult]:
        return []

    def events(self, run_id: int) -> list[lfsplug.StoredEvent]:
        return []

    def samples(self, run_id: int) -> StoredSamples:
        return StoredSamples()

    def last_pass(self, name: str, *, any_target: bool = False) -> StoredResult | None:
        if name != "binutils-pass1":
            return None
        return StoredResult(7, 1, name, "/elsewhere/binutils.sh", "passed", attempts=1,
                            started=100.0, finished=100.5)

    def history(self) -> list[HistoryEntry]:
        return [HistoryEntry("gcc-pass1", 1200.0, sbu_seconds=100.0, source="r", position=1)]

    def add_history(self, source: str, entries: Any) -> int:
        return 0


def test_the_monitor_reads_and_keeps_through_the_state_service(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"s/01-gcc-pass1.sh": "sleep 0.3"})
    state = OwnState()
    result = lfsplugger.run(*RUN, "s", "-p", "no:state", plugins=[state])
    assert result.ret == 0, result.errlines
    # the SBU from the service's last pass, gcc-pass1 expected at its 12 SBU of history
    first = progress(result)[0]
    assert first["sbu_seconds"] == 0.5
    assert any(e["running"].get("gcc-pass1") == pytest.approx(6.0) for e in progress(result))
    [metrics] = state.metrics
    assert metrics["sbu_seconds"] == 0.5 and metrics["sbu_source"] == "binutils-pass1, run 7"
    result.stdout.fnmatch_lines(["SBU: 0.5 s (binutils-pass1, run 7)"])


def test_the_monitor_works_without_the_state_plugin(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"s/01-binutils-pass1.sh": "sleep 0.3", "s/02-b.sh": "sleep 0.2"})
    result = lfsplugger.run(*RUN, "s", "-p", "no:state")
    assert result.ret == 0, result.errlines
    assert progress(result) and samples(result)
    assert result.results["b"].resources["sbu"] > 0   # this build's SBU, kept nowhere
    result.stdout.fnmatch_lines(["SBU: * s (binutils-pass1, this build)"])
    assert not (lfsplugger.path / "s" / ".lfsplug" / "state.db").exists()
