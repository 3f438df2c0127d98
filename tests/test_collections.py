"""Real script collections (issue 10): lfsplug builds what a collection's own driver builds.

Each collection under ``tests/collections/`` is a small tree as LFS builders publish them: build
scripts plus the drivers that run them (``run-all.sh``, ``build.sh``, per-phase drivers, list
files, loops, ``sudo``/``su``/``chroot``...). ``manifest.toml`` beside them says how each is
started and which of its files are drivers or no build step at all.

The truth is not written by hand. The *truth run* copies a collection to a scratch directory,
replaces every build script by a stub that appends the script's own path (relative to the
collection, written into the stub, since ``sh``, ``source`` and ``bash`` give different ``$0``)
to a trace file, and runs the collection's real driver there, with shims first on PATH that run
``sudo``, ``su``, ``chroot`` and ``mount`` unprivileged. The trace, in order, is what
``lfsplug list`` must show for the original scripts. Two collections whose scripts do small
real work are also built for real with ``lfsplug run``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Cases that still fail, with why (issue 10 continues): each is xfail until fixed.
KNOWN_GAPS: dict[str, str] = {}

from lfsplug.testing import ISOLATED_ENV

COLLECTIONS = Path(__file__).parent / "collections"
MANIFEST = COLLECTIONS / "manifest.toml"
#: The sources of the tarballs the collections that build real things unpack (not a collection).
TARBALLS = COLLECTIONS / "_tarballs"
#: How long a driver (with stubs) or an lfsplug command may take.
TIMEOUT = 300
#: The findings no collection may cause: two scripts of one name, a dependency cycle.
FORBIDDEN = {"DISC001", "ORD005"}
#: The options that keep ``check`` and ``run`` about the tree: the host's LFS tools, the
#: lfs user and root are not what these tests are about.
HOST_OFF = ("--privileges", "off", "--host-check", "off")


# --- the manifest -------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    """One collection of the manifest: how its driver starts and what its files are."""

    name: str
    run: list[str]
    drivers: frozenset[str]
    keep: frozenset[str]
    unreached: frozenset[str] = frozenset()
    env: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    tarballs: list[str] = field(default_factory=list)
    real: bool = False
    packages: dict[str, dict[str, str]] = field(default_factory=dict)
    banners: dict[str, list[str]] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return COLLECTIONS / self.name

    def files(self) -> list[str]:
        """Every file of the collection, relative to it, in sorted order."""
        return sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)

    def build_scripts(self) -> list[str]:
        """The files the truth run stubs: neither a driver nor kept."""
        return [f for f in self.files() if f not in self.drivers and f not in self.keep]


def load_manifest() -> dict[str, Collection]:
    data: dict[str, Any] = tomllib.loads(MANIFEST.read_text("utf-8"))["collections"]
    found = {}
    for name, entry in data.items():
        fields = dict(entry)
        for key in ("drivers", "keep", "unreached"):
            fields[key] = frozenset(fields.get(key, ()))
        found[name] = Collection(name=name, **fields)
    return found


MANIFEST_DATA = load_manifest()
NAMES = sorted(MANIFEST_DATA)
REAL = sorted(name for name, c in MANIFEST_DATA.items() if c.real)


def needed_tools(collection: Collection) -> list[str]:
    """The host tools the collection's driver needs beyond bash."""
    tools = ["bash"]
    compressors = {".gz": "gzip", ".xz": "xz", ".bz2": "bzip2"}
    for tarball in collection.tarballs:
        tools += ["tar", compressors[Path(tarball).suffix]]
    return tools


def skip_without(*tools: str) -> None:
    missing = [tool for tool in dict.fromkeys(tools) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


# --- the scratch copy, tarballs and shims ---------------------------------------------------


def copy_collection(collection: Collection, where: Path) -> Path:
    """A copy of the collection (modes kept: exec bits matter) at ``where/NAME``."""
    tree = where / collection.name
    shutil.copytree(collection.path, tree, symlinks=True)
    return tree


def make_tarball(sources: Path, filename: str) -> Path:
    """``sources/filename`` (``NAME-VERSION.tar.gz|xz|bz2``), whose top directory
    ``NAME-VERSION/`` holds ``_tarballs/NAME-VERSION/`` or else a README."""
    top = filename.split(".tar.", maxsplit=1)[0]
    mode = {"gz": "w:gz", "xz": "w:xz", "bz2": "w:bz2"}[filename.rsplit(".", 1)[1]]
    content = TARBALLS / top
    if not content.is_dir():
        content = sources.parent / ".stand-in-sources" / top
        content.mkdir(parents=True)
        (content / "README").write_text(f"{top}: a stand-in source tree\n")
    sources.mkdir(parents=True, exist_ok=True)
    target = sources / filename
    with tarfile.open(target, mode) as archive:
        archive.add(content, arcname=top)
    return target


#: ``sudo [-E] [-u USER] ... CMD ARGS``: run CMD as the caller.
SUDO_SHIM = """#!@PYTHON@
import os, sys
with open(@LOG@, "a") as log:
    log.write("sudo " + " ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
while args and args[0].startswith("-"):
    option = args.pop(0)
    if option == "--":
        break
    if option in ("-u", "-g", "-C", "-D", "-p", "-r", "-t", "-U") and args:
        args.pop(0)
if not args:
    sys.exit("sudo shim: no command (an interactive sudo cannot run in a test)")
os.execvp(args[0], args)
"""

#: ``su [-] [-l] [USER] -c CMD``: ``bash -c CMD`` as the caller, environment kept (the lfs
#: user's own profile would set LFS and LFS_TGT the same way).
SU_SHIM = """#!@PYTHON@
import os, sys
with open(@LOG@, "a") as log:
    log.write("su " + " ".join(sys.argv[1:]) + "\\n")
args, command, shell = sys.argv[1:], None, "bash"
while args:
    arg = args.pop(0)
    if arg in ("-c", "--command") and args:
        command = args.pop(0)
    elif arg.startswith("--command="):
        command = arg.split("=", 1)[1]
    elif arg in ("-s", "--shell") and args:
        shell = args.pop(0)
if command is None:
    sys.exit("su shim: no -c COMMAND (an interactive su cannot run in a test)")
os.execvp(shell, [shell, "-c", command])
"""

#: ``chroot ROOT CMD ARGS``: CMD on the host, in ROOT; an argument that is an absolute path
#: existing under ROOT (alone, after ``VAR=``, or as a word of a ``-c`` string) becomes
#: ROOT/path; ``PATH=`` keeps the shims first (it survives ``env -i``); ``--login`` is
#: dropped so that the host's profile stays out.
CHROOT_SHIM = """#!@PYTHON@
import os, re, sys
with open(@LOG@, "a") as log:
    log.write("chroot " + " ".join(sys.argv[1:]) + "\\n")
SHIMS = @SHIMS@
args = [arg for arg in sys.argv[1:] if not arg.startswith("--") or arg == "--login"]
root, command = args[0].rstrip("/"), args[1:]
if not command:
    sys.exit("chroot shim: no command (an interactive chroot cannot run in a test)")
WORD = re.compile(r"(?<![^\\s=:\\"'])/[^\\s\\"';:&|<>()]*")

def inside(match):
    path = match.group(0)
    return root + path if path != "/" and os.path.lexists(root + path) else path

argv = []
for arg in command:
    if arg == "--login":
        continue
    arg = WORD.sub(inside, arg)
    if arg.startswith("PATH="):
        arg = "PATH=" + SHIMS + ":" + arg[len("PATH="):]
    argv.append(arg)
os.chdir(root)
os.execvp(argv[0], argv)
"""

#: Privileged commands that have nothing to do in a test: mounts, ownership.
NOOP_SHIMS = {"mount": 0, "umount": 0, "mountpoint": 1, "chown": 0}


def write_shims(directory: Path, log: Path) -> Path:
    """The shims, in ``directory`` (put first on PATH); each notes its call in ``log``."""
    directory.mkdir(parents=True)
    texts = {"sudo": SUDO_SHIM, "su": SU_SHIM, "chroot": CHROOT_SHIM}
    for name, template in texts.items():
        text = (template.replace("@PYTHON@", sys.executable)
                .replace("@LOG@", repr(str(log))).replace("@SHIMS@", repr(str(directory))))
        (directory / name).write_text(text)
    for name, status in NOOP_SHIMS.items():
        (directory / name).write_text(
            f"#!/bin/sh\necho \"{name} $*\" >> {shlex.quote(str(log))}\nexit {status}\n")
    for shim in directory.iterdir():
        shim.chmod(0o755)
    return directory


def stub_scripts(tree: Path, collection: Collection, trace: Path) -> None:
    """Replace each build script of ``tree`` by a stub that appends its relative path to
    ``trace`` (its ``#!`` line and mode kept, so it runs however the driver runs it)."""
    for rel in collection.build_scripts():
        script = tree / rel
        first = script.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
        shebang = first + "\n" if first.startswith("#!") else ""
        script.write_text(
            f"{shebang}# stub of {rel} for the truth run of test_collections.py\n"
            f"printf '%s\\n' {shlex.quote(rel)} >> {shlex.quote(str(trace))}\n")


# --- the truth run ----------------------------------------------------------------------------


@dataclass
class Truth:
    """What the real driver did with stubs: the scripts it ran, in order."""

    collection: Collection
    trace: list[str]
    output: str
    privileged: list[str]

    def show(self) -> str:
        lines = [f"{self.collection.name}: {' '.join(self.collection.run)} ran "
                 f"{len(self.trace)} scripts"]
        lines += [f"  {n:2d}  {path}" for n, path in enumerate(self.trace, 1)]
        lines += [f"  shim: {call}" for call in self.privileged]
        return "\n".join(lines)


def scratch_root(collection: Collection, base: Path, tree: Path) -> Path:
    """The scratch $LFS: sources (with the collection's tarballs), root's home, tmp, and the
    links through which the collection appears where its driver expects it."""
    lfs = base / "lfs"
    for sub in ("sources", "root", "tmp"):
        (lfs / sub).mkdir(parents=True, exist_ok=True)
    for tarball in collection.tarballs:
        make_tarball(lfs / "sources", tarball)
    for inside, target in collection.links.items():
        link = lfs / inside
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((tree / target).resolve(), target_is_directory=True)
    return lfs


def driver_env(collection: Collection, base: Path, lfs: Path, tree: Path) -> dict[str, str]:
    home = base / "home"
    home.mkdir(exist_ok=True)
    shims = write_shims(base / "shims", base / "shims.log")
    env = {"PATH": f"{shims}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(home),
           "TERM": "dumb", "LC_ALL": "C", "LFS": str(lfs)}
    for key, value in collection.env.items():
        env[key] = value.replace("{lfs}", str(lfs)).replace("{tree}", str(tree))
    return env


def run_truth(collection: Collection, base: Path) -> Truth:
    """Run the collection's own driver on a stubbed copy in ``base``; the trace is the truth."""
    tree = copy_collection(collection, base / "truth")
    trace = base / "trace"
    trace.touch()
    stub_scripts(tree, collection, trace)
    lfs = scratch_root(collection, base, tree)
    env = driver_env(collection, base, lfs, tree)
    proc = subprocess.run(collection.run, cwd=tree, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, (
        f"the driver of {collection.name} failed with stubs ({' '.join(collection.run)}, "
        f"exit {proc.returncode}): the harness or the collection is wrong\n{output}")
    log = base / "shims.log"
    privileged = log.read_text().splitlines() if log.exists() else []
    return Truth(collection, trace.read_text().splitlines(), output, privileged)


# --- lfsplug ----------------------------------------------------------------------------------


@dataclass
class Result:
    """One ``lfsplug`` command's outcome."""

    argv: list[str]
    ret: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        tail = "\n".join((self.stdout + self.stderr).splitlines()[-60:])
        return f"$ lfsplug {' '.join(self.argv)}\nexit {self.ret}\n{tail}"

    def expect_success(self, why: str = "", then: str = "") -> None:
        """Fail the test unless the command exited 0, saying ``why``, then showing the
        command and its output, then ``then``."""
        if self.ret != 0:
            pytest.fail(f"{why}{self.explain()}\n{then}", pytrace=False)

    def json(self) -> dict[str, Any]:
        self.expect_success()
        data: dict[str, Any] = json.loads(self.stdout)
        return data


def lfsplug(cwd: Path, *args: str | os.PathLike[str]) -> Result:
    """The real ``lfsplug`` command (``python -m lfsplug``) in a child process."""
    argv = [os.fspath(a) for a in args]
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    proc = subprocess.run([sys.executable, "-m", "lfsplug", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False,
                          stdin=subprocess.DEVNULL)
    return Result(argv, proc.returncode, proc.stdout, proc.stderr)


def relative(path: str, tree: Path) -> str:
    """A path lfsplug printed, relative to the collection's copy (as it was when outside)."""
    resolved, root = Path(path).resolve(), tree.resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else path


@dataclass
class Listing:
    """``lfsplug list --json`` of a pristine copy of a collection."""

    tree: Path
    result: Result

    def scripts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.result.json()["scripts"]
        return found

    def paths(self) -> list[str]:
        return [relative(s["path"], self.tree) for s in self.scripts()]

    def by_path(self) -> dict[str, dict[str, Any]]:
        return {relative(s["path"], self.tree): s for s in self.scripts()}


def order_report(truth: Sequence[str], listed: Sequence[str]) -> str:
    """Where lfsplug's order differs from the driver's: what is missing, what is extra, and
    both orders side by side (``!`` marks a row that differs)."""
    missing = [p for p in truth if p not in listed]
    extra = [p for p in listed if p not in truth]
    lines = []
    if missing:
        lines.append(f"run by the driver, not listed by lfsplug: {', '.join(missing)}")
    if extra:
        lines.append(f"listed by lfsplug, never run by the driver: {', '.join(extra)}")
    if not missing and not extra:
        lines.append("the same scripts, in another order")
    width = max((len(p) for p in truth), default=10) + 2
    lines.append(f"     {'the driver runs':<{width}}  lfsplug lists")
    for n in range(max(len(truth), len(listed))):
        left = truth[n] if n < len(truth) else ""
        right = listed[n] if n < len(listed) else ""
        mark = " " if left == right else "!"
        lines.append(f"{mark}{n + 1:3d} {left:<{width}}  {right}")
    return "\n".join(lines)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=NAMES)
def collection(request: pytest.FixtureRequest) -> Collection:
    found: Collection = MANIFEST_DATA[request.param]
    return found


@pytest.fixture(scope="module")
def truth(collection: Collection, tmp_path_factory: pytest.TempPathFactory) -> Truth:
    skip_without(*needed_tools(collection))
    return run_truth(collection, tmp_path_factory.mktemp(f"truth-{collection.name}"))


@pytest.fixture(scope="module")
def listing(collection: Collection, tmp_path_factory: pytest.TempPathFactory) -> Listing:
    base = tmp_path_factory.mktemp(f"list-{collection.name}")
    tree = copy_collection(collection, base)
    result = lfsplug(base, "list", "--json", tree, "--state-dir", base / "state")
    return Listing(tree, result)


# --- the manifest and the truth run themselves ------------------------------------------------


def test_manifest_names_every_collection() -> None:
    on_disk = sorted(p.name for p in COLLECTIONS.iterdir()
                     if p.is_dir() and not p.name.startswith("_"))
    assert on_disk == NAMES
    assert len(NAMES) >= 9
    assert REAL == ["listfile-unpack", "tiny-system"]


def test_manifest_names_real_files(collection: Collection) -> None:
    files = set(collection.files())
    named = (collection.drivers | collection.keep | collection.unreached
             | set(collection.packages) | set(collection.banners))
    assert sorted(named - files) == []
    assert collection.unreached <= set(collection.build_scripts())
    assert 5 <= len(collection.build_scripts()) <= 15, collection.build_scripts()
    # discovery reads this name as a list file: only where one is meant
    lists = [f for f in files if Path(f).name == "build_order.txt"]
    assert all(f in collection.keep for f in lists)


def test_driver_trace(truth: Truth) -> None:
    """The driver, run with stubs, ran every build script except the unreached ones, once;
    its trace is what the other tests compare lfsplug with."""
    print(truth.show())
    collection = truth.collection
    scripts = set(collection.build_scripts())
    assert truth.trace, f"the driver ran no script:\n{truth.output}"
    assert [p for p in truth.trace if p not in scripts] == []
    assert sorted(p for p in truth.trace if truth.trace.count(p) > 1) == []
    assert sorted(scripts - set(truth.trace)) == sorted(collection.unreached), truth.show()


# --- lfsplug against the truth ----------------------------------------------------------------


@pytest.mark.e2e
def test_list_follows_driver(truth: Truth, listing: Listing) -> None:
    """``lfsplug list`` shows exactly the scripts the driver runs, in the driver's order."""
    if listing.tree.name in KNOWN_GAPS:
        pytest.xfail(KNOWN_GAPS[listing.tree.name])
    listed = listing.paths()
    if listed != truth.trace:
        pytest.fail(f"{truth.collection.name}: lfsplug's plan is not what "
                    f"{' '.join(truth.collection.run)} runs\n"
                    f"{order_report(truth.trace, listed)}", pytrace=False)


def mismatches(collection: Collection, listing: Listing) -> list[str]:
    """Each stated package, version or banner that ``lfsplug list --json`` does not show."""
    shown, problems = listing.by_path(), []
    for path, stated in collection.packages.items():
        script = shown.get(path)
        if script is None:
            problems.append(f"{path}: not listed")
            continue
        package = script.get("package", script["name"])
        if "package" in stated and package != stated["package"]:
            key = "package" if "package" in script else "name (no 'package' key)"
            problems.append(f"{path}: {key} {package!r}, the collection says "
                            f"{stated['package']!r}")
        if "version" in stated and script["version"] != stated["version"]:
            problems.append(f"{path}: version {script['version']!r}, the collection says "
                            f"{stated['version']!r}")
    for path, bare in collection.banners.items():
        script = shown.get(path)
        built = None if script is None else script.get("packages")
        if built is None or len(built) != len(bare) or not all(
                str(b).lower().startswith(n) for b, n in zip(built, bare, strict=True)):
            problems.append(f"{path}: packages {built!r}, its banners announce {bare!r}")
    return problems


@pytest.mark.e2e
def test_names_and_versions(collection: Collection, listing: Listing) -> None:
    """Each script's package and version are those the collection states (file name,
    variables, tarball, package list); a chapter file's packages are its banners'."""
    if collection.name in KNOWN_GAPS:
        pytest.xfail(KNOWN_GAPS[collection.name])
    problems = mismatches(collection, listing)
    if problems:
        pytest.fail(f"{collection.name}: {len(problems)} name(s)/version(s) differ\n  "
                    + "\n  ".join(problems), pytrace=False)


@pytest.mark.e2e
def test_commands_succeed(collection: Collection, tmp_path: Path) -> None:
    """``list``, ``check`` and ``run --dry-run`` exit 0, and ``check`` finds no duplicate
    name (DISC001) and no cycle (ORD005)."""
    tree = copy_collection(collection, tmp_path)
    state, lfs = tmp_path / "state", tmp_path / "lfs"
    lfsplug(tmp_path, "list", tree, "--state-dir", state).expect_success()
    check = lfsplug(tmp_path, "check", "--json", tree, "--state-dir", state, "--lfs", lfs,
                    *HOST_OFF)
    try:
        found: list[dict[str, Any]] = json.loads(check.stdout)["findings"]
    except ValueError:
        check.expect_success("check printed no JSON\n")
        raise
    bad = [f"{f['code']} {f['severity']} {relative(f['path'] or '-', tree)}:{f['line']}: "
           f"{f['message']}" for f in found if f["code"] in FORBIDDEN or f["severity"] == "error"]
    if check.ret != 0 or bad:
        pytest.fail(f"{collection.name}: lfsplug check exited {check.ret}\n  " + "\n  ".join(bad),
                    pytrace=False)
    dry = lfsplug(tmp_path, "run", tree, "--dry-run", "--state-dir", state, "--lfs", lfs,
                  *HOST_OFF)
    dry.expect_success()


# --- real builds --------------------------------------------------------------------------------


def real_run(name: str, tmp_path: Path) -> tuple[Path, Result]:
    """``lfsplug run`` of a collection whose scripts do small real work, with its tarballs
    in the scratch ``$LFS/sources``: the scratch $LFS and the result."""
    collection = MANIFEST_DATA[name]
    skip_without(*needed_tools(collection), "cc", "make")
    tree = copy_collection(collection, tmp_path)
    lfs = tmp_path / "lfs"
    for tarball in collection.tarballs:
        make_tarball(lfs / "sources", tarball)
    result = lfsplug(tmp_path, "run", tree, "--lfs", lfs, "--state-dir", tmp_path / "state",
                     "--plain", *HOST_OFF)
    return lfs, result


def logs(state: Path) -> str:
    """The last lines of each script log of a run, for a failure message."""
    parts = []
    for log in sorted((state / "logs").glob("*.log")):
        tail = "\n    ".join(log.read_text(errors="replace").splitlines()[-8:])
        parts.append(f"  {log.name}:\n    {tail}")
    return "\n".join(parts)


def ran(program: Path, *args: str) -> str:
    assert program.is_file(), f"{program} was not installed"
    return subprocess.run([program, *args], capture_output=True, text=True, check=True,
                          timeout=30).stdout


def built(name: str, tmp_path: Path) -> Path:
    """The scratch $LFS after a successful ``lfsplug run`` of collection ``name``."""
    lfs, result = real_run(name, tmp_path)
    result.expect_success(
        f"lfsplug run of {name} failed. Each script must run as the collection's driver runs "
        f"it: in the driver's order, with the variables it exports, inside the tarball it "
        f"unpacks (unpack=).\n", f"the script logs:\n{logs(tmp_path / 'state')}")
    return lfs


@pytest.mark.e2e
def test_real_run_unpacking_driver(tmp_path: Path) -> None:
    """listfile-unpack: build.sh unpacks each listed package and runs its script inside;
    lfsplug must do the same (unpack=, LFSLOG and SOURCES from the driver)."""
    lfs = built("listfile-unpack", tmp_path)
    assert (lfs / "usr/lib/libgreet.a").is_file()
    assert (lfs / "usr/include/greet.h").is_file()
    assert ran(lfs / "usr/bin/hello") == "Hello from tiny 1.0\n"
    assert ran(lfs / "usr/bin/greet", "world") == "Greetings, world!\n"
    assert (lfs / "etc/motd").read_text() == "Welcome to tiny 1.0, built with lfsplug.\n"
    assert (lfs / "etc/lfs-release").read_text() == "tiny 1.0\n"
    log = lfs / "var/log/lfs-build"
    assert (log / "hello.out").read_text() == "Hello from tiny 1.0\nGreetings, world!\n"
    assert (log / "summary").read_text() == "greet installed\n"


@pytest.mark.e2e
def test_real_run_sourcing_driver(tmp_path: Path) -> None:
    """tiny-system: scripts the driver runs with sh, bash, source and ``( . x )``; they
    compile from tarballs in $SOURCES, which the driver exports."""
    lfs = built("tiny-system", tmp_path)
    assert ran(lfs / "usr/bin/hello", "you") == "Hello, you, from hello 2.0\n"
    assert ran(lfs / "usr/bin/lsb-info") in ("os-release found\n", "no os-release\n")
    assert "localhost tiny" in (lfs / "etc/hosts").read_text()
    assert (lfs / "etc/motd").read_text().startswith("Hello, tiny, from hello 2.0\n")
    assert (lfs / "var/log/check.log").read_text() == "tiny 1.0: checked\n"
    assert not (lfs / "sources/hello-2.0").exists()
    assert not (lfs / "sources/mytools-0.5").exists()
