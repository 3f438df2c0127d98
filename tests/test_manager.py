"""The plugin manager: load order, blocking, local lfsconf.py files, errors that name a plugin."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import lfsplug
from lfsplug._manager import PluginManager
from lfsplug.testing import Lfsplugger

TWO = {"01-a.sh": 'echo "A=$EXTRA"', "02-b.sh": "echo b"}


def write_module(directory: Path, name: str, source: str) -> None:
    (directory / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path for plugin modules written by the test."""
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


def test_lfsconf_script_env_changes_what_a_script_sees(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    lfsplugger.make_lfsconf("""
import lfsplug

@lfsplug.hookimpl
def lfsplug_script_env(script, env):
    if script.name == "a":
        env["EXTRA"] = "from-lfsconf"
""")
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert "A=from-lfsconf" in (lfsplugger.path / ".lfsplug/logs/a.log").read_text()


def test_misspelled_hook_in_lfsconf_exit_4(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("""import lfsplug

@lfsplug.hookimpl
def lfsplug_script_evn(script, env):
    pass
""")
    result = lfsplugger.run("run")
    assert result.ret == 4
    assert result.errlines == [
        f"lfsplug: {conf}:4: unknown hook 'lfsplug_script_evn' in plugin '{conf}' "
        "(did you mean 'lfsplug_script_env'?)"
    ]
    assert not (lfsplugger.path / ".lfsplug/logs").exists()


@pytest.mark.parametrize(("hook", "record"), [
    ("lfsplug_script_output", "ScriptOutput"),
    ("lfsplug_sample", "SampleTaken"),
    ("lfsplug_alert", "AlertRaised"),
])
def test_removed_hook_in_lfsconf_names_its_replacement(
    lfsplugger: Lfsplugger, hook: str, record: str
) -> None:
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf(f"""import lfsplug

@lfsplug.hookimpl
def {hook}(session):
    pass
""")
    result = lfsplugger.run("run")
    assert result.ret == 4
    assert result.errlines == [
        f"lfsplug: {conf}:4: hook {hook!r} in plugin '{conf}' was removed: implement "
        f"lfsplug_events and handle its lfsplug.{record} records"
    ]
    assert not (lfsplugger.path / ".lfsplug/logs").exists()


def test_removed_hook_in_a_plugin_names_its_replacement(lfsplugger: Lfsplugger) -> None:
    class OldAlerts:
        @lfsplug.hookimpl
        def lfsplug_alert(self, session: object) -> None:
            pass

    lfsplugger.make_tree(TWO)
    result = lfsplugger.run("run", plugins=[OldAlerts()])
    assert result.ret == 4
    [line] = result.errlines
    assert line.startswith(f"lfsplug: {__file__}:")
    assert line.endswith(": hook 'lfsplug_alert' in plugin 'OldAlerts' was removed: implement "
                         "lfsplug_events and handle its lfsplug.AlertRaised records")


def test_lfsconf_syntax_error_names_file_and_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("import lfsplug\n\ndef broken(:\n    pass\n")
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert result.errlines[0].startswith(f"lfsplug: {conf}:3: syntax error in lfsconf.py")


def test_lfsconf_raising_at_import(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("x = 1\nraise RuntimeError('no')\n")
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: {conf}:2: lfsconf.py raised RuntimeError: no"]


def test_lfsconf_may_not_add_options(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("""import lfsplug

@lfsplug.hookimpl
def lfsplug_addoption(parser):
    parser.addoption("--mine")
""")
    result = lfsplugger.run("run")
    assert result.ret == 4
    assert result.errlines[0].startswith(
        f"lfsplug: {conf}:4: lfsplug_addoption cannot be implemented in lfsconf.py")


def test_lfsconf_unmarked_hook_is_an_error(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("def lfsplug_script_env(script, env):\n    pass\n")
    result = lfsplugger.run("run")
    assert result.ret == 4
    assert result.errlines[0] == (f"lfsplug: {conf}:1: lfsplug_script_env is not marked as a "
                                  "hook; decorate it with @lfsplug.hookimpl")


def test_lfsconf_in_subdirectory_and_above_root(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    project = tmp_path / "project"
    lfsplugger.make_tree({"project/tree/sub/01-a.sh": 'echo "A=$EXTRA $MORE"',
                          "project/lfsplug.toml": "",
                          "project/tree/sub/lfsconf.py": textwrap.dedent("""
                              import lfsplug
                              @lfsplug.hookimpl
                              def lfsplug_script_env(env):
                                  env["MORE"] = "sub"
                          """)})
    lfsplugger.make_lfsconf("""
import lfsplug
@lfsplug.hookimpl
def lfsplug_script_env(env):
    env["EXTRA"] = "root"
""", subdir="project")
    # above the project root (where lfsplug.toml is): must never be loaded
    (tmp_path / "lfsconf.py").write_text("raise SystemExit('loaded from above the root')\n")
    result = lfsplugger.run("run", "project/tree")
    assert result.ret == 0, result.errlines
    log = project / "tree/.lfsplug/logs/a.log"
    assert "A=root sub" in log.read_text()


def test_plugin_raising_in_hook_exit_3_names_plugin_hook_script(
    lfsplugger: Lfsplugger, plugin_dir: Path
) -> None:
    lfsplugger.make_tree(TWO)
    write_module(plugin_dir, "raising_plugin", """
        import lfsplug

        @lfsplug.hookimpl
        def lfsplug_script_start(script):
            if script.name == "b":
                raise ValueError("boom")
    """)
    result = lfsplugger.run("run", "-p", "raising_plugin")
    assert result.ret == 3
    assert result.errlines == [
        "lfsplug: plugin 'raising_plugin' failed in hook lfsplug_script_start while running "
        "script 'b': ValueError: boom"
    ]


def test_plugin_raising_outside_a_script(lfsplugger: Lfsplugger, plugin_dir: Path) -> None:
    lfsplugger.make_tree(TWO)
    write_module(plugin_dir, "raising_collect", """
        import lfsplug

        @lfsplug.hookimpl
        def lfsplug_collection_finish(session):
            {}["missing"]
    """)
    result = lfsplugger.run("list", "-p", "raising_collect")
    assert result.ret == 3
    assert result.errlines == ["lfsplug: plugin 'raising_collect' failed in hook "
                               "lfsplug_collection_finish: KeyError: 'missing'"]


def test_plugin_failing_to_import(lfsplugger: Lfsplugger, plugin_dir: Path) -> None:
    lfsplugger.make_tree(TWO)
    write_module(plugin_dir, "broken_import", "import lfsplug\nimport no_such_module_xyz\n")
    result = lfsplugger.run("run", "-p", "broken_import")
    assert result.ret == 3
    line = result.errlines[0]
    assert line.startswith("lfsplug: plugin 'broken_import' (-p) failed to import at ")
    assert "broken_import.py:2: ModuleNotFoundError" in line


def test_unknown_plugin_name(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    result = lfsplugger.run("run", "-p", "nosuchplugin")
    assert result.ret == 4
    assert result.errlines[0].startswith("lfsplug: unknown plugin 'nosuchplugin' (-p): no entry "
                                         "point of that name")
    assert "discovery" in result.errlines[0]


def test_lfsplug_plugins_env_and_debug_trace(
    lfsplugger: Lfsplugger, plugin_dir: Path
) -> None:
    lfsplugger.make_tree(TWO)
    write_module(plugin_dir, "env_plugin", """
        import lfsplug

        @lfsplug.hookimpl
        def lfsplug_report_header(config):
            return "env_plugin says hi"
    """)
    lfsplugger.setenv("LFSPLUG_PLUGINS", "env_plugin")
    result = lfsplugger.run("run", "--debug=debug.log")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["env_plugin says hi"])
    debug = (lfsplugger.path / "debug.log").read_text()
    assert "lfsplug_report_header" in debug
    assert "finish lfsplug_script_finish" in debug
    assert result.errlines[-1] == "lfsplug: wrote the debug log to debug.log"


def test_debug_shows_traceback_on_error(lfsplugger: Lfsplugger, plugin_dir: Path) -> None:
    lfsplugger.make_tree(TWO)
    write_module(plugin_dir, "raising_again", """
        import lfsplug

        @lfsplug.hookimpl
        def lfsplug_sessionstart(session):
            raise RuntimeError("kaboom")
    """)
    result = lfsplugger.run("list", "-p", "raising_again", "--debug=d.log")
    assert result.ret == 3
    text = "\n".join(result.errlines)
    assert "Traceback (most recent call last)" in text
    assert "lfsplug: plugin 'raising_again' failed in hook lfsplug_sessionstart" in text


def test_disable_autoload_keeps_builtins(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    lfsplugger.setenv("LFSPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.statuses() == {"a": "passed", "b": "passed"}


def test_trace_config(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("x = 1\n")
    result = lfsplugger.run("list", "--trace-config")
    assert result.ret == 0
    result.stderr.fnmatch_lines([
        "lfsplug: configuration file: none",
        "lfsplug: plugin discovery [[]builtin[]] from lfsplug *: */lfsplug_discovery/__init__.py",
        f"lfsplug: plugin {conf} [[]lfsconf[]]: {conf}",
    ])


def test_two_plugins_adding_one_option(lfsplugger: Lfsplugger, plugin_dir: Path) -> None:
    lfsplugger.make_tree(TWO)
    write_module(plugin_dir, "dup_option", """
        import lfsplug

        @lfsplug.hookimpl
        def lfsplug_addoption(parser):
            parser.addoption("--keep-going", commands=("run",))
    """)
    result = lfsplugger.run("run", "-p", "dup_option")
    assert result.ret == 4
    # named by plugin name, the name -p no: takes
    assert result.errlines == ["lfsplug: option --keep-going is added by two plugins: "
                               "dup_option and executor; block one with -p no:NAME"]
    write_module(plugin_dir, "dup_kernel", """
        import lfsplug

        @lfsplug.hookimpl
        def lfsplug_addoption(parser):
            parser.addoption("--timeout", commands=("run",))
    """)
    result = lfsplugger.run("run", "-p", "dup_kernel", "-p", "no:executor")
    assert result.errlines == ["lfsplug: option --timeout is the kernel's; plugin dup_kernel "
                               "cannot declare it again"]


def test_plugin_adds_a_command_and_an_option(lfsplugger: Lfsplugger, plugin_dir: Path) -> None:
    write_module(plugin_dir, "cmd_plugin", """
        import click
        import lfsplug

        @lfsplug.hookimpl
        def lfsplug_addoption(parser):
            parser.addoption("--greeting", commands=("hello",), default="hi")

        @lfsplug.hookimpl
        def lfsplug_addcommands(commands):
            commands.add("hello", hello, help="Say hello.")

        def hello(config):
            click.echo(config.getoption("greeting") + " from " + config.command)
            return 0
    """)
    result = lfsplugger.run("-p", "cmd_plugin", "hello", "--greeting", "howdy")
    assert (result.ret, result.outlines) == (0, ["howdy from hello"])
    lfsplugger.make_config('greeting = "from the file"\n')
    assert lfsplugger.run("-p", "cmd_plugin", "hello").outlines == ["from the file from hello"]


def test_plugin_hooks_of_its_own(lfsplugger: Lfsplugger, plugin_dir: Path) -> None:
    """lfsplug_addhooks lets a plugin publish hooks that other plugins implement."""
    lfsplugger.make_tree(TWO)
    write_module(plugin_dir, "own_hooks_specs", """
        import lfsplug

        @lfsplug.hookspec(firstresult=True)
        def lfsplug_custom_greeting(name):
            "A greeting for a script."
    """)
    write_module(plugin_dir, "own_hooks", """
        import lfsplug
        import own_hooks_specs

        @lfsplug.hookimpl
        def lfsplug_addhooks(pluginmanager):
            pluginmanager.add_hookspecs(own_hooks_specs)

        @lfsplug.hookimpl
        def lfsplug_script_start(session, script):
            print(session.hook.lfsplug_custom_greeting(name=script.name))
    """)
    lfsplugger.make_lfsconf("""
import lfsplug

@lfsplug.hookimpl
def lfsplug_custom_greeting(name):
    return "greetings, " + name
""")
    result = lfsplugger.run("run", "-p", "own_hooks")
    assert result.ret == 0, result.errlines
    result.stdout.fnmatch_lines(["greetings, a", "greetings, b"])


def test_plugin_registered_is_historic(lfsplugger: Lfsplugger) -> None:
    seen: list[str] = []

    class Late:
        @lfsplug.hookimpl
        def lfsplug_plugin_registered(self, plugin_name: str) -> None:
            seen.append(plugin_name)

    lfsplugger.make_tree(TWO)
    assert lfsplugger.run("list", plugins=[Late()]).ret == 0
    assert {"main", "discovery", "executor"} <= set(seen)


def test_entry_points_are_enumerated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    calls = []
    real = importlib.metadata.entry_points

    def counting(**kwargs: str) -> importlib.metadata.EntryPoints:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    pm = PluginManager()
    pm.load_plugins(["no:terminal", "executor"])
    pm.entry_points()
    assert calls == [{"group": "lfsplug"}]
    assert pm.has_plugin("discovery")
    assert not pm.has_plugin("terminal")


def test_entry_points_from_a_folder_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distribution installed beside the others (its metadata folder on sys.path) is found
    by name, with its distribution's name and version for ``lfsplug plugins``."""
    site = tmp_path / "site"
    info = site / "Lfsplug_Extra-2.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lfsplug-extra\nVersion: 9\n\n")
    (info / "entry_points.txt").write_text("[lfsplug]\nextra = extra_mod:Plugin\n")
    (site / "extra_mod.py").write_text("class Plugin:\n    def lfsplug_configure(self):\n"
                                       "        pass\n")
    monkeypatch.syspath_prepend(str(site))
    pm = PluginManager()
    found = pm.entry_points()["extra"]
    assert [(ep.value, ep.dist.name if ep.dist else None) for ep in found] == [
        ("extra_mod:Plugin", "lfsplug-extra")]
    pm.load_plugins(["no:terminal"])
    origin = pm.origins["extra"]
    assert (origin.how, origin.distribution, origin.version) == ("entrypoint", "lfsplug-extra",
                                                                 "9")


def test_hookspec_is_a_marker_and_the_specs_a_private_module() -> None:
    """``lfsplug.hookspec`` is pluggy's marker itself, not a module made callable; importing
    the specification module does not rebind it."""
    import pluggy

    from lfsplug import _hookspec

    assert isinstance(lfsplug.hookspec, pluggy.HookspecMarker)
    assert lfsplug._hookspec is _hookspec is sys.modules["lfsplug._hookspec"]
    assert "lfsplug_run_script" in PluginManager().hook_names()

    @lfsplug.hookspec(firstresult=True)
    def lfsplug_example(x: int) -> int:
        return x

    assert lfsplug_example.lfsplug_spec["firstresult"] is True  # type: ignore[attr-defined]


def test_world_writable_lfsconf_is_refused(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("raise SystemExit('must not run')\n")
    conf.chmod(0o666)
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: {conf}: refusing to load lfsconf.py: it is "
                               "world-writable (chmod o-w)"]
    conf.chmod(0o644)
    sub = lfsplugger.path / "open"
    sub.mkdir()
    sub.chmod(0o777)  # world-writable without the sticky bit, as /tmp is not
    (sub / "01-x.sh").write_text("echo x\n")
    inner = lfsplugger.make_lfsconf("x = 1\n", subdir="open")
    result = lfsplugger.run("list", "open")
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: {inner}: refusing to load lfsconf.py: its folder "
                               f"{sub} is world-writable (chmod o-w)"]


def test_world_writable_lfsconf_with_the_sticky_bit_is_refused(lfsplugger: Lfsplugger) -> None:
    """The sticky bit protects a folder's files from each other's owners, not a file from
    being written: a world-writable lfsconf.py is refused with or without it."""
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("raise SystemExit('must not run')\n")
    conf.chmod(0o1666)
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: {conf}: refusing to load lfsconf.py: it is "
                               "world-writable (chmod o-w)"]


def test_lfsconf_of_another_owner_is_refused(lfsplugger: Lfsplugger) -> None:
    import os

    if os.getuid() != 0:
        pytest.skip("changing a file's owner needs root")
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("x = 1\n")
    os.chown(conf, 4321, 4321)
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert "owned by uid 4321, neither you (uid 0) nor root" in result.errlines[0]


def test_lfsconf_reached_through_a_symlink_into_an_open_folder_is_refused(
    lfsplugger: Lfsplugger, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The file a link points to sits in a folder anyone may write (issue 12): checked on its
    real path as well as on the path given, as SEC002 checks a script."""
    lfsplugger.make_tree(TWO)
    open_dir = tmp_path_factory.mktemp("open")
    open_dir.chmod(0o777)
    target = open_dir / "evil.py"
    target.write_text("raise SystemExit('must not run')\n")
    conf = lfsplugger.path / "lfsconf.py"
    conf.symlink_to(target)
    result = lfsplugger.run("list")
    assert (result.ret, result.errlines) == (4, [
        f"lfsplug: {conf}: refusing to load lfsconf.py: its folder {open_dir} is "
        "world-writable (chmod o-w)"])
    conf.unlink()
    inner = open_dir / "inner"  # a folder of its own, inside the open one, reached by a link
    inner.mkdir()
    (inner / "01-x.sh").write_text("echo x\n")
    (inner / "lfsconf.py").write_text("x = 1\n")
    (lfsplugger.path / "scripts").symlink_to(inner)
    result = lfsplugger.run("list", "scripts")
    assert (result.ret, result.errlines) == (4, [
        f"lfsplug: {lfsplugger.path / 'scripts' / 'lfsconf.py'}: refusing to load lfsconf.py: "
        f"its folder {open_dir} is world-writable (chmod o-w)"])
    open_dir.chmod(0o755)
    assert lfsplugger.run("list", "scripts").ret == 0


def test_lfsconf_writable_by_another_group_is_refused(lfsplugger: Lfsplugger) -> None:
    import os

    if os.getuid() != 0:
        pytest.skip("changing a file's group needs root")
    lfsplugger.make_tree(TWO)
    conf = lfsplugger.make_lfsconf("x = 1\n")
    os.chown(conf, 0, 4321)
    conf.chmod(0o664)
    result = lfsplugger.run("list")
    assert (result.ret, result.errlines) == (4, [
        f"lfsplug: {conf}: refusing to load lfsconf.py: it is writable by gid 4321, neither "
        "your group nor root's (chmod g-w)"])
    conf.chmod(0o644)
    sub = lfsplugger.path / "team"
    sub.mkdir()
    (sub / "01-x.sh").write_text("echo x\n")
    inner = lfsplugger.make_lfsconf("x = 1\n", subdir="team")
    os.chown(sub, 0, 4321)
    sub.chmod(0o775)
    result = lfsplugger.run("list", "team")
    assert (result.ret, result.errlines) == (4, [
        f"lfsplug: {inner}: refusing to load lfsconf.py: its folder {sub} is writable by gid "
        "4321, neither your group nor root's (chmod g-w)"])
    os.chown(sub, 0, os.getgid())  # the user's own group
    assert lfsplugger.run("list", "team").ret == 0


def test_plugin_command_with_a_positional_argument(
    lfsplugger: Lfsplugger, plugin_dir: Path
) -> None:
    write_module(plugin_dir, "arg_plugin", """
        import click
        import lfsplug

        @lfsplug.hookimpl
        def lfsplug_addcommands(commands):
            commands.add("show", show, help="Show one.", arguments=("name",))

        def show(config):
            click.echo("showing " + config.arguments["name"])
            return 0
    """)
    result = lfsplugger.run("-p", "arg_plugin", "show", "glibc")
    assert (result.ret, result.outlines) == (0, ["showing glibc"])
    missing = lfsplugger.run("-p", "arg_plugin", "show")
    assert missing.ret == 4
    assert "Missing argument 'NAME'" in missing.errlines[0]


def test_debug_log_stays_valid_utf8_with_the_event_thread(lfsplugger: Lfsplugger) -> None:
    """The bus thread and the main thread both trace hook calls into one file."""
    files = {f"{i:02d}-s{i}.sh": "printf 'ünïcødé → %s\\n' $(seq 1 200)" for i in range(1, 9)}
    lfsplugger.make_tree(files)
    result = lfsplugger.run("run", "--debug=d.log", "-p", "no:terminal")
    assert result.ret == 0
    text = (lfsplugger.path / "d.log").read_bytes().decode("utf-8")  # raises if torn
    # the output on the bus's thread, each result (with its tail) on the scheduler's
    assert "lfsplug_events" in text and "lfsplug_script_finish" in text


def test_unregister_and_close_closes_what_it_unregisters() -> None:
    closed: list[str] = []

    class Holder:
        def close(self) -> None:
            closed.append("holder")

    pm = PluginManager()
    holder = Holder()
    pm.register(holder, "holder")
    pm.register(object(), "plain")  # nothing to close
    assert pm.unregister_and_close("holder") is holder
    assert closed == ["holder"] and not pm.has_plugin("holder")
    assert pm.unregister_and_close("plain") is not None and not pm.has_plugin("plain")
    assert pm.unregister_and_close("missing") is None
