"""The cross plugin: platform detection, targets, toolchains, the cross environment, the book's
sanity checks, the ELF check of the target tree, several targets in one run.

The toolchains are real: Debian's aarch64 and riscv64 cross compilers and qemu-user, which
``.ci/run`` installs; a test that needs one skips, saying which, where it is missing. Broken
toolchains are real ones behind a wrapper that breaks one thing (a wrong sysroot, a missing
tool, the host's compiler under the target's name, an interpreter in /tools).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lfsplug.testing import Lfsplugger
from lfsplug_cross.environment import infer_mode
from lfsplug_cross.hostinfo import detect_host
from lfsplug_cross.sanity import elf_header
from lfsplug_cross.targets import per_target_argv
from lfsplug_cross.triplets import Triplet, book_triplet, parse_target

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "cross"
TASN1 = ROOT / "examples" / "mini-lfs" / "sources" / "libtasn1-4.19.0.tar.gz"


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian: gcc-aarch64-linux-gnu, "
                    f"gcc-riscv64-linux-gnu, qemu-user; .ci/run installs them)")


def aarch64() -> None:
    need("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-as", "aarch64-linux-gnu-ld")


def toolchain_json(lfsplugger: Lfsplugger, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = lfsplugger.run("toolchain", "--json", *args)
    return result.ret, json.loads("\n".join(result.outlines))


def findings_of(document: dict) -> list[dict]:  # type: ignore[type-arg]
    return [f for chain in document["toolchains"]
            for f in [*chain["findings"], *chain.get("checks", [])]]


# -- targets and the host -------------------------------------------------------------------


@pytest.mark.parametrize(("given", "expected"), [
    ("aarch64", "aarch64-lfs-linux-gnu"),
    ("arm64", "aarch64-lfs-linux-gnu"),
    ("armv7l", "arm-lfs-linux-gnueabihf"),
    ("riscv64", "riscv64-lfs-linux-gnu"),
    ("aarch64-linux-gnu", "aarch64-linux-gnu"),
    ("x86_64-pc-linux-gnu", "x86_64-pc-linux-gnu"),
    ("riscv64-unknown-linux-musl", "riscv64-unknown-linux-musl"),
])
def test_a_target_is_an_architecture_or_a_triplet(given: str, expected: str) -> None:
    assert str(parse_target(given)) == expected


@pytest.mark.parametrize(("given", "says"), [
    ("vax2000", "unknown architecture 'vax2000'"),
    ("aarch64-foo", "is not a target triplet"),
    ("", "an empty target"),
])
def test_a_bad_target_says_why(given: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_target(given)


@given(arch=st.sampled_from(["aarch64", "x86_64", "riscv64", "arm", "i686", "s390x"]),
       vendor=st.sampled_from(["", "lfs", "pc", "unknown", "my-vendor"]),
       abi=st.sampled_from(["gnu", "gnueabihf", "musl", "gnuabi64"]))
def test_triplets_read_back_as_written_and_match_without_their_vendor(
        arch: str, vendor: str, abi: str) -> None:
    text = "-".join(p for p in (arch, vendor, "linux", abi) if p)
    triplet = Triplet.parse(text)
    assert triplet is not None and str(triplet) == text
    other = Triplet.parse(f"{arch}-linux-{abi}")
    assert other is not None and other.key == triplet.key


def test_the_default_target_is_the_books() -> None:
    assert book_triplet() == f"{platform.machine()}-lfs-linux-gnu"


def test_the_host_is_detected_as_its_compiler_and_c_library_say() -> None:
    host = detect_host()
    assert host.machine == platform.machine()
    if shutil.which("gcc"):
        dumped = subprocess.run(["gcc", "-dumpmachine"], capture_output=True, text=True,
                                check=True).stdout.strip()
        assert (host.triplet, host.triplet_from) == (dumped, "gcc -dumpmachine")
    libc = os.confstr("CS_GNU_LIBC_VERSION")
    if libc:
        assert f"{host.libc} {host.libc_version}" == libc


def test_toolchain_json_has_the_documented_shape(lfsplugger: Lfsplugger) -> None:
    code, document = toolchain_json(lfsplugger)
    assert code == 0
    assert document["host"] == detect_host().triplet
    assert document["target"] == book_triplet()
    assert isinstance(document["toolchains"], list)
    for chain in document["toolchains"]:
        assert {"triplet", "gcc", "version", "sysroot", "tools"} <= set(chain)


# -- real toolchains -------------------------------------------------------------------------


def test_the_aarch64_toolchain_is_found_with_every_tool(lfsplugger: Lfsplugger) -> None:
    aarch64()
    code, document = toolchain_json(lfsplugger, "--target", "aarch64-linux-gnu")
    assert code == 0, findings_of(document)
    chain = document["toolchains"][0]
    assert chain["triplet"] == "aarch64-linux-gnu"
    assert chain["gcc"] == shutil.which("aarch64-linux-gnu-gcc")
    assert chain["sysroot"] == "/"
    version = subprocess.run(["aarch64-linux-gnu-gcc", "-dumpfullversion"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert chain["version"] == version
    for name in ("gcc", "g++", "as", "ld", "ar", "ranlib", "strip", "readelf", "objdump", "nm"):
        assert chain["tools"][name]["path"] == shutil.which(f"aarch64-linux-gnu-{name}"), name
        assert chain["tools"][name]["version"], name
    assert [f for f in findings_of(document) if f["severity"] == "error"] == []


def test_an_architecture_finds_the_distributions_triplet(lfsplugger: Lfsplugger) -> None:
    aarch64()
    code, document = toolchain_json(lfsplugger, "--target", "arm64")
    assert document["target"] == "aarch64-lfs-linux-gnu"
    assert document["toolchains"][0]["where"] == "distribution"
    assert document["machine"] == "AARCH64, ELF64, little-endian"
    assert code == 0


def test_the_sanity_checks_run_the_program_under_qemu(lfsplugger: Lfsplugger) -> None:
    aarch64()
    need("qemu-aarch64")
    code, document = toolchain_json(lfsplugger, "--target", "aarch64-linux-gnu")
    checks = document["toolchains"][0]["checks"]
    assert code == 0 and [c for c in checks if c["severity"] != "info"] == []
    # and a program that cannot run there is caught: x86 code under qemu-aarch64 is refused
    from lfsplug_cross.sanity import check_toolchain
    from lfsplug_cross.triplets import arch_of

    wrong = check_toolchain("gcc", name="host gcc", arch=arch_of("aarch64"), sysroot="/",
                            lfs="/mnt/lfs")
    codes = {f.code for f in wrong}
    assert {"CROSS011", "CROSS012", "CROSS013", "CROSS015"} <= codes


def wrapper(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def lfs_tools(lfs: Path, gcc_body: str, skip: tuple[str, ...] = ()) -> Path:
    """A toolchain in $LFS/tools/bin named for aarch64-lfs-linux-gnu: the real aarch64 tools
    behind links, the compiler behind ``gcc_body``; ``skip``: tools left out."""
    tools = lfs / "tools" / "bin"
    prefix = "aarch64-lfs-linux-gnu-"
    wrapper(tools, prefix + "gcc", gcc_body)
    for name in ("g++", "as", "ld", "ar", "ranlib", "strip", "readelf", "objdump", "nm"):
        if name not in skip:
            (tools / (prefix + name)).symlink_to(shutil.which(f"aarch64-linux-gnu-{name}"))
    return tools


def test_a_wrong_sysroot_is_named(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    aarch64()
    lfs = tmp_path / "lfs"
    lfs_tools(lfs, 'exec aarch64-linux-gnu-gcc --sysroot=/nowhere/sysroot "$@"')
    code, document = toolchain_json(lfsplugger, "--target", "aarch64", "--lfs", str(lfs))
    first = document["toolchains"][0]
    assert first["where"] == "lfs-tools" and first["sysroot"] == "/nowhere/sysroot"
    messages = [f["message"] for f in first["findings"] if f["code"] == "CROSS005"]
    assert any("/nowhere/sysroot" in m and "does not exist" in m for m in messages)
    assert any(f"not $LFS ({lfs})" in m for m in messages)
    assert code == 6


def test_a_missing_tool_is_named(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    aarch64()
    lfs = tmp_path / "lfs"
    lfs_tools(lfs, f'exec aarch64-linux-gnu-gcc --sysroot={lfs} "$@"', skip=("ranlib",))
    code, document = toolchain_json(lfsplugger, "--target", "aarch64", "--lfs", str(lfs))
    first = document["toolchains"][0]
    assert first["tools"]["ranlib"] == {"path": None, "version": None}
    missing = [f["message"] for f in first["findings"] if f["code"] == "CROSS002"]
    assert missing == ["toolchain aarch64-lfs-linux-gnu: aarch64-lfs-linux-gnu-ranlib is missing"]
    assert code == 6


def test_the_hosts_compiler_under_the_targets_name_is_caught(lfsplugger: Lfsplugger,
                                                             tmp_path: Path) -> None:
    aarch64()
    lfs = tmp_path / "lfs"
    lfs_tools(lfs, f'exec gcc --sysroot={lfs} "$@"')
    code, document = toolchain_json(lfsplugger, "--target", "aarch64", "--lfs", str(lfs))
    wrong = [f["message"] for f in findings_of(document) if f["code"] == "CROSS004"]
    assert any(f"builds for {detect_host().triplet}" in m for m in wrong)
    assert code == 6


def test_an_interpreter_in_the_tools_fails_its_check_with_the_evidence(
        lfsplugger: Lfsplugger) -> None:
    aarch64()
    from lfsplug_cross.sanity import check_toolchain
    from lfsplug_cross.triplets import arch_of

    gcc = wrapper(lfsplugger.path / "bin", "broken-gcc", 'exec aarch64-linux-gnu-gcc '
                  '-Wl,--dynamic-linker=/tools/lib/ld-linux-aarch64.so.1 "$@"')
    findings = check_toolchain(str(gcc), name="broken", arch=arch_of("aarch64"), sysroot="/",
                               lfs="/mnt/lfs", qemu=False)
    assert [f.code for f in findings] == ["CROSS012"]
    assert ("[Requesting program interpreter: /tools/lib/ld-linux-aarch64.so.1]"
            in findings[0].message)


# -- a build for a target ---------------------------------------------------------------------


TREE = {
    "chapter06/601-plain.sh": "# lfsplug: phase=temp\n./configure --prefix=/usr\n",
    "chapter06/602-names-it.sh": "# lfsplug: phase=temp\n./configure --host=$LFS_TGT\n",
    "chapter06/603-host-tool.sh": "# lfsplug: phase=temp cross=no\n./configure\n",
    "chapter08/801-native.sh": "# lfsplug: phase=system\n./configure\n",
}
#: The trees of these tests run on the host as whoever runs the tests; the host is not checked.
HOSTED = ('host_check = "off"\n[chroot.phases]\ncross = "host"\ntemp = "host"\n'
          'system = "host"\n')


def dry_env(lfsplugger: Lfsplugger, *args: str) -> dict[str, list[str]]:
    result = lfsplugger.run("run", str(lfsplugger.path), "--dry-run", *args)
    assert result.ret == 0, result.errlines
    shown: dict[str, list[str]] = {}
    current = ""
    for line in result.outlines:
        if "] run " in line:
            current = line.split("] run", 1)[1].split()[0]
            shown[current] = []
        elif current and line.strip().startswith(("+", "~")):
            shown[current].append(line.strip())
    return shown


def test_each_script_gets_the_environment_of_how_it_crosses(lfsplugger: Lfsplugger,
                                                            tmp_path: Path) -> None:
    aarch64()
    lfsplugger.make_tree(TREE)
    lfsplugger.make_config(HOSTED)
    env = dry_env(lfsplugger, "--target", "aarch64", "--lfs", str(tmp_path / "lfs"))
    plain = "\n".join(env["plain"])
    assert f"+ CC={shutil.which('aarch64-linux-gnu-gcc')}" in plain
    assert "~ LFS_TGT=aarch64-lfs-linux-gnu" in plain
    assert "config.site" in plain and f"+ PKG_CONFIG_SYSROOT_DIR={tmp_path / 'lfs'}" in plain
    for name in ("names-it", "host-tool", "native"):
        assert not any(line.startswith("+ CC=") for line in env[name]), name
        assert "~ LFS_TGT=aarch64-lfs-linux-gnu (book: " in "\n".join(env[name])
    # no target given: the book's environment, as before the plugin
    assert not any(line.startswith("+ CC=") for lines in dry_env(lfsplugger).values()
                   for line in lines)


def test_without_the_plugin_nothing_of_it_is_left(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    lfsplugger.make_config(HOSTED)
    assert lfsplugger.run("-p", "no:cross", "toolchain").ret == 4
    blocked = lfsplugger.run("-p", "no:cross", "run", str(lfsplugger.path), "--dry-run",
                             "--target", "aarch64")
    assert blocked.ret == 4 and "--target" in "\n".join(blocked.errlines)
    plugins = lfsplugger.run("-p", "no:cross", "plugins", "--json")
    assert "cross" not in {p["name"] for p in json.loads("\n".join(plugins.outlines))["plugins"]}


def test_no_toolchain_for_the_target_stops_the_build_before_it_starts(
        lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    if shutil.which("s390x-linux-gnu-gcc"):
        pytest.skip("an s390x cross compiler is installed here")
    lfsplugger.make_tree(TREE)
    lfsplugger.make_config(HOSTED)
    result = lfsplugger.run("run", str(lfsplugger.path), "--target", "s390x",
                            "--lfs", str(tmp_path / "lfs"))
    assert result.ret == 6
    text = "\n".join(result.errlines)
    assert "CROSS001: no toolchain builds for s390x-lfs-linux-gnu" in text


def test_a_host_program_installed_in_the_target_tree_fails_its_script(
        lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    aarch64()
    need("gcc")
    lfs = tmp_path / "lfs"
    lfsplugger.make_tree({
        "chapter06/601-stray.sh": (
            "# lfsplug: phase=temp cross=no\nset -e\nmkdir -p \"$LFS/usr/bin\"\n"
            "printf 'int main(void){return 0;}\\n' > t.c\n"
            "gcc -o \"$LFS/usr/bin/stray\" t.c\nrm t.c\n"),
        "chapter06/602-after.sh": "# lfsplug: phase=temp depends=stray\ntrue\n",
    })
    lfsplugger.make_config(HOSTED)
    result = lfsplugger.run("run", str(lfsplugger.path), "--target", "aarch64-linux-gnu",
                            "--lfs", str(lfs), "--plain", "--keep-going")
    assert result.ret == 1
    text = "\n".join(result.outlines + result.errlines)
    assert f"CROSS020: {lfs}/usr/bin/stray is for X86_64" in text
    status = lfsplugger.run("status", "--json", "--state-dir",
                            str(lfsplugger.path / ".lfsplug"))
    scripts = {s["name"]: s for s in json.loads("\n".join(status.outlines))["scripts"]}
    assert scripts["stray"]["status"] == "failed"
    assert scripts["stray"]["failure_class"] == "toolchain-check"
    assert scripts["after"]["status"] != "passed"
    log = (lfsplugger.path / ".lfsplug" / "logs" / "stray.log").read_text()
    assert f"CROSS020: {lfs}/usr/bin/stray" in log


def test_a_script_that_produces_a_broken_toolchain_fails_its_checks(
        lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    aarch64()
    lfs = tmp_path / "lfs"
    real = shutil.which("aarch64-linux-gnu-gcc")
    body = (f'exec {real} -Wl,--dynamic-linker=/tools/lib/ld-linux-aarch64.so.1 "$@"')
    links = "\n".join(
        f"ln -sf {shutil.which('aarch64-linux-gnu-' + n)} $T/aarch64-lfs-linux-gnu-{n}"
        for n in ("g++", "as", "ld", "ar", "ranlib", "strip", "readelf", "objdump", "nm"))
    lfsplugger.make_tree({
        "chapter05/501-glibc.sh": (
            "# lfsplug: phase=cross version=2.41\nset -e\nT=$LFS/tools/bin\nmkdir -p $T\n"
            f"printf '#!/bin/sh\\n%s\\n' '{body}' > $T/aarch64-lfs-linux-gnu-gcc\n"
            f"chmod +x $T/aarch64-lfs-linux-gnu-gcc\n{links}\n"),
        "chapter05/502-libstdcxx.sh": "# lfsplug: phase=cross depends=glibc\ntrue\n",
    })
    lfsplugger.make_config(HOSTED + '[cross]\nelf_check = "off"\n'
                           f'toolchain = "{lfs}/tools/bin/aarch64-lfs-linux-gnu-gcc"\n')
    why = lfsplugger.run("list", str(lfsplugger.path), "--why", "glibc", "--target", "aarch64")
    assert "produces = toolchain    from the book's toolchain checks" in "\n".join(why.outlines)
    result = lfsplugger.run("run", str(lfsplugger.path), "--target", "aarch64", "--lfs",
                            str(lfs), "--plain")
    assert result.ret == 1
    text = "\n".join(result.outlines + result.errlines)
    assert "CROSS012: toolchain aarch64-lfs-linux-gnu: check 'interpreter' failed" in text
    assert "/tools/lib/ld-linux-aarch64.so.1" in text


def test_several_targets_get_their_own_lfs_state_and_reports() -> None:
    argv = ["-p", "x", "run", "tree", "--target", "a", "--target=b", "--lfs", "/l",
            "--state-dir=/s", "--report", "json:out/r.json", "--report=html:r.html", "-j2"]
    assert per_target_argv(argv, "aarch64-linux-gnu", "/l/a", "/s/a") == [
        "-p", "x", "run", "--target", "aarch64-linux-gnu", "--lfs", "/l/a", "--state-dir",
        "/s/a", "tree", "--report", "json:out/r.aarch64-linux-gnu.json", "--report",
        "html:r.aarch64-linux-gnu.html", "-j2"]


def test_comments_do_not_decide_how_a_script_crosses() -> None:
    assert infer_mode("# configure gets --host from the site file\n./configure\n")[0] == "env"
    assert infer_mode("./configure --host=$LFS_TGT  # cross\n")[0] == "self"
    assert infer_mode('make CROSS_COMPILE="$T-"\n')[0] == "self"


# -- end to end: examples/cross, real packages for two machines ---------------------------------


@pytest.mark.e2e
def test_examples_cross_builds_a_library_and_a_program_for_two_targets(tmp_path: Path) -> None:
    aarch64()
    need("qemu-aarch64")
    if not TASN1.is_file():
        pytest.skip("examples/mini-lfs/sources/ lacks libtasn1-4.19.0.tar.gz: run "
                    "examples/mini-lfs/fetch-from-debian.sh")
    targets = ["aarch64-linux-gnu"]
    if shutil.which("riscv64-linux-gnu-gcc") and shutil.which("qemu-riscv64"):
        targets.append("riscv64-linux-gnu")
    tree = tmp_path / "cross"
    shutil.copytree(EXAMPLE, tree, ignore=shutil.ignore_patterns(".lfsplug"))
    config = (tree / "lfsplug.toml").read_text().replace("../mini-lfs/sources",
                                                         str(TASN1.parent))
    (tree / "lfsplug.toml").write_text(config)
    lfs, state = tmp_path / "lfs", tmp_path / "state"
    argv = [sys_lfsplug(), "run", str(tree), "--plain", "--lfs", str(lfs), "--state-dir",
            str(state), "--report", f"json:{tmp_path / 'report.json'}"]
    for target in targets:
        argv += ["--target", target]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=False,
                          env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    machines = {"aarch64-linux-gnu": "EM_AARCH64", "riscv64-linux-gnu": "EM_RISCV"}
    for target in targets:
        root = lfs / target if len(targets) > 1 else lfs
        where = state / target if len(targets) > 1 else state
        for program in ("tasn1-demo", "asn1Parser"):
            header = elf_header(root / "usr" / "bin" / program, interpreter=True)
            assert header is not None and header.machine == machines[target], program
        library = elf_header(next((root / "usr" / "lib").glob("libtasn1.so.6.*")))
        assert library is not None and library.machine == machines[target]
        log = (where / "logs" / "run-on-target.log").read_text()
        assert "DER length of 300 = 82 01 2c" in log
        assert f"qemu-{target.split('-')[0]}" in log
        name = f"report.{target}.json" if len(targets) > 1 else "report.json"
        report = json.loads((tmp_path / name).read_text())
        assert report.get("target") == target
    if len(targets) > 1:
        assert "== targets" in done.stderr
        for target in targets:
            assert f"{target}  built (exit 0)" in done.stderr


def sys_lfsplug() -> str:
    found = shutil.which("lfsplug")
    if found is None:
        pytest.skip("the lfsplug command is not installed (pip install -e .)")
    return found


def test_the_native_checks_run_inside_a_real_chroot(tmp_path: Path) -> None:
    """After chapter 8's gcc the book checks the compiler inside the chroot: here a chroot
    whose /usr is the host's (bound read-only), entered as the book enters it."""
    need("gcc", "mount", "umount", "chroot")
    if os.geteuid() != 0:
        pytest.skip("a chroot needs root")
    from lfsplug_cross.sanity import check_toolchain
    from lfsplug_cross.triplets import arch_of

    root = tmp_path / "lfs"
    (root / "usr").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "etc" / "alternatives").mkdir(parents=True)  # Debian's cc is a link through it
    (root / "etc" / "alternatives" / "cc").symlink_to("/usr/bin/gcc")
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            (root / link).symlink_to(os.readlink(f"/{link}"))
    if subprocess.run(["mount", "--bind", "-o", "ro", "/usr", str(root / "usr")],
                      capture_output=True, check=False).returncode:
        pytest.skip("mount --bind is not permitted here")
    try:
        findings = check_toolchain("cc", name="native", arch=arch_of(platform.machine()),
                                   sysroot="/", lfs=str(root), native=True, root=str(root))
        assert [f for f in findings if f.severity.value == "error"] == []
        # the same compiler told to use a dynamic linker in /tools: the check names it
        wrapper(root / "tmp", "tools-cc",
                'exec cc -Wl,--dynamic-linker=/tools/lib64/ld-linux-x86-64.so.2 "$@"')
        broken = check_toolchain("/tmp/tools-cc", name="native", arch=arch_of(platform.machine()),
                                 sysroot="/", lfs=str(root), native=True, root=str(root))
        assert [f.code for f in broken] == ["CROSS012"]
        assert "/tools/lib64/ld-linux-x86-64.so.2" in broken[0].message
    finally:
        if subprocess.run(["umount", str(root / "usr")], check=False).returncode:
            subprocess.run(["umount", "-l", str(root / "usr")], check=True)


def test_only_the_books_glibc_and_gcc_are_taken_to_produce_the_toolchain(
        lfsplugger: Lfsplugger) -> None:
    """A tree of no phases (numbered files) with a gcc and a glibc: nothing is inferred, so
    nothing is checked after them; the book's layout (chapter05/glibc, chapter08/gcc) is."""
    lfsplugger.make_tree({"01-glibc.sh": "true", "02-gcc.sh": "true",
                          "chapter05/501-glibc.sh": "true", "chapter08/801-gcc.sh": "true"})
    for name, inferred in (("glibc@01", False), ("gcc@02", False), ("glibc@501", True),
                           ("gcc@801", True)):
        why = lfsplugger.run("list", str(lfsplugger.path), "--why", name)
        assert why.ret == 0, why.errlines
        assert ("produces = toolchain" in "\n".join(why.outlines)) is inferred, name
