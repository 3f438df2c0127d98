"""The validation plugin: what ``lfsplug check`` and ``run`` report, and when they refuse.

Syntax (``bash -n``, its screen and its cache), shellcheck (auto/on/off, cached), every LFS lint
code with a script that trips it and one that does not, security (modes and owners), integrity
(real tarballs with md5sums/sha256sums, the record of passed scripts), and bad input. Tests that
count findings block the hostreqs plugin (``-p no:hostreqs``): its host findings are its own.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import html
import io
import json
import lzma
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lfsplug
from helpers import BOOK, findings, no_data
from lfsplug import Script
from lfsplug.testing import Lfsplugger, RunResult

#: ``fi`` on line 4 (line 1 is the shebang make_tree adds): bash reports line 4.
BAD = "echo start\n\nfi\necho after"
GOOD = "echo fine"


def bash_reported_line(path: Path) -> int:
    """The line ``bash -n`` itself names for the first error in ``path``."""
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    match = re.search(r"line (\d+):", proc.stderr)
    assert match is not None, proc.stderr
    return int(match.group(1))


def test_syntax_error_is_reported_with_the_line_bash_reports(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-ok.sh": GOOD, "02-bad.sh": BAD, "03-also-ok.sh": GOOD})
    result = lfsplugger.run("check")
    assert result.ret == 6
    line = bash_reported_line(lfsplugger.path / "02-bad.sh")
    assert line == 4
    result.stdout.fnmatch_lines([
        "02-bad.sh",
        f"  *{line}  error*SYN001*syntax error*fi*",
        "3 scripts checked: 1 error(s)*",
    ])
    result.stdout.no_fnmatch_line("01-ok.sh")


def test_syntax_error_at_end_of_file(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-unclosed.sh": "if true; then\n  echo never closed\n"})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    [finding] = findings(result)
    assert finding["code"] == "SYN001"
    assert finding["line"] == bash_reported_line(lfsplugger.path / "01-unclosed.sh")
    assert "unexpected end of file" in finding["message"]


def test_findings_of_several_files_are_grouped_by_file(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter5/01-a.sh": BAD, "chapter5/02-b.sh": GOOD, "chapter6/01-c.sh": "done",
    })
    # chapter5 makes the hostreqs plugin check the host; this counts validation's findings only
    result = lfsplugger.run("-p", "no:hostreqs", "-p", "no:chroot", "check")
    assert result.ret == 6
    result.stdout.fnmatch_lines([
        "chapter5/01-a.sh",
        "*4*error*SYN001*",
        "chapter6/01-c.sh",
        "*2*error*SYN001*done*",
        "3 scripts checked: 2 error(s), 0 warning(s), 0 info",
    ])


def test_check_json_shape(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-bad.sh": BAD, "02-ok.sh": GOOD})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    [finding] = findings(result)
    assert set(finding) >= {"code", "severity", "path", "line", "message", "hint"}
    assert finding["code"] == "SYN001"
    assert finding["severity"] == "error"
    assert Path(finding["path"]).resolve() == (lfsplugger.path / "01-bad.sh").resolve()
    assert finding["line"] == 4
    assert isinstance(finding["message"], str) and finding["message"]
    assert isinstance(finding["hint"], str) and finding["hint"]


def test_check_json_of_a_clean_tree(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-ok.sh": GOOD})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 0
    assert json.loads("\n".join(result.outlines)) == {"findings": []}


def test_run_refuses_an_invalid_tree_and_runs_nothing(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-first.sh": "touch first.ran", "02-bad.sh": BAD})
    result = lfsplugger.run("run")
    assert result.ret == 6
    result.stderr.fnmatch_lines(["02-bad.sh:4: error SYN001*", "*nothing was run*"])
    assert not (lfsplugger.path / "first.ran").exists()
    assert not (lfsplugger.path / ".lfsplug" / "logs").exists()
    assert result.getcalls("lfsplug_script_start") == []


def test_clean_tree_checks_ok(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "set -e\ncase $1 in a) echo a ;; *) echo other ;; esac",
        "02-b.sh": "if [[ -n ${X:-} ]]; then echo $(( 1 + 2 )); fi\ncat <<'EOF'\n$HOME\nEOF",
    })
    result = lfsplugger.run("check")
    assert result.ret == 0
    assert result.outlines == ["2 scripts checked: 0 error(s), 0 warning(s), 0 info"]


def test_header_disable_silences_the_code_for_that_script(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-quiet.sh": "# lfsplug: disable=SYN001\n" + BAD,
        "02-loud.sh": BAD,
    })
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    [finding] = findings(result)
    assert Path(finding["path"]).name == "02-loud.sh"

    (lfsplugger.path / "02-loud.sh").write_text("#!/bin/bash\necho fixed\n")
    assert lfsplugger.run("check").ret == 0


def test_config_disable_silences_the_code_everywhere(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": BAD, "02-b.sh": BAD})
    lfsplugger.make_config('disable = ["SYN001"]\n')
    result = lfsplugger.run("check", "--json")
    assert result.ret == 0
    assert findings(result) == []


def test_many_scripts_are_all_checked(lfsplugger: Lfsplugger) -> None:
    bad = {17, 101, 199}
    tree = {}
    for i in range(1, 201):
        body = ("echo ok\n" * (i % 5)) + "fi\n" if i in bad else f"echo script {i}"
        tree[f"{i:03d}-s{i}.sh"] = body
    lfsplugger.make_tree(tree)
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    got = sorted((Path(f["path"]).name, f["line"]) for f in findings(result))
    assert got == [(f"{i:03d}-s{i}.sh", 2 + i % 5) for i in sorted(bad)]
    assert all(f["code"] == "SYN001" for f in findings(result))


# -- helpers ------------------------------------------------------------------------------------

SHELLCHECK = shutil.which("shellcheck")
needs_shellcheck = pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck is not installed")
BASH = shutil.which("bash") or "/bin/bash"


def check(lfsplugger: Lfsplugger, *args: str) -> RunResult:
    """``lfsplug check --json`` with shellcheck off and hostreqs blocked, unless args say."""
    options = list(args)
    if not any(a.startswith("--shellcheck") for a in options):
        options.append("--shellcheck=off")
    return lfsplugger.run("-p", "no:hostreqs", "check", "--json", *options)


def found(result: RunResult, prefix: str = "") -> list[tuple[str, str, int | None]]:
    """(code, file name, line) of every finding whose code starts with ``prefix``."""
    return sorted((f["code"], Path(f["path"]).name if f["path"] else "", f["line"])
                  for f in findings(result) if f["code"].startswith(prefix))


def cache_file(lfsplugger: Lfsplugger) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (lfsplugger.path / ".lfsplug" / "cache" / "validation.json").read_text())
    return data


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recording_wrapper(bindir: Path, name: str, real: str, log: Path) -> None:
    """An executable ``name`` in ``bindir`` that logs its arguments and runs ``real``."""
    bindir.mkdir(parents=True, exist_ok=True)
    wrapper = bindir / name
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)


# -- LFS lint: each code trips on one script and not on its fixed twin -------------------------

#: code -> (severity, script that trips it, the line it is reported at, script that does not)
LINT_CASES: dict[str, tuple[str, str, int | None, str]] = {
    "LFS001": ("error", "set -e\nPAGE=<paper_size> ./configure --prefix=/usr\nmake", 3,
               "set -e\nPAGE=A4 ./configure --prefix=/usr\n# PAGE=<paper_size>: A4 here\n"
               "cat > t.c << \"EOF\"\n#include <stdio.h>\nEOF\nsed -i 's/<b>/<i>/' x.html"),
    "LFS002": ("warning", "set -e\necho 'Press Enter to go on'\nread answer\nmake", 4,
               "set -e\nwhile read -r pkg; do echo \"$pkg\"; done < list.txt\n"
               "read -r first <<< \"$pkg\"\ncat list.txt | while read -r x; do :; done\n"
               "read -r -u 3 y"),
    "LFS003": ("warning", "set -e\nmake 2>&1 | tee make.log\nmake install", 3,
               "set -e\nset -o pipefail\nmake 2>&1 | tee make.log\n"
               "make -k check 2>&1 | tee check.log\necho 'x' | tee -a /etc/shells"),
    "LFS004": ("info", "./configure --prefix=/usr\nmake\nmake install", 2,
               "set -e\n./configure --prefix=/usr\nmake\nmake install"),
    "LFS005": ("warning", "set -e\nmake -j\nmake install", 3,
               "set -e\nmake -j4\nmake -j \"$(nproc)\"\nmake -j$JOBS install"),
    "LFS006": ("warning", "set -e\nmkdir -pv /mnt/lfs/sources", 3,
               "set -e\nexport LFS=/mnt/lfs\nmkdir -pv $LFS/sources  # not /mnt/lfs/sources\n"
               "echo ${LFS:-/mnt/lfs}/tools /mnt/lfs2"),
    "LFS007": ("info", "cd build\nmake", 2,  # info: lfsplug runs it with bash -e
               "cd build || exit 1\nmake || exit 1\nif cd src; then make; fi\ncd .. && ls"),
    "LFS008": ("error", "set -e\r\necho hi", 2, "set -e\necho hi"),
    "LFS009": ("warning", "set -e\ncd $PKGDIR\nmake install", 3,
               "set -e\nPKGDIR=/usr/src/pkg\ncd $PKGDIR\ncd ${BUILD:?}\ncd \"$1\"\n"
               "cd $LFS/sources"),
    "LFS010": ("error", "set -e\n# This block must be edited: set the timezone\n"
               "ln -sfv /usr/share/zoneinfo/UTC /etc/localtime", 3,
               "set -e\n# edited: UTC\nln -sfv /usr/share/zoneinfo/UTC /etc/localtime\n"
               "echo 'This block must be edited' > notes"),
}


@pytest.mark.parametrize("code", sorted(LINT_CASES))
def test_lint_code_trips_on_its_script(lfsplugger: Lfsplugger, code: str) -> None:
    severity, body, line, _ = LINT_CASES[code]
    lfsplugger.make_tree({"01-trips.sh": body})
    result = check(lfsplugger)
    hits = [f for f in findings(result) if f["code"] == code]
    assert [(f["severity"], f["line"]) for f in hits] == [(severity, line)], findings(result)
    assert Path(hits[0]["path"]).name == "01-trips.sh"
    assert hits[0]["message"] and hits[0]["hint"]
    assert result.ret == (6 if severity == "error" else 0)


@pytest.mark.parametrize("code", sorted(LINT_CASES))
def test_lint_code_stays_quiet_on_the_fixed_script(lfsplugger: Lfsplugger, code: str) -> None:
    lfsplugger.make_tree({"01-fine.sh": LINT_CASES[code][3]})
    result = check(lfsplugger)
    assert [f for f in findings(result) if f["code"] == code] == []


def test_lint_reads_continuations_heredocs_comments_and_quotes(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-careful.sh": "\n".join([
        "set -e",                                    # 2
        "./configure --prefix=/usr \\",              # 3
        "            --disable-static",              # 4
        "make \\",                                   # 5
        "   -j",                                     # 6
        'cat > notes.txt << "EOF"',                  # 7
        "read this | tee that; make -j; cd /mnt/lfs",  # 8: a heredoc body, not commands
        "EOF",                                       # 9
        "echo 'make -j | tee log; read x' # read y; make -j",  # 10: quoted, then a comment
        "sed -e 's/a/b/",                            # 11: a quoted string over two lines
        "        s/read x/make -j/' -i Makefile",    # 12
        "cat <<- EOF",                               # 13
        "\tread z",                                  # 14
        "\tEOF",                                     # 15
        "read -r w",                                 # 16: code again after <<- EOF
    ])})
    assert found(check(lfsplugger), "LFS") == [("LFS002", "01-careful.sh", 16),
                                               ("LFS005", "01-careful.sh", 5)]


@pytest.mark.parametrize(("body", "lines"), [
    ("{ read -r name; read -r version; } < VERSION", []),
    ("find . -name '*.la' |\n  while read -r f; do rm \"$f\"; done", []),
    ("cat list | (read -r a; read -r b)", []),
    ("if read -r x; then :; fi < answer.txt", []),
    ("cat << EOF | while read -r h; do :; done\nbody\nEOF", []),
    ("while true; do\n  read -r x || break\ndone <<< \"$list\"", []),
    ("read -r x 3< list.txt", [3]),                       # descriptor 3 is the file
    ("read -r a\nexec < answers.txt\nread -r b", [3]),   # only before the exec
    ("for i in 1 2; do\n  read -r x\ndone", [4]),
    ("builtin read -r x; x=$(read -r y)", [3, 3]),
])
def test_what_feeds_a_read_is_read_from_the_syntax_tree(
        lfsplugger: Lfsplugger, body: str, lines: list[int]) -> None:
    lfsplugger.make_tree({"01-a.sh": "set -e\n" + body})
    assert [line for code, _, line in found(check(lfsplugger), "LFS002")] == lines


#: Blocks of the LFS book (12.x) that it tells the reader to edit, as they reach a script.
BOOK_BLOCKS = {
    "01-glibc.sh": "ln -sfv /usr/share/zoneinfo/<xxx> /etc/localtime",
    "02-groff.sh": "PAGE=<paper_size> ./configure --prefix=/usr",
    "03-hostname.sh": 'echo "<lfs>" > /etc/hostname',
    "04-fstab.sh": 'cat > /etc/fstab << "EOF"\n# Begin /etc/fstab\n\n'
                   "/dev/<xxx>     /            <fff>    defaults            1     1\n"
                   "/dev/<yyy>     swap         swap     pri=1               0     0\n"
                   "proc           /proc        proc     nosuid,noexec,nodev 0     0\n\n"
                   "# End /etc/fstab\nEOF",
    "05-hosts.sh": 'cat > /etc/hosts << "EOF"\n127.0.0.1 localhost\n'
                   "127.0.1.1 <FQDN> <HOSTNAME>\nEOF",
    "06-locale.sh": 'cat > /etc/profile << "EOF"\n'
                    "export LANG=<ll>_<CC>.<charmap><@modifiers>\nEOF",
}


def test_unedited_book_blocks_are_errors_at_their_lines(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({name: "set -e\n" + body for name, body in BOOK_BLOCKS.items()})
    result = check(lfsplugger)
    assert result.ret == 6
    assert found(result) == [
        ("LFS001", "01-glibc.sh", 3), ("LFS001", "02-groff.sh", 3),
        ("LFS001", "03-hostname.sh", 3), ("LFS001", "04-fstab.sh", 6),
        ("LFS001", "04-fstab.sh", 7), ("LFS001", "05-hosts.sh", 5), ("LFS001", "06-locale.sh", 4),
    ]
    [groff] = [f for f in findings(result) if f["path"].endswith("02-groff.sh")]
    assert "<paper_size>" in groff["message"]


@pytest.mark.skipif(not BOOK.is_dir(), reason=no_data(BOOK))
def test_every_placeholder_the_book_has_in_its_commands_is_known() -> None:
    from lfsplug_validation.lint import lint

    names = set()
    for page in BOOK.rglob("*.xml"):
        text = page.read_text(encoding="utf-8", errors="replace")
        for screen in re.finditer(r"<screen(?![^>]*nodump)[^>]*>(.*?)</screen>", text, re.S):
            for raw in re.findall(r"<replaceable>(&lt;.*?&gt;)</replaceable>", screen.group(1)):
                names.add(html.unescape(raw))
    assert len(names) > 10
    for name in sorted(names):  # even inside quotes, where bash would not stumble on it
        issues, _ = lint(f'#!/bin/bash\necho "{name}"\n')
        assert [i.code for i in issues] == ["LFS001"], name


# -- syntax: bash -n, its screen, its line numbers ----------------------------------------------


def test_heredoc_cut_short_is_a_warning_at_bash_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-short.sh": "set -e\ncat > f << EOF\nabc\nEOF \n"})
    result = check(lfsplugger)
    assert result.ret == 0
    [finding] = findings(result)
    assert (finding["code"], finding["severity"]) == ("SYN003", "warning")
    assert finding["line"] == bash_reported_line(lfsplugger.path / "01-short.sh")
    assert "here-document" in finding["message"]


def test_a_parse_error_bash_exits_zero_on_is_still_an_error(lfsplugger: Lfsplugger) -> None:
    # bash stops reading at "[[ a" yet exits 0: the lines after it would silently never run
    lfsplugger.make_tree({"01-cut.sh": "set -e\necho before\n[[ a\necho never"})
    result = check(lfsplugger)
    assert result.ret == 6
    assert found(result) == [("SYN001", "01-cut.sh", 4)]


FRAGMENTS = [
    "if true; then", "fi", "then", "else", "for x in a b; do", "done", "while read -r l; do",
    "case $x in", "a) echo a ;;", "esac", "{", "}", "(", ")", "$(", "`", "'", '"', "<<EOF",
    "<<'EOF'", "<<-EOF", "EOF", "\tEOF", "\\", "$((", "))", "[[", "]]", "[[ -n $x ]]",
    "f() {", "echo ${x:-y}", "echo ${x", "$'a\\'b'", "cat <<< 'x'", "a=(1 2", "a=(1 2)", "|",
    "||", "&&", ";", ";;", "&", "echo hi # c", "echo $(( 1 +", "<(ls)", "echo !(x)", "exit",
    "echo \"$(echo \")\"", "x=$(case a in a) echo;; esac)", "[[ a =~ ( ]]", "ééé", "", "   ",
    "./configure --prefix=/usr \\", "make -j4", "make install", "set -e", "done < list",
]


def test_findings_match_bash_n_on_a_corpus_of_broken_scripts(lfsplugger: Lfsplugger) -> None:
    """The screen never clears what bash -n rejects, and lines and codes are bash's own."""
    rnd = random.Random(20261122)
    tree = {}
    for index in range(150):
        lines = [rnd.choice(FRAGMENTS) for _ in range(rnd.randint(1, 10))]
        tree[f"{index:03d}-s{index}.sh"] = "\n".join(lines)
    root = lfsplugger.make_tree(tree)
    expected = expected_syntax([root / name for name in tree])
    assert 30 < len(expected) < 150  # the corpus has both kinds
    assert found(check(lfsplugger), "SYN") == sorted(expected)


#: Scripts bash accepts, some of which change parser state (extglob, posix, aliases) when run;
#: and lines that fail only while extglob is off. A screen that carried state from one script
#: to the next would let the latter through.
STATEFUL = [
    "shopt -s extglob\necho ok", "[[ $x == @(a|b) ]] && echo y", "[[ $x == !(a) ]]",
    "case $x in @(a|b)) echo ;; esac", "f() { shopt -s extglob; }\nf", "alias ll='ls -l'\nll",
    "cat <<EOF\n$(echo hi)\nEOF", "x=$(cat <<'E'\nabc\nE\n)", "set -o posix\necho",
    "eval 'echo !(x)'", "echo $(( 1 << 2 ))", "a=(1 2 3); echo ${a[@]}", "coproc cat; echo",
    "function g { local -; set -n; }", "echo ${x//a/b} ${x^^}", "declare -A m=([a]=1)",
]
NEEDS_EXTGLOB = ["echo !(x)", "echo @(a|b)", "ls +(foo)", "x=*(y)"]


def expected_syntax(paths: list[Path]) -> list[tuple[str, str, int | None]]:
    """(code, file name, line) for each file, from a real bash -n (what validation must say)."""
    expected = []
    for path in paths:
        proc = subprocess.run([BASH, "-n", str(path)], capture_output=True, text=True,
                              check=False, env={"PATH": os.environ["PATH"], "LC_ALL": "POSIX"})
        if proc.returncode or proc.stderr.strip():
            match = re.search(r"line (\d+):", proc.stderr)
            code = "SYN001" if proc.returncode or "warning:" not in proc.stderr else "SYN003"
            expected.append((code, path.name, int(match.group(1)) if match else None))
    return sorted(expected)


def test_no_parser_state_carries_from_one_script_to_the_next(lfsplugger: Lfsplugger) -> None:
    rnd = random.Random(7)
    tree = {}
    for index in range(200):
        lines = rnd.sample(STATEFUL, rnd.randint(1, 4))
        if index % 7 == 3:
            lines.append(rnd.choice(NEEDS_EXTGLOB))
        tree[f"{index:03d}-s{index}.sh"] = "\n".join(lines)
    root = lfsplugger.make_tree(tree)
    expected = expected_syntax([root / name for name in tree])
    assert len([e for e in expected if e[0] == "SYN001"]) >= 28  # every extglob line fails
    assert found(check(lfsplugger), "SYN") == expected


def test_the_screen_for_bash_before_4_4_agrees_with_bash_n(tmp_path: Path) -> None:
    """Without ``local -`` the screen forks a subshell per file; same answers."""
    from lfsplug_validation.syntax import check_syntax

    rnd = random.Random(44)
    paths = []
    for index in range(60):
        path = tmp_path / f"{index:02d}.sh"
        path.write_text("\n".join(rnd.choice(FRAGMENTS + STATEFUL) for _ in range(4)) + "\n")
        paths.append(path)
    result = check_syntax(BASH, [str(p) for p in paths], set(), 2, version="4.3.48(1)")
    got = sorted((i.code, Path(p).name, i.line) for p, issues in result.items() for i in issues)
    assert got == expected_syntax(paths)


# -- the cache --------------------------------------------------------------------------------


# -- the record of file digests (stat key -> content hash) ---------------------------------------


class DigestSpy:
    """A plugin that keeps the digests validation gave the session; counts the scripts read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from lfsplug_validation import validator

        self.reads: list[str] = []
        self.digests: dict[str, str] = {}
        real = validator.read_script_file

        def counting(script: Script) -> Any:
            self.reads.append(script.path.name)
            return real(script)

        monkeypatch.setattr(validator, "read_script_file", counting)

    @lfsplug.hookimpl
    def lfsplug_sessionfinish(self, session: lfsplug.Session) -> None:
        self.digests = {Path(p).name: d for p, d in session.digests.items()}


def spied_check(lfsplugger: Lfsplugger, spy: DigestSpy) -> RunResult:
    spy.reads.clear()
    return lfsplugger.run("-p", "no:hostreqs", "check", "--json", "--shellcheck=off",
                          plugins=[spy])


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust files written a moment ago: a test cannot wait for their ctime to age."""
    from lfsplug_validation import cache

    monkeypatch.setattr(cache, "RACY_NS", 0)


def test_a_warm_check_reads_no_unchanged_script(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch, no_racy_window: None
) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD, "02-b.sh": BAD, "03-c.sh": "set -e\nmake -j"})
    spy = DigestSpy(monkeypatch)
    cold = spied_check(lfsplugger, spy)
    assert sorted(spy.reads) == ["01-a.sh", "02-b.sh", "03-c.sh"]
    assert spy.digests == {n: digest(lfsplugger.path / n) for n in spy.reads}
    cold_digests = dict(spy.digests)
    warm = spied_check(lfsplugger, spy)
    assert spy.reads == []
    assert findings(warm) == findings(cold) and warm.ret == cold.ret == 6
    assert spy.digests == cold_digests  # resume and the record of passes see the same hashes


def test_an_edit_that_keeps_size_and_mtime_is_read_again(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch, no_racy_window: None
) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo good", "02-b.sh": GOOD})
    spy = DigestSpy(monkeypatch)
    assert found(spied_check(lfsplugger, spy), "SYN") == []
    script = lfsplugger.path / "01-a.sh"
    before = script.stat()
    script.write_text(script.read_text().replace("echo good", "fi;echo x"))
    os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (script.stat().st_size, script.stat().st_mtime_ns) == (before.st_size,
                                                                   before.st_mtime_ns)
    result = spied_check(lfsplugger, spy)
    assert spy.reads == ["01-a.sh"]  # the ctime the write changed tells the edit
    assert found(result, "SYN") == [("SYN001", "01-a.sh", 2)]
    assert spy.digests["01-a.sh"] == digest(script)


def test_a_replaced_or_renamed_script_is_read_again(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch, no_racy_window: None
) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD, "02-b.sh": GOOD})
    spy = DigestSpy(monkeypatch)
    spied_check(lfsplugger, spy)
    replacement = lfsplugger.path / "new.tmp"
    replacement.write_text((lfsplugger.path / "02-b.sh").read_text().replace("echo", "fi;"))
    replacement.replace(lfsplugger.path / "02-b.sh")  # a new inode under the old name
    (lfsplugger.path / "01-a.sh").rename(lfsplugger.path / "03-a.sh")
    result = spied_check(lfsplugger, spy)
    assert sorted(spy.reads) == ["02-b.sh", "03-a.sh"]
    assert found(result, "SYN") == [("SYN001", "02-b.sh", 2)]


def test_a_script_changed_within_the_racy_window_is_read_again(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lfsplug_validation import cache

    monkeypatch.setattr(cache, "RACY_NS", 10**12)  # every file here is "just written"
    lfsplugger.make_tree({"01-a.sh": GOOD})
    spy = DigestSpy(monkeypatch)
    spied_check(lfsplugger, spy)
    spied_check(lfsplugger, spy)
    assert spy.reads == ["01-a.sh"]  # not recorded: an edit in the same tick would not show
    files = cache_file(lfsplugger)["sections"]["files"]["entries"]
    assert files == {}


def test_the_record_of_files_is_per_reader(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch, no_racy_window: None
) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD})
    spy = DigestSpy(monkeypatch)
    spied_check(lfsplugger, spy)
    from lfsplug_validation import cache

    monkeypatch.setattr(cache, "reader_key", lambda: "4321:4321:4321")
    from lfsplug_validation import validator

    monkeypatch.setattr(validator, "reader_key", cache.reader_key)
    spied_check(lfsplugger, spy)
    assert spy.reads == ["01-a.sh"]  # another user may not be able to read what we could


@pytest.mark.parametrize("entry", [
    "not a list", ["too", "many", "items"], [[1, 2, 3], 7], None, [[], None],
])
def test_a_malformed_file_record_is_read_again(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch, no_racy_window: None, entry: Any
) -> None:
    lfsplugger.make_tree({"01-a.sh": BAD})
    spy = DigestSpy(monkeypatch)
    expected = findings(spied_check(lfsplugger, spy))
    data = cache_file(lfsplugger)
    files = data["sections"]["files"]["entries"]
    assert list(files) == [str(lfsplugger.path / "01-a.sh")]
    files[str(lfsplugger.path / "01-a.sh")] = entry
    (lfsplugger.path / ".lfsplug" / "cache" / "validation.json").write_text(json.dumps(data))
    assert findings(spied_check(lfsplugger, spy)) == expected
    assert spy.reads == ["01-a.sh"]


def test_a_recorded_script_that_went_away_is_reported(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch, no_racy_window: None
) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD, "02-b.sh": GOOD})
    spy = DigestSpy(monkeypatch)
    spied_check(lfsplugger, spy)

    class Remover:
        @lfsplug.hookimpl
        def lfsplug_collection_finish(self, session: lfsplug.Session) -> None:
            (lfsplugger.path / "01-a.sh").unlink()  # after discovery, before validation

    result = lfsplugger.run("-p", "no:hostreqs", "check", "--json", "--shellcheck=off",
                            plugins=[Remover()])
    assert found(result, "SYN") == [("SYN004", "01-a.sh", None)]


def test_an_unchanged_tree_is_not_parsed_again(lfsplugger: Lfsplugger) -> None:
    log = lfsplugger.path / "bash-calls.log"
    recording_wrapper(lfsplugger.path / "bin", "bash", BASH, log)
    lfsplugger.setenv("PATH", f"{lfsplugger.path / 'bin'}:{os.environ['PATH']}")
    tree = lfsplugger.make_tree({"scripts/01-a.sh": GOOD, "scripts/02-b.sh": BAD,
                                 "scripts/03-c.sh": "set -e\nmake -j"})
    first = check(lfsplugger, "scripts")
    assert "lfsplug-syntax" in log.read_text()  # the screen ran
    log.unlink()
    second = check(lfsplugger, "scripts")
    assert findings(second) == findings(first)
    calls = log.read_text().splitlines()
    assert not any(" -n " in c or "lfsplug-syntax" in c for c in calls), calls

    changed = tree / "scripts" / "01-a.sh"
    changed.write_text("#!/bin/bash\necho now\ndone\n")
    third = check(lfsplugger, "scripts")
    assert ("SYN001", "01-a.sh", 3) in found(third)
    assert f"-n {changed}" in log.read_text()  # only what changed was parsed (and confirmed)
    assert f"-n {tree / 'scripts' / '02-b.sh'}" not in log.read_text()


def test_the_cache_holds_results_by_content_hash(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD, "02-b.sh": BAD, "03-same-as-a.sh": GOOD})
    check(lfsplugger)
    sections = cache_file(lfsplugger)["sections"]
    assert set(sections) >= {"syntax", "lint"}
    entries = sections["syntax"]["entries"]
    assert set(entries) == {digest(lfsplugger.path / "01-a.sh"),
                            digest(lfsplugger.path / "02-b.sh")}
    assert entries[digest(lfsplugger.path / "02-b.sh")][0][:3] == ["SYN001", "error", 4]


@pytest.mark.parametrize("garbage", [
    b"\x00\xff not json", b"[]", b'{"format": 1, "sections": []}',
    b'{"format": 1, "sections": {"syntax": {"key": 3, "entries": null}}}',
])
def test_a_corrupt_cache_is_ignored_and_rebuilt(lfsplugger: Lfsplugger, garbage: bytes) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD, "02-b.sh": BAD})
    expected = findings(check(lfsplugger))
    cache = lfsplugger.path / ".lfsplug" / "cache" / "validation.json"
    cache.write_bytes(garbage)
    result = check(lfsplugger)
    assert (result.ret, findings(result)) == (6, expected)
    assert cache_file(lfsplugger)["format"] == 1


def test_malformed_cache_entries_are_checked_again(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD, "02-b.sh": BAD})
    expected = findings(check(lfsplugger))
    data = cache_file(lfsplugger)
    for section in data["sections"].values():
        for key in section["entries"]:
            section["entries"][key] = [["SYN001", "fatal", -1, 7, None]]
    (lfsplugger.path / ".lfsplug" / "cache" / "validation.json").write_text(json.dumps(data))
    assert findings(check(lfsplugger)) == expected


def test_an_unwritable_cache_is_reported_once_and_checks_go_on(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": BAD})
    (lfsplugger.path / ".lfsplug").mkdir()
    (lfsplugger.path / ".lfsplug" / "cache").write_text("a file where the folder goes")
    result = check(lfsplugger)
    assert found(result) == [("SYN001", "01-a.sh", 4), ("VAL003", "", None)]


def test_the_cache_lives_in_the_state_dir_given(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD})
    state = tmp_path / "elsewhere"
    check(lfsplugger, "--state-dir", str(state))
    assert (state / "cache" / "validation.json").is_file()
    assert not (lfsplugger.path / ".lfsplug").exists()


# -- shellcheck -------------------------------------------------------------------------------

SC_SCRIPT = 'set -e\nif [ -n $FOO ]; then\n  echo "$BAR"\nfi\nunused=1'


@needs_shellcheck
@pytest.mark.parametrize("mode", ["auto", "on"])
def test_shellcheck_findings_keep_shellcheck_codes(lfsplugger: Lfsplugger, mode: str) -> None:
    lfsplugger.make_tree({"01-sc.sh": SC_SCRIPT})
    result = check(lfsplugger, f"--shellcheck={mode}")
    got = {(f["code"], f["severity"], f["line"]) for f in findings(result)}
    assert {("SC2070", "error", 3), ("SC2086", "info", 3),
            ("SC2034", "warning", 6)} <= got, got
    assert result.ret == 6  # SC2070 is a real error: -n with an unquoted empty word is true
    [sc2070] = [f for f in findings(result) if f["code"] == "SC2070"]
    assert "shellcheck.net/wiki/SC2070" in sc2070["hint"]


def test_shellcheck_off_runs_no_shellcheck(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-sc.sh": SC_SCRIPT})
    result = check(lfsplugger, "--shellcheck=off")
    assert result.ret == 0
    assert found(result, "SC") == []


def hide_shellcheck(lfsplugger: Lfsplugger) -> None:
    """A PATH with bash on it, and no shellcheck."""
    bindir = lfsplugger.path / "bin"
    bindir.mkdir()
    (bindir / "bash").symlink_to(BASH)
    lfsplugger.setenv("PATH", str(bindir))


def test_shellcheck_on_without_shellcheck_is_an_error(lfsplugger: Lfsplugger) -> None:
    hide_shellcheck(lfsplugger)
    lfsplugger.make_tree({"01-a.sh": GOOD})
    result = check(lfsplugger, "--shellcheck=on")
    assert result.ret == 6
    [finding] = findings(result)
    assert (finding["code"], finding["severity"], finding["path"]) == ("VAL001", "error", None)
    assert check(lfsplugger, "--shellcheck=auto").ret == 0
    run = lfsplugger.run("-p", "no:hostreqs", "run", "--shellcheck=on")
    assert run.ret == 6
    run.stderr.fnmatch_lines(["host: error VAL001*shellcheck*", "*nothing was run*"])


def test_shellcheck_is_read_from_the_configuration_file(lfsplugger: Lfsplugger) -> None:
    hide_shellcheck(lfsplugger)
    lfsplugger.make_tree({"01-a.sh": GOOD})
    lfsplugger.make_config('shellcheck = "on"\n')
    assert found(lfsplugger.run("-p", "no:hostreqs", "check", "--json")) == [
        ("VAL001", "", None)]


@needs_shellcheck
def test_shellcheck_directives_and_disable_are_respected(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-directive.sh": "set -e\n# shellcheck disable=SC2086\necho $1",
        "02-header.sh": "# lfsplug: disable=SC2086\nset -e\necho $1",
        "03-loud.sh": "set -e\necho $1",
    })
    assert found(check(lfsplugger, "--shellcheck=on"), "SC") == [("SC2086", "03-loud.sh", 3)]


@needs_shellcheck
def test_no_shellcheck_noise_after_a_syntax_error(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-bad.sh": BAD + "\necho $1"})
    assert found(check(lfsplugger, "--shellcheck=on")) == [("SYN001", "01-bad.sh", 4)]


@needs_shellcheck
def test_no_shellcheck_parse_noise_on_a_placeholder_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-groff.sh": "set -e\n" + BOOK_BLOCKS["02-groff.sh"]})
    assert found(check(lfsplugger, "--shellcheck=on")) == [("LFS001", "01-groff.sh", 3)]


@needs_shellcheck
def test_shellcheck_results_are_cached(lfsplugger: Lfsplugger) -> None:
    log = lfsplugger.path / "shellcheck-calls.log"
    assert SHELLCHECK is not None
    recording_wrapper(lfsplugger.path / "bin", "shellcheck", SHELLCHECK, log)
    lfsplugger.setenv("PATH", f"{lfsplugger.path / 'bin'}:{os.environ['PATH']}")
    tree = lfsplugger.make_tree({"s/01-a.sh": "set -e\necho $1", "s/02-b.sh": GOOD})
    first = check(lfsplugger, "--shellcheck=on", "s")
    assert "01-a.sh" in log.read_text()
    log.unlink()
    assert findings(check(lfsplugger, "--shellcheck=on", "s")) == findings(first)
    assert not log.exists()  # not called at all
    (tree / "s" / "02-b.sh").write_text("#!/bin/bash\necho $2\n")
    result = check(lfsplugger, "--shellcheck=on", "s")
    assert found(result, "SC") == [("SC2086", "01-a.sh", 3), ("SC2086", "02-b.sh", 2)]
    [call] = log.read_text().splitlines()
    assert "02-b.sh" in call and "01-a.sh" not in call


@needs_shellcheck
def test_a_script_too_large_for_shellcheck_is_not_given_to_it(lfsplugger: Lfsplugger) -> None:
    from lfsplug_validation.shellcheck import SIZE_LIMIT

    log = lfsplugger.path / "shellcheck-calls.log"
    assert SHELLCHECK is not None
    recording_wrapper(lfsplugger.path / "bin", "shellcheck", SHELLCHECK, log)
    lfsplugger.setenv("PATH", f"{lfsplugger.path / 'bin'}:{os.environ['PATH']}")
    line = 'echo "a line of a generated script, long enough to add up"\n'
    huge = "set -e\n" + line * (SIZE_LIMIT // len(line) + 1)
    lfsplugger.make_tree({"s/01-huge.sh": huge, "s/02-b.sh": "set -e\necho $1"})
    for _ in range(2):
        result = check(lfsplugger, "--shellcheck=on", "s")
        assert result.ret == 0
        assert found(result) == [("SC2086", "02-b.sh", 3), ("VAL004", "01-huge.sh", None)]
    [call] = log.read_text().splitlines()  # once, and never with the huge one
    assert "02-b.sh" in call and "01-huge.sh" not in call
    [val004] = [f for f in findings(result) if f["code"] == "VAL004"]
    assert (val004["severity"], val004["message"]) == (
        "info", f"not checked by shellcheck: 1.0 MiB is over its limit of {SIZE_LIMIT >> 20} MiB")


@needs_shellcheck
def test_a_script_shellcheck_fails_on_is_remembered_and_not_tried_again(
    lfsplugger: Lfsplugger,
) -> None:
    bindir, log = lfsplugger.path / "bin", lfsplugger.path / "shellcheck-calls.log"
    bindir.mkdir()
    (bindir / "shellcheck").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\n'
        f'for a; do case "$a" in *crash*) echo "shellcheck: out of memory" >&2; exit 3;; esac; '
        f'done\nexec "{SHELLCHECK}" "$@"\n')
    (bindir / "shellcheck").chmod(0o755)
    lfsplugger.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    lfsplugger.make_tree({"s/01-crash.sh": "set -e\necho ok", "s/02-b.sh": "set -e\necho $1"})
    first = check(lfsplugger, "--shellcheck=on", "s")
    assert first.ret == 0
    # the batch failed; each script alone then: the other one's findings are not lost
    assert found(first) == [("SC2086", "02-b.sh", 3), ("VAL005", "01-crash.sh", None)]
    [val005] = [f for f in findings(first) if f["code"] == "VAL005"]
    assert (val005["severity"], val005["message"]) == (
        "warning", "shellcheck failed on this script: shellcheck: out of memory")
    assert "not tried again until the script" in val005["hint"]
    log.unlink()
    assert findings(check(lfsplugger, "--shellcheck=on", "s")) == findings(first)
    assert not log.exists()  # not tried again: the failure is remembered
    (lfsplugger.path / "s" / "01-crash.sh").write_text("#!/bin/bash\nset -e\necho fixed\n")
    check(lfsplugger, "--shellcheck=on", "s")
    assert "01-crash.sh" in log.read_text()  # changed: tried again


@needs_shellcheck
def test_shellcheck_does_not_depend_on_home(lfsplugger: Lfsplugger) -> None:
    """The user's ~/.shellcheckrc is not read (the verdict does not depend on who runs the
    check); the rc file of the scripts' folder still is."""
    home = lfsplugger.path / "home"
    home.mkdir()
    (home / ".shellcheckrc").write_text("disable=SC2086\n")
    lfsplugger.setenv("HOME", str(home))
    lfsplugger.make_tree({"s/01-a.sh": "set -e\necho $1"})
    assert found(check(lfsplugger, "--shellcheck=on", "s"), "SC") == [("SC2086", "01-a.sh", 3)]
    (lfsplugger.path / "s" / ".shellcheckrc").write_text("disable=SC2086\n")
    assert found(check(lfsplugger, "--shellcheck=on", "s"), "SC") == []


@needs_shellcheck
def test_an_unreadable_home_does_not_break_the_check(lfsplugger: Lfsplugger) -> None:
    """``su lfs`` without ``-`` keeps root's HOME, which lfs may not read; root without the
    capabilities that override permissions is such a user here."""
    setpriv = "/usr/bin/setpriv"
    if os.geteuid() != 0 or not os.access(setpriv, os.X_OK):
        pytest.skip("needs root and setpriv to drop the capability to override permissions")
    home = lfsplugger.path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    tree = lfsplugger.make_tree({"s/01-a.sh": "set -e\necho $1"})
    argv = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", sys.executable,
            "-m", "lfsplug", "-p", "no:hostreqs", "check", "--json", "--shellcheck=on", "s"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120,
                          cwd=tree, env={**os.environ, "HOME": str(home)})
    assert (done.returncode, done.stderr) == (0, "")
    codes = [(f["code"], f["line"]) for f in json.loads(done.stdout)["findings"]]
    assert codes == [("SC2086", 3)]


# -- security -----------------------------------------------------------------------------------


def test_a_world_writable_script_is_an_error(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree({"01-open.sh": GOOD, "02-ok.sh": GOOD})
    (tree / "01-open.sh").chmod(0o757)
    result = check(lfsplugger)
    assert result.ret == 6
    [finding] = findings(result)
    assert (finding["code"], Path(finding["path"]).name) == ("SEC001", "01-open.sh")
    assert "chmod o-w" in finding["hint"]
    run = lfsplugger.run("-p", "no:hostreqs", "run", "--shellcheck=off")
    assert run.ret == 6
    assert not (tree / ".lfsplug" / "logs").exists()


def test_an_open_directory_on_the_path_is_an_error_unless_sticky(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree({"shared/01-a.sh": GOOD})
    (tree / "shared").chmod(0o777)
    result = check(lfsplugger, "shared")
    assert found(result) == [("SEC002", "01-a.sh", None)]
    assert str(tree / "shared") in findings(result)[0]["message"]
    (tree / "shared").chmod(0o1777)  # like /tmp: others cannot replace what is not theirs
    assert check(lfsplugger, "shared").ret == 0


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")
def test_a_script_owned_by_someone_else_is_an_error(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree({"01-theirs.sh": GOOD, "02-mine.sh": GOOD})
    os.chown(tree / "01-theirs.sh", 4242, 4242)
    result = check(lfsplugger)
    assert result.ret == 6
    [finding] = findings(result)
    assert (finding["code"], Path(finding["path"]).name) == ("SEC003", "01-theirs.sh")
    assert "4242" in finding["message"]


# -- integrity ----------------------------------------------------------------------------------


def tarball(path: Path, member: str = "README", content: bytes = b"hello\n") -> bytes:
    """Write a real compressed tarball (xz, gz or bz2, from the name); return its bytes."""
    info = tarfile.TarInfo(f"{path.name.split('.tar')[0]}/{member}")
    info.size = len(content)
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as archive:
        archive.addfile(info, io.BytesIO(content))
    compress: dict[str, Callable[[bytes], bytes]] = {
        ".xz": lzma.compress, ".gz": gzip.compress, ".bz2": bz2.compress}
    path.write_bytes(compress[path.suffix](plain.getvalue()))
    return path.read_bytes()


def sums(directory: Path, algorithm: str, names: list[str]) -> None:
    lines = [f"{hashlib.new(algorithm, (directory / n).read_bytes()).hexdigest()}  {n}"
             for n in names]
    (directory / f"{algorithm}sums").write_text("\n".join(lines) + "\n")


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A sources directory with two real tarballs and a patch, listed in md5sums/sha256sums."""
    directory = tmp_path / "sources"
    directory.mkdir()
    tarball(directory / "hello-1.0.tar.xz")
    tarball(directory / "zlib-1.3.tar.gz", "zlib.h", b"/* zlib */\n")
    (directory / "hello-1.0-fix.patch").write_text("--- a/x\n+++ b/x\n")
    sums(directory, "md5", ["hello-1.0.tar.xz", "hello-1.0-fix.patch"])
    sums(directory, "sha256", ["zlib-1.3.tar.gz"])
    return directory


USES_SOURCES = {
    "01-hello.sh": "set -e\ntar -xf ../hello-1.0.tar.xz\ncd hello-1.0\n"
                   "patch -Np1 -i ../hello-1.0-fix.patch",
    "02-zlib.sh": "set -e\nPKG=zlib-1.3\ntar xf $PKG.tar.gz",
}


def test_sources_that_match_their_checksums_give_no_finding(
    lfsplugger: Lfsplugger, sources: Path
) -> None:
    lfsplugger.make_tree(USES_SOURCES)
    result = check(lfsplugger, "--sources", str(sources))
    assert (result.ret, findings(result)) == (0, [])


@pytest.mark.parametrize("case", [
    ("hello-1.0.tar.xz", "01-hello.sh", 3, "md5sums:1"),
    ("hello-1.0-fix.patch", "01-hello.sh", 5, "md5sums:2"),
    ("zlib-1.3.tar.gz", "02-zlib.sh", 4, "sha256sums:1"),
])
def test_a_mismatched_source_is_an_error_at_the_script_line(
    lfsplugger: Lfsplugger, sources: Path, case: tuple[str, str, int, str]
) -> None:
    broken, script, line, sumsfile = case
    lfsplugger.make_tree(USES_SOURCES)
    with (sources / broken).open("ab") as handle:
        handle.write(b"corrupted download")
    result = check(lfsplugger, "--sources", str(sources))
    assert result.ret == 6
    assert found(result) == [("INT003", script, line)]
    message = findings(result)[0]["message"]
    assert broken in message and f"{sources / sumsfile}" in message


def test_a_missing_source_is_an_error_naming_script_and_tarball(
    lfsplugger: Lfsplugger, sources: Path
) -> None:
    lfsplugger.make_tree({**USES_SOURCES,
                          "03-gone.sh": "set -e\n# the next release\ntar -xf ../gone-2.0.tar.gz"})
    result = check(lfsplugger, "--sources", str(sources))
    assert result.ret == 6
    assert found(result) == [("INT002", "03-gone.sh", 4)]
    assert "gone-2.0.tar.gz" in findings(result)[0]["message"]


def test_jhalfs_package_and_version_name_a_tarball(lfsplugger: Lfsplugger, sources: Path) -> None:
    lfsplugger.make_tree({"01-hello.sh": "PACKAGE=hello\nVERSION=1.0\nset -e\nmake",
                          "02-foo.sh": "PACKAGE=libfoo\nVERSION=1.2\nset -e\nmake"})
    result = check(lfsplugger, "--sources", str(sources))
    assert found(result) == [("INT002", "02-foo.sh", 2)]
    assert "libfoo-1.2.tar*" in findings(result)[0]["message"]


def test_checksum_file_problems_no_script_names(lfsplugger: Lfsplugger, sources: Path) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD})
    (sources / "zlib-1.3.tar.gz").write_bytes(b"not the tarball that was listed")
    with (sources / "md5sums").open("a") as handle:
        handle.write("not-a-hash  something.tar.gz\n")
    result = check(lfsplugger, "--sources", str(sources))
    assert result.ret == 0  # nothing the build uses is wrong
    assert found(result) == [("INT004", "sha256sums", 1), ("INT006", "md5sums", 3)]


def test_no_sources_directory_is_said_once(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    lfsplugger.make_tree(USES_SOURCES)
    result = check(lfsplugger, "--sources", str(tmp_path / "nowhere"))
    assert result.ret == 0
    [finding] = findings(result)
    assert (finding["code"], finding["severity"], finding["path"]) == ("INT001", "info", None)


def test_sources_default_to_lfs_sources(lfsplugger: Lfsplugger, sources: Path) -> None:
    lfsplugger.make_tree(USES_SOURCES)
    lfs = sources.parent
    (sources / "hello-1.0.tar.xz").write_bytes(b"truncated")
    result = check(lfsplugger, "--lfs", str(lfs))
    assert found(result) == [("INT003", "01-hello.sh", 3)]
    assert str(lfs / "sources" / "hello-1.0.tar.xz").rsplit("/", 1)[0] in findings(result)[0][
        "message"]


def test_source_digests_are_cached_by_size_and_mtime(lfsplugger: Lfsplugger, sources: Path) -> None:
    lfsplugger.make_tree(USES_SOURCES)
    assert check(lfsplugger, "--sources", str(sources)).ret == 0
    cached = json.loads((lfsplugger.path / ".lfsplug" / "cache" / "sources.json").read_text())
    assert str(sources / "hello-1.0.tar.xz") in cached["files"]
    target = sources / "hello-1.0.tar.xz"
    before = target.stat()
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # same size, same mtime: the cached digest stands (not hashed again)
    target.write_bytes(bytes(data))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert check(lfsplugger, "--sources", str(sources)).ret == 0
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))  # touched: hashed
    assert found(check(lfsplugger, "--sources", str(sources))) == [("INT003", "01-hello.sh", 3)]


def test_corrupt_digest_and_record_files_are_ignored(lfsplugger: Lfsplugger, sources: Path) -> None:
    tree = lfsplugger.make_tree(USES_SOURCES)
    state = tree / ".lfsplug"
    (state / "cache").mkdir(parents=True)
    (state / "cache" / "sources.json").write_bytes(b"\xff{not json")
    (state / "passed-scripts.json").write_text('{"format": 1, "scripts": {"hello": 7}}')
    (sources / "zlib-1.3.tar.gz").write_bytes(b"changed")
    result = check(lfsplugger, "--sources", str(sources))
    assert found(result) == [("INT003", "02-zlib.sh", 4)]
    assert json.loads((state / "cache" / "sources.json").read_text())["format"] == 1


# -- integrity: scripts changed since they last passed ----------------------------------------


@pytest.mark.parametrize("state", ["state plugin", "no state plugin"])
def test_a_script_changed_since_it_passed_is_reported(lfsplugger: Lfsplugger, state: str) -> None:
    """With the state plugin, its database answers; without it, validation keeps a record."""
    block = ("-p", "no:state") if state == "no state plugin" else ()
    tree = lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b", "03-c.sh": "false"})
    run = lfsplugger.run("-p", "no:hostreqs", *block, "run", "--shellcheck=off", "--keep-going")
    assert run.statuses() == {"a": "passed", "b": "passed", "c": "failed"}
    record_file = tree / ".lfsplug" / "passed-scripts.json"
    if block:
        assert set(json.loads(record_file.read_text())["scripts"]) == {"a", "b"}
    else:
        assert not record_file.exists()  # recorded once, in state.db
    assert check(lfsplugger, *block).ret == 0 and found(check(lfsplugger, *block)) == []
    (tree / "02-b.sh").write_text("#!/bin/bash\necho b, changed\n")
    (tree / "03-c.sh").write_text("#!/bin/bash\ntrue\n")
    result = check(lfsplugger, *block)
    assert found(result) == [("INT005", "02-b.sh", None)]
    assert result.ret == 0


def test_the_record_can_be_blocked_and_replaced(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    run = lfsplugger.run("-p", "no:hostreqs", "-p", "no:validation-passed", "run",
                         "--shellcheck=off")
    assert run.ret == 0
    assert not (tree / ".lfsplug" / "passed-scripts.json").exists()

    class StatePlugin:
        """What a state plugin does: answer from its own records of builds."""

        @lfsplug.hookimpl
        def lfsplug_validation_passed_digests(self, scripts: list[Script]) -> dict[str, str]:
            return {"a": digest(tree / "01-a.sh"), "b": "0" * 64}

    result = lfsplugger.run("-p", "no:hostreqs", "check", "--json", "--shellcheck=off",
                            plugins=[StatePlugin()])
    assert found(result) == [("INT005", "02-b.sh", None)]


# -- bad input ----------------------------------------------------------------------------------


class GivenScripts:
    """Discovery replaced: exactly the given paths are the scripts, whatever they hold."""

    def __init__(self, *paths: Path) -> None:
        self.paths = paths

    @lfsplug.hookimpl
    def lfsplug_collect_path(self, path: Path) -> list[Script]:
        return [Script(p.stem.split("-", 1)[-1], p, path, i) for i, p in enumerate(self.paths)]


def check_given(lfsplugger: Lfsplugger, *paths: Path, shellcheck: str = "off") -> RunResult:
    """Validate exactly ``paths`` (discovery blocked: it has bad-input findings of its own)."""
    return lfsplugger.run("-p", "no:hostreqs", "-p", "no:discovery", "check", "--json",
                          f"--shellcheck={shellcheck}", plugins=[GivenScripts(*paths)])


def test_bad_input_never_crashes_validation(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.path
    files = {
        "01-latin1.sh": b"#!/bin/bash\nset -e\necho caf\xe9 | tee /dev/null\n",
        "02-binary.sh": b"\x7fELF\x02\x01\x01\x00\x00\x00\x00junk\nmore\n",
        "03-empty.sh": b"",
        "04-no-shebang.sh": b"set -e\necho hi\n",
        "05-nul-later.sh": b"#!/bin/bash\necho a\necho b\x00c\n",
        "06-crlf-binary.sh": b"\xff\xfe\r\n\x00\x01\r\n",
    }
    for name, data in files.items():
        (tree / name).write_bytes(data)
    result = check_given(lfsplugger, *(tree / n for n in files), shellcheck="auto")
    got = found(result)
    assert ("SYN001", "02-binary.sh", None) in got
    assert not [g for g in got if g[1] in ("01-latin1.sh", "03-empty.sh", "04-no-shebang.sh")]
    [binary] = [f for f in findings(result) if f["path"].endswith("02-binary.sh")]
    assert "binary" in binary["message"] and str(tree) not in binary["message"]


def test_a_script_that_is_no_regular_file_is_an_error(lfsplugger: Lfsplugger) -> None:
    fifo = lfsplugger.path / "01-pipe.sh"
    os.mkfifo(fifo)
    good = lfsplugger.make_tree({"03-a.sh": GOOD}) / "03-a.sh"
    result = check_given(lfsplugger, fifo, lfsplugger.path / "02-vanished.sh", good)
    assert result.ret == 6  # and it did not hang reading the FIFO
    assert found(result) == [("SYN004", "01-pipe.sh", None), ("SYN004", "02-vanished.sh", None)]


@pytest.mark.skipif(os.getuid() == 0, reason="root reads any file")
def test_an_unreadable_script_is_an_error(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree({"01-secret.sh": GOOD})
    (tree / "01-secret.sh").chmod(0)
    assert found(check(lfsplugger)) == [("SYN004", "01-secret.sh", None)]


# -- silencing and refusing ---------------------------------------------------------------------


def test_lint_codes_are_silenced_like_any_other(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-quiet.sh": "# lfsplug: disable=LFS005, LFS004\nmake -j\nmake install",
        "02-loud.sh": "make -j\nmake install",
    })
    assert found(check(lfsplugger)) == [("LFS004", "02-loud.sh", 2), ("LFS005", "02-loud.sh", 2)]
    lfsplugger.make_config('disable = ["LFS004", "LFS005"]\n')
    assert found(check(lfsplugger)) == []


def test_run_refuses_a_placeholder_unless_told_to_ignore_errors(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree({"01-a.sh": "touch a.ran", "02-b.sh": BOOK_BLOCKS["02-groff.sh"]})
    refused = lfsplugger.run("-p", "no:hostreqs", "run", "--shellcheck=off")
    assert refused.ret == 6
    refused.stderr.fnmatch_lines(["*02-b.sh:2: error LFS001*<paper_size>*"])
    assert not (tree / "a.ran").exists()
    forced = lfsplugger.run("-p", "no:hostreqs", "run", "--shellcheck=off", "--ignore-errors",
                            "--keep-going")
    assert (tree / "a.ran").exists()
    assert forced.statuses()["a"] == "passed"


def test_check_text_output_groups_lint_findings_by_file(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "set -e\nmake -j", "02-b.sh": "set -e\nread x"})
    result = lfsplugger.run("-p", "no:hostreqs", "check", "--shellcheck=off")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "01-a.sh", "*3*warning*LFS005*make -j*", "*hint:*",
        "02-b.sh", "*3*warning*LFS002*read*",
        "2 scripts checked: 0 error(s), 2 warning(s), 0 info",
    ])
    assert stat.S_IMODE((lfsplugger.path / "01-a.sh").stat().st_mode) == 0o755


# -- [env] variables that make every script run other code (issue 12) ---------------------------


CONFIG_ENV_CODES = {
    "BASH_ENV": "SEC004", "ENV": "SEC004", "LD_PRELOAD": "SEC004", "LD_AUDIT": "SEC004",
    "PROMPT_COMMAND": "SEC004", "SHELLOPTS": "SEC004", "BASHOPTS": "SEC004", "PS4": "SEC004",
    "LD_LIBRARY_PATH": "SEC005", "IFS": "SEC005", "CDPATH": "SEC005", "GLOBIGNORE": "SEC005",
}


def test_dangerous_env_variables_from_the_config_are_findings_at_their_line(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({"01-a.sh": GOOD})
    names = list(CONFIG_ENV_CODES)
    toml = lfsplugger.make_config(
        "jobs = 2\n[env]\nCFLAGS = \"-O2\"\nEMPTY_IS_FINE = \"\"\n"
        + "".join(f'{name} = "/tmp/x"\n' for name in names)
        + '"BASH_FUNC_make%%" = "() { id; }"\n[chroot.env]\nLD_PRELOAD = "/evil.so"\n')
    result = check(lfsplugger)
    assert result.ret == 6
    got = [(f["code"], f["severity"], f["path"], f["line"], f["message"].split(" = ")[0])
           for f in findings(result) if f["code"] in ("SEC004", "SEC005")]
    expected = [(code, "error" if code == "SEC004" else "warning", str(toml), 5 + i,
                 f"[env] {name}") for i, (name, code) in enumerate(CONFIG_ENV_CODES.items())]
    expected += [("SEC004", "error", str(toml), 5 + len(names), "[env] BASH_FUNC_make%%"),
                 ("SEC004", "error", str(toml), 7 + len(names), "[chroot.env] LD_PRELOAD")]
    assert sorted(got) == sorted(expected)
    [bash_env] = [f for f in findings(result) if "BASH_ENV" in f["message"]]
    assert bash_env["message"] == ("[env] BASH_ENV = '/tmp/x' reaches every script the build "
                                   "runs: bash sources this file before every script")
    assert bash_env["hint"].startswith("remove BASH_ENV from [env]")


def test_a_config_bash_env_stops_the_run_before_any_script(
    lfsplugger: Lfsplugger, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    marker = lfsplugger.path / "ran"
    sourced = tmp_path_factory.mktemp("elsewhere") / "x.sh"
    sourced.write_text(f"touch {marker}\n")
    lfsplugger.make_tree({"01-a.sh": GOOD})
    lfsplugger.make_config(f'[env]\nBASH_ENV = "{sourced}"\n')
    result = lfsplugger.run("-p", "no:hostreqs", "run", "--shellcheck=off")
    assert result.ret == 6
    result.stderr.fnmatch_lines(["lfsplug.toml:2: error SEC004: [[]env[]] BASH_ENV = *",
                                 "*nothing was run*"])
    assert not marker.exists()
    lfsplugger.make_config(f'disable = ["SEC004"]\n[env]\nBASH_ENV = "{sourced}"\n')
    assert lfsplugger.run("-p", "no:hostreqs", "run", "--shellcheck=off").ret == 0
    assert marker.exists()  # silenced on purpose: the user's word


def test_the_unpack_tarball_is_a_source_file_the_script_names(lfsplugger: Lfsplugger) -> None:
    """``unpack=`` names a source file as ``tar -xf`` does: not matching its checksum, it is
    INT003 at the script's header line (a glob is matched against the files). Missing, it is
    said when the script runs: the run may take it from ``$SOURCES`` or fetch it first."""
    sources = lfsplugger.path / "sources"
    sources.mkdir()
    (sources / "hello-2.12.tar.gz").write_bytes(b"not the real tarball")
    (sources / "md5sums").write_text("0123456789abcdef0123456789abcdef  hello-2.12.tar.gz\n")
    lfsplugger.make_tree({"01-hello.sh": "# lfsplug: unpack=hello-2.12.tar.gz\n./configure",
                          "02-sed.sh": "# lfsplug: unpack=hell?-*.tar.gz\n./configure",
                          "03-grep.sh": "# lfsplug: unpack=grep-3.8.tar.xz\n./configure"})
    result = lfsplugger.run("check", "--json", "--sources", str(sources), "--shellcheck", "off")
    found = {(f["code"], os.path.basename(f["path"] or ""), f["line"])
             for f in json.loads("\n".join(result.outlines))["findings"]
             if f["code"].startswith("INT")}
    assert ("INT003", "01-hello.sh", 2) in found, found
    assert ("INT003", "02-sed.sh", 2) in found, found
    assert not [f for f in found if f[1] == "03-grep.sh"], found
    assert result.ret == 6
