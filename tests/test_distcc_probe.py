"""lfsplug_distcc: host specs, host probes against real distccd daemons, DISTCC_LOG counts.

Daemons listen on 127.0.0.2 and 127.0.0.3 only; nothing here leaves the loopback network.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from distcc_daemons import Daemon, need_distcc
from lfsplug_distcc.distlog import Jobs, LiveJobs, parse_log, read_log
from lfsplug_distcc.hosts import Host, hosts_value, parse_host, parse_hosts, slots
from lfsplug_distcc.probe import (
    Probe,
    local_version,
    probe_host,
    probe_hosts,
    version_conflicts,
)

NO_SUCH_CC = "x86_64-nolfs-linux-gnu-gcc"
StartDaemon = Callable[[str], Daemon]


# --- host specifications ------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "expected"), [
    ("localhost", ("localhost", "localhost", None, 2, ())),
    ("localhost/2", ("localhost", "localhost", None, 2, ())),
    ("build2", ("tcp", "build2", 3632, 4, ())),
    ("build2/8", ("tcp", "build2", 3632, 8, ())),
    ("build3:3632/16,lzo", ("tcp", "build3", 3632, 16, ("lzo",))),
    ("build3/16:3700", ("tcp", "build3", 3700, 16, ())),  # distcc's old style: /LIMIT:PORT
    ("10.0.0.1:4000/2,lzo,cpp", ("tcp", "10.0.0.1", 4000, 2, ("lzo", "cpp"))),
    ("[::1]:3700/3", ("tcp", "::1", 3700, 3, ())),
    ("[fe80::1],lzo", ("tcp", "fe80::1", 3632, 4, ("lzo",))),
    ("h,auth", ("tcp", "h", 3632, 4, ("auth",))),
    ("h,lzo,auth=build.example", ("tcp", "h", 3632, 4, ("lzo", "auth=build.example"))),
    ("localhost:3700", ("tcp", "localhost", 3700, 4, ())),  # a daemon here, not "run locally"
    ("user@build4", ("ssh", "build4", None, 4, ())),
    ("@build4/6:/opt/bin/distccd,lzo", ("ssh", "build4", None, 6, ("lzo",))),
])
def test_parse_good_hosts(spec: str, expected: tuple[object, ...]) -> None:
    host = parse_host(spec)
    assert host.spec == spec
    assert (host.kind, host.address, host.port, host.slots, host.options) == expected


def test_ssh_parts_and_names() -> None:
    host = parse_host("me@build4/6:/opt/bin/distccd,lzo")
    assert (host.user, host.command, host.name, host.lzo, host.pump) == (
        "me", "/opt/bin/distccd", "me@build4", True, False)
    assert parse_host("[::1]:3700").name == "[::1]:3700"
    assert parse_host("build2/8").name == "build2:3632"


@pytest.mark.parametrize(("spec", "message"), [
    ("x:y", "bad port 'y'"),
    ("h:", "bad port ''"),
    ("h:70000", "bad port '70000': a number from 1 to 65535"),
    ("h/0", "bad limit '/0'"),
    ("h/3x", "bad limit '/3x'"),
    ("h:4000/3:5", "unexpected ':5'"),
    ("h,zstd", "newer than distcc 3.4"),
    ("h,fast", "unknown option 'fast'"),
    ("h,cpp", "pump mode (',cpp') requires compression (',lzo')"),
    ("[::1", "closing ']'"),
    ("[nope]:3632", "bad IPv6 address 'nope'"),
    ("fe80::1", "an IPv6 address goes in brackets"),
    (":3632", "a host name is required"),
    ("u@", "a host name is required after '@'"),
    ("localhost/2,lzo", "localhost takes no port or options"),
    ("a b", "one host per item"),
    ("a#b", "one host per item"),
    ("", "empty host specification"),
    ("--randomize", "global option, not a host: set randomize instead"),
    ("--localslots=4", "global option, not a host"),
    ("+zeroconf", "list the hosts themselves"),
    ("bad_host!", "bad host name 'bad_host!'"),
])
def test_parse_bad_hosts_say_which_and_why(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_hosts(["build2/8", spec])
    assert str(caught.value).startswith(f"hosts item 2 {spec!r}: ")
    assert message in str(caught.value)


def test_hosts_value_and_slots() -> None:
    hosts = parse_hosts(["localhost", "build2/8", "build3:3632/16,lzo", "build5,down"])
    assert hosts_value(hosts) == "localhost build2/8 build3:3632/16,lzo build5,down"
    assert hosts_value(hosts[1:2], randomize=True) == "--randomize build2/8"
    assert slots(hosts) == 2 + 8 + 16  # a host marked down takes no jobs
    assert parse_hosts([]) == []
    with pytest.raises(ValueError, match="not one string"):
        parse_hosts("build2/8")


# --- probes against real daemons ----------------------------------------------------------

@pytest.fixture
def start_daemon() -> Iterator[StartDaemon]:
    """Start real distccd daemons on loopback addresses; all stopped after the test."""
    started: list[Daemon] = []

    def start(address: str) -> Daemon:
        need_distcc(address)
        daemon = Daemon(address, jobs=2)
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        daemon.stop()
    assert not any(daemon.running for daemon in started)


def test_probe_of_a_live_daemon_reads_the_remote_compiler(start_daemon: StartDaemon,
                                                           tmp_path: Path) -> None:
    daemon = start_daemon("127.0.0.2")
    probe = probe_host(parse_host(daemon.host_spec), ["gcc"], timeout=3, workdir=tmp_path / "p")
    assert (probe.reachable, probe.answered, probe.missing, probe.error) == (True, True, [], None)
    assert probe.ok
    assert probe.versions["gcc"] is not None and probe.versions["gcc"].startswith("GCC: ")
    assert probe.versions["gcc"] == local_version("gcc")
    assert "COMPILE_OK" in daemon.log()  # the daemon did compile it


def test_probe_of_a_paused_daemon_times_out(start_daemon: StartDaemon, tmp_path: Path) -> None:
    daemon = start_daemon("127.0.0.2")
    daemon.pause()
    try:
        probe = probe_host(parse_host(daemon.host_spec), ["gcc", "g++"], timeout=2,
                           workdir=tmp_path / "p")
    finally:
        daemon.resume()
    assert probe.reachable is True  # the kernel still accepts connections
    assert probe.answered is False
    assert probe.error == f"no answer from {daemon.name} within 2 s (distcc: IO timeout)"
    assert probe.versions == {"gcc": None, "g++": None}
    assert 1.5 < probe.seconds < 6  # one timeout: a hung host is not retried per compiler


def test_probe_of_a_killed_daemon_is_not_reachable(start_daemon: StartDaemon,
                                                   tmp_path: Path) -> None:
    daemon = start_daemon("127.0.0.3")
    daemon.kill()
    probe = probe_host(parse_host(daemon.host_spec), ["gcc"], timeout=2, workdir=tmp_path / "p")
    assert (probe.reachable, probe.answered, probe.versions) == (False, False, {"gcc": None})
    assert probe.error == f"not reachable: {daemon.name}: Connection refused"
    assert probe.seconds < 2


def test_probe_lists_compilers_the_host_lacks(start_daemon: StartDaemon,
                                              tmp_path: Path) -> None:
    daemon = start_daemon("127.0.0.2")
    bin_dir = tmp_path / "bin"  # this machine has the compiler under a new name, the host not
    bin_dir.mkdir()
    (bin_dir / NO_SUCH_CC).symlink_to("/usr/bin/gcc")
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    compilers = ["gcc", NO_SUCH_CC, "x86_64-nowhere-linux-gnu-gcc"]
    probe = probe_host(parse_host(daemon.host_spec), compilers, timeout=3,
                       workdir=tmp_path / "p", env={"PATH": path})
    assert probe.answered and probe.error is None and not probe.ok
    assert probe.missing == [NO_SUCH_CC, "x86_64-nowhere-linux-gnu-gcc"]
    assert "server provided no answer" in probe.reasons[NO_SUCH_CC]
    assert "Does the server have the compiler installed?" in probe.reasons[NO_SUCH_CC]
    assert "not found on this machine" in probe.reasons["x86_64-nowhere-linux-gnu-gcc"]
    assert f"{NO_SUCH_CC} not in /usr/lib/distcc" in daemon.log()  # distccd's own reason


def test_probe_hosts_in_parallel_in_order(start_daemon: StartDaemon, tmp_path: Path) -> None:
    live, dead = start_daemon("127.0.0.2"), start_daemon("127.0.0.3")
    dead.kill()
    hosts = parse_hosts([dead.host_spec, "me@build9", live.host_spec, "localhost"])
    probes = probe_hosts(hosts, ["gcc"], timeout=2, workdir=tmp_path / "p")
    assert [probe.host for probe in probes] == hosts
    assert [probe.reachable for probe in probes] == [False, None, True, True]
    assert probes[1].error == "not probed: ssh"
    assert probes[2].answered and probes[3].answered
    assert version_conflicts(probes) == {}


def test_version_conflicts_name_the_hosts() -> None:
    probes = [Probe(parse_host(spec), True, answered=True, versions={"gcc": version})
              for spec, version in [("b2", "GCC: 12.2.0"), ("b3", "GCC: 13.1.0"),
                                    ("b4", "GCC: 12.2.0")]]
    assert version_conflicts(probes) == {"gcc": {"b2:3632": "GCC: 12.2.0",
                                                 "b3:3632": "GCC: 13.1.0",
                                                 "b4:3632": "GCC: 12.2.0"}}
    assert version_conflicts(probes[::2]) == {}


def test_local_version_of_a_missing_compiler_is_none() -> None:
    assert local_version("x86_64-nowhere-linux-gnu-gcc") is None


# --- DISTCC_LOG of real builds ------------------------------------------------------------

def write_package(where: Path, sources: int = 8) -> None:
    """A small C package: ``sources`` objects and a program linked from them."""
    where.mkdir(parents=True, exist_ok=True)
    names = [f"f{index}" for index in range(sources)]
    for name in names:
        (where / f"{name}.c").write_text(f"int {name}(int x) {{ return x * 3 + {len(name)}; }}\n")
    calls = " + ".join(f"{name}(argc)" for name in names)
    (where / "main.c").write_text(
        "".join(f"int {name}(int);\n" for name in names)
        + f"int main(int argc, char **argv) {{ (void)argv; return ({calls}) == 0; }}\n")
    objects = " ".join(f"{name}.o" for name in names)
    (where / "Makefile").write_text(
        f"OBJECTS = {objects}\n"
        "prog: $(OBJECTS) main.c\n\tgcc -o prog main.c $(OBJECTS)\n"
        "%.o: %.c\n\t$(CC) -c $< -o $@\n"
        "clean:\n\trm -f prog *.o\n")


def build(where: Path, hosts: str, log: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    distcc_dir = where / ".distcc"
    distcc_dir.mkdir(exist_ok=True)
    env = dict(os.environ, DISTCC_HOSTS=hosts, DISTCC_DIR=str(distcc_dir), DISTCC_LOG=str(log),
               DISTCC_IO_TIMEOUT="5", **extra)
    env.pop("DISTCC_VERBOSE", None)
    return subprocess.run(["make", "-j4", "CC=distcc gcc"], cwd=where, env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def test_log_of_a_build_on_two_daemons(start_daemon: StartDaemon, tmp_path: Path) -> None:
    first, second = start_daemon("127.0.0.2"), start_daemon("127.0.0.3")
    write_package(tmp_path / "pkg")
    log = tmp_path / "remote.log"
    done = build(tmp_path / "pkg", f"{first.host_spec} {second.host_spec}", log,
                 DISTCC_FALLBACK="0")
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = read_log(log)
    assert set(jobs.remote) <= {first.name, second.name}
    assert sum(jobs.remote.values()) == 8
    assert (jobs.local, jobs.failed, jobs.fallbacks, jobs.refused, jobs.lost) == (0, {}, 0, 0, [])
    live = LiveJobs()
    changed = [live.feed(line) for line in log.read_text().splitlines()]
    assert live.jobs.to_dict() == jobs.to_dict()
    assert changed.count(True) == 8


def test_log_of_a_build_with_a_dead_host(start_daemon: StartDaemon, tmp_path: Path) -> None:
    dead, live = start_daemon("127.0.0.3"), start_daemon("127.0.0.2")
    dead.kill()
    write_package(tmp_path / "pkg")
    log = tmp_path / "dead.log"
    done = build(tmp_path / "pkg", f"{dead.host_spec} {live.host_spec}", log)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "pkg" / "prog").exists()
    jobs = parse_log(log.read_text().splitlines(keepends=True))
    assert jobs.lost == [dead.name]
    assert jobs.failed.get(dead.name, 0) >= 1 and set(jobs.failed) == {dead.name}
    assert dead.name not in jobs.remote
    assert jobs.remote.get(live.name, 0) + jobs.local == 8
    assert jobs.fallbacks <= jobs.local and jobs.refused == 0
    live_jobs = LiveJobs()
    for line in log.read_text().splitlines():
        live_jobs.feed(line)
    assert live_jobs.jobs.to_dict() == jobs.to_dict()


# --- DISTCC_LOG lines as distcc 3.4 writes them -------------------------------------------

REMOTE_OK = """\
distcc[32293] compile from t.c to t.o
distcc[32293] (dcc_gcc_rewrite_fqn) Re-writing call to 'gcc' to 'x86_64-linux-gnu-gcc' to ...
distcc[32293] exec on 127.0.0.2:3711/2,lzo: x86_64-linux-gnu-gcc -c t.c -o t.o
distcc[32293] cpp t.c on localhost completed ok
distcc[32293] 143 bytes from t.c compiled on 127.0.0.2 in 0.0269s, rate 5kB/s
distcc[32293] compile t.c on 127.0.0.2:3711/2,lzo completed ok
distcc[32293] elapsed compilation time 0.027490s
distcc[19641] (dcc_scan_args) called for link?  i give up
distcc[19641] exec on localhost: x86_64-linux-gnu-gcc m.o t.o -o prog
distcc[19641] compile (null) on localhost completed ok
distcc[13044] exec on localhost: x86_64-linux-gnu-gcc -c u.c -o u.o
distcc[13044] compile u.c on localhost completed ok
"""

CONNECT_FALLBACK = """\
distcc[16154] exec on 127.0.0.2:3799/2: x86_64-linux-gnu-gcc -c t.c -o t.o
distcc[16154] ERROR: nonblocking connect to 127.0.0.2:3799 failed: Connection refused
distcc[16154] Warning: failed to distribute t.c to 127.0.0.2:3799/2, running locally instead
distcc[16154] exec on localhost: x86_64-linux-gnu-gcc -c t.c -o t.o
distcc[16154] compile t.c on localhost completed ok
"""

TIMEOUT_REFUSED = """\
distcc[17505] exec on 127.0.0.2:3711/2: x86_64-linux-gnu-gcc -c t.c -o t.o
distcc[17505] cpp t.c on localhost completed ok
distcc[17505] (dcc_select_for_read) ERROR: IO timeout
distcc[17505] (dcc_r_token_int) ERROR: read failed while waiting for token "DONE"
distcc[17505] (dcc_r_result_header) ERROR: server provided no answer. Is the server ...
distcc[17505] (dcc_build_somewhere) ERROR: failed to distribute and fallbacks are disabled
distcc[17505] elapsed compilation time 2.014128s
"""

COMPILE_ERROR = """\
distcc[13073] exec on 127.0.0.2:3711/2: x86_64-linux-gnu-gcc -c bad.c -o bad.o
distcc[13073] cpp bad.c on localhost completed ok
distcc[13073] ERROR: compile bad.c on 127.0.0.2:3711/2 failed
distcc[13073] (dcc_build_somewhere) Warning: remote compilation of 'bad.c' failed, retrying ...
distcc[13073] Warning: failed to distribute bad.c to 127.0.0.2:3711/2, running locally instead
distcc[13073] exec on localhost: x86_64-linux-gnu-gcc -c bad.c -o bad.o
distcc[13073] ERROR: compile bad.c on localhost failed
"""


@pytest.mark.parametrize(("text", "expected"), [
    (REMOTE_OK, Jobs(remote={"127.0.0.2:3711": 1}, local=1, other=1)),
    (CONNECT_FALLBACK, Jobs(local=1, failed={"127.0.0.2:3799": 1}, fallbacks=1,
                            lost=["127.0.0.2:3799"])),
    (TIMEOUT_REFUSED, Jobs(failed={"127.0.0.2:3711": 1}, refused=1, lost=["127.0.0.2:3711"])),
    (COMPILE_ERROR, Jobs(failed={"127.0.0.2:3711": 1, "localhost": 1}, fallbacks=1)),
])
def test_parse_log_cases(text: str, expected: Jobs) -> None:
    assert parse_log(text.splitlines()) == expected


def test_live_jobs_never_raise_on_junk() -> None:
    live = LiveJobs()
    junk: list[object] = ["", "distcc[", "distcc[1]", "distcc[1] ", "distcc[1] (x",
                          "distcc[1] ERROR: ", "distcc[1] compile  completed ok",
                          "distccd[5] compile t.c on localhost completed ok", None, b"bytes",
                          "distcc[2] ERROR: nonblocking connect to", "\x00\udcff"]
    assert [live.feed(line) for line in junk] == [  # type: ignore[arg-type]
        False, False, False, False, False, False, False, False, False, False, False, False]
    assert read_log(Path("/nonexistent/distcc.log")) == Jobs()


def test_hosts_from_logs_match_the_configured_names() -> None:
    host: Host = parse_host("127.0.0.2:3711/2,lzo")
    jobs = parse_log(REMOTE_OK.splitlines())
    assert list(jobs.remote) == [host.name]
