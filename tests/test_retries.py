"""The executor's side of retries (issue 13): a retry that runs alone (``Recovery.exclusive``)
and a retry that starts from a clean tree (``cleanup=``, ``[executor] cleanup``, the unpacked
tree, a jhalfs ``PACKAGE=`` tarball's ``PKGDIR``). The decision to retry is an ``lfsconf.py``
here, so that these tests stand without the recovery plugin."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lfsplug import Script
from lfsplug.testing import Lfsplugger
from lfsplug_executor.scheduler import RunsAlone, Throttled
from lfsplug_executor.workspace import cleanup_argv

RUN = ("run", "--shellcheck", "off", "--host-check", "off", "-p", "no:recovery")
GRAPH = (*RUN, "--order", "graph")

#: Retries every script's first failure, alone and with make at one job, as for an OOM.
RETRY_ALONE = """\
import lfsplug

@lfsplug.hookimpl
def lfsplug_recover(script, result, failure):
    if result.attempts < 2:
        return lfsplug.Recovery("retry", "out of memory", exclusive=True,
                                env={"MAKEFLAGS": "-j1"})
    return None
"""

#: Retries every script's first failure (not alone).
RETRY = """\
import lfsplug

@lfsplug.hookimpl
def lfsplug_recover(script, result, failure):
    return lfsplug.Recovery("retry", "flaky") if result.attempts < 2 else None
"""


def traced(name: str, body: str = "sleep 1.5") -> str:
    """A script that writes when it starts and ends to ``../trace`` (``start NAME TIME``)."""
    return (f"# lfsplug: name={name}\n"
            f'echo "start {name} $(date +%s.%N)" >> ../trace\n'
            f"{body}\n"
            f'echo "end {name} $(date +%s.%N)" >> ../trace\n')


def intervals(trace: Path) -> list[tuple[str, float, float]]:
    """Each run of a script in the trace, in order of start: (name, start, end); a name
    repeats for each attempt (``a``, then ``a`` again for its retry)."""
    open_: dict[str, float] = {}
    runs: list[tuple[str, float, float]] = []
    for line in trace.read_text().splitlines():
        what, name, when = line.split()
        if what == "start":
            open_[name] = float(when)
        else:
            runs.append((name, open_.pop(name), float(when)))
    return sorted(runs, key=lambda run: run[1])


def attempt_logs(lfsplugger: Lfsplugger, name: str) -> dict[int, str]:
    """The text of each attempt's log of ``name`` in the state directory, by attempt."""
    found: dict[int, str] = {}
    for path in (lfsplugger.path / "s" / ".lfsplug" / "logs").rglob(f"{name}*.log"):
        stem = path.name.removesuffix(".log")
        if stem == name:
            found[1] = path.read_text()
        elif stem.startswith(f"{name}.") and stem[len(name) + 1:].isdigit():
            found[int(stem[len(name) + 1:])] = path.read_text()
    return found


# -- exclusive retries --------------------------------------------------------------------------

def test_an_exclusive_retry_runs_with_nothing_beside_it_at_j4(lfsplugger: Lfsplugger) -> None:
    # a fails at once (its first attempt) while b, c and d run; e and f wait for a slot. The
    # retry must wait for b, c and d to finish, start alone, and e and f start only after it.
    first_fails = ('if [ ! -e ../a.failed ]; then touch ../a.failed\n'
                   '  until grep -q "start b" ../trace; do sleep 0.05; done\n'
                   '  echo "end a $(date +%s.%N)" >> ../trace; exit 1; fi\n'
                   'echo "MAKEFLAGS=$MAKEFLAGS"; sleep 0.5')
    lfsplugger.make_tree({
        "s/1-a.sh": traced("a", first_fails),
        **{f"s/{i}-{n}.sh": traced(n) for i, n in enumerate("bcd", 2)},
        **{f"s/{i}-{n}.sh": traced(n, "sleep 0.3") for i, n in enumerate("ef", 5)},
    })
    lfsplugger.make_lfsconf(RETRY_ALONE, "s")
    result = lfsplugger.run(*GRAPH, "-j", "4", "s")
    assert result.ret == 0, result.outlines + result.errlines
    assert result.results["a"].attempts == 2
    runs = intervals(lfsplugger.path / "trace")
    assert [name for name, _, _ in runs].count("a") == 2
    first, retry = [run for run in runs if run[0] == "a"]
    others = [run for run in runs if run[0] != "a"]
    # the build did run in parallel: a's first attempt beside b (it waited for b to start)
    assert any(start < first[2] and first[1] < end for name, start, end in others if name == "b")
    # the retry overlaps no other script's run
    overlapping = [n for n, start, end in others if start < retry[2] and retry[1] < end]
    assert overlapping == [], runs
    # e and f waited for the retry (they were ready, with slots free, before it started)
    assert all(start >= retry[2] for name, start, _ in others if name in "ef"), runs
    assert "MAKEFLAGS=-j1" in attempt_logs(lfsplugger, "a")[2]
    events = [e for c in result.getcalls("lfsplug_events") for e in c.events]
    [alone] = [e for e in events if isinstance(e.record, RunsAlone)]
    assert alone.script == "a" and alone.record.waited > 0.5
    assert any(isinstance(e.record, Throttled) and e.record.reason == "a retry of a runs alone"
               for e in events)


def test_two_exclusive_retries_take_turns(lfsplugger: Lfsplugger) -> None:
    # both fail at once and both want to run alone: one after the other, never together
    def flaky(name: str) -> str:
        return traced(name, f'if [ ! -e ../{name}.failed ]; then touch ../{name}.failed; '
                            f'echo "end {name} $(date +%s.%N)" >> ../trace; exit 1; fi\n'
                            "sleep 0.4")

    lfsplugger.make_tree({"s/1-a.sh": flaky("a"), "s/2-b.sh": flaky("b"),
                          "s/3-c.sh": traced("c", "sleep 0.8")})
    lfsplugger.make_lfsconf(RETRY_ALONE, "s")
    result = lfsplugger.run(*GRAPH, "-j", "3", "s")
    assert result.ret == 0, result.outlines + result.errlines
    assert result.statuses() == {"a": "passed", "b": "passed", "c": "passed"}
    runs = intervals(lfsplugger.path / "trace")
    retries = [run for run in runs if run[0] in "ab"][2:]  # the second run of each
    assert sorted(name for name, _, _ in retries) == ["a", "b"]
    for name, start, end in retries:
        beside = [n for n, s, e in runs if (n, s, e) != (name, start, end)
                  and s < end and start < e]
        assert beside == [], (name, runs)


def test_an_exclusive_retry_at_j1_runs_at_once(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "s/01-a.sh": ('[ -e ../a.failed ] || { touch ../a.failed; exit 1; }\n'
                      'echo "again $MAKEFLAGS"'),
        "s/02-b.sh": "true",
    })
    lfsplugger.make_lfsconf(RETRY_ALONE, "s")
    result = lfsplugger.run(*RUN, "s")
    assert result.ret == 0, result.outlines + result.errlines
    assert result.results["a"].attempts == 2
    assert "again -j1" in attempt_logs(lfsplugger, "a")[2]


def test_a_stop_while_a_retry_waits_to_run_alone_gives_the_retry_up(
        lfsplugger: Lfsplugger) -> None:
    # a fails and waits to run alone beside b; b then fails too (no --keep-going): the build
    # stops, and a's retry never runs
    lfsplugger.make_tree({
        "s/1-a.sh": "# lfsplug: name=a\necho once >> ../a.runs\nexit 1",
        "s/2-b.sh": "# lfsplug: name=b\nsleep 1\nexit 1",
    })
    lfsplugger.make_lfsconf("""\
import lfsplug

@lfsplug.hookimpl
def lfsplug_recover(script, result, failure):
    if script.name == "a" and result.attempts < 2:
        return lfsplug.Recovery("retry", "oom", exclusive=True)
    return None
""", "s")
    result = lfsplugger.run(*GRAPH, "-j", "2", "s")
    assert result.ret == 1
    assert (lfsplugger.path / "a.runs").read_text() == "once\n"
    assert result.results["a"].attempts == 1


# -- clean retries ------------------------------------------------------------------------------

def tarball(sources: Path, name: str = "pkg-1.0") -> Path:
    """``sources/NAME.tar.gz`` holding ``NAME/README``, made with the real tar."""
    (sources / name).mkdir(parents=True)
    (sources / name / "README").write_text("read me\n")
    subprocess.run(["tar", "-czf", f"{name}.tar.gz", name], cwd=sources, check=True)
    subprocess.run(["rm", "-r", name], check=True, cwd=sources)
    return sources / f"{name}.tar.gz"


#: Fails the first time, after leaving a half-built marker in the tree it runs in; says so
#: (and fails for good) if it finds that marker on a retry.
HALF_BUILT = ('if [ -e half-built ]; then echo "found the half-built tree"; exit 3; fi\n'
              "touch half-built\n"
              '[ -e "$MARKS/failed-once" ] || { touch "$MARKS/failed-once"; exit 1; }\n'
              'echo "built in a clean tree"\n')


def run_retried(lfsplugger: Lfsplugger, lfs: Path, *args: str) -> tuple[int, dict[int, str]]:
    lfsplugger.make_lfsconf(RETRY, "s")
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfs), *args)
    return result.ret, attempt_logs(lfsplugger, "pkg")


def sources_dir(lfsplugger: Lfsplugger) -> Path:
    lfs = lfsplugger.path / "lfs"
    (lfs / "sources").mkdir(parents=True)
    lfsplugger.make_config(f'[env]\nMARKS = "{lfsplugger.path}"\n')
    return lfs


def test_a_retry_of_an_unpack_script_starts_from_a_fresh_unpack(lfsplugger: Lfsplugger) -> None:
    lfs = sources_dir(lfsplugger)
    tarball(lfs / "sources")
    lfsplugger.make_tree({"s/01-pkg.sh": "# lfsplug: name=pkg unpack=pkg-1.0.tar.gz\n"
                                         + HALF_BUILT})
    ret, logs = run_retried(lfsplugger, lfs)
    assert ret == 0, logs
    assert "built in a clean tree" in logs[2]
    assert ("# lfsplug: cleanup before attempt 2: the tarball is unpacked afresh (unpack=)"
            in logs[2])
    assert f"# lfsplug: removed {lfs}/sources/pkg-1.0, left by an earlier attempt" in logs[2]


def test_a_retry_of_a_jhalfs_scriptlet_removes_the_pkgdir_of_its_package(
        lfsplugger: Lfsplugger) -> None:
    # a BLFS jhalfs scriptlet unpacks its own tarball (PACKAGE=...) beside it and finds its
    # PKGDIR from the first member; tar -x over the old tree would keep the half-built marker
    lfs = sources_dir(lfsplugger)
    tarball(lfs / "sources")
    lfsplugger.make_tree({"s/01-pkg.sh": (
        "PACKAGE=pkg-1.0.tar.gz\n"
        'cd "$LFS/sources"\n'
        "tar -xf $PACKAGE\n"
        "PKGDIR=$(tar -tf $PACKAGE | head -n1 | sed 's@^./@@;s@/.*@@')\n"
        "cd $PKGDIR\n" + HALF_BUILT)})
    ret, logs = run_retried(lfsplugger, lfs)
    assert ret == 0, logs
    assert "found the half-built tree" not in logs[2]
    assert "built in a clean tree" in logs[2]
    assert (f"# lfsplug: cleanup before attempt 2: removed {lfs}/sources/pkg-1.0, the PKGDIR "
            f"of PACKAGE=pkg-1.0.tar.gz, left by attempt 1") in logs[2]


def test_the_cleanup_command_of_the_header_runs_before_the_retry(lfsplugger: Lfsplugger) -> None:
    lfs = sources_dir(lfsplugger)
    lfsplugger.make_tree({"s/01-pkg.sh": (
        "# lfsplug: name=pkg\n"
        "# lfsplug: cleanup=echo cleaning $PWD; rm -f half-built\n" + HALF_BUILT)})
    ret, logs = run_retried(lfsplugger, lfs)
    assert ret == 0, logs
    assert "built in a clean tree" in logs[2]
    lines = logs[2].splitlines()
    assert lines[0] == (f"# lfsplug: cleanup before attempt 2: echo cleaning $PWD; rm -f "
                        f"half-built (from cleanup= line 3), in {lfsplugger.path / 's'}")
    assert lines[1] == f"cleaning {lfsplugger.path / 's'}"
    assert "# lfsplug: cleanup exit status 0" in lines
    assert "cleanup" not in logs[1]  # the first attempt has nothing to clean
    # a key the executor reads: no "unknown metadata key" warning for it
    check = lfsplugger.run("check", "s", "--shellcheck", "off", "--host-check", "off")
    assert not any("cleanup" in line for line in check.outlines + check.errlines), check.outlines


def test_the_configured_cleanup_runs_in_the_failed_attempts_tree(lfsplugger: Lfsplugger) -> None:
    lfs = sources_dir(lfsplugger)
    tarball(lfs / "sources")
    (lfsplugger.path / "lfsplug.toml").write_text(
        f'[env]\nMARKS = "{lfsplugger.path}"\n[executor]\n'
        'cleanup = "ls; echo \\"PKGDIR=$PKGDIR\\"; rm -f half-built"\n')
    lfsplugger.make_tree({"s/01-pkg.sh": "# lfsplug: name=pkg unpack=pkg-1.0.tar.gz\n"
                                         + HALF_BUILT})
    ret, logs = run_retried(lfsplugger, lfs)
    assert ret == 0, logs
    lines = logs[2].splitlines()
    top = lfs / "sources" / "pkg-1.0"
    assert lines[0].startswith("# lfsplug: cleanup before attempt 2: ls; ")
    assert lines[0].endswith(f"(from [executor] cleanup), in {top}")
    assert lines[1:4] == ["README", "half-built", f"PKGDIR={top}"]  # the failed attempt's tree


def test_a_failed_cleanup_stops_the_retry(lfsplugger: Lfsplugger) -> None:
    lfs = sources_dir(lfsplugger)
    lfsplugger.make_tree({"s/01-pkg.sh": "# lfsplug: name=pkg cleanup=echo no way; exit 4\n"
                                         "echo ran >> ../runs; exit 1"})
    lfsplugger.make_lfsconf(RETRY, "s")
    result = lfsplugger.run(*RUN, "s", "--lfs", str(lfs))
    assert result.ret == 1
    assert (lfsplugger.path / "runs").read_text() == "ran\n"  # once: the retry did not run
    final = result.results["pkg"]
    assert final.attempts == 2
    assert final.message == (
        "not run: 01-pkg.sh:2: cleanup=echo no way; exit 4: it failed (exit status 4): the "
        "retry does not run on a tree it could not clean")
    log = attempt_logs(lfsplugger, "pkg")[2]
    assert "no way\n" in log and "# lfsplug: cleanup exit status 4" in log


def test_an_exclusive_retry_cleans_up_alone_too(lfsplugger: Lfsplugger) -> None:
    # the cleanup is part of the retry: it too runs with nothing beside it
    lfs = sources_dir(lfsplugger)
    lfsplugger.make_tree({
        "s/1-a.sh": traced("a", 'if [ ! -e ../a.failed ]; then touch ../a.failed\n'
                                '  echo "end a $(date +%s.%N)" >> ../trace; exit 1; fi')
        .replace("# lfsplug: name=a\n", "# lfsplug: name=a\n# lfsplug: cleanup=echo "
                 '"start cleanup $(date +%s.%N)" >> ../trace; sleep 0.3; echo '
                 '"end cleanup $(date +%s.%N)" >> ../trace\n'),
        "s/2-b.sh": traced("b", "sleep 1"),
    })
    lfsplugger.make_lfsconf(RETRY_ALONE, "s")
    result = lfsplugger.run(*GRAPH, "-j", "2", "s", "--lfs", str(lfs))
    assert result.ret == 0, result.outlines + result.errlines
    runs = intervals(lfsplugger.path / "trace")
    [(_, cleanup_start, _)] = [run for run in runs if run[0] == "cleanup"]
    [(_, _, b_end)] = [run for run in runs if run[0] == "b"]
    assert cleanup_start >= b_end, runs


def test_the_cleanup_runs_through_the_scripts_own_command(tmp_path: Path) -> None:
    script = Script("gcc-pass1", tmp_path / "05-gcc.sh", tmp_path)
    file = str(script.path)
    # the executor's command, as the build user, inside the chroot (the script's copy there)
    assert cleanup_argv(["bash", "+h", "-e", file], script, "make clean") == [
        "bash", "+h", "-e", "-c", "make clean"]
    assert cleanup_argv(["/usr/bin/setpriv", "--reuid=1001", "--", "bash", "+h", "-e", file],
                        script, "rm -rf build") == [
        "/usr/bin/setpriv", "--reuid=1001", "--", "bash", "+h", "-e", "-c", "rm -rf build"]
    assert cleanup_argv(["/usr/sbin/chroot", "/mnt/lfs", "/bin/bash", "+h", "-e",
                         "/lfsplug/gcc-pass1.sh"], script, "true") == [
        "/usr/sbin/chroot", "/mnt/lfs", "/bin/bash", "+h", "-e", "-c", "true"]
    # a command of another shape: bash on its own
    assert cleanup_argv(["sh", "-c", "echo hi", file], script, "true") == [
        "bash", "+h", "-e", "-c", "true"]
