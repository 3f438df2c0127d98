"""The ``lfsplug`` command: a click group built after the plugins are loaded.

Global options (``-p``, ``-c``, ``--debug``, ``--trace-config``) are read before anything else,
wherever they stand, because plugins decide which commands and options exist. Each subcommand is
a thin shell: it builds the :class:`~lfsplug._config.Config`, loads local ``lfsconf.py`` files,
checks every hook implementation, configures the plugins and calls the command.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click
from click.core import ParameterSource
from pluggy import HookImpl

from lfsplug import __version__
from lfsplug._config import (
    Command,
    CommandSet,
    Config,
    ConfigFile,
    Option,
    OptionParser,
    addopts_from_env,
    check_file,
    collect_settings,
    find_config_file,
    load_config_file,
    resolve,
)
from lfsplug._invocation import (
    Build,
    GroupedCommand,
    click_option,
    completions,
    find_build,
    grouped,
    index_path,
    typed_paths,
)
from lfsplug._manager import PluginManager
from lfsplug._model import ExitCode, LfsplugError, UsageError

if TYPE_CHECKING:
    from lfsplug._session import Session

__all__ = ["main"]


DEFAULT_DEBUG_FILE = "lfsplug-debug.log"


@dataclass
class Preparsed:
    """The global options, read before the plugins load; ``rest`` is what click parses."""

    plugins: list[str] = field(default_factory=list)
    debug: str | None = None
    trace_config: bool = False
    config_file: Path | None = None
    #: the configuration file is known for sure (given with -c, or found from the real PATH)
    config_fixed: bool = False
    rest: list[str] = field(default_factory=list)
    addopts: list[str] = field(default_factory=list)
    #: the whole command line as given, and the plugin objects ``main()`` was given: what a
    #: plugin needs to run the command again (one run per target)
    argv: list[str] = field(default_factory=list)
    objects: tuple[object, ...] = ()

    def merge_addopts(self, env: Preparsed) -> None:
        """Take the global options of ``LFSPLUG_ADDOPTS``; the command line's come later and
        win (``-c``), or add to them (``-p``)."""
        self.plugins[:0] = env.plugins
        self.debug = self.debug or env.debug
        self.trace_config = self.trace_config or env.trace_config
        if self.config_file is None and env.config_file is not None:
            self.config_file, self.config_fixed = env.config_file, True
        self.addopts = env.rest


class _ConfigMoved(Exception):  # noqa: N818 - a signal to start again, not an error
    """The configuration file of the real first PATH is not the one guessed before parsing."""

    def __init__(self, path: Path | None) -> None:
        super().__init__(str(path))
        self.path = path


def preparse(argv: Sequence[str]) -> Preparsed:
    """Take the global options out of ``argv``, wherever they stand (up to ``--``)."""
    pre = Preparsed()
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            pre.rest.extend(args[i:])
            break
        if arg in ("-p", "-c", "--config"):
            if i + 1 >= len(args):
                raise UsageError(f"option {arg} needs a value")
            _take(pre, arg, args[i + 1])
            i += 2
            continue
        if arg.startswith("-p") and len(arg) > 2:
            _take(pre, "-p", arg[2:])
        elif arg.startswith("--config="):
            _take(pre, "-c", arg.split("=", 1)[1])
        elif arg == "--debug" or arg.startswith("--debug="):
            pre.debug = arg.split("=", 1)[1] if "=" in arg else DEFAULT_DEBUG_FILE
        elif arg == "--trace-config":
            pre.trace_config = True
        else:
            pre.rest.append(arg)
        i += 1
    return pre


def _take(pre: Preparsed, flag: str, value: str) -> None:
    if flag == "-p":
        pre.plugins.append(value)
    else:
        pre.config_file = Path(value).absolute()
        pre.config_fixed = True
        if not pre.config_file.is_file():
            raise UsageError(f"-c {value}: configuration file not found")


def _config_candidates(rest: Sequence[str]) -> list[Path]:
    """A first guess, before the options are known, of where lfsplug.toml is: from the first
    argument after the command that names an existing path. The command checks the guess
    against its real first PATH and starts again if it was wrong (an option's value, say)."""
    words = [a for a in rest if not a.startswith("-")][1:]
    first = next((w for w in words if os.path.exists(w)), None)
    return _candidates_for(Path(first) if first else None)


def _candidates_for(path: Path | None) -> list[Path]:
    """The directory of ``path`` (else the current directory) and every directory above it,
    as pytest finds its rootdir."""
    start = Path.cwd() if path is None else path.absolute()
    if not start.is_dir():
        start = start.parent
    return [start, *start.parents]


# One return per documented exit path reads better than a table of exception types.
def main(  # noqa: PLR0911
    args: Sequence[str] | None = None, plugins: Sequence[object] = (), *,
    freeze_startup: bool = False,
) -> int:
    """Run the ``lfsplug`` command line; return the exit code.

    :param args: the arguments (default: ``sys.argv[1:]``).
    :param plugins: plugin objects to register in addition (tests, embedding).
    :param freeze_startup: once the plugins are loaded, move every object made so far out of
        the cyclic garbage collector's sight (``gc.freeze()``) and turn it on: for the console
        script, which turns it off at start; not for a caller whose objects would stay frozen.
    """
    argv = list(sys.argv[1:] if args is None else args)
    pm: PluginManager | None = None  # the one in use, to name the plugin an error came from
    pre = Preparsed()
    debug_stream: TextIO | None = None
    try:
        pre = preparse(argv)
        pre.argv, pre.objects = list(argv), tuple(plugins)
        pre.merge_addopts(preparse(addopts_from_env()))
        if pre.debug:
            from lfsplug._reporting import open_debug_log  # 0600, secrets redacted

            debug_stream = open_debug_log(pre.debug)  # closed below
        while True:
            try:
                pm = PluginManager()
                return _main(pm, pre, plugins, debug_stream, freeze_startup)
            except _ConfigMoved as moved:  # guessed wrong before parsing: once more, sure
                pre.config_file, pre.config_fixed = moved.path, True
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message())
        return ExitCode.USAGE_ERROR
    except click.ClickException as exc:
        return _fail(f"error: {exc.format_message()}", ExitCode.USAGE_ERROR, exc, pre)
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        return _fail("interrupted", ExitCode.INTERRUPTED, exc, pre)
    except LfsplugError as exc:
        return _fail(str(exc), exc.exit_code, exc, pre)
    except (Exception, SystemExit) as exc:  # a plugin's sys.exit() is a failure, never success
        error = pm.as_plugin_error(exc) if pm is not None else LfsplugError(repr(exc))
        return _fail(str(error), error.exit_code, exc, pre)
    finally:
        if debug_stream is not None:
            debug_stream.close()
            click.echo(f"lfsplug: wrote the debug log to {pre.debug}", err=True)


def _main(
    pm: PluginManager, pre: Preparsed, plugins: Sequence[object], debug: TextIO | None,
    freeze_startup: bool = False,
) -> int:
    """Load the plugins, build the command line from them and run the command."""
    if debug is not None:
        pm.enable_debug(debug)
    guess = pre.config_file if pre.config_fixed else find_config_file(
        _config_candidates(pre.rest)
    )
    config_file = load_config_file(guess)
    pm.load_plugins(pre.plugins, config_file.plugins, plugins)
    parser = collect_settings(pm)
    commandset = CommandSet()
    pm.hook.lfsplug_addcommands.call_historic(
        kwargs={"commands": commandset, "pluginmanager": pm}
    )
    blocked = [name for name, plugin in pm.list_name_plugin() if plugin is None]
    for warning in check_file(parser, config_file, blocked):
        click.echo(f"lfsplug: warning: {warning}", err=True)
    group = build_group(pm, parser, commandset, config_file, pre)
    rest = insert_addopts(pre.rest, pre.addopts, parser, commandset)
    if freeze_startup:
        import gc

        gc.freeze()
        gc.enable()
    try:
        result = group.main(rest, prog_name="lfsplug", standalone_mode=False)
    except SystemExit as exc:  # click's shell completion ends so; a plugin's is its failure
        if not os.environ.get("_LFSPLUG_COMPLETE"):
            raise
        return int(exc.code or 0)
    return int(result) if isinstance(result, int) else ExitCode.OK


def _fail(message: str, code: int, exc: BaseException, pre: Preparsed) -> int:
    """Print the one-line cause (and the traceback with --debug); return the exit code."""
    if pre.debug:
        import traceback

        cause = exc.__cause__ or exc
        traceback.print_exception(type(cause), cause, cause.__traceback__, file=sys.stderr)
    click.echo(f"lfsplug: {message}", err=True)
    return int(code)


def insert_addopts(
    rest: list[str], extra: list[str], parser: OptionParser, commandset: CommandSet
) -> list[str]:
    """Put ``LFSPLUG_ADDOPTS`` (less its global options, taken already) right after the
    command name, keeping only the options that command accepts (so ``LFSPLUG_ADDOPTS=-j4``
    does not break ``lfsplug list``)."""
    if not extra:
        return rest
    position = next((i for i, a in enumerate(rest) if not a.startswith("-")), None)
    if position is None or rest[position] not in commandset.commands:
        return rest
    command = rest[position]
    kept: list[str] = []
    i = 0
    while i < len(extra):
        word = extra[i]
        option, value_attached = _lookup_flag(parser, word)
        if option is None:
            raise UsageError(f"LFSPLUG_ADDOPTS: unknown option {word!r}")
        words = [word]
        if option.takes_value and not value_attached:
            if i + 1 >= len(extra):
                raise UsageError(f"LFSPLUG_ADDOPTS: option {word} needs a value")
            words.append(extra[i + 1])
        if command in option.commands:
            kept.extend(words)
        i += len(words)
    return rest[: position + 1] + kept + rest[position + 1:]


def _lookup_flag(parser: OptionParser, word: str) -> tuple[Option | None, bool]:
    if word.startswith("--"):
        flag, has_value = word.split("=", 1)[0], "=" in word
        return parser.by_flag(flag), has_value
    if word.startswith("-") and len(word) >= 2:
        return parser.by_flag(word[:2]), len(word) > 2
    return None, False


# -- building the click group ------------------------------------------------------------------
def build_group(
    pm: PluginManager,
    parser: OptionParser,
    commandset: CommandSet,
    config_file: ConfigFile,
    pre: Preparsed,
) -> click.Group:
    """The click group with a command for each entry of ``commandset``."""
    group = click.Group(
        "lfsplug",
        help="Build Linux From Scratch from a tree of build scripts.",
        params=_global_params(),
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
    for command in commandset.commands.values():
        group.add_command(_click_command(command, pm, parser, config_file, pre))
    return group


def _global_params() -> list[click.Parameter]:
    """The global options, declared for --help (preparse() has already taken them out)."""
    return [
        click.Option(["--version"], is_flag=True, expose_value=False, is_eager=True,
                     callback=_print_version, help="Show the version and exit."),
        click.Option(["-c", "--config"], metavar="FILE", expose_value=False,
                     help="Read this configuration file instead of lfsplug.toml."),
        click.Option(["-p", "plugins"], metavar="NAME", multiple=True, expose_value=False,
                     help="Load plugin NAME (entry point or module); -p no:NAME blocks it. "
                          "May stand anywhere."),
        click.Option(["--debug"], metavar="[=FILE]", is_flag=False, flag_value="1",
                     expose_value=False,
                     help=f"Log every hook call to FILE (default {DEFAULT_DEBUG_FILE}); show "
                          f"tracebacks."),
        click.Option(["--trace-config"], is_flag=True, expose_value=False,
                     help="Say which plugins and local files were loaded from where."),
    ]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"lfsplug {__version__}")
        ctx.exit(0)


def _click_command(
    command: Command,
    pm: PluginManager,
    parser: OptionParser,
    config_file: ConfigFile,
    pre: Preparsed,
) -> click.Command:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        def config() -> Config:  # as for list: what configure does for run is not for a shell
            given = {k: v for k, v in ctx.params.items() if k == "state_dir" and v}
            paths, _found = locate({"paths": ctx.params.get("paths") or typed_paths(ctx)},
                                   given, finds=True)
            file = load_config_file(find_config_file(_candidates_for(paths[0])))
            return Config(pm, command="list", values=resolve(parser, file, given, Path.cwd()),
                          paths=paths, file=file, parser=parser, invocation_dir=Path.cwd())

        return completions(param.metavar, incomplete, config, lambda c: _discover(c, pre))

    params: list[click.Parameter] = [
        click.Argument([f"arg_{name}"], metavar=name.upper(), shell_complete=complete)
        for name in command.arguments
    ]
    if command.takes_paths:
        params.append(click.Argument(["paths"], nargs=-1, type=click.Path(), metavar="[PATH]..."))
    options, titles = grouped(parser.for_command(command.name))
    params.extend(click_option(o, complete) for o in options)

    def locate(values: dict[str, Any], given: dict[str, Any],
               finds: bool = command.finds_build) -> tuple[list[Path], Build | None]:
        """The command's paths: given, else (``finds``) those of the build found, else ".";
        the state directory the index gave goes into ``given``."""
        raw_paths, found = values.get("paths") or (), None
        if finds and not raw_paths and "state_dir" not in given:
            found = find_build(Path.cwd())
            raw_paths = tuple(map(str, found.paths)) if found else ()
            if found and found.state_dir:
                given["state_dir"] = str(found.state_dir)
        return [_check_path(p) for p in raw_paths or (".",)], found

    def callback(**values: Any) -> int:
        ctx = click.get_current_context()
        given = {o.dest: values[o.dest] for o in options
                 if ctx.get_parameter_source(o.dest) is not ParameterSource.DEFAULT}
        paths, found = locate(values, given) if command.takes_paths else ([], None)
        if not pre.config_fixed:
            actual = find_config_file(_candidates_for(paths[0] if paths else None))
            if actual != config_file.path:
                raise _ConfigMoved(actual)
        settings = resolve(parser, config_file, given, Path.cwd())
        config = Config(pm, command=command.name, values=settings, paths=paths,
                        file=config_file, parser=parser, invocation_dir=Path.cwd())
        config.arguments = {name: values[f"arg_{name}"] for name in command.arguments}
        config.argv, config.plugin_objects = list(pre.argv), pre.objects
        if found and (found.state_dir or found.paths != (Path.cwd(),)):
            where = os.path.relpath(config.state_dir)
            where = str(config.state_dir) if where.startswith("..") else where
            click.echo(f"lfsplug: using the build in {where} ({found.how})", err=True)
        return run_command(command, config, pre)

    epilog = (f"Without PATH: the build of the nearest directory, from here upward, with a "
              f".lfsplug/state.db or an lfsplug.toml; else the last build run (listed in "
              f"{index_path()})." if command.finds_build else None)
    return GroupedCommand(command.name, callback=callback, params=params, help=command.help,
                          short_help=command.help.split(".")[0], epilog=epilog, titles=titles)


def _discover(config: Config, pre: Preparsed) -> list[str]:
    """The names of the scripts under ``config.paths``, as ``list`` finds them, saying nothing
    (the shell reads what is printed as completions)."""
    from lfsplug._session import run_session

    names: list[str] = []

    def body(session: Session) -> int:
        names.extend(script.name for script in session.collect())
        return ExitCode.OK

    command = Command("list", lambda c: run_session(c, body), "", True, "kernel")
    with open(os.devnull, "w") as null, redirect_stdout(null), redirect_stderr(null):
        run_command(command, config, pre)
    return names


def _check_path(raw: str) -> Path:
    path = Path(raw)
    if not os.path.lexists(path):
        raise UsageError(f"path not found: {raw}")
    if not os.access(path, os.R_OK):
        raise UsageError(f"path not readable: {raw}")
    return path.absolute()


def run_command(command: Command, config: Config, pre: Preparsed) -> int:
    """Load local files, check hooks, configure the plugins, run the command, unconfigure."""
    pm = config.pluginmanager
    state_dir = config.option.get("state_dir")
    if state_dir and os.path.exists(state_dir) and not os.path.isdir(state_dir):
        raise UsageError(f"--state-dir {state_dir}: not a directory")
    if command.takes_paths:
        pm.load_lfsconf(config.rootdir, config.paths)
    pm.check_pending()
    if pre.trace_config:
        _trace_config(pm, config)
    pm.hook.lfsplug_configure.call_historic(kwargs={"config": config})
    try:
        return command.callback(config)
    except (LfsplugError, click.ClickException, click.exceptions.Exit, click.Abort):
        raise  # main() knows these
    except (Exception, SystemExit) as exc:  # named now: unconfigure unregisters plugins
        raise pm.as_plugin_error(exc) from exc
    finally:
        unconfigure(pm, config)


def unconfigure(pm: PluginManager, config: Config) -> None:
    """``lfsplug_unconfigure``, every implementation even when one raises (pluggy would stop
    there, and a plugin after it would keep its lock or its files open): the first failure is
    raised once the last has run, through the wrappers, as pluggy would raise it."""
    caller = pm.hook.lfsplug_unconfigure
    impls = [copy.copy(impl) for impl in caller.get_hookimpls()]
    plain = [impl for impl in impls if not (impl.wrapper or impl.hookwrapper)]
    errors: list[BaseException] = []

    def guard(impl: HookImpl, function: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object) -> object:
            try:
                function(*args)
            except BaseException as exc:  # raised below, once all have run
                errors.append(exc)
            if impl is plain[0] and errors:  # the last one called (pluggy calls in reverse)
                raise errors[0]
            return None

        return call

    for impl in plain:
        impl.function = guard(impl, impl.function)  # type: ignore[misc]  # Final to mypy only
    pm._hookexec(caller.name, impls, {"config": config}, False)


def _trace_config(pm: PluginManager, config: Config) -> None:
    where = config.file.path or "none"
    click.echo(f"lfsplug: configuration file: {where}", err=True)
    click.echo(f"lfsplug: project root: {config.rootdir}", err=True)
    for row in pm.describe():
        dist = f" from {row['distribution']} {row['version']}" if row["distribution"] else ""
        click.echo(f"lfsplug: plugin {row['name']} [{row['origin']}]{dist}: "
                   f"{row['file'] or row['module']}", err=True)
