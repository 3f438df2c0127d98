"""The chroot plugin: placements, refusals, the mount bookkeeping, and the real chroot.

The real tests build a minimal root file system from Debian's busybox-static in a temporary
directory and run scripts inside it with the book's kernel file systems mounted; they need root
and a working mount(8), and skip with the reason otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import psutil
import pytest

from helpers import BOOK, no_data
from lfsplug import Script
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_chroot import checks
from lfsplug_chroot.checks import readable_by, resolve_inside
from lfsplug_chroot.modes import resolve
from lfsplug_chroot.mounts import (
    KERNFS,
    MountEntry,
    Mounter,
    MountError,
    left_mounted,
    parse_mountinfo,
)
from lfsplug_chroot.settings import Settings
from lfsplug_chroot.wrap import CHROOT_PS1, START_IN, chroot_env, start_in, wrap_command

#: `run`/`check` with the slow or unrelated checks off.
QUIET = ("--shellcheck", "off", "--host-check", "off")
BUSYBOX = shutil.which("busybox") or "/usr/bin/busybox"
APPLETS = ("sh", "cat", "echo", "env", "id", "ls", "mkdir", "sleep", "sort", "touch", "wc")
NOBODY = "nobody"


def findings(result: RunResult) -> list[dict[str, Any]]:
    """The CHR findings of a ``check --json``."""
    return [f for f in json.loads("\n".join(result.outlines))["findings"]
            if f["code"].startswith("CHR")]


def codes(result: RunResult) -> list[str]:
    return [f["code"] for f in findings(result)]


# -- placements ----------------------------------------------------------------------------------


def script(phase: str | None = None, user: str | None = None, chroot: bool | None = None,
           name: str = "pkg") -> Script:
    return Script(name, Path(f"/scripts/{name}.sh"), Path("/scripts"), phase=phase, user=user,
                  chroot=chroot)


@pytest.mark.parametrize(("phase", "user", "chroot", "expected"), [
    # the book's phase defaults
    ("cross", None, None, ("user", "lfs")),
    ("temp", None, None, ("user", "lfs")),
    ("chroot-temp", None, None, ("chroot", "root")),
    ("system", None, None, ("chroot", "root")),
    ("config", None, None, ("chroot", "root")),
    ("host", None, None, ("host", None)),
    ("blfs", None, None, ("host", None)),
    (None, None, None, ("host", None)),
    ("something-else", None, None, ("host", None)),
    # the header wins
    ("cross", "root", None, ("root", "root")),
    ("system", "root", None, ("chroot", "root")),
    ("system", "root", False, ("root", "root")),
    ("system", None, False, ("root", "root")),
    ("cross", None, False, ("user", "lfs")),
    ("system", "builder", None, ("user", "builder")),
    ("blfs", None, True, ("chroot", "root")),
    (None, "builder", True, ("chroot", "builder")),
])
def test_placement_header_then_phase(phase: str | None, user: str | None, chroot: bool | None,
                                     expected: tuple[str, str | None]) -> None:
    placement = resolve(script(phase, user, chroot), Settings())
    assert (placement.mode, placement.user) == expected


def test_placement_configuration_between_header_and_phase() -> None:
    settings = Settings(user="builder", phases={**Settings().phases, "blfs": "root",
                                                "default": "chroot"},
                        scripts={**Settings().scripts, "gcc*": "host"})
    assert resolve(script("cross"), settings).user == "builder"
    assert resolve(script("blfs"), settings).mode == "root"
    assert resolve(script(None), settings).mode == "chroot"
    by_name = resolve(script("system", name="gcc-pass2"), settings)
    assert (by_name.mode, by_name.why) == ("host", "[chroot.scripts] gcc*")
    assert resolve(script("system", user="root", name="gcc"), settings).mode == "root"


def test_the_books_host_pages_of_chapter_7_run_as_root() -> None:
    for name in ("changingowner", "kernfs"):
        assert resolve(script("chroot-temp", name=name), Settings()).mode == "root"
    assert resolve(script("chroot-temp", name="gettext"), Settings()).mode == "chroot"


def test_configuration_sets_user_phases_and_scripts(lfsplugger: Lfsplugger) -> None:
    marker = lfsplugger.path / "ran"
    lfsplugger.make_tree({"chapter05/501-a": f"touch {marker}"})
    lfsplugger.make_config('[chroot]\nuser = "no-such-user-lfsplug"\n'
                           '[chroot.phases]\ncross = "host"\n')
    assert lfsplugger.run("run", *QUIET).ret == 0
    assert marker.exists()


@pytest.mark.parametrize(("toml", "line", "says"), [
    ('[chroot]\nusr = "lfs"\n', 2, "unknown key 'usr'"),
    ('[chroot.phases]\ncross = "sudo"\n', 2, "not a mode (known: host, root, user, chroot)"),
    ('[chroot.scripts]\n\n"gcc" = "nowhere"\n', 3, "[chroot.scripts] gcc: 'nowhere' is not a mode"),
    ('[chroot]\nenv = { CFLAGS = ["-O2"] }\n', 2, "[chroot.env] CFLAGS: expected a string or a "
                                                  "number"),
    ('[chroot]\nshell = "bin/bash"\n', 2, "must be an absolute path inside the chroot"),
    ('[chroot]\nshell_options = "-e"\n', 2, "expected a list of strings"),
    ('[chroot]\nscript_dir = "/"\n', 2, "must not be /"),
    ('[chroot]\nuser = 3\n', 2, "expected a non-empty string"),
])
def test_configuration_errors_name_file_and_line(lfsplugger: Lfsplugger, toml: str, line: int,
                                                 says: str) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    config = lfsplugger.make_config(toml)
    result = lfsplugger.run("check")
    assert result.ret == 4
    [message] = result.errlines
    assert message.startswith(f"lfsplug: {config}:{line}: ") and says in message, message


# -- the command and the environment --------------------------------------------------------------


def test_wrapped_commands() -> None:
    settings = Settings(lfs="/mnt/lfs")
    tools = {"chroot": "/usr/sbin/chroot", "setpriv": "/usr/bin/setpriv"}
    argv = ["bash", "+h", "-e", "/scripts/pkg.sh"]
    inside = resolve(script("system"), settings)
    assert wrap_command(argv, script("system"), inside, settings, euid=0, tools=tools) == [
        "/usr/sbin/chroot", "/mnt/lfs", "/bin/bash", "+h", "-e", "/run/lfsplug/pkg.sh"]
    busybox = Settings(lfs="/mnt/lfs", shell="/bin/sh", shell_options=("-e",))
    assert wrap_command(argv, script("system"), inside, busybox, euid=0, tools=tools)[2:] == [
        "/bin/sh", "-e", "/run/lfsplug/pkg.sh"]
    nobody = pwd.getpwnam(NOBODY)
    as_user = resolve(script("cross"), Settings(user=NOBODY))
    assert wrap_command(argv, script("cross"), as_user, settings, euid=0, tools=tools) == [
        "/usr/bin/setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
        "--init-groups", "--", *argv]
    # lfsplug already runs as the build user (the book's way for chapter 5): nothing to switch
    assert wrap_command(argv, script("cross"), as_user, settings, euid=nobody.pw_uid,
                        tools=tools) == argv
    on_host = resolve(script("blfs"), settings)
    assert wrap_command(argv, script("blfs"), on_host, settings, euid=0, tools=tools) == argv


def test_chroot_environment_is_the_books() -> None:
    env = {"HOME": "/root", "TERM": "xterm", "LFS": "/mnt/lfs", "LC_ALL": "POSIX",
           "LFS_TGT": "x86_64-lfs-linux-gnu", "PATH": "/mnt/lfs/tools/bin:/usr/bin",
           "CONFIG_SITE": "/mnt/lfs/usr/share/config.site", "MAKEFLAGS": "-j6",
           "FROM_A_PLUGIN": "kept", "CFLAGS": "-O2"}
    chroot_env(env, Settings(env={"EXTRA": "inside"}), configured={"CFLAGS": "-O2"})
    assert env == {"HOME": "/root", "TERM": "xterm", "PS1": CHROOT_PS1,
                   "PATH": "/usr/bin:/usr/sbin", "MAKEFLAGS": "-j6", "TESTSUITEFLAGS": "-j6",
                   "FROM_A_PLUGIN": "kept", "CFLAGS": "-O2", "EXTRA": "inside"}


def test_a_command_starts_in_a_directory_inside_the_chroot() -> None:
    settings = Settings(lfs="/mnt/lfs", shell="/bin/sh")
    tools = {"chroot": "/usr/sbin/chroot", "setpriv": "/usr/bin/setpriv"}
    argv = ["/usr/sbin/chroot", "/mnt/lfs", "/bin/sh", "+h", "-e", "/run/lfsplug/pkg.sh"]
    odd = "/sources/a dir; rm -rf $HOME"  # an argument, never shell text
    assert start_in(argv, odd, settings, tools) == [
        "/usr/sbin/chroot", "/mnt/lfs", "/bin/sh", "-c", START_IN, "lfsplug-start", odd,
        "/bin/sh", "+h", "-e", "/run/lfsplug/pkg.sh"]
    assert start_in(["my-runner", "pkg.sh"], "/sources", settings, tools) is None


def test_driver_exports_are_expanded_again_inside_the_chroot() -> None:
    driver = {"SOURCES": "${LFS}/sources", "LOGS": "$SOURCES/logs", "PLAIN": "/x",
              "CHANGED": "$LFS/c", "PATH": "$LFS/bin"}
    env = {"HOME": "/root", "LFS": "/mnt/lfs", "PATH": "/mnt/lfs/tools/bin:/usr/bin",
           "SOURCES": "/mnt/lfs/sources", "LOGS": "/mnt/lfs/sources/logs", "PLAIN": "/x",
           "CHANGED": "by a plugin"}
    chroot_env(env, Settings(), configured={}, driver=driver)
    # inside, $LFS is unset: the driver's ${LFS}/sources is the chroot's /sources
    assert env["SOURCES"] == "/sources" and env["LOGS"] == "/sources/logs"
    assert env["PLAIN"] == "/x" and env["CHANGED"] == "by a plugin"
    assert env["PATH"] == "/usr/bin:/usr/sbin" and "LFS" not in env


def test_configured_env_wins_inside_the_chroot_too() -> None:
    env = {"LC_ALL": "POSIX", "MAKEFLAGS": "-j2", "PATH": "/x"}
    chroot_env(env, Settings(), configured={"LC_ALL": "POSIX", "PATH": "/x"})
    assert env["LC_ALL"] == "POSIX" and env["PATH"] == "/x"


# -- the refusals ---------------------------------------------------------------------------------


def test_missing_user_is_refused_and_nothing_runs(lfsplugger: Lfsplugger) -> None:
    marker = lfsplugger.path / "ran"
    lfsplugger.make_tree({"chapter05/501-binutils-pass1": f"touch {marker}",
                          "chapter05/502-gcc-pass1": f"touch {marker}"})
    lfsplugger.make_config('[chroot]\nuser = "no-such-user-lfsplug"\n')
    [finding] = findings(lfsplugger.run("check", "--json", *QUIET))
    assert finding["code"] == "CHR003" and finding["severity"] == "error"
    assert finding["message"] == ("user no-such-user-lfsplug does not exist: binutils-pass1 "
                                  "must run as no-such-user-lfsplug")
    assert finding["path"].endswith("501-binutils-pass1")
    result = lfsplugger.run("run", *QUIET)
    assert result.ret == 6
    result.stderr.fnmatch_lines(["*error CHR003: user no-such-user-lfsplug does not exist*"])
    assert not marker.exists()


def test_a_user_created_by_an_earlier_root_script_is_checked_when_needed(
    lfsplugger: Lfsplugger,
) -> None:
    """The book's chapter 4 creates the lfs user as root: the tree may fix it itself."""
    first = lfsplugger.path / "first"
    lfsplugger.make_tree({"chapter04/401-addinguser": f"# lfsplug: user=root\ntouch {first}",
                          "chapter05/501-binutils-pass1": "true"})
    lfsplugger.make_config('[chroot]\nuser = "no-such-user-lfsplug"\n')
    assert codes(lfsplugger.run("check", "--json", *QUIET)) == []
    result = lfsplugger.run("run", "--plain", *QUIET)
    assert result.ret == 1
    assert first.exists()
    failed = result.results["binutils-pass1"]
    assert failed.message == "not run: user no-such-user-lfsplug does not exist"
    mend = ("CHR003: chapter05/501-binutils-pass1 (phase cross); create it as the book's chapter"
            " 4 does (groupadd lfs; useradd -s /bin/bash -g lfs -m -k /dev/null lfs), or name "
            "another user in [chroot] user")
    assert failed.log_path is not None
    assert failed.log_path.read_text() == (
        "lfsplug: chroot: not run: user no-such-user-lfsplug does not exist\n"
        f"lfsplug: chroot: {mend}\n")
    # said once, under the failed line; the line and the summary give the short cause
    result.stdout.fnmatch_lines([
        "*failed  binutils-pass1  * (not run: user no-such-user-lfsplug does not exist)",
        "---- last 1 lines of binutils-pass1 ----",
        "    lfsplug: chroot: " + mend.replace("[", "[[]"),  # fnmatch: [chroot] is no class
        "---- full log: *binutils-pass1.log",
        "*binutils-pass1: failed (not run: user no-such-user-lfsplug does not exist) *"])
    assert "\n".join(result.outlines + result.errlines).count("CHR003") == 1


@pytest.mark.parametrize(("lfs", "says"), [
    ("/", "$LFS is the host's root directory ('/')"),
    ("/tmp/..", "$LFS is the host's root directory ('/tmp/..')"),
    ("relative/lfs", "$LFS is a relative path ('relative/lfs')"),
])
def test_lfs_that_is_not_a_build_root_is_refused(lfsplugger: Lfsplugger, lfs: str,
                                                 says: str) -> None:
    lfsplugger.make_tree({"chapter08/801-zlib": "true"})
    result = lfsplugger.run("check", "--json", "--lfs", lfs, *QUIET)
    assert result.ret == 6
    assert codes(result) == ["CHR002"]
    assert findings(result)[0]["message"] == (
        f"{says}: zlib would run outside a build root")


def test_lfs_from_env_table_is_checked_too(lfsplugger: Lfsplugger) -> None:
    """``[env] LFS`` is what the scripts get (it wins over --lfs): ``/`` there is CHR002 (it
    passed with no error, issue 12)."""
    lfsplugger.make_tree({"chapter08/801-zlib": "true"})
    toml = lfsplugger.make_config('[env]\nLFS = "/"\n')
    result = lfsplugger.run("check", "--json", "--lfs", str(lfsplugger.path), *QUIET)
    assert result.ret == 6
    assert codes(result) == ["CHR002"]
    assert findings(result)[0]["message"] == (
        f"$LFS is the host's root directory ('/'), set by [env] LFS at {toml}:2: zlib would run "
        "outside a build root")


def test_a_bind_mount_of_the_root_as_lfs_is_refused(
    lfsplugger: Lfsplugger, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Same device and inode as ``/``: the host's root under another name (issue 12)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a bind mount needs root and mount(8)")
    lfsplugger.make_tree({"chapter08/801-zlib": "true"})
    again = tmp_path_factory.mktemp("again")  # outside the tree: discovery never walks it
    # read-only: nothing that later removes the temporary folder can reach the host through it
    bind = ["mount", "--bind", "-o", "ro", "/", str(again)]
    if subprocess.run(bind, capture_output=True).returncode:
        pytest.skip("mount --bind is not permitted here")
    try:
        result = lfsplugger.run("check", "--json", "--lfs", str(again), *QUIET)
        preflight = checks.preflight(
            script("system"), resolve(script("system"), Settings()),
            Settings(lfs=str(again)), 0, checks.find_tools())
    finally:
        if subprocess.run(["umount", str(again)]).returncode:
            subprocess.run(["umount", "-l", str(again)], check=True)
    assert result.ret == 6
    assert findings(result)[0]["message"] == (
        f"$LFS is the host's root directory ('{again}' is / mounted again): zlib would run "
        "outside a build root")
    assert preflight is not None and preflight.code == "CHR002"


def test_empty_lfs_is_refused(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"chapter05/501-a": "true", "chapter05/502-b": "true"})
    lfsplugger.make_config(f'lfs = ""\n[chroot]\nuser = "{NOBODY}"\n')
    result = lfsplugger.run("check", "--json", *QUIET)
    assert "CHR002" in codes(result)
    [message] = [f["message"] for f in findings(result) if f["code"] == "CHR002"]
    assert message == "$LFS is empty: a and 1 more would run outside a build root"


def test_a_phase_that_needs_root_is_refused_when_not_root(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checks, "current_euid", lambda: 1000)
    marker = lfsplugger.path / "ran"
    lfsplugger.make_tree({"chapter08/801-zlib": f"touch {marker}",
                          "chapter08/802-bzip2": "true"})
    result = lfsplugger.run("run", *QUIET)
    assert result.ret == 6
    result.stderr.fnmatch_lines(["*error CHR001: zlib and 1 more must run inside the chroot "
                                 "(which needs root), and lfsplug runs as uid 1000"])
    assert not marker.exists()


def test_a_refusal_names_the_file_the_header_line_and_the_mend(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before the build (a finding at the header line that placed the script) and, behind
    --ignore-errors, just before the script (its result and its log say the same)."""
    monkeypatch.setattr(checks, "current_euid", lambda: 1000)
    lfsplugger.make_tree({"01-a.sh": "true", "02-fdisk.sh": "#!/bin/bash\n"
                          "# lfsplug: user=root\ntouch ran\n"})
    [finding] = findings(lfsplugger.run("check", "--json", *QUIET))
    assert (finding["code"], finding["line"]) == ("CHR001", 2)
    assert finding["path"].endswith("02-fdisk.sh")
    assert finding["hint"] == ("run lfsplug as root, or set user=/chroot= or [chroot.phases] "
                               "(docs/chroot.md)")
    result = lfsplugger.run("run", "--ignore-errors", *QUIET)
    assert result.ret == 1
    message = "not run: must run as root, which needs root (uid 1000)"
    mend = ("CHR001: 02-fdisk.sh:2 (header user=root); run lfsplug as root, or set "
            "user=/chroot= or [chroot.phases] (docs/chroot.md)")
    refused = result.results["fdisk"]
    assert refused.message == message and refused.tail == [f"lfsplug: chroot: {mend}"]
    assert refused.log_path is not None
    assert refused.log_path.read_text() == (f"lfsplug: chroot: {message}\n"
                                            f"lfsplug: chroot: {mend}\n")
    assert not (lfsplugger.path / "ran").exists()


def test_no_shell_in_the_chroot_is_refused(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    lfs = tmp_path / "lfs"
    (lfs / "usr/bin").mkdir(parents=True)
    lfsplugger.make_tree({"chapter08/801-zlib": "true"})
    result = lfsplugger.run("check", "--json", "--lfs", str(lfs), *QUIET)
    assert result.ret == 6
    [finding] = findings(result)
    assert finding["code"] == "CHR004"
    assert finding["message"] == (f"the chroot has no /bin/bash ({lfs} has no executable "
                                  f"bin/bash): zlib must run inside it")
    # a merged /usr with an absolute link, resolved inside the chroot, not on the host
    (lfs / "bin").symlink_to("/usr/bin")
    shutil.copy("/bin/true", lfs / "usr/bin/bash")
    assert codes(lfsplugger.run("check", "--json", "--lfs", str(lfs), *QUIET)) == []


def test_missing_shell_waits_for_the_scripts_that_build_it(lfsplugger: Lfsplugger,
                                                           tmp_path: Path) -> None:
    lfs = tmp_path / "lfs"
    lfs.mkdir()
    lfsplugger.make_tree({"chapter07/701-changingowner": "true",
                          "chapter07/702-gettext": "true"})
    assert codes(lfsplugger.run("check", "--json", "--lfs", str(lfs), *QUIET)) == []
    result = lfsplugger.run("run", "--lfs", str(lfs), *QUIET)
    assert result.ret == 1
    assert result.statuses() == {"changingowner": "passed", "gettext": "failed"}
    refused = result.results["gettext"]
    assert refused.message == f"not run: the chroot at {lfs} has no executable /bin/bash"
    assert refused.tail == [
        "lfsplug: chroot: CHR004: chapter07/702-gettext (phase chroot-temp); build the temporary "
        "tools first (the book's chapters 5 and 6), check --lfs, or set [chroot] shell to the "
        "shell inside"]
    assert not (lfs / "proc").exists()  # refused before anything was mounted


def test_missing_tools_are_refused(lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "bash").symlink_to(shutil.which("bash") or "/bin/bash")
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setattr(checks, "_SBIN", "")
    lfsplugger.make_tree({"chapter05/501-a": "true", "chapter08/801-b": "true"})
    lfsplugger.make_config(f'[chroot]\nuser = "{NOBODY}"\n')
    result = lfsplugger.run("check", "--json", *QUIET)
    messages = sorted(f["message"] for f in findings(result) if f["code"] == "CHR005")
    assert messages == ["chroot is not installed: b must run inside the chroot",
                        "mount is not installed: b must run inside the chroot",
                        "setpriv is not installed: a must run as user nobody",
                        "umount is not installed: b must run inside the chroot"]


def test_a_script_the_build_user_cannot_read_is_refused(lfsplugger: Lfsplugger) -> None:
    # pytest's temporary directories are private to root (mode 0700)
    lfsplugger.make_tree({"chapter05/501-a": "true"})
    lfsplugger.make_config(f'[chroot]\nuser = "{NOBODY}"\n')
    if os.geteuid() != 0 or readable_by(str(lfsplugger.path), pwd.getpwnam(NOBODY)) is None:
        pytest.skip("needs root and a temporary directory that nobody cannot read")
    result = lfsplugger.run("check", "--json", *QUIET)
    [finding] = findings(result)
    assert finding["code"] == "CHR006"
    assert finding["message"].startswith("user nobody cannot search /")
    assert finding["path"].endswith("501-a")


def test_chroot_with_another_user_is_refused(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    lfsplugger.make_tree({"01-a.sh": "# lfsplug: chroot=yes user=nobody\ntrue"})
    result = lfsplugger.run("check", "--json", "--lfs", str(tmp_path), *QUIET)
    [finding] = [f for f in findings(result) if f["code"] == "CHR007"]
    assert finding["path"].endswith("01-a.sh") and finding["line"] == 2  # after the #! line
    assert finding["hint"].startswith("drop user=, or switch user inside the script")
    assert result.ret == 6


def test_privileges_off_runs_everything_on_the_host(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"chapter05/501-a": "id -u", "chapter08/801-b": "echo $LFS"})
    lfsplugger.make_config('[chroot]\nuser = "no-such-user-lfsplug"\n')
    result = lfsplugger.run("run", "--privileges", "off", *QUIET)
    assert result.ret == 0
    argvs = [call.request.argv for call in result.getcalls("lfsplug_run_script")]
    assert [argv[0] for argv in argvs] == ["bash", "bash"]


def test_a_silenced_refusal_still_stops_the_script(lfsplugger: Lfsplugger) -> None:
    marker = lfsplugger.path / "ran"
    lfsplugger.make_tree({"chapter05/501-a": f"touch {marker}"})
    lfsplugger.make_config('disable = ["CHR003"]\n[chroot]\nuser = "no-such-user-lfsplug"\n')
    result = lfsplugger.run("run", *QUIET)
    assert result.ret == 1
    refused = result.results["a"]
    assert refused.message == "not run: user no-such-user-lfsplug does not exist"
    assert refused.tail[0].startswith(
        "lfsplug: chroot: CHR003: chapter05/501-a (phase cross); create it as the book's "
        "chapter 4 does")
    assert not marker.exists()


def test_checks_before_a_script_run_until_its_placement_passes_once(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first script of a placement that passes clears the later ones; a refusal does not."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    checked: list[tuple[str, str | None]] = []
    real = checks.preflight

    def counting(script: Script, placement: Any, *args: Any) -> Any:
        checked.append((placement.mode, placement.user))
        return real(script, placement, *args)

    monkeypatch.setattr(checks, "preflight", counting)
    lfsplugger.make_tree({"chapter05/501-a": "true", "chapter05/502-b": "true",
                          "chapter05/503-c": "true", "02-d.sh": "true", "03-e.sh": "true",
                          "04-f.sh": "# lfsplug: user=no-such-user-lfsplug\ntrue",
                          "05-g.sh": "# lfsplug: user=no-such-user-lfsplug\ntrue"})
    lfsplugger.make_config(f'disable = ["CHR003"]\n[chroot]\nuser = "{me}"\n')
    result = lfsplugger.run("run", "--keep-going", "--order", "graph", *QUIET)
    assert result.statuses() == {"a": "passed", "b": "passed", "c": "passed", "d": "passed",
                                 "e": "passed", "f": "failed", "g": "failed"}
    assert sorted(checked) == sorted([("host", None), ("user", me),
                                      ("user", "no-such-user-lfsplug"),
                                      ("user", "no-such-user-lfsplug")])


# -- the mount bookkeeping, against a fake mount table -------------------------------------------


class FakeMounts:
    """A mount table and the mount/umount commands that change it."""

    def __init__(self, existing: Sequence[str] = ()) -> None:
        self.table = [MountEntry(20 + i, path, "tmpfs", "tmpfs") for i, path in
                      enumerate(existing)]
        self.commands: list[list[str]] = []
        self.next_id = 100
        self.busy: dict[str, int] = {}  # mount point -> how many umounts fail first
        self.fail: set[str] = set()

    def mountinfo(self) -> list[MountEntry]:
        return list(self.table)

    def run(self, argv: list[str]) -> tuple[int, str]:
        self.commands.append(argv)
        target = argv[-1]
        if argv[0] == "mount":
            if target in self.fail:
                return 32, f"mount: {target}: permission denied."
            self.next_id += 1
            self.table.append(MountEntry(self.next_id, target, argv[2], argv[-2]))
            return 0, ""
        if self.busy.get(target, 0) > 0 and "--lazy" not in argv:
            self.busy[target] -= 1
            return 32, f"umount: {target}: target is busy."
        for entry in reversed(self.table):
            if entry.target == target:
                self.table.remove(entry)
                return 0, ""
        return 32, f"umount: {target}: not mounted."


@pytest.fixture
def lfs_dir(tmp_path: Path) -> Path:
    lfs = tmp_path / "lfs"
    (lfs / "dev" / "pts").mkdir(parents=True)
    (lfs / "dev" / "shm").mkdir()
    return lfs


def mounter(lfs: Path, fake: FakeMounts, said: list[str] | None = None,
            record: Path | None = None) -> Mounter:
    return Mounter(str(lfs), record=record, mountinfo=fake.mountinfo, run=fake.run,
                   say=(said if said is not None else []).append, host_shm="/dev/shm")


def test_mounts_follow_the_book_and_unmount_in_reverse_once(lfs_dir: Path) -> None:
    fake = FakeMounts()
    m = mounter(lfs_dir, fake)
    m.mount_all()
    m.mount_all()  # a second chroot script: mounted once
    root = str(lfs_dir)
    assert fake.commands == [
        ["mount", "--bind", "/dev", f"{root}/dev"],
        ["mount", "-t", "devpts", "devpts", "-o", "gid=5,mode=0620", f"{root}/dev/pts"],
        ["mount", "-t", "proc", "proc", f"{root}/proc"],
        ["mount", "-t", "sysfs", "sysfs", f"{root}/sys"],
        ["mount", "-t", "tmpfs", "tmpfs", f"{root}/run"],
        ["mount", "-t", "tmpfs", "-o", "nosuid,nodev", "tmpfs", f"{root}/dev/shm"],
    ]
    assert all((lfs_dir / d).is_dir() for d in ("dev", "proc", "sys", "run"))
    fake.commands.clear()
    assert m.unmount_all() == [f"{root}/{p}" for p in
                               ("dev/shm", "run", "sys", "proc", "dev/pts", "dev")]
    assert m.unmount_all() == []  # sessionfinish and atexit both: never twice
    assert fake.commands == [["umount", f"{root}/{p}"] for p in
                             ("dev/shm", "run", "sys", "proc", "dev/pts", "dev")]
    assert fake.table == []


def test_an_existing_mount_is_left_alone(lfs_dir: Path) -> None:
    run = str(lfs_dir / "run")
    fake = FakeMounts(existing=[run])
    m = mounter(lfs_dir, fake)
    m.mount_all()
    assert [argv[-1] for argv in fake.commands if argv[0] == "mount"] == [
        str(lfs_dir / p) for p in ("dev", "dev/pts", "proc", "sys", "dev/shm")]
    assert m.left_alone == [run]
    m.unmount_all()
    assert [e.target for e in fake.table] == [run]
    assert ["umount", run] not in fake.commands


def test_a_mount_replaced_meanwhile_is_not_unmounted(lfs_dir: Path) -> None:
    fake = FakeMounts()
    m = mounter(lfs_dir, fake)
    m.mount_all()
    proc = str(lfs_dir / "proc")
    fake.table = [e for e in fake.table if e.target != proc] + [
        MountEntry(999, proc, "proc", "proc")]  # someone unmounted ours and mounted theirs
    assert proc not in m.unmount_all()
    assert [e.target for e in fake.table] == [proc]


def test_a_failed_mount_names_the_point_and_the_command(lfs_dir: Path) -> None:
    fake = FakeMounts()
    fake.fail.add(str(lfs_dir / "sys"))
    m = mounter(lfs_dir, fake)
    with pytest.raises(MountError) as caught:
        m.mount_all()
    assert str(caught.value) == (
        f"cannot mount sys on {lfs_dir}/sys: `mount -t sysfs sysfs {lfs_dir}/sys` exited 32: "
        f"mount: {lfs_dir}/sys: permission denied.")
    m.unmount_all()  # what was mounted before the failure goes
    assert fake.table == []


def test_a_symbolic_link_out_of_lfs_is_refused(lfs_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "host-proc"
    elsewhere.mkdir()
    (lfs_dir / "proc").symlink_to(elsewhere)
    fake = FakeMounts()
    with pytest.raises(MountError, match="through a symbolic link: refusing to mount there"):
        mounter(lfs_dir, fake).mount_all()
    assert all(argv[-1] != str(lfs_dir / "proc") for argv in fake.commands)


def test_dev_shm_as_a_link_gets_a_directory(lfs_dir: Path, tmp_path: Path) -> None:
    (lfs_dir / "dev" / "shm").rmdir()
    (lfs_dir / "dev" / "shm").symlink_to("/run/shm")
    host_shm = tmp_path / "host-run" / "shm"
    host_shm.mkdir(parents=True)
    fake = FakeMounts()
    m = Mounter(str(lfs_dir), mountinfo=fake.mountinfo, run=fake.run, host_shm=str(host_shm))
    m.mount_all()
    made = lfs_dir / str(host_shm).lstrip("/")
    assert made.is_dir() and stat.S_IMODE(made.stat().st_mode) == 0o1777
    assert all(not argv[-1].endswith("dev/shm") for argv in fake.commands)


def test_a_busy_file_system_is_detached_lazily(lfs_dir: Path) -> None:
    fake = FakeMounts()
    said: list[str] = []
    m = mounter(lfs_dir, fake, said)
    m.mount_all()
    proc = str(lfs_dir / "proc")
    fake.busy[proc] = 99
    m.unmount_all()
    assert ["umount", "--lazy", proc] in fake.commands
    assert fake.table == []
    assert said == [f"{proc} was busy (`umount {proc}`: umount: {proc}: target is busy.); "
                    f"detached it with `umount --lazy {proc}`"]


def test_a_killed_runs_mounts_are_adopted_and_unmounted(lfs_dir: Path, tmp_path: Path) -> None:
    record = tmp_path / "state" / "chroot-mounts.json"
    fake = FakeMounts()
    killed = mounter(lfs_dir, fake, record=record)
    killed.mount_all()  # ... and never unmounted: kill -9
    recorded = [json.loads(line) for line in record.read_text().splitlines()]
    assert [m["target"] for m in recorded] == [
        str(lfs_dir / p) for p in ("dev", "dev/pts", "proc", "sys", "run", "dev/shm")]
    sys_mount = str(lfs_dir / "sys")
    fake.run(["umount", sys_mount])  # the admin unmounted one by hand meanwhile
    said: list[str] = []
    fake.commands.clear()
    later = mounter(lfs_dir, fake, said, record=record)
    later.mount_all()
    assert [argv for argv in fake.commands if argv[0] == "mount"] == [
        ["mount", "-t", "sysfs", "sysfs", sys_mount]]
    assert later.left_alone == []
    assert said[0].startswith("an earlier run left ")
    later.unmount_all()
    assert fake.table == []
    assert not record.exists()


def test_mountinfo_parsing() -> None:
    text = ("36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n"
            "37 35 0:22 / /proc rw - proc proc rw\n"
            "garbage\n")
    assert parse_mountinfo(text) == [MountEntry(36, "/mnt/with space", "ext3", "/dev/root"),
                                     MountEntry(37, "/proc", "proc", "proc")]


def test_paths_resolve_inside_the_chroot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "bash").touch()
    (root / "bin").symlink_to("/usr/bin")  # absolute: /usr/bin of the chroot, not the host
    (root / "sh").symlink_to("../../../../usr/bin/bash")  # .. stops at the root
    assert resolve_inside(str(root), "/bin/bash") == str(root / "usr/bin/bash")
    assert resolve_inside(str(root), "/sh") == str(root / "usr/bin/bash")
    assert resolve_inside(str(root), "/bin/zsh") is None
    (root / "loop").symlink_to("loop")
    assert resolve_inside(str(root), "/loop") is None


def test_readable_by_follows_the_permission_bits(tmp_path: Path) -> None:
    nobody = pwd.getpwnam(NOBODY)
    top = Path(tempfile.mkdtemp(prefix="lfsplug-perm-", dir="/tmp"))
    try:
        (top / "d").mkdir()
        file = top / "d" / "s.sh"
        file.write_text("true\n")
        for mode, path in ((0o755, top), (0o755, top / "d"), (0o644, file)):
            path.chmod(mode)
        assert readable_by(str(file), nobody) is None
        (top / "d").chmod(0o750)
        assert readable_by(str(file), nobody) == str(top / "d")
        (top / "d").chmod(0o755)
        file.chmod(0o600)
        assert readable_by(str(file), nobody) == str(file)
    finally:
        shutil.rmtree(top)


# -- the real thing: a busybox root file system ---------------------------------------------------


def _can_mount(where: Path) -> str | None:
    """Why mounting cannot be tested here, or None."""
    if os.geteuid() != 0:
        return "needs root (mount and chroot)"
    if not os.path.exists(BUSYBOX):
        return "needs busybox-static (/usr/bin/busybox)"
    for tool in ("mount", "umount", "chroot", "setpriv"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"needs {tool}"
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(where)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        return f"mount fails here: {proc.stderr.strip()}"
    subprocess.run(["umount", str(where)], check=True)
    return None


def under(root: Path) -> list[str]:
    """The mount points at or below ``root`` in this process's mount table."""
    real = os.path.realpath(root)
    table = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    return [e.target for e in table if e.target == real or e.target.startswith(real + "/")]


@pytest.fixture
def rootfs(tmp_path: Path) -> Iterator[Path]:
    """A busybox root file system: /usr/bin/busybox and its applets, /bin -> usr/bin, and a
    token in /etc/marker that only a script inside can read at that path."""
    if "chroot" not in {ep.name for ep in entry_points(group="lfsplug")}:
        # without the plugin the scripts would run on the host and write to its /
        pytest.skip("the chroot plugin is not installed (pip install -e . registers it)")
    why = _can_mount(tmp_path / "probe")
    if why:
        pytest.skip(why)
    root = tmp_path / "root"
    bindir = root / "usr" / "bin"
    bindir.mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "root").mkdir()
    shutil.copy2(BUSYBOX, bindir / "busybox")
    for applet in APPLETS:
        (bindir / applet).symlink_to("busybox")
    (root / "bin").symlink_to("usr/bin")
    (root / "etc" / "marker").write_text(f"token-{os.getpid()}-{time.time_ns()}\n")
    try:
        yield root
    finally:
        for point in reversed(under(root)):  # never leave a mount behind a failed test
            subprocess.run(["umount", "--lazy", point], check=False)


def chroot_tree(lfsplugger: Lfsplugger, root: Path, scripts: dict[str, str]) -> None:
    """Scripts under ``scripts/`` (run as ``run scripts``: discovery never walks into the
    root file system and its mounts) and the configuration for the busybox root."""
    lfsplugger.make_tree({f"scripts/{name}": text for name, text in scripts.items()})
    lfsplugger.make_config(f'lfs = "{root}"\n[chroot]\nshell = "/bin/sh"\n'
                           f'shell_options = ["-e"]\n')


def log(lfsplugger: Lfsplugger, name: str) -> str:
    return (lfsplugger.path / "scripts" / ".lfsplug" / "logs" / f"{name}.log").read_text()


def test_scripts_run_inside_the_chroot(lfsplugger: Lfsplugger, rootfs: Path) -> None:
    chroot_tree(lfsplugger, rootfs, {
        "chapter08/801-inside": "cat /etc/marker\necho made > /made-inside\nls /proc/self\n"
                                "env | sort\nwc -l < /proc/self/mountinfo",
        "chapter08/802-again": "wc -l < /proc/self/mountinfo",
    })
    result = lfsplugger.run("run", "scripts", *QUIET)
    assert result.ret == 0, result.outlines + result.errlines
    text = log(lfsplugger, "inside")
    assert (rootfs / "etc" / "marker").read_text().strip() in text  # read at /etc/marker
    assert (rootfs / "made-inside").read_text() == "made\n"  # written at / inside
    assert "status" in text.split() and "cmdline" in text.split()  # /proc is mounted
    assert "PATH=/usr/bin:/usr/sbin" in text and "HOME=/root" in text
    assert f"PS1={CHROOT_PS1}" in text and "TESTSUITEFLAGS=-j" in text
    assert "LFS=" not in text and "LFS_TGT=" not in text
    mounts_seen = [log(lfsplugger, n).splitlines()[-3] for n in ("inside", "again")]
    assert mounts_seen[0] == mounts_seen[1]  # mounted once for both scripts
    assert int(mounts_seen[0]) >= 6
    [first, _] = [call.request.argv for call in result.getcalls("lfsplug_run_script")]
    assert first[1:] == [str(rootfs), "/bin/sh", "-e", "/run/lfsplug/inside.sh"]
    assert os.path.basename(first[0]) == "chroot"
    assert under(rootfs) == []
    assert list((rootfs / "run").iterdir()) == []
    result.stderr.fnmatch_lines([f"lfsplug: chroot: unmounted dev/shm, run, sys, proc, "
                                 f"dev/pts, dev under {rootfs}"])


def test_parallel_scripts_share_one_set_of_mounts(lfsplugger: Lfsplugger, rootfs: Path) -> None:
    scripts = {f"chapter08/80{i}-p{i}": f"touch /p{i}\nsleep 0.5\nwc -l < /proc/self/mountinfo"
               for i in range(1, 5)}
    chroot_tree(lfsplugger, rootfs, scripts)
    result = lfsplugger.run("run", "scripts", "-j", "2", "--order", "graph", *QUIET)
    assert result.ret == 0, result.outlines + result.errlines
    assert all((rootfs / f"p{i}").exists() for i in range(1, 5))
    seen = {log(lfsplugger, f"p{i}").splitlines()[0] for i in range(1, 5)}
    assert len(seen) == 1  # every script saw the same mount table: mounted once
    assert under(rootfs) == []


def test_a_dry_run_shows_the_chroot_command_and_mounts_nothing(lfsplugger: Lfsplugger,
                                                                rootfs: Path) -> None:
    chroot_tree(lfsplugger, rootfs, {"chapter08/801-a": "touch /ran"})
    result = lfsplugger.run("run", "scripts", "--dry-run", *QUIET)
    assert result.ret == 0, result.outlines + result.errlines
    result.stdout.fnmatch_lines([f"*$ *chroot {rootfs} /bin/sh -e /run/lfsplug/a.sh"])
    assert not (rootfs / "ran").exists()
    assert not (rootfs / "proc").exists()  # nothing was even prepared


def _tarball(sources: Path, top: str) -> Path:
    """``sources/TOP.tar.xz`` holding ``TOP/build/`` and ``TOP/README``, made with the real tar."""
    staging = sources / f".staging-{top}"
    (staging / top / "build").mkdir(parents=True)
    (staging / top / "README").write_text("read me\n")
    subprocess.run(["tar", "-cJf", str(sources / f"{top}.tar.xz"), "-C", str(staging), top],
                   check=True)
    shutil.rmtree(staging)
    return sources / f"{top}.tar.xz"


#: An lfsconf.py that gives every script the exports of a driver, as discovery does.
DRIVER = ("import lfsplug\n\n\n@lfsplug.hookimpl\n"
          "def lfsplug_collection_modifyscripts(session, config, scripts):\n"
          "    for script in scripts:\n"
          "        script.env = {'SOURCES': '${LFS}/sources'}\n")


def test_a_chroot_script_is_unpacked_under_lfs_and_starts_in_its_directory(
    lfsplugger: Lfsplugger, rootfs: Path,
) -> None:
    (rootfs / "sources").mkdir()
    _tarball(rootfs / "sources", "pkg-1.0")
    chroot_tree(lfsplugger, rootfs, {
        "chapter08/801-pkg": "# lfsplug: unpack=pkg-*.tar.xz workdir=build\n"
                             'echo "PWD=$(pwd)"\necho "PKGDIR=$PKGDIR"\necho "SOURCES=$SOURCES"\n'
                             "cat ../README\ntouch made-inside",
    })
    lfsplugger.make_lfsconf(DRIVER, "scripts")
    dry = lfsplugger.run("run", "scripts", "--dry-run", *QUIET)
    assert dry.ret == 0, dry.outlines + dry.errlines
    dry.stdout.fnmatch_lines([
        f"*$ *chroot {rootfs} /bin/sh -c 'cd \"$1\" || exit; shift; exec \"$@\"' lfsplug-start "
        f"/sources/pkg-1.0/build /bin/sh -e /run/lfsplug/pkg.sh",
        f"         unpack {rootfs}/sources/pkg-1.0.tar.xz",
        f"         in /sources/pkg-1.0/build (on the host: {rootfs}/sources/pkg-1.0/build)",
        "         + SOURCES=/sources",
    ])
    result = lfsplugger.run("run", "scripts", *QUIET)
    assert result.ret == 0, result.outlines + result.errlines
    text = log(lfsplugger, "pkg")
    assert "PWD=/sources/pkg-1.0/build\nPKGDIR=/sources/pkg-1.0\nSOURCES=/sources\n" in text
    assert "read me" in text
    assert (f"# lfsplug: running in /sources/pkg-1.0/build (on the host: "
            f"{rootfs}/sources/pkg-1.0/build)") in text
    assert not (rootfs / "sources" / "pkg-1.0").exists()  # removed after success
    assert under(rootfs) == []


def test_a_chroot_script_cannot_unpack_outside_lfs(lfsplugger: Lfsplugger, rootfs: Path) -> None:
    outside = lfsplugger.path / "tarballs"
    outside.mkdir()
    _tarball(outside, "pkg-1.0")
    chroot_tree(lfsplugger, rootfs, {
        "chapter08/801-pkg": "# lfsplug: unpack=../../tarballs/pkg-1.0.tar.xz\ntouch /ran"})
    result = lfsplugger.run("run", "scripts", *QUIET)
    assert result.ret == 1
    assert result.results["pkg"].message == (
        f"not run: chapter08/801-pkg:2: unpack=../../tarballs/pkg-1.0.tar.xz: "
        f"{outside}/pkg-1.0 is outside {rootfs}, the directory the script sees as /")
    assert not (rootfs / "ran").exists() and not (outside / "pkg-1.0").exists()


def test_mounts_are_gone_after_a_failure(lfsplugger: Lfsplugger, rootfs: Path) -> None:
    chroot_tree(lfsplugger, rootfs, {"chapter08/801-fails": "touch /was-here\nexit 3",
                                     "chapter08/802-never": "true"})
    result = lfsplugger.run("run", "scripts", *QUIET)
    assert result.ret == 1
    assert result.statuses() == {"fails": "failed", "never": "not-run"}
    assert (rootfs / "was-here").exists()
    assert under(rootfs) == []


def test_an_existing_mount_survives_the_run(lfsplugger: Lfsplugger, rootfs: Path,
                                            tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (rootfs / "run").mkdir()
    subprocess.run(["mount", "--bind", str(mine), str(rootfs / "run")], check=True)
    try:
        chroot_tree(lfsplugger, rootfs, {"chapter08/801-a": "ls /run/lfsplug"})
        result = lfsplugger.run("run", "scripts", *QUIET)
        assert result.ret == 0, result.outlines
        assert "a.sh" in log(lfsplugger, "a")  # the copy went into the existing /run
        assert under(rootfs) == [str(rootfs / "run")]
        assert list(mine.iterdir()) == []  # and was cleaned up
    finally:
        subprocess.run(["umount", str(rootfs / "run")], check=False)


def _wait_for(path: Path, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@contextlib.contextmanager
def _lfsplug(lfsplugger: Lfsplugger, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """The real command in a child process; killed, with its scripts, if a test fails."""
    proc = subprocess.Popen([sys.executable, "-m", "lfsplug", *args], cwd=lfsplugger.path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _sleepers(marker: str, root: Path) -> list[psutil.Process]:
    """The processes with ``marker`` in their command line chrooted into ``root``: only this
    test's (another run of the suite on the machine has sleepers of its own)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error, OSError):
            if (any(marker in part for part in proc.info["cmdline"] or [])
                    and os.readlink(f"/proc/{proc.pid}/root") == os.path.realpath(root)):
                found.append(proc)
    return found


def test_mounts_are_gone_after_an_interrupt(lfsplugger: Lfsplugger, rootfs: Path) -> None:
    chroot_tree(lfsplugger, rootfs, {"chapter08/801-long": "touch /started\nsleep 1234.5"})
    with _lfsplug(lfsplugger, "run", "scripts", *QUIET) as proc:
        _wait_for(rootfs / "started", proc)
        assert len(under(rootfs)) >= 5
        for _ in range(3):  # the first interrupt lets the script finish; the next ends it
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        output = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 2, output
    assert under(rootfs) == []
    assert _sleepers("1234.5", rootfs) == []


def _kill_lfsplug_mid_script(lfsplugger: Lfsplugger, rootfs: Path, marker: str) -> list[str]:
    """Run a chroot script that sleeps (``sleep MARKER``), kill -9 lfsplug once it has started,
    and wait for the script's keeper to end it (it does when lfsplug dies); what is left
    mounted under the chroot."""
    chroot_tree(lfsplugger, rootfs, {"chapter08/801-long": f"touch /started\nsleep {marker}"})
    with _lfsplug(lfsplugger, "run", "scripts", *QUIET) as proc:
        _wait_for(rootfs / "started", proc)
        proc.kill()
        proc.communicate()
    deadline = time.monotonic() + 15
    while _sleepers(marker, rootfs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sleepers(marker, rootfs) == []
    return under(rootfs)


def test_a_killed_runs_mounts_are_unmounted_by_the_next_run(lfsplugger: Lfsplugger,
                                                            rootfs: Path) -> None:
    left = _kill_lfsplug_mid_script(lfsplugger, rootfs, "2345.5")
    assert len(left) >= 5
    (lfsplugger.path / "scripts" / "chapter08" / "801-long").write_text("#!/bin/bash\ntrue\n")
    result = lfsplugger.run("run", "scripts", *QUIET)
    assert result.ret == 0, result.outlines
    result.stderr.fnmatch_lines(["lfsplug: chroot: an earlier run left * mounted; they are "
                                 "unmounted when this run ends"])
    assert under(rootfs) == []


def test_privileges_off_says_a_killed_runs_mounts_are_left(lfsplugger: Lfsplugger,
                                                           rootfs: Path) -> None:
    left = _kill_lfsplug_mid_script(lfsplugger, rootfs, "3456.5")
    assert len(left) >= 5
    record = lfsplugger.path / "scripts" / ".lfsplug" / "chroot-mounts.json"
    kept = record.read_text()
    (lfsplugger.path / "scripts" / "chapter08" / "801-long").write_text("#!/bin/bash\ntrue\n")
    result = lfsplugger.run("run", "scripts", "--privileges", "off", *QUIET)
    assert result.ret == 0, result.outlines + result.errlines
    warned = [line for line in result.errlines if line.startswith("lfsplug: chroot: ")]
    recorded = [json.loads(line)["target"] for line in kept.splitlines()]
    assert warned == [
        f"lfsplug: chroot: warning: an earlier run left {', '.join(recorded)} mounted; "
        f"--privileges off leaves them alone: remove them with "
        f"`umount {' '.join(reversed(recorded))}` (or a `lfsplug run --privileges on` that "
        f"runs a chroot script)"]
    assert under(rootfs) == left  # not unmounted behind the user's back
    assert record.read_text() == kept  # for a later --privileges on run to adopt
    # the advice works: --privileges on with a chroot script unmounts them
    result = lfsplugger.run("run", "scripts", "--force-all", *QUIET)
    assert result.ret == 0, result.outlines + result.errlines
    assert under(rootfs) == []


def test_left_mounted_reads_the_record_against_the_mount_table(lfs_dir: Path,
                                                               tmp_path: Path) -> None:
    record = tmp_path / "state" / "chroot-mounts.json"
    fake = FakeMounts()
    assert left_mounted(record, str(lfs_dir), fake.mountinfo) == []  # no record
    mounter(lfs_dir, fake, record=record).mount_all()  # ... and killed
    points = [str(lfs_dir / p) for p in ("dev", "dev/pts", "proc", "sys", "run", "dev/shm")]
    assert left_mounted(record, str(lfs_dir), fake.mountinfo) == points
    fake.run(["umount", points[3]])
    fake.run(["mount", "-t", "sysfs", "sysfs", points[3]])  # another mount id now
    assert left_mounted(record, str(lfs_dir), fake.mountinfo) == points[:3] + points[4:]
    assert left_mounted(record, str(tmp_path / "other"), fake.mountinfo) == []
    record.write_text("{not json\n")
    assert left_mounted(record, str(lfs_dir), fake.mountinfo) == []


def test_scripts_run_as_the_build_user(lfsplugger: Lfsplugger) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to switch to another user")
    nobody = pwd.getpwnam(NOBODY)
    top = Path(tempfile.mkdtemp(prefix="lfsplug-user-", dir="/tmp"))  # readable by nobody
    try:
        top.chmod(0o755)
        tree = top / "tree"
        (tree / "chapter05").mkdir(parents=True)
        script_file = tree / "chapter05" / "501-who"
        script_file.write_text("#!/bin/bash\nid -u\nid -g\necho \"HOME=$HOME\"\n")
        script_file.chmod(0o755)
        (tree / "chapter05").chmod(0o755)
        tree.chmod(0o755)
        (tree / "lfsplug.toml").write_text(f'[chroot]\nuser = "{NOBODY}"\n')
        result = lfsplugger.run("run", str(tree), *QUIET)
        assert result.ret == 0, result.outlines + result.errlines
        text = (tree / ".lfsplug" / "logs" / "who.log").read_text().splitlines()
        assert text[:3] == [str(nobody.pw_uid), str(nobody.pw_gid), f"HOME={nobody.pw_dir}"]
        [call] = result.getcalls("lfsplug_run_script")
        assert os.path.basename(call.request.argv[0]) == "setpriv"
    finally:
        shutil.rmtree(top)


def test_what_is_unpacked_for_the_build_user_is_theirs(lfsplugger: Lfsplugger) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to switch to another user")
    nobody = pwd.getpwnam(NOBODY)
    top = Path(tempfile.mkdtemp(prefix="lfsplug-user-", dir="/tmp"))  # readable by nobody
    try:
        top.chmod(0o755)
        sources = top / "sources"
        sources.mkdir(mode=0o755)
        _tarball(sources, "pkg-1.0")
        tree = top / "tree"
        (tree / "chapter05").mkdir(parents=True, mode=0o755)
        script_file = tree / "chapter05" / "501-pkg"
        script_file.write_text("#!/bin/bash\n# lfsplug: unpack=pkg-1.0.tar.xz workdir=build\n"
                               "id -u\ntouch made-by-the-user\nstat -c %u made-by-the-user\n")
        script_file.chmod(0o755)
        tree.chmod(0o755)
        (tree / "lfsplug.toml").write_text(f'[chroot]\nuser = "{NOBODY}"\n'
                                           f'[env]\nSOURCES = "{sources}"\n')
        result = lfsplugger.run("run", str(tree), *QUIET)
        assert result.ret == 0, result.outlines + result.errlines
        text = (tree / ".lfsplug" / "logs" / "pkg.log").read_text().splitlines()
        assert text[2:4] == [str(nobody.pw_uid)] * 2  # its id, and the owner of what it made
        assert not (sources / "pkg-1.0").exists()  # removed by lfsplug after success
    finally:
        shutil.rmtree(top)


def test_kernfs_list_is_the_books() -> None:
    """The list is read from the book's page when the reference data is there."""
    page = BOOK / "chapter07" / "kernfs.xml"
    if not page.exists():
        pytest.skip(no_data(page))
    text = page.read_text()
    for step in KERNFS:
        book_args = " ".join(step.args).replace("-t ", "-vt ", 1) if step.args[0] == "-t" \
            else "-v " + " ".join(step.args)
        assert f"mount {book_args} $LFS/{step.target}" in text, step
    assert "mount -vt tmpfs -o nosuid,nodev tmpfs $LFS/dev/shm" in text
