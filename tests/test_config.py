"""Options, configuration files and the typed stash."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfsplug.config import OptionParser, find_config_file, load_config_file
from lfsplug.errors import UsageError
from lfsplug.stash import Stash, StashKey


def test_addoption_derives_key_and_defaults() -> None:
    parser = OptionParser()
    opt = parser.addoption("-j", "--jobs", type=int, default=1, commands=("run",))
    flag = parser.addoption("--keep-going", action="store_true")
    many = parser.addoption("--only", action="append")
    assert (opt.dest, opt.default, flag.default, many.default) == ("jobs", 1, False, [])
    assert parser.by_flag("-j") is opt
    assert parser.for_command("run") == [opt, flag, many]
    assert parser.for_command("list") == []


def test_addoption_rejects_bad_definitions() -> None:
    parser = OptionParser()
    with pytest.raises(UsageError, match="needs a --long name"):
        parser.addoption("-x")
    with pytest.raises(UsageError, match="bad action"):
        parser.addoption("--x", action="count")
    with pytest.raises(UsageError, match="already taken"):
        parser.addoption("--env")


def test_option_convert_from_file() -> None:
    parser = OptionParser()
    jobs = parser.addoption("--jobs", type=int)
    order = parser.addoption("--order", choices=("sequence", "graph"))
    only = parser.addoption("--only", action="append")
    flag = parser.addoption("--keep-going", action="store_true")
    assert jobs.convert(4, "f:1") == 4
    assert only.convert("a", "f:1") == ["a"]
    assert flag.convert(True, "f:1") is True
    with pytest.raises(UsageError, match=r"f:2: jobs: invalid literal"):
        jobs.convert("many", "f:2")
    with pytest.raises(UsageError, match="is not one of sequence, graph"):
        order.convert("random", "f:3")
    with pytest.raises(UsageError, match="expected true or false"):
        flag.convert("yes", "f:4")


def test_config_file_shape(tmp_path: Path) -> None:
    path = tmp_path / "lfsplug.toml"
    path.write_text('jobs = 4\nplugins = ["cross"]\ndisable = ["LFS003"]\n'
                    '[env]\nMAKEFLAGS = "-j4"\n[cross]\ntarget = "aarch64"\n')
    cfg = load_config_file(path)
    assert cfg.values == {"jobs": 4}
    assert (cfg.plugins, cfg.disable, cfg.env) == (["cross"], ["LFS003"], {"MAKEFLAGS": "-j4"})
    assert cfg.sections == {"cross": {"target": "aarch64"}}
    assert cfg.where("disable") == f"{path}:3"


def test_config_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "lfsplug.toml"
    path.write_text("plugins = 'cross'\n")
    with pytest.raises(UsageError, match=r"lfsplug.toml:1: plugins must be a list of strings"):
        load_config_file(path)
    path.write_text("env = 3\n")
    with pytest.raises(UsageError, match=r"\[env\] must be a table"):
        load_config_file(path)
    path.write_bytes(b"jobs = \xff\n")
    with pytest.raises(UsageError, match="cannot read configuration file"):
        load_config_file(path)


def test_find_config_file_prefers_lfsplug_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lfsplug]\njobs = 2\n")
    assert find_config_file([tmp_path]) == tmp_path / "pyproject.toml"
    (tmp_path / "lfsplug.toml").write_text("")
    assert find_config_file([tmp_path]) == tmp_path / "lfsplug.toml"
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text("[tool.black]\n")
    assert find_config_file([other]) is None


def test_stash_is_typed_and_keyed_by_identity() -> None:
    stash = Stash()
    count: StashKey[int] = StashKey()
    other: StashKey[int] = StashKey()
    stash[count] = 3
    assert stash[count] == 3
    assert stash.get(other) is None
    assert stash.get(other, 7) == 7
    assert stash.setdefault(other, 5) == 5
    assert count in stash and len(stash) == 2
    del stash[count]
    with pytest.raises(KeyError):
        stash[count]


def test_redeclaring_an_option_adds_commands() -> None:
    parser = OptionParser()
    first = parser.addoption("--json", action="store_true", commands=("list",))
    again = parser.addoption("--json", action="store_true", commands=("toolchain", "list"))
    assert again is first
    assert first.commands == ("list", "toolchain")
    with pytest.raises(UsageError, match="added by two plugins"):
        parser.addoption("--json", commands=("other",))  # takes a value: a different option


def test_where_finds_keys_in_their_table(tmp_path: Path) -> None:
    """Top-level keys stop at the first table; section keys are looked for in that table, its
    sub-tables and inline tables; pyproject.toml's tables sit under [tool.lfsplug]."""
    from lfsplug.config import ConfigFile

    toml = ConfigFile(path=tmp_path / "lfsplug.toml", text=(
        'jobs = 1\norder = "sequence"\n[ordering]\norder = 3\n'
        'phases = { system = "graph", blfs = "graph" }\n'
        '[discovery.phases]\n"chapter*/**" = "cross"\n[hostreqs]\nmin_disk_gb = 5\n'))
    where = toml.where
    assert where("order") == f"{tmp_path}/lfsplug.toml:2"
    assert where("order", "ordering") == f"{tmp_path}/lfsplug.toml:4"
    assert where("blfs", "ordering") == f"{tmp_path}/lfsplug.toml:5"
    assert where("chapter*/**", "discovery") == f"{tmp_path}/lfsplug.toml:7"
    assert where("nope", "hostreqs") == f"{tmp_path}/lfsplug.toml:8"  # the table's header
    assert where("nope") == f"{tmp_path}/lfsplug.toml"
    pyproject = ConfigFile(path=tmp_path / "pyproject.toml", text=(
        "[tool.black]\norder = 1\n[tool.lfsplug]\norder = 2\n[tool.lfsplug.ordering]\norder = 3\n"))
    assert pyproject.where("order") == f"{tmp_path}/pyproject.toml:4"
    assert pyproject.where("order", "ordering") == f"{tmp_path}/pyproject.toml:6"
    assert ConfigFile().where("x", "hostreqs") == "[hostreqs] x"
