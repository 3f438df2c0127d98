"""The recovery plugin: where a script failed, its failure class with evidence, and the policy.

Every class the issue names gets a script that really fails that way (gcc, patch, make -j, a
full tmpfs, SIGKILL, a refused connection...); each test checks the class, the evidence, the
failing command and line, and the policy taken (the ``lfsplug_recover`` answer and the
``script-retry`` events)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

import lfsplug
from lfsplug import (
    AlertRaised,
    Event,
    FailureClass,
    Recovery,
    RecoveryAction,
    Script,
    ScriptResult,
    ScriptRetry,
    Status,
)
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_recovery.signatures import (
    SIGNATURES,
    Context,
    classify,
    jobs_of,
    kernel_oom,
    oom_records,
)
from lfsplug_recovery.where import command_step, install, read_stop, step_of, trap_text

DOCS = Path(__file__).resolve().parents[1] / "docs" / "recovery.md"
FAST = "[recovery]\nbackoff = 0.05\n"


class Decisions:
    """Records each failure's class and the recovery decided, and every event."""

    def __init__(self) -> None:
        self.taken: list[tuple[str, FailureClass | None, Recovery | None]] = []
        self.events: list[Event] = []

    @lfsplug.hookimpl(wrapper=True)
    def lfsplug_recover(self, session: Any, script: Script, result: ScriptResult,
                        failure: FailureClass | None) -> Generator[None, Any, Any]:
        recovery = yield
        self.taken.append((script.name, failure, recovery))
        return recovery

    @lfsplug.hookimpl
    def lfsplug_events(self, session: Any, events: list[Event]) -> None:
        self.events.extend(events)

    def retries(self) -> list[ScriptRetry]:
        return [e.record for e in self.events if isinstance(e.record, ScriptRetry)]

    def alerts(self) -> list[AlertRaised]:
        return [e.record for e in self.events if isinstance(e.record, AlertRaised)]


def run(lfsplugger: Lfsplugger, *args: str) -> tuple[RunResult, Decisions]:
    decisions = Decisions()
    return lfsplugger.run("run", *args, plugins=[decisions]), decisions


def line_of(script: str, needle: str) -> int:
    """The line of ``script`` (after the shebang lfsplugger adds) that starts with ``needle``."""
    lines = ["#!/bin/bash", *script.splitlines()]
    return next(n for n, line in enumerate(lines, 1) if line.startswith(needle))


# -- each class, from a script that really fails that way ---------------------------------------
COMPILE = """echo building
cat > bad.c <<'EOF'
int main(void) { return undeclared_thing; }
EOF
printf 'all: bad.o\\nbad.o: bad.c\\n\\tgcc -c bad.c -o bad.o\\n' > Makefile
make
echo never
"""


def test_a_real_compile_error(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-cc.sh": COMPILE, "02-after.sh": "echo after"})
    result, decisions = run(lfsplugger)
    assert result.ret == 1
    failed = result.results["cc"]
    assert failed.failure_class == "compile-error"
    assert any("error: 'undeclared_thing' undeclared" in e for e in failed.evidence)
    assert (failed.failed_command, failed.failed_line) == ("make", line_of(COMPILE, "make"))
    assert failed.failed_step == "make"
    (_, failure, recovery), = decisions.taken
    assert failure is not None and not failure.transient
    assert recovery is not None and recovery.action is RecoveryAction.STOP
    assert decisions.retries() == [] and failed.attempts == 1
    assert result.statuses()["after"] == "not-run"


PATCH = """mkdir -p pkg
cd pkg
printf 'hello\\n' > greeting.txt
cat > ../fix.patch <<'EOF'
--- a/greeting.txt
+++ b/greeting.txt
@@ -1 +1 @@
-goodbye
+farewell
EOF
patch -Np1 -i ../fix.patch
"""


def test_a_real_patch_failure(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-p.sh": PATCH})
    result, decisions = run(lfsplugger)
    failed = result.results["p"]
    assert failed.failure_class == "patch-failure"
    assert any(re.search(r"Hunk #1 FAILED", e) for e in failed.evidence)
    assert failed.failed_command == "patch -Np1 -i ../fix.patch"
    assert failed.failed_line == line_of(PATCH, "patch -Np1")
    assert failed.failed_step == "patch"
    assert decisions.taken[0][2] == Recovery(RecoveryAction.STOP,
                                             "patch-failure: not retried (deterministic)")


def test_a_missing_command(lfsplugger: Lfsplugger) -> None:
    script = "echo checking\nfrobnicate-xyz --version\necho never"
    lfsplugger.make_tree({"01-m.sh": script})
    result, decisions = run(lfsplugger)
    failed = result.results["m"]
    assert (failed.exit_code, failed.failure_class) == (127, "missing-command")
    assert any("frobnicate-xyz: command not found" in e for e in failed.evidence)
    assert (failed.failed_command, failed.failed_line) == ("frobnicate-xyz --version", 3)
    assert decisions.taken[0][2] == Recovery(RecoveryAction.STOP,
                                             "missing-command: not retried (deterministic)")


def test_sigkill_without_oom_evidence_is_killed(lfsplugger: Lfsplugger) -> None:
    """``kill -9 $$``: the shell dies at once (no trap runs, so no failing line); without the
    kernel's OOM record or a compiler's out-of-memory message it is ``killed``, not OOM."""
    lfsplugger.make_tree({"01-k.sh": "echo about to die\nkill -9 $$\necho never"})
    result, decisions = run(lfsplugger)
    failed = result.results["k"]
    assert failed.signal == 9
    assert failed.failure_class == "killed"
    assert failed.evidence[0] == "killed by signal SIGKILL"
    assert failed.failed_line is None and failed.failed_command is None
    assert decisions.taken[0][2] is not None
    assert decisions.taken[0][2].action is RecoveryAction.STOP


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs, mounted for the test (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_file_system_halts_the_build(lfsplugger: Lfsplugger, small_tmpfs: Path) -> None:
    script = f"echo filling\ndd if=/dev/zero of={small_tmpfs}/fill bs=64k count=100\necho never"
    lfsplugger.make_tree({"01-fill.sh": script, "02-after.sh": "echo after"})
    result, decisions = run(lfsplugger)
    assert result.ret == 2  # a build stopped for want of disk ends as an interrupted one
    failed = result.results["fill"]
    assert failed.failure_class == "disk-full"
    assert any("No space left on device" in e for e in failed.evidence)
    assert failed.failed_line == 3 and failed.failed_command.startswith("dd ")
    halts = [a.alert for a in decisions.alerts() if a.alert.level == "halt"]
    assert halts and halts[0].data["class"] == "disk-full"
    assert "fill failed: disk-full" in halts[0].message
    assert decisions.retries() == []
    assert result.statuses()["after"] == "not-run"


RACE = """rm -f gen.h main.o prog
echo "MAKEFLAGS=$MAKEFLAGS" >> flags.txt
cat > main.c <<'EOF'
#include "gen.h"
int main(void) { return VALUE; }
EOF
cat > Makefile <<'EOF'
prog: gen.h main.o
\tgcc -o prog main.o
gen.h:
\tsleep 3; echo '#define VALUE 0' > gen.h
main.o: main.c
\tgcc -c main.c -o main.o
EOF
make
"""


def test_a_real_make_race_is_retried_with_j1(lfsplugger: Lfsplugger) -> None:
    """``main.o`` needs ``gen.h`` but does not say so: at -j4 it compiles while the slow rule
    that makes ``gen.h`` still sleeps; once make is done ``gen.h`` is there. The retry runs
    with ``MAKEFLAGS=-j1``, exclusive, and passes."""
    lfsplugger.make_tree({"01-race.sh": RACE.replace("\\t", "\t")})
    lfsplugger.make_config('[env]\nMAKEFLAGS = "-j4"\n' + FAST)
    result, decisions = run(lfsplugger)
    assert result.ret == 0, result.outlines
    (_, failure, recovery), = decisions.taken
    assert failure is not None and failure.name == "parallel-make-race"
    assert any("gen.h: No such file or directory" in e for e in failure.evidence)
    assert any("gen.h exists now" in e for e in failure.evidence)
    assert recovery is not None and recovery.action is RecoveryAction.RETRY
    assert (recovery.env, recovery.exclusive) == ({"MAKEFLAGS": "-j1"}, True)
    (retry,) = decisions.retries()
    assert retry.env == {"MAKEFLAGS": "-j1"} and retry.attempt == 1
    assert (lfsplugger.path / "flags.txt").read_text().split() == ["MAKEFLAGS=-j4",
                                                                   "MAKEFLAGS=-j1"]
    final = result.results["race"]
    assert (final.status, final.attempts) == (Status.PASSED, 2)


def test_a_make_race_in_an_unpacked_tree(lfsplugger: Lfsplugger) -> None:
    """The same race in a package unpacked for the script (``unpack=``): the generated file is
    looked for where the executor ran the script."""
    stage = lfsplugger.path / "stage" / "pkg-1.0"
    stage.mkdir(parents=True)
    (stage / "main.c").write_text('#include "gen.h"\nint main(void) { return VALUE; }\n')
    (stage / "Makefile").write_text("prog: gen.h main.o\n\tgcc -o prog main.o\ngen.h:\n\tsleep 3;"
                                    " echo '#define VALUE 0' > gen.h\nmain.o: main.c\n"
                                    "\tgcc -c main.c -o main.o\n")
    sources = lfsplugger.path / "lfs" / "sources"
    sources.mkdir(parents=True)
    subprocess.run(["tar", "-czf", str(sources / "pkg-1.0.tar.gz"), "-C", str(stage.parent),
                    "pkg-1.0"], check=True)
    lfsplugger.make_tree({"01-pkg.sh": "# lfsplug: unpack=pkg-1.0.tar.gz\nmake\n"})
    lfsplugger.make_config('[env]\nMAKEFLAGS = "-j4"\n' + FAST)
    result, decisions = run(lfsplugger, ".", "--lfs", str(lfsplugger.path / "lfs"))
    (_, failure, recovery), = decisions.taken
    assert failure is not None and failure.name == "parallel-make-race", failure
    assert any(f"gen.h exists now in {sources}/pkg-1.0" in e for e in failure.evidence)
    assert recovery is not None and recovery.env == {"MAKEFLAGS": "-j1"}
    assert result.ret == 0 and result.results["pkg"].attempts == 2


OOM = """echo "MAKEFLAGS=$MAKEFLAGS" >> flags.txt
python3 -c "print('int a[] = {' + ','.join(map(str, range(200000))) + '};')" > big.c
if [ "$MAKEFLAGS" = "-j1" ]; then
  gcc -O2 -c big.c -o big.o
else
  (ulimit -v 60000; gcc -O2 -c big.c -o big.o)
fi
"""


def test_an_out_of_memory_failure_is_retried_with_j1(lfsplugger: Lfsplugger) -> None:
    """The compiler really runs out of memory (under ``ulimit -v``, as under a full machine at
    -j4); the retry's environment has ``MAKEFLAGS=-j1`` (where there is memory enough)."""
    lfsplugger.make_tree({"01-big.sh": OOM})
    lfsplugger.make_config('[env]\nMAKEFLAGS = "-j4"\n' + FAST)
    result, decisions = run(lfsplugger)
    (_, failure, recovery), = decisions.taken
    assert failure is not None and failure.name == "out-of-memory", failure
    assert any(re.search(r"virtual memory exhausted|out of memory allocating", e)
               for e in failure.evidence)
    assert recovery is not None
    assert (recovery.action, recovery.env, recovery.exclusive) == (
        RecoveryAction.RETRY, {"MAKEFLAGS": "-j1"}, True)
    assert [r.env for r in decisions.retries()] == [{"MAKEFLAGS": "-j1"}]
    assert (lfsplugger.path / "flags.txt").read_text().split() == ["MAKEFLAGS=-j4",
                                                                   "MAKEFLAGS=-j1"]
    assert result.ret == 0 and result.results["big"].attempts == 2


def test_out_of_memory_at_j1_too_is_not_retried_again(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-big.sh": OOM.replace('"$MAKEFLAGS" = "-j1"', '"$MAKEFLAGS" = no')})
    lfsplugger.make_config('[env]\nMAKEFLAGS = "-j4"\n' + FAST)
    result, decisions = run(lfsplugger)
    assert result.ret == 1 and result.results["big"].attempts == 2
    last = decisions.taken[-1][2]
    assert last == Recovery(RecoveryAction.STOP,
                            "out-of-memory: not retried (it already ran with MAKEFLAGS=-j1)")


def test_the_real_command_names_the_class_and_the_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-cc.sh": COMPILE})
    result = lfsplugger.run_subprocess("run", "--plain")
    assert result.ret == 1
    assert any("compile-error" in line for line in result.outlines), result.outlines
    status = lfsplugger.run_subprocess("status", "--json")
    (script,) = json.loads("\n".join(status.outlines))["scripts"]
    assert (script["failure_class"], script["failed_command"], script["failed_line"]) == (
        "compile-error", "make", line_of(COMPILE, "make"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_flaky_download_is_retried_and_passes(lfsplugger: Lfsplugger) -> None:
    script = f"""if [ ! -e tried ]; then
  touch tried
  curl -sS --max-time 5 http://127.0.0.1:{free_port()}/src.tar.xz -o src.tar.xz
fi
echo fetched
"""
    lfsplugger.make_tree({"01-fetch.sh": script})
    lfsplugger.make_config(FAST)
    result, decisions = run(lfsplugger)
    assert result.ret == 0
    (_, failure, recovery), = decisions.taken
    assert failure is not None and (failure.name, failure.transient) == ("network", True)
    assert any(e.startswith("curl: (7)") for e in failure.evidence)
    assert recovery is not None and recovery.action is RecoveryAction.RETRY
    (retry,) = decisions.retries()
    assert retry.delay == pytest.approx(0.05) and "network: retry 1 of 2" in retry.reason
    final = result.results["fetch"]
    assert (final.status, final.attempts) == (Status.PASSED, 2)


def test_retries_back_off_exponentially_then_give_up(lfsplugger: Lfsplugger) -> None:
    script = f"curl -sS --max-time 5 http://127.0.0.1:{free_port()}/x -o x"
    lfsplugger.make_tree({"01-down.sh": script})
    lfsplugger.make_config(FAST)
    result, decisions = run(lfsplugger, "--retries", "2")
    assert result.ret == 1
    assert [r.delay for r in decisions.retries()] == pytest.approx([0.05, 0.1])
    last = decisions.taken[-1][2]
    assert last is not None and last.action is RecoveryAction.STOP
    assert last.reason == "network: gave up after 2 retries (--retries 2)"
    assert result.results["down"].attempts == 3


def test_retries_zero_never_retries(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-down.sh": f"curl -sS http://127.0.0.1:{free_port()}/x -o x"})
    result, decisions = run(lfsplugger, "--retries", "0")
    assert result.ret == 1 and decisions.retries() == []


def test_a_test_suite_failure_by_its_step(lfsplugger: Lfsplugger) -> None:
    script = ("printf 'all:\\n\\t@true\\ncheck:\\n\\t@echo running tests; exit 1\\n' > Makefile\n"
              "make\nmake check\n")
    lfsplugger.make_tree({"01-t.sh": script})
    result, _ = run(lfsplugger)
    failed = result.results["t"]
    assert (failed.failure_class, failed.failed_step) == ("test-suite", "test")
    assert failed.failed_command == "make check" and failed.failed_line == 4


def test_a_configure_error(lfsplugger: Lfsplugger) -> None:
    script = ("printf '#!/bin/sh\\necho \"checking for zlib... no\"\\n"
              "echo \"configure: error: zlib not found\" >&2\\nexit 1\\n' > configure\n"
              "chmod +x configure\n./configure --prefix=/usr\n")
    lfsplugger.make_tree({"01-c.sh": script})
    result, _ = run(lfsplugger)
    failed = result.results["c"]
    assert failed.failure_class == "configure-error"
    assert failed.evidence == ["configure: error: zlib not found"]
    assert (failed.failed_step, failed.failed_line) == ("configure", 4)


# -- where it failed, without changing what the script does ------------------------------------
def test_the_script_sees_its_own_environment(lfsplugger: Lfsplugger) -> None:
    script = ("env > env.txt\necho \"BASH_ENV=${BASH_ENV-unset}\" > own.txt\n"
              "bash -c 'trap -p ERR' > child.txt")
    lfsplugger.make_tree({"01-env.sh": script})
    result, _ = run(lfsplugger)
    assert result.ret == 0
    env = (lfsplugger.path / "env.txt").read_text()
    assert "BASH_ENV" not in env and "LFSPLUG" not in env
    assert (lfsplugger.path / "own.txt").read_text() == "BASH_ENV=unset\n"
    assert (lfsplugger.path / "child.txt").read_text() == ""  # child shells have no trap


def test_a_script_with_its_own_err_trap_wins(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-own.sh": "trap 'echo my trap ran' ERR\nfalse\n"})
    result, _ = run(lfsplugger)
    failed = result.results["own"]
    assert "my trap ran" in failed.tail
    assert failed.failed_command is None  # its trap replaced ours
    assert failed.failure_class == "unknown"


def test_the_users_bash_env_still_runs(lfsplugger: Lfsplugger) -> None:
    (lfsplugger.path / "mine.sh").write_text("MINE=read\n")
    lfsplugger.make_tree({"01-u.sh": 'echo "MINE=$MINE" > seen.txt\nbash -c \'echo "$BASH_ENV"\''
                                     ' >> seen.txt\nfalse\n'})
    lfsplugger.make_config(f'disable = ["SEC004"]\n[env]\nBASH_ENV = "{lfsplugger.path}/mine.sh"\n')
    result, _ = run(lfsplugger)
    seen = (lfsplugger.path / "seen.txt").read_text().splitlines()
    assert seen == ["MINE=read", f"{lfsplugger.path}/mine.sh"]
    assert (result.results["u"].failed_command, result.results["u"].failed_line) == ("false", 4)


def test_a_failure_inside_a_subshell_and_a_function(lfsplugger: Lfsplugger) -> None:
    script = "build() {\n  echo in build\n  ls /no/such/dir\n}\n( cd / && build )\n"
    lfsplugger.make_tree({"01-f.sh": script})
    result, _ = run(lfsplugger)
    failed = result.results["f"]
    assert (failed.failed_command, failed.failed_line) == ("ls /no/such/dir", 4)


def test_a_bash_c_that_starts_the_script_leaves_the_trap_to_it(lfsplugger: Lfsplugger) -> None:
    """As the chroot plugin starts a script in its directory: ``bash -c 'cd "$1"; shift; exec
    "$@"' NAME DIR bash +h -e SCRIPT``."""
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n"
        "@lfsplug.hookimpl(tryfirst=True)\n"
        "def lfsplug_script_command(script, env, config):\n"
        "    return ['bash', '-c', 'cd \"$1\" || exit; shift; exec \"$@\"', 'start', '/',\n"
        "            'bash', '+h', '-e', str(script.path)]\n")
    lfsplugger.make_tree({"01-w.sh": "pwd > where.txt\nfalse\n"})
    result, _ = run(lfsplugger)
    assert result.results["w"].failed_line == 3


def test_files_are_reached_from_inside_a_chroot(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    lfs = tmp_path / "lfs"
    assert install(lfs / "state", "a", env, root=str(lfs)) is not None
    assert env["BASH_ENV"] == "/state/recovery/a.bashenv"  # under the root: as seen inside
    env = {}
    assert install(tmp_path / "state", "a", env, root=str(lfs)) is not None
    assert env["BASH_ENV"] == f"/proc/{os.getpid()}/root{tmp_path}/state/recovery/a.bashenv"


def test_dry_run_and_resume_do_not_see_the_trap(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    dry = lfsplugger.run("run", "--dry-run")
    assert dry.ret == 0 and not any("BASH_ENV" in line for line in dry.outlines)
    assert lfsplugger.run("run").ret == 0
    # the environment that decides reuse is the same with the plugin blocked
    again = lfsplugger.run("run", "-p", "no:recovery")
    assert again.results["a"].cached


def test_check_finds_no_bash_env_problem(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "set -e\necho a"})
    checked = lfsplugger.run("check", "--json", ".")
    assert not any(code in line for line in checked.outlines for code in ("SEC004", "SEC005"))


def test_blocked_with_p_no_recovery(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-m.sh": "frobnicate-xyz"})
    result = lfsplugger.run("run", "-p", "no:recovery")
    failed = result.results["m"]
    assert failed.failure_class is None and failed.failed_command is None


# -- policies in the configuration, and other plugins first -------------------------------------
def test_a_policy_from_the_configuration(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-m.sh": "frobnicate-xyz", "02-b.sh": "echo b"})
    lfsplugger.make_config('[recovery.policy]\nmissing-command = "skip"\n')
    result, _ = run(lfsplugger)
    assert result.statuses() == {"m": "skipped", "b": "passed"}


def test_an_unknown_class_in_the_policy_is_a_usage_error(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    lfsplugger.make_config('[recovery.policy]\nnetwrok = "retry"\n')
    result = lfsplugger.run("run")
    assert result.ret == 4
    assert any("lfsplug.toml" in line and "netwrok" in line for line in result.errlines), \
        result.errlines


def test_an_lfsconf_classifier_wins_and_its_class_gets_a_policy(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_classify_failure(session, script, result):\n"
        "    if any('mirror busy' in line for line in result.tail):\n"
        "        return lfsplug.FailureClass('mirror-busy', 'the mirror is busy', True,"
        " ('mirror busy',))\n"
        "    return None\n")
    lfsplugger.make_tree({"01-x.sh": "if [ ! -e once ]; then touch once; echo mirror busy;"
                                     " exit 3; fi\n", "02-m.sh": "frobnicate-xyz"})
    lfsplugger.make_config(FAST)
    result, decisions = run(lfsplugger, "--keep-going", "--order", "graph")
    classes = [(name, f.name if f else None) for name, f, _ in decisions.taken]
    assert ("x", "mirror-busy") in classes  # its class, transient: retried
    assert ("m", "missing-command") in classes  # it returned None: the table decides
    assert result.results["x"].status is Status.PASSED


# -- the parts on their own ---------------------------------------------------------------------
@pytest.mark.parametrize(("line", "step"), [
    ("./configure --prefix=/usr", "configure"),
    ("../gcc-14/configure --target=$LFS_TGT", "configure"),
    ("make", "make"), ("make -j1 -C src", "make"), ("ninja", "make"),
    ("make check", "test"), ("make -k check", "test"), ("make test", "test"),
    ("make -k check || true", "test"), ("ninja test", "test"),
    ("make install", "install"), ("make DESTDIR=$LFS install", "install"),
    ("make -C build install-strip", "install"), ("meson setup ..", "configure"),
    ("tar -xf ../zlib.tar.xz", "unpack"), ("patch -Np1 -i ../x.patch", "patch"),
    ("cd build && cmake ..", "configure"), ("echo make", None), ("mkdir -v build", None),
])
def test_command_step(line: str, step: str | None) -> None:
    assert command_step(line) == step


def test_step_of_a_later_line_is_the_last_step_before_it(tmp_path: Path) -> None:
    script = tmp_path / "s.sh"
    script.write_text("tar xf a.tar\n./configure \\\n  --prefix=/usr\nmake\n"
                      "make install\ncp x /usr/bin\ncat > f <<EOF\nmake check\nEOF\nfalse\n")
    assert [step_of(script, n) for n in (1, 3, 4, 5, 6, 10)] == [
        "unpack", "configure", "make", "install", "install", "install"]


def test_read_stop_prefers_the_subshell_and_matches_the_status(tmp_path: Path) -> None:
    record = tmp_path / "r.err"
    us, rs = "\x1f", "\x1e"
    rows = [["1", "10", "10", "3", "s", "s", "grep x y"],  # an earlier, unrelated failure
            ["2", "11", "10", "7", "s", "s", "make"],
            ["2", "10", "10", "7", "s", "s", "( cd b && make )"]]
    record.write_text("".join(us.join(r) + rs for r in rows))
    stop = read_stop(record, 2)
    assert stop is not None and (stop.command, stop.line, stop.in_script) == ("make", 7, True)
    assert read_stop(record, 5) is None and read_stop(record, None) is None


def test_the_trap_text_quotes_any_path() -> None:
    text = trap_text("/tmp/it's here/x.err", None)
    done = subprocess.run(["bash", "-n", "-c", text], capture_output=True, check=False)
    assert done.returncode == 0 and "unset BASH_ENV" in text


@pytest.mark.parametrize(("flags", "jobs"), [
    (None, 1), ("", 1), ("-j1", 1), ("-j4", 4), ("-j 3", 3), ("-j", 2), ("--jobs=5", 5),
    ("-j2 --jobserver-auth=fifo:/x", 2), ("-w", 1), ("j8", 8),
])
def test_jobs_of(flags: str | None, jobs: int) -> None:
    assert jobs_of(flags) == jobs


@pytest.mark.parametrize(("message", "name"), [
    ("timed out after 5 s", "timeout"), ("no output for 60 s", "silence"),
    ("ended: interrupted (Ctrl-C)", "interrupted"),
])
def test_classes_from_the_executors_message(tmp_path: Path, message: str, name: str) -> None:
    script = Script("s", tmp_path / "s.sh", tmp_path)
    result = ScriptResult("s", Status.FAILED, signal=15, message=message)  # TERM, then KILL
    failure = classify(Context(script, result, ["working..."]))
    assert (failure.name, failure.evidence) == (name, (message,))


@pytest.mark.parametrize(("line", "code", "name"), [
    ("g++: fatal error: Killed signal terminated program cc1plus", 1, "out-of-memory"),
    ("tar: ../zlib-1.3.1.tar.xz: Cannot open: No such file or directory", 2, "missing-source"),
    ("ERROR 404: Not Found.", 8, "missing-source"),
    ("curl: (6) Could not resolve host: ftp.gnu.org", 6, "network"),
    ("/usr/bin/ld: main.o: undefined reference to `deflate'", 1, "link-error"),
    ("collect2: error: ld returned 1 exit status", 1, "link-error"),
    ("install: cannot create regular file '/usr/bin/x': Permission denied", 1,
     "permission-denied"),
    ("# FAIL:  3", 2, "test-suite"),
    ("cp: error writing 'x': No space left on device", 1, "disk-full"),
    ("something odd happened", 3, "unknown"),
])
def test_signatures_by_their_lines(tmp_path: Path, line: str, code: int, name: str) -> None:
    script = Script("s", tmp_path / "s.sh", tmp_path)
    result = ScriptResult("s", Status.FAILED, exit_code=code)
    failure = classify(Context(script, result, ["make all", line, "make: *** [all] Error 1"]))
    assert failure.name == name
    assert line in failure.evidence


def test_a_failed_test_suite_is_not_taken_for_what_its_tests_print(tmp_path: Path) -> None:
    """Tests print ``Permission denied`` and ``Connection refused`` on purpose: the suite's
    own failure lines come first in the table, so it is not retried as a network failure."""
    script = Script("s", tmp_path / "s.sh", tmp_path)
    result = ScriptResult("s", Status.FAILED, exit_code=2)
    lines = ["PASS: test-chmod", "rm: cannot remove 'x': Permission denied",
             "curl: (7) Failed to connect to localhost: Connection refused",
             "FAIL: test-net", "# FAIL:  1", "make: *** [Makefile:900: check-am] Error 2"]
    assert classify(Context(script, result, lines)).name == "test-suite"


def test_the_kernels_oom_record_makes_a_sigkill_out_of_memory(tmp_path: Path) -> None:
    boot = 1000.0
    records = [b"6,100,5000000,-;eth0: link up\n",
               b"3,101,9000000,-;Out of memory: Killed process 4242 (cc1plus) total-vm:9GB\n",
               b"4,102,9000100,-;oom-kill:constraint=CONSTRAINT_NONE,task=cc1plus,pid=4242\n",
               b"3,103,90000000,-;Out of memory: Killed process 77 (later)\n"]
    found = oom_records(records, 1008.0, 1010.0, boot)
    assert found == ["kernel: Out of memory: Killed process 4242 (cc1plus) total-vm:9GB",
                     "kernel: oom-kill:constraint=CONSTRAINT_NONE,task=cc1plus,pid=4242"]
    assert kernel_oom(None, None) == [] and isinstance(kernel_oom(0.0, 1.0), list)
    script = Script("s", tmp_path / "s.sh", tmp_path)
    result = ScriptResult("s", Status.FAILED, signal=9)
    failure = classify(Context(script, result, ["cc1plus: compiling"]))
    assert failure.name == "killed"  # no record of this attempt: killed, not out of memory


# -- the documentation -------------------------------------------------------------------------
def documented() -> dict[str, str]:
    text = DOCS.read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.M)[1:]
    return {s.split("\n", 1)[0].strip().strip("`"): s for s in sections}


def test_every_class_is_documented_with_its_fix() -> None:
    docs = documented()
    names = [s.name for s in SIGNATURES]
    assert sorted(docs) == sorted(names), "docs/recovery.md must have a ### section per class"
    for signature in SIGNATURES:
        section = " ".join(docs[signature.name].split())
        assert " ".join(signature.fix.split()) in section, signature.name
        assert f"policy: `{signature.policy}`" in section, signature.name


def test_classes_are_named_once() -> None:
    names = [s.name for s in SIGNATURES]
    assert len(names) == len(set(names)) and names[-1] == "unknown"


def test_the_failure_document_gives_the_classes_usual_fix(lfsplugger: Lfsplugger) -> None:
    """The class's fix from the table reaches the failure document (through
    ``FailureClass.fix``), with the class, the command and its line."""
    lfsplugger.make_tree({"01-m.sh": "echo checking\nfrobnicate-xyz --version\n"})
    result, _ = run(lfsplugger)
    assert result.ret == 1
    docs = sorted((lfsplugger.path / ".lfsplug" / "failures").glob("m-*.json"))
    assert len(docs) == 1, docs
    doc = json.loads(docs[0].read_text())
    assert doc["usual_fix"] and "install the command" in doc["usual_fix"], doc
    assert "install the command" in docs[0].with_suffix(".md").read_text()


def test_a_script_name_bash_would_expand_runs_nothing_of_it(lfsplugger: Lfsplugger) -> None:
    """``BASH_ENV`` is expanded by bash before it is read: the trap's file is never named after
    a script called ``03-$(touch SUBST).sh``, and a state directory whose path bash would expand
    has its trap files elsewhere."""
    lfsplugger.make_tree({"03-$(touch SUBST).sh": "false\n", "04-`touch TICK`.sh": "true\n"})
    result, _ = run(lfsplugger, "--keep-going")
    assert result.ret == 1
    assert not list(lfsplugger.path.rglob("SUBST")) and not list(lfsplugger.path.rglob("TICK"))
    failed = [r for r in result.results.values() if r.status.value == "failed"]
    assert [r.failed_line for r in failed] == [2]


def test_the_trap_is_in_place_again_after_the_state_directory_went(
        lfsplugger: Lfsplugger) -> None:
    """The trap's files are written once per process; a state directory removed between two
    runs (in one process, as here) gets them again."""
    import shutil

    lfsplugger.make_tree({"01-m.sh": "echo checking\nfalse\n"})
    first, _ = run(lfsplugger)
    shutil.rmtree(lfsplugger.path / ".lfsplug")
    again, _ = run(lfsplugger)
    assert first.results["m"].failed_line == again.results["m"].failed_line == 3
