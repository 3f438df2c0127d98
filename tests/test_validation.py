"""The validation plugin: ``bash -n`` on every script, findings, and what ``check``/``run`` do."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from lfsplug.testing import Lfsplugger, RunResult

#: ``fi`` on line 4 (line 1 is the shebang make_tree adds): bash reports line 4.
BAD = "echo start\n\nfi\necho after"
GOOD = "echo fine"


def findings(result: RunResult) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads("\n".join(result.outlines))["findings"]
    return data


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
    result = lfsplugger.run("check")
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
