"""The distcc plugin in a build, with real distccd daemons on loopback addresses only
(127.0.0.2, 127.0.0.3, 127.0.0.4): a small C package built with every compile sent away, the
counts per helper, a helper hung (SIGSTOP) or killed mid-build, validation's findings,
``lfsplug hosts``, the environment and the plugin's absence without helpers.
Nothing here sends traffic outside 127.0.0.0/8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lfsplug
from distcc_daemons import Daemon, need_distcc
from lfsplug import ScriptNote
from lfsplug.testing import Lfsplugger

ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
FILES = 8


def package(half: str = "") -> str:
    """A script that writes a C package of FILES sources and builds it with make (its
    compiler is plain ``cc``, as a Makefile's default); ``half`` goes between the two halves
    of the compiles."""
    sources = "\n".join(f"printf 'int f{i}(int x) {{ return x * {i} + {i}; }}\\n' > f{i}.c"
                        for i in range(1, FILES))
    first = " ".join(f"f{i}.o" for i in range(1, FILES // 2 + 1))
    return (f"set -e\nrm -rf pkg && mkdir pkg && cd pkg\n{sources}\n"
            "printf 'int main(void) { return 0; }\\n' > main.c\n"
            f"make -j4 {first}\n{half}\n"
            f"make -j4 {' '.join(f'f{i}.o' for i in range(FILES // 2 + 1, FILES))} main.o\n"
            "cc -o demo *.o\n./demo\n")


@pytest.fixture
def helpers() -> Iterator[list[Daemon]]:
    need_distcc(*ADDRESSES)
    daemons = [Daemon(address, jobs=2) for address in ADDRESSES]
    try:
        for daemon in daemons:
            daemon.start()
        yield daemons
    finally:
        for daemon in daemons:
            daemon.stop()


def config(daemons: list[Daemon], **more: object) -> str:
    hosts = ", ".join(f'"{d.host_spec}"' for d in daemons)
    lines = [f"hosts = [{hosts}]", *(f"{k} = {json.dumps(v)}" for k, v in more.items())]
    return 'host_check = "off"\n[distcc]\n' + "\n".join(lines) + "\n"


def distcc_of(lfsplugger: Lfsplugger, report: Path, name: str = "pkg") -> dict[str, object]:
    assert lfsplugger.run("report", f"json:{report}", "--state-dir",
                          str(lfsplugger.path / ".lfsplug")).ret == 0
    scripts = {s["name"]: s for s in json.loads(report.read_text())["scripts"]}
    found: dict[str, object] = scripts[name]["resources"]["distcc"]
    return found


def test_every_compile_goes_to_the_helpers(lfsplugger: Lfsplugger, helpers: list[Daemon],
                                           tmp_path: Path) -> None:
    two = helpers[:2]
    lfsplugger.make_tree({"01-pkg.sh": package("sleep 1.5")})
    lfsplugger.make_config(config(two, fallback=False, local_slots=0))
    notes: list[str] = []

    class Notes:
        @lfsplug.hookimpl
        def lfsplug_events(self, session: object, events: list[lfsplug.Event]) -> None:
            notes.extend(e.record.text for e in events if isinstance(e.record, ScriptNote))

    result = lfsplugger.run("run", ".", "--plain", "--shellcheck", "off", plugins=[Notes()])
    assert result.ret == 0, result.errlines
    jobs = distcc_of(lfsplugger, tmp_path / "r.json")
    remote = jobs["remote"]
    assert isinstance(remote, dict) and sum(remote.values()) == FILES
    assert set(remote) <= {d.name for d in two}
    assert jobs["local"] == 0 and jobs["refused"] == 0
    # each daemon's own log agrees with the counts (less validation's probe compiles)
    for daemon in two:
        built = [line for line in daemon.log().splitlines()
                 if "COMPILE_OK" in line and "probe" not in line]
        assert len(built) == remote.get(daemon.name, 0), daemon.log()
    result.stdout.fnmatch_lines(["distcc compiles: * here"])
    assert any(n.startswith("distcc: ") for n in notes), notes  # the dashboard's live count
    # lfsplug hosts: each helper up, with this machine's compiler, and its jobs
    shown = lfsplugger.run("hosts", "--json")
    assert shown.ret == 0, shown.errlines
    rows = {r["host"]: r for r in json.loads("\n".join(shown.outlines))["hosts"]}
    for daemon in two:
        row = rows[daemon.name]
        assert row["state"] == "up" and row["same_as_here"] and row["slots"] == 2
        assert row["last_build"]["jobs"] == remote.get(daemon.name, 0)


@pytest.mark.parametrize("how", ["pause", "kill"])
def test_a_helper_lost_mid_build_is_reported_and_the_build_finishes(
        lfsplugger: Lfsplugger, helpers: list[Daemon], tmp_path: Path, how: str) -> None:
    ready, go = lfsplugger.path / "READY", lfsplugger.path / "GO"
    wait = f"touch {ready}\nwhile [ ! -e {go} ]; do sleep 0.05; done"
    lfsplugger.make_tree({"01-pkg.sh": package(wait)})
    lfsplugger.make_config(config(helpers, fallback=True, local_slots=0, io_timeout=3))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg")}
    env.pop("LFSPLUG_ADDOPTS", None)
    build = subprocess.Popen([sys.executable, "-m", "lfsplug", "run", ".", "--plain",
                              "--shellcheck", "off"], cwd=lfsplugger.path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert build.poll() is None and time.monotonic() < deadline, build.stdout
            time.sleep(0.05)
        lost = helpers[0]
        lost.pause() if how == "pause" else lost.kill()
        go.touch()
        out, _ = build.communicate(timeout=300)
    finally:
        if build.poll() is None:
            build.kill()
        helpers[0].resume() if how == "pause" else None
    assert build.returncode == 0, out[-3000:]
    jobs = distcc_of(lfsplugger, tmp_path / "r.json")
    remote, failed = jobs["remote"], jobs["failed"]
    assert isinstance(remote, dict) and isinstance(failed, dict)
    total = sum(remote.values()) + int(jobs["local"])  # type: ignore[call-overload]
    assert total == FILES
    assert jobs["lost"] == [lost.name] and failed.get(lost.name, 0) >= 1
    assert f"distcc helper {lost.name} failed during pkg" in out
    assert f"lost {lost.name}" in out


def test_validation_names_each_problem(lfsplugger: Lfsplugger, helpers: list[Daemon]) -> None:
    up, dead = helpers[0], helpers[1]
    dead.kill()
    lfsplugger.make_tree({"01-pkg.sh": "true"})
    lfsplugger.make_config(config([up, dead], fallback=False, timeout=2,
                                  compilers=["gcc", "x86_64-nolfs-linux-gnu-gcc"]))
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    findings = json.loads("\n".join(result.outlines))["findings"]
    by_code = {}
    for f in findings:
        by_code.setdefault(f["code"], []).append(f["message"])
    assert any(dead.name in m and "cannot be reached" in m for m in by_code["DIST001"])
    assert any(up.name in m and "x86_64-nolfs-linux-gnu-gcc" in m for m in by_code["DIST003"])
    assert all(f["severity"] == "error" for f in findings if f["code"].startswith("DIST"))
    # with fallback the same problems warn: the compiles run here
    lfsplugger.make_config(config([up, dead], fallback=True, timeout=2))
    assert lfsplugger.run("check").ret == 0


def test_the_environment_of_a_distributed_script(lfsplugger: Lfsplugger) -> None:
    need_distcc()
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": "# lfsplug: distcc=no\ntrue",
                          "03-c.sh": "# lfsplug: phase=chroot-temp chroot=no\ntrue"})
    lfsplugger.make_config('host_check = "off"\n[chroot.phases]\nchroot-temp = "host"\n'
                           '[distcc]\nhosts = ["127.0.0.2:3999/6,lzo"]\nlocal_slots = 2\n')
    result = lfsplugger.run("run", ".", "--dry-run")
    assert result.ret == 0, result.errlines
    text = "\n".join(result.outlines)
    a, rest = text.split("] run    b", 1)
    assert "+ DISTCC_HOSTS=127.0.0.2:3999/6,lzo localhost/2" in a
    assert "~ MAKEFLAGS=-j8" in a and "/distcc/bin:" in a and "+ DISTCC_FALLBACK=1" in a
    assert "DISTCC_HOSTS" not in rest  # distcc=no, and the chroot-temp phase: here only


def test_without_helpers_the_plugin_does_nothing(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("run", ".", "--dry-run", "--host-check", "off")
    assert result.ret == 0 and "DISTCC" not in "\n".join(result.outlines)
    assert lfsplugger.run("-p", "no:distcc", "hosts").ret == 4


def test_pump_mode_runs_the_include_server_for_the_build(lfsplugger: Lfsplugger,
                                                         helpers: list[Daemon],
                                                         tmp_path: Path) -> None:
    import shutil

    if shutil.which("distcc-pump") is None:
        pytest.skip("distcc-pump is not installed (Debian: apt-get install distcc-pump)")
    pumped = [f"{d.host_spec},lzo,cpp" for d in helpers[:2]]
    lfsplugger.make_tree({"01-pkg.sh": 'echo "pid=$INCLUDE_SERVER_PID port=$INCLUDE_SERVER_PORT"\n'
                          + package()})
    hosts = ", ".join(f'"{h}"' for h in pumped)
    lfsplugger.make_config('host_check = "off"\n[distcc]\nengine = "pump"\n'
                           f"hosts = [{hosts}]\nfallback = false\nlocal_slots = 0\n")
    result = lfsplugger.run("run", ".", "--plain", "--shellcheck", "off")
    assert result.ret == 0, result.errlines
    log = (lfsplugger.path / ".lfsplug" / "logs" / "pkg.log").read_text()
    said = next(line for line in log.splitlines() if line.startswith("pid="))
    pid = int(said.split()[0].removeprefix("pid="))
    assert "port=/" in said  # the include server's socket, given to the script
    jobs = distcc_of(lfsplugger, tmp_path / "r.json")
    assert sum(jobs["remote"].values()) == FILES  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.1)  # the include server is stopped when the build ends
    assert not os.path.exists(f"/proc/{pid}")
