"""Settings (declared, converted, checked, offered as options), configuration files and the
typed stash."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Any

import click
import pytest

import lfsplug
from lfsplug import (
    EntryError,
    Kind,
    SettingsTable,
    choice,
    integer,
    list_of,
    number,
    seconds,
    size,
    string,
    table_of,
)
from lfsplug._config import (
    ConfigFile,
    OptionParser,
    Stash,
    StashKey,
    find_config_file,
    load_config_file,
    resolve,
)
from lfsplug._kinds import kind_of
from lfsplug._manager import PluginManager
from lfsplug._model import UsageError
from lfsplug.testing import Lfsplugger


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
    from lfsplug._config import ConfigFile

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


# -- kinds: how values are read ---------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_kinds_convert_file_values_and_command_line_words() -> None:
    assert kind_of(bool).parse(True) is True
    assert kind_of(int).parse(4) == 4 and kind_of(int).word("4") == 4
    assert kind_of(float).parse(2) == 2.0
    assert kind_of(str).parse("x") == "x"
    assert kind_of(Path).parse("~/a") == Path("~/a").expanduser()
    assert kind_of(Colour).parse("blue") is Colour.BLUE
    assert kind_of(list[int]).parse([1, 2]) == [1, 2]
    assert kind_of(dict[str, int]).parse({"a": 1}) == {"a": 1}
    assert integer(1).word("3") == 3
    assert number(0, 1).parse(0.5) == 0.5
    assert seconds().parse("1h30m") == 5400.0 and seconds().word("90s") == 90.0
    assert seconds().parse(" 2d ") == 172800.0 and seconds().parse(1.5) == 1.5
    assert size().parse("512M") == 512 << 20 and size().parse(1024) == 1024
    assert choice("a", "b").parse("b") == "b"
    assert list_of(str, single=True).parse("one") == ["one"]
    assert table_of(integer(0), key=str.upper).parse({"a": 1}) == {"A": 1}


@pytest.mark.parametrize(("kind", "raw", "message"), [
    (kind_of(bool), "yes", "expected true or false, got 'yes'"),
    (integer(1), 0, "expected a whole number from 1 up, got 0"),
    (integer(0, note="0: no limit"), 2.5, "expected a whole number from 0 up (0: no limit), "
                                          "got 2.5"),
    (number(above=0), 0, "expected a number above 0, got 0"),
    (seconds(0.1, 60), 100, "expected a number of seconds from 0.1 to 60, got 100"),
    (seconds(positive=True), "soon", "'soon' is not a positive number of seconds"),
    (seconds(), "1h x", "expected a number of seconds from 0 up, got '1h x'"),
    (size(), "lots", "'lots' is not a size"),
    (choice("a", "b"), "c", "'c' is not one of a, b"),
    (string(empty=False), " ", "expected a non-empty string, got ' '"),
    (kind_of(str), ["a", "b"], "expected a single value, not list ['a', 'b']"),
    (list_of(int), [1, "x"], "item 2: expected a whole number, got 'x'"),
    (list_of(str), "x", "expected a list of strings, got 'x'"),
    (kind_of(Colour), "green", "'green' is not one of red, blue"),
])
def test_kinds_say_what_they_expected(kind: Kind[Any], raw: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        kind.parse(raw)


def test_a_bad_table_entry_names_the_entry() -> None:
    with pytest.raises(EntryError) as info:
        table_of(choice("x")).parse({"ok": "x", "bad": "y"})
    assert info.value.entry == "bad"


# -- the parser: declarations, their plugins, offers ----------------------------------------------


PROBE = SettingsTable("probe")
COUNT = PROBE.add("count", integer(0), 3, "how many", option=("--count",),
                  commands=("run", "probe"))
NAMES = PROBE.add("names", list_of(str), [], "names")
RULES = PROBE.add("rules", table_of(choice("on", "off")), {}, "a table")
WHERE = PROBE.add("where", Path, None, "a path")
DELAY = PROBE.add("delay", seconds(), 1.0, "a duration")
TOP = SettingsTable()
LEVEL = TOP.add("level", choice("low", "high"), "low", "a top-level key",
                option=("--level",), commands=("run", "list"))


def parser_with_probe() -> OptionParser:
    parser = OptionParser()
    parser.bound("probe").add(PROBE, TOP)
    return parser


def test_declarations_are_recorded_with_their_plugin() -> None:
    parser = parser_with_probe()
    assert parser.tables["probe"]["count"].plugin == "probe"
    assert parser.options["count"].setting is COUNT  # an option of a table key: by its flag
    assert parser.keys["level"].setting is LEVEL
    assert [o.dest for o in parser.for_command("list")] == ["level"]
    with pytest.raises(UsageError, match=r"option --count is added by two plugins: other and "
                                         r"probe"):
        parser.bound("other").add(PROBE)
    with pytest.raises(UsageError, match=r"setting \[probe\] names is added by two plugins: "
                                         r"other and probe"):
        parser.bound("other").add(NAMES)
    with pytest.raises(UsageError, match="option --level is added by two plugins: other and "
                                         "probe; block one with -p no:NAME"):
        parser.bound("other").addoption("--level")


def test_offers_extend_an_option_to_more_commands() -> None:
    parser = parser_with_probe()
    parser.bound("late").offer("count", ("graph",))
    assert "graph" not in parser.options["count"].commands  # applied once all have declared
    parser.finish()
    assert parser.options["count"].commands == ("run", "probe", "graph")
    parser.bound("late").offer("nothing", ("run",))
    with pytest.raises(UsageError, match="plugin late offers option 'nothing' on run, but no "
                                         "plugin declares it"):
        parser.finish()


def test_the_manager_binds_the_parser_to_each_plugin_even_a_late_one() -> None:
    class Early:
        @lfsplug.hookimpl
        def lfsplug_addoption(self, parser: OptionParser) -> None:
            parser.add(TOP)

    class Late:
        @lfsplug.hookimpl
        def lfsplug_addoption(self, parser: OptionParser) -> None:
            parser.add(PROBE)

    pm = PluginManager()
    pm.register(Early(), "early")
    parser = OptionParser()
    pm.call_addoption(parser)
    assert parser.keys["level"].plugin == "early" and "probe" not in parser.tables
    pm.register(Late(), "late")  # historic: declared as it registers
    assert parser.tables["probe"]["count"].plugin == "late"


# -- the file: values converted once, mistakes at their line ------------------------------------


def probe_file(tmp_path: Path, text: str) -> ConfigFile:
    path = tmp_path / "lfsplug.toml"
    path.write_text(text)
    return load_config_file(path)


def test_file_values_are_converted_and_paths_anchored(tmp_path: Path) -> None:
    file = probe_file(tmp_path, 'level = "high"\n[probe]\ncount = 7\nnames = ["a"]\n'
                                'where = "sub/x"\ndelay = "2m"\n[probe.rules]\none = "on"\n')
    parser = parser_with_probe()
    values = resolve(parser, file, {}, Path("/elsewhere"))
    assert values.values[COUNT] == 7 and values.values[LEVEL] == "high"
    assert values.values[RULES] == {"one": "on"} and values.values[DELAY] == 120.0
    assert values.values[WHERE] == tmp_path / "sub" / "x"  # from the file's directory
    assert values.sources[COUNT] == "file" and values.sources[NAMES] == "file"
    given = resolve(parser, file, {"count": 9, "level": "low"}, Path("/elsewhere"))
    assert (given.values[COUNT], given.sources[COUNT]) == (9, "command line")
    empty = resolve(parser, ConfigFile(), {}, tmp_path)
    assert (empty.values[COUNT], empty.sources[COUNT], empty.values[WHERE]) == (3, "default", None)


@pytest.mark.parametrize(("text", "line", "message"), [
    ('level = "middling"\n', 1, "level: 'middling' is not one of low, high"),
    ("[probe]\n\ncount = -1\n", 3, "[probe] count: expected a whole number from 0 up, got -1"),
    ('[probe]\nnames = "a"\n', 2, "[probe] names: expected a list of strings, got 'a'"),
    ('[probe]\ncount = 1\n[probe.rules]\na = "on"\nb = "maybe"\n', 5,
     "[probe.rules] b: 'maybe' is not one of on, off"),
    ('[probe]\nrules = { a = "on", b = "maybe" }\n', 2,
     "[probe.rules] b: 'maybe' is not one of on, off"),
    ('[tool.black]\nx = 1\n[tool.lfsplug.probe]\ndelay = "soon"\n', 4,
     "[probe] delay: expected a number of seconds from 0 up, got 'soon'"),
])
def test_a_bad_value_names_its_file_and_line(tmp_path: Path, text: str, line: int,
                                             message: str) -> None:
    name = "pyproject.toml" if "tool.lfsplug" in text else "lfsplug.toml"
    (tmp_path / name).write_text(text)
    file = load_config_file(tmp_path / name)
    with pytest.raises(UsageError) as info:
        resolve(parser_with_probe(), file, {}, tmp_path)
    assert str(info.value) == f"{tmp_path / name}:{line}: {message}"


def test_unknown_keys_and_tables_name_their_line(tmp_path: Path) -> None:
    from lfsplug._config import check_file

    parser = parser_with_probe()
    file = probe_file(tmp_path, "[probe]\ncount = 1\ncuont = 2\n")
    with pytest.raises(UsageError, match=rf"^{tmp_path}/lfsplug.toml:3: \[probe\] unknown key "
                                         r"'cuont' \(did you mean count\?; known: count, "
                                         r"delay, names, rules, where\)$"):
        check_file(parser, file, [])
    file = probe_file(tmp_path, "level = 'low'\n\n[porbe]\ncount = 1\n")
    with pytest.raises(UsageError, match=rf"^{tmp_path}/lfsplug.toml:3: unknown table \[porbe\] "
                                         r"\(did you mean probe\?\) \(no plugin declares it; "
                                         r"tables: probe\)$"):
        check_file(parser, file, [])
    # the table of a blocked plugin: its plugin is not there to read it, so it is said and left
    warnings = check_file(parser, probe_file(tmp_path, "[monitor]\ndisk = []\n"), ["monitor"])
    assert warnings == [f"{tmp_path}/lfsplug.toml:1: [monitor] ignored: plugin monitor is "
                        f"blocked (-p no:monitor)"]


def test_reading_a_setting_nobody_declared_says_so(lfsplugger: Lfsplugger) -> None:
    class Reader:
        @lfsplug.hookimpl
        def lfsplug_configure(self, config: lfsplug.Config) -> None:
            config.get(COUNT)

    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("list", plugins=[Reader()])
    assert result.ret == 3
    assert result.errlines == ["lfsplug: plugin 'Reader' failed in hook lfsplug_configure: "
                               "LookupError: setting [probe] count is not declared: add it in "
                               "lfsplug_addoption with parser.add()"]


# -- end to end: the command line, LFSPLUG_ADDOPTS, exit 4 ----------------------------------------


class Probe:
    """Declares [probe] and --level, and a `probe` command that prints the values it reads."""

    @lfsplug.hookimpl
    def lfsplug_addoption(self, parser: OptionParser) -> None:
        parser.add(PROBE, TOP)
        parser.offer("lfs", ("probe",))

    @lfsplug.hookimpl
    def lfsplug_addcommands(self, commands: lfsplug.CommandSet) -> None:
        commands.add("probe", self.probe, "Print the probe's settings.")

    def probe(self, config: lfsplug.Config) -> int:
        values = {"count": config.get(COUNT), "level": config.get(LEVEL), "lfs": config.lfs,
                  "delay": config.get(DELAY), "source": config.source(COUNT),
                  "where": str(config.get(WHERE))}
        click.echo(json.dumps(values))
        return 0


def probe(lfsplugger: Lfsplugger, *args: str) -> dict[str, Any]:
    result = lfsplugger.run("probe", *args, plugins=[Probe()])
    assert result.ret == 0, result.errlines
    values: dict[str, Any] = json.loads(result.outlines[0])
    return values


def test_precedence_command_line_then_addopts_then_file_then_default(
    lfsplugger: Lfsplugger,
) -> None:
    assert probe(lfsplugger)["count"] == 3
    lfsplugger.make_config("[probe]\ncount = 5\n")
    assert probe(lfsplugger)["source"] == "file"
    lfsplugger.setenv("LFSPLUG_ADDOPTS", "--count 6 --lfs /mnt/other")
    assert (probe(lfsplugger)["count"], probe(lfsplugger)["lfs"]) == (6, "/mnt/other")
    values = probe(lfsplugger, "--count", "7")
    assert (values["count"], values["source"]) == (7, "command line")


def test_options_are_offered_on_the_commands_named(lfsplugger: Lfsplugger) -> None:
    shown = "\n".join(lfsplugger.run("probe", "--help", plugins=[Probe()]).outlines)
    assert "--count N" in shown and "[default: 3]" in shown and "--lfs DIR" in shown
    assert "--level" not in shown  # declared for run and list only
    listed = "\n".join(lfsplugger.run("list", "--help", plugins=[Probe()]).outlines)
    assert "--level [low|high]" in listed and "--count" not in listed
    bad = lfsplugger.run("probe", "--count", "-2", plugins=[Probe()])
    assert bad.ret == 4
    assert bad.errlines == ["lfsplug: error: Invalid value for '--count': expected a whole "
                            "number from 0 up, got '-2'"]


@pytest.mark.parametrize(("toml", "line", "says"), [
    ("[probe]\ncount = 'many'\n", 2, "[probe] count: expected a whole number from 0 up"),
    ("[probe]\ncounts = 1\n", 2, "[probe] unknown key 'counts' (did you mean count?"),
    ("\n[prob]\ncount = 1\n", 2, "unknown table [prob] (did you mean probe?)"),
    ("jobs = 0\n", 1, "jobs: expected a whole number from 1 up, got 0"),
])
def test_a_mistake_in_any_table_is_exit_4_at_its_line(lfsplugger: Lfsplugger, toml: str,
                                                     line: int, says: str) -> None:
    config = lfsplugger.make_config(toml)
    for command in ("probe", "list"):
        result = lfsplugger.run(command, plugins=[Probe()])
        assert result.ret == 4
        [message] = result.errlines
        assert message.startswith(f"lfsplug: {config}:{line}: {says}"), message


def test_a_blocked_plugins_table_is_said_and_ignored(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    config = lfsplugger.make_config('[monitor]\ndisk = ["nonsense"]\n')
    assert lfsplugger.run("list").ret == 4  # the monitor reads it, and it is wrong
    result = lfsplugger.run("list", "-p", "no:monitor")
    assert result.ret == 0
    assert result.errlines == [f"lfsplug: warning: {config}:1: [monitor] ignored: plugin "
                               f"monitor is blocked (-p no:monitor)"]


def test_every_shipped_setting_is_declared_once_with_help() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from settingsdoc import builtin_settings

    parser = builtin_settings()
    assert {"lfs", "jobs", "timeout", "silence_timeout", "state_dir"} <= set(parser.keys)
    assert {o.owner for o in parser.keys.values() if o.key in ("lfs", "jobs", "timeout")} == {
        "kernel"}
    assert set(parser.tables) >= {"chroot", "discovery", "hostreqs", "monitor", "ordering",
                                  "reports", "state"}
    assert all(o.setting.help for o in parser.declared)
    assert set(parser.options["lfs"].commands) == {"run", "check", "list", "host", "sources",
                                                   "toolchain"}


def test_an_option_name_is_one_setting_only() -> None:
    """``config.getoption("level")`` must mean one thing: a table key's option may not take
    the name of a top-level key, and no plugin declares the file's own tables."""
    parser = parser_with_probe()
    clash = SettingsTable("other")
    clash.add("depth", integer(), 1, "a depth", option=("--level",), commands=("run",))
    with pytest.raises(UsageError, match="option --level is added by two plugins"):
        parser.bound("other").add(clash)
    renamed = SettingsTable("other")
    renamed.add("depth", integer(), 1, "a depth", option=("--level-of",), commands=("run",))
    parser.bound("other").add(renamed)
    shadow = SettingsTable()
    shadow.add("level_of", integer(), 1, "shadows --level-of")
    with pytest.raises(UsageError, match="option key 'level_of' is already taken by plugin "
                                         "other"):
        parser.bound("third").add(shadow)
    env = SettingsTable("env")
    env.add("x", str, "", "a variable")
    with pytest.raises(UsageError, match=r"\[env\] is the file's own table"):
        parser.bound("third").add(env)


# -- trust: a configuration file others could change is refused (issue 12) ----------------------


def test_a_world_writable_config_file_is_refused_before_its_env_runs(
    lfsplugger: Lfsplugger, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Its ``[env] BASH_ENV`` ran the file it names in every script, as root."""
    marker = lfsplugger.path / "ran"
    sourced = tmp_path_factory.mktemp("elsewhere") / "x.sh"
    sourced.write_text(f"touch {marker}\n")
    lfsplugger.make_tree({"01-a.sh": "#!/bin/bash\necho a\n"})
    toml = lfsplugger.make_config(f'disable = ["SEC004"]\n[env]\nBASH_ENV = "{sourced}"\n')
    toml.chmod(0o666)
    result = lfsplugger.run("run", "--shellcheck", "off", "--host-check", "off")
    assert (result.ret, result.outlines) == (4, [])
    assert result.errlines == [f"lfsplug: {toml}: refusing to load lfsplug.toml: it is "
                               "world-writable (chmod o-w)"]
    assert not marker.exists()
    toml.chmod(0o644)  # the user's own file, SEC004 silenced on purpose: it runs
    assert lfsplugger.run("run", "--shellcheck", "off", "--host-check", "off").ret == 0
    assert marker.exists()


def test_pyproject_with_tool_lfsplug_gets_the_same_checks(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a\n"})
    pyproject = lfsplugger.path / "pyproject.toml"
    pyproject.write_text("[tool.lfsplug]\njobs = 2\n")
    pyproject.chmod(0o666)
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: {pyproject}: refusing to load pyproject.toml: it is "
                               "world-writable (chmod o-w)"]
    pyproject.write_text("[tool.black]\nline-length = 99\n")  # not lfsplug's: not read at all
    assert lfsplugger.run("list").ret == 0


def test_a_config_file_in_an_open_folder_or_of_another_owner_is_refused(
    lfsplugger: Lfsplugger,
) -> None:
    import os

    shared = lfsplugger.path / "shared"
    shared.mkdir()
    (shared / "01-a.sh").write_text("echo a\n")
    toml = shared / "lfsplug.toml"
    toml.write_text("jobs = 2\n")
    shared.chmod(0o777)  # anyone may replace the file
    result = lfsplugger.run("list", "shared")
    assert (result.ret, result.errlines) == (4, [
        f"lfsplug: {toml}: refusing to load lfsplug.toml: its folder {shared} is "
        "world-writable (chmod o-w)"])
    shared.chmod(0o1777)  # as /tmp: nobody replaces another's file
    assert lfsplugger.run("list", "shared").ret == 0
    if os.getuid() != 0:
        pytest.skip("changing a file's owner and group needs root")
    os.chown(toml, 4321, -1)
    result = lfsplugger.run("list", "shared")
    assert (result.ret, result.errlines) == (4, [
        f"lfsplug: {toml}: refusing to load lfsplug.toml: it is owned by uid 4321, neither "
        f"you (uid {os.getuid()}) nor root"])
    os.chown(toml, 0, 4321)
    toml.chmod(0o664)  # writable by a group that is neither the user's nor root's
    result = lfsplugger.run("list", "shared")
    assert (result.ret, result.errlines) == (4, [
        f"lfsplug: {toml}: refusing to load lfsplug.toml: it is writable by gid 4321, neither "
        "your group nor root's (chmod g-w)"])
    os.chown(toml, 0, os.getgid())  # the user's own group may write it
    assert lfsplugger.run("list", "shared").ret == 0


def test_a_config_file_given_with_c_is_checked_too(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a\n"})
    other = lfsplugger.path / "other.toml"
    other.write_text("jobs = 2\n")
    other.chmod(0o646)
    result = lfsplugger.run("-c", other, "list")
    assert (result.ret, result.errlines) == (4, [
        f"lfsplug: {other}: refusing to load other.toml: it is world-writable (chmod o-w)"])


@pytest.mark.parametrize("name, text, line", [
    ("lfsplug.toml", 'jobs = "many"\n', 1),
    ("pyproject.toml", '[tool.black]\nline-length = 99\n\n[tool.lfsplug]\njobs = "many"\n', 5),
    ("pyproject.toml", '[tool.lfsplug.ordering]\nbook_deps = "perhaps"\n', 2),
])
def test_a_bad_value_of_the_file_is_an_error_even_when_the_command_line_overrides_it(
    lfsplugger: Lfsplugger, name: str, text: str, line: int,
) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a\n"})
    config = lfsplugger.path / name
    config.write_text(text)
    command = ("run", "--dry-run", "--shellcheck", "off")
    expected = lfsplugger.run(*command)  # the file's error as it stands, without an override
    assert expected.ret == 4 and expected.errlines[0].startswith(f"lfsplug: {config}:{line}: ")
    override = ("-j", "2") if "jobs" in text else ("--book-deps", "off")
    overridden = lfsplugger.run(*command, *override)
    assert (overridden.ret, overridden.errlines) == (4, expected.errlines)
    lfsplugger.setenv("LFSPLUG_ADDOPTS", " ".join(override))
    assert lfsplugger.run(*command).errlines == expected.errlines
