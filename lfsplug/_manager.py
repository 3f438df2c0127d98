"""The plugin manager: which plugins load, from where, in what order, and who failed.

Load order (fixed, see docs/user-guide.md): blocks (``-p no:NAME``), the built-ins and installed
plugins by entry point of the group ``lfsplug``, ``-p NAME``, ``LFSPLUG_PLUGINS``, the
configuration file's ``plugins``, then local ``lfsconf.py`` files. Entry points are enumerated
once per manager. ``check_pending()`` runs as soon as all plugins are in, so that a misspelled
hook fails at once.
"""

from __future__ import annotations

import importlib
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from traceback import extract_tb, walk_tb
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

import pluggy

from lfsplug import _hookspec
from lfsplug._model import LfsplugError, PluginError, UsageError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from lfsplug._settings import OptionParser

__all__ = ["LFSCONF", "PluginManager", "PluginOrigin", "check_trust"]


LFSCONF = "lfsconf.py"
HOOK_PREFIX = "lfsplug_"
ENTRY_POINT_GROUP = "lfsplug"

#: Hooks that a local lfsconf.py may not implement: they run before local files are read.
BOOTSTRAP_ONLY = ("lfsplug_addoption", "lfsplug_addcommands", "lfsplug_addhooks")

#: Plugins that cannot be blocked, and why.
ESSENTIAL = {"main": "it gives lfsplug its run, list, check and plugins commands"}

#: Removed hooks, and the record of the ``lfsplug_events`` event that now carries their fact.
REMOVED_HOOKS = {"lfsplug_script_output": "ScriptOutput", "lfsplug_sample": "SampleTaken",
                 "lfsplug_alert": "AlertRaised"}


@dataclass(frozen=True)
class PluginOrigin:
    """Where a plugin came from, for ``--trace-config`` and ``lfsplug plugins``."""

    how: str  # builtin | entrypoint | -p | LFSPLUG_PLUGINS | config | lfsconf | inline
    module: str
    distribution: str | None = None
    version: str | None = None
    file: str | None = None


class PluginManager(pluggy.PluginManager):
    """A pluggy plugin manager that knows lfsplug's hook specs, entry points and local files."""

    def __init__(self) -> None:
        super().__init__("lfsplug")
        self.add_hookspecs(_hookspec)
        self.origins: dict[str, PluginOrigin] = {}
        self._entry_points: dict[str, list[EntryPoint]] | None = None
        self._debug_file: TextIO | None = None
        self._option_parser: OptionParser | None = None
        # historic: every plugin registered from now on may add hook specs of its own
        self.hook.lfsplug_addhooks.call_historic(kwargs={"pluginmanager": self})

    # -- discovery of plugins ------------------------------------------------------------------

    def entry_points(self) -> dict[str, list[EntryPoint]]:
        """The entry points of the group ``lfsplug``, by name (enumerated once)."""
        if self._entry_points is None:
            import importlib.metadata

            found: dict[str, list[EntryPoint]] = {}
            for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                found.setdefault(ep.name, []).append(ep)
            self._entry_points = found
        return self._entry_points

    def load_plugins(
        self,
        specs: Sequence[str] = (),
        config_plugins: Sequence[str] = (),
        inline: Iterable[object] = (),
    ) -> None:
        """Register every plugin in the documented order.

        :param specs: the ``-p`` values in command-line order (``NAME`` or ``no:NAME``).
        :param config_plugins: the configuration file's ``plugins`` list.
        :param inline: plugin objects passed to :func:`lfsplug.main` (tests, embedding).
        """
        env_specs = [p.strip() for p in os.environ.get("LFSPLUG_PLUGINS", "").split(",")]
        enable = [s for s in specs if not s.startswith("no:")]
        env_plugins = [p for p in env_specs if p and not p.startswith("no:")]
        for spec in [*specs, *env_specs]:
            if spec.startswith("no:"):
                if spec[3:] in ESSENTIAL:
                    raise UsageError(f"-p {spec}: the {spec[3:]} plugin cannot be blocked: "
                                     f"{ESSENTIAL[spec[3:]]}")
                self.set_blocked(spec[3:])
        autoload = not os.environ.get("LFSPLUG_DISABLE_PLUGIN_AUTOLOAD")
        for name, eps in sorted(self.entry_points().items()):
            builtin = all(_distribution(ep) == "lfsplug" for ep in eps)
            if builtin or autoload:
                self._load_entry_point(name, eps, "builtin" if builtin else "entrypoint")
        for how, names in (("-p", enable), ("LFSPLUG_PLUGINS", env_plugins),
                           ("config", list(config_plugins))):
            for name in names:
                self.import_plugin(name.strip(), how)
        for plugin in inline:
            base = getattr(plugin, "__name__", None) or type(plugin).__name__
            name, number = base, 1
            while self.has_plugin(name) or self.is_blocked(name):
                number += 1
                name = f"{base}-{number}"
            self.register_plugin(plugin, name, PluginOrigin("inline", _module_of(plugin)))

    def import_plugin(self, name: str, how: str) -> None:
        """Load plugin ``name``: an entry point name, else a module to import."""
        if self.is_blocked(name) or self.has_plugin(name):
            return
        eps = self.entry_points().get(name)
        if eps:
            self._load_entry_point(name, eps, how)
            return
        if not _module_exists(name):
            known = ", ".join(sorted(self.entry_points())) or "none"
            raise UsageError(f"unknown plugin {name!r} ({how}): no entry point of that name in "
                             f"the group 'lfsplug' (known: {known}) and no module of that name")
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # any failure to import is the plugin's, named as such
            raise _import_failure(f"plugin {name!r} ({how})", exc) from None
        self.register_plugin(module, name, PluginOrigin(how, name, file=_file_of(module)))

    def _load_entry_point(self, name: str, eps: list[EntryPoint], how: str) -> None:
        if self.is_blocked(name) or self.has_plugin(name):
            return
        if len(eps) > 1:
            dists = " and ".join(f"{_distribution(ep)} ({ep.value})" for ep in eps)
            raise UsageError(f"plugin name {name!r} is claimed by two entry points: {dists}; "
                             "uninstall one of the distributions, or block both with "
                             f"-p no:{name}")
        ep = eps[0]
        what = f"plugin {name!r} (entry point {ep.value} from {_distribution(ep)})"
        try:
            plugin = ep.load()
        except Exception as exc:  # any failure to import is the plugin's, named as such
            raise _import_failure(what, exc) from None
        version = ep.dist.version if ep.dist is not None else None
        origin = PluginOrigin(how, ep.module, _distribution(ep), version, _file_of(plugin))
        self.register_plugin(plugin, name, origin)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` and tell every plugin through ``lfsplug_plugin_registered``."""
        registered = super().register(plugin, name)
        if registered is not None:
            if self._option_parser is not None:  # lfsplug_addoption is historic
                for impl in self.hook.lfsplug_addoption.get_hookimpls():
                    if impl.plugin_name == registered:
                        self._call_addoption(impl)
            self.hook.lfsplug_plugin_registered.call_historic(
                kwargs={"plugin": plugin, "plugin_name": registered, "manager": self}
            )
        return registered

    def call_addoption(self, parser: OptionParser) -> None:
        """Call every plugin's ``lfsplug_addoption`` with ``parser`` bound to that plugin's
        name, so that what it declares names it; a plugin registered later is called as it
        registers (the hook is historic)."""
        self._option_parser = parser
        for impl in reversed(self.hook.lfsplug_addoption.get_hookimpls()):  # pluggy's order
            self._call_addoption(impl)

    def _call_addoption(self, impl: pluggy.HookImpl) -> None:
        assert self._option_parser is not None
        kwargs = {"parser": self._option_parser.bound(impl.plugin_name), "pluginmanager": self}
        if self._debug_file is not None:
            self.trace.root.get("hook")("lfsplug_addoption", {"plugin": impl.plugin_name})
        impl.function(*(kwargs[name] for name in impl.argnames))

    def unregister_and_close(self, name: str) -> object | None:
        """Unregister the plugin registered as ``name`` (a plugin object registered at
        ``lfsplug_configure``), calling its ``close()`` if it has one; return it, or None."""
        plugin: object | None = self.get_plugin(name)
        if plugin is None:
            return None
        self.unregister(plugin)
        close = getattr(plugin, "close", None)
        if callable(close):
            close()
        return plugin

    def register_plugin(self, plugin: object, name: str, origin: PluginOrigin) -> None:
        """Register ``plugin`` under ``name``; a second plugin of the same name is an error."""
        if self.has_plugin(name):
            was = self.origins[name].module if name in self.origins else "?"
            raise UsageError(f"two plugins are named {name!r}: {was} and {origin.module}; "
                             f"rename one, or block it with -p no:{name}")
        try:
            self.register(plugin, name)
        except pluggy.PluginValidationError as exc:
            raise UsageError(f"{origin.file or origin.module}: {exc}") from None
        self.origins[name] = origin

    # -- local files ---------------------------------------------------------------------------

    def load_lfsconf(self, rootdir: Path, paths: Sequence[Path]) -> list[Path]:
        """Register the ``lfsconf.py`` files that apply to ``paths``.

        From ``rootdir`` (the project root) down to each path, and in every directory below a
        path; never above ``rootdir``. Returns the files loaded, in load order.
        """
        files: list[Path] = []
        for path in paths:
            top = path if path.is_dir() else path.parent
            files.extend(directory / LFSCONF for directory in _dirs_between(rootdir, top))
            if path.is_dir():
                files.extend(_lfsconf_below(path))
        loaded = [file for file in dict.fromkeys(f.absolute() for f in files) if file.is_file()]
        for file in loaded:
            self._register_lfsconf(file)
        return loaded

    def _register_lfsconf(self, file: Path) -> None:
        check_trust(file)
        modname = f"lfsconf_{abs(hash(str(file))):x}"
        try:
            code = compile(file.read_bytes(), str(file), "exec")
        except SyntaxError as exc:
            message = f"{file}:{exc.lineno}: syntax error in lfsconf.py: {exc.msg}"
            raise UsageError(message) from None
        except OSError as exc:
            raise UsageError(f"{file}: cannot read lfsconf.py: {exc.strerror}") from None
        module = ModuleType(modname)
        module.__file__ = str(file)
        sys.modules[modname] = module
        try:
            exec(code, module.__dict__)
        except Exception as exc:
            del sys.modules[modname]
            line = _line_in(exc.__traceback__, str(file))
            message = f"{file}:{line}: lfsconf.py raised {type(exc).__name__}: {exc}"
            raise UsageError(message) from None
        self._check_lfsconf(module, file)
        self.register_plugin(module, str(file), PluginOrigin("lfsconf", modname, file=str(file)))

    def _check_lfsconf(self, module: ModuleType, file: Path) -> None:
        for attr, value in vars(module).items():
            if not (attr.startswith(HOOK_PREFIX) and callable(value)):
                continue
            line = _def_line(value)
            if attr in BOOTSTRAP_ONLY:
                raise UsageError(f"{file}:{line}: {attr} cannot be implemented in lfsconf.py "
                                 "(options and commands must be known before local files "
                                 "are read); put it in a plugin")
            if self.parse_hookimpl_opts(module, attr) is None:
                raise UsageError(f"{file}:{line}: {attr} is not marked as a hook; decorate it "
                                 "with @lfsplug.hookimpl")

    # -- validation and errors -----------------------------------------------------------------

    def _hookimpls(self) -> Iterator[tuple[pluggy.HookCaller, pluggy.HookImpl]]:
        """Every hook implementation, with the caller of its hook."""
        for caller in list(vars(self.hook).values()):
            if isinstance(caller, pluggy.HookCaller):
                for impl in caller.get_hookimpls():
                    yield caller, impl

    def check_pending(self) -> None:
        """Fail at once (exit 4) on a hook implementation that matches no specification,
        naming the replacement of a removed hook."""
        for caller, impl in self._hookimpls():
            name, plugin = caller.name, impl.plugin_name
            if (caller.spec is not None or impl.opts.get("optionalhook")
                    or not name.startswith(HOOK_PREFIX)):
                continue
            origin = self.origins.get(plugin)
            where = _impl_location(impl.function) or (origin.module if origin else "?")
            if name in REMOVED_HOOKS:
                raise UsageError(f"{where}: hook {name!r} in plugin {plugin!r} was removed: "
                                 "implement lfsplug_events and handle its "
                                 f"lfsplug.{REMOVED_HOOKS[name]} records")
            raise UsageError(f"{where}: unknown hook {name!r} in plugin {plugin!r}"
                             f"{_suggest(name, self.hook_names())}")

    def hook_names(self) -> list[str]:
        return sorted(n for n in dir(_hookspec) if n.startswith(HOOK_PREFIX))

    def culprit(self, exc: BaseException) -> tuple[str, str] | None:
        """The plugin and hook whose implementation raised ``exc``: the innermost frame of one
        (of a plugin being registered too: a historic hook calls it before it is added)."""
        owners: dict[Any, tuple[str, str]] = {}
        for name, plugin in self.list_name_plugin():
            for attr in dir(plugin) if plugin is not None else ():
                if attr.startswith(HOOK_PREFIX) and self.parse_hookimpl_opts(plugin, attr):
                    owners[getattr(getattr(plugin, attr), "__code__", None)] = (name, attr)
        for caller, impl in self._hookimpls():
            owners[getattr(impl.function, "__code__", None)] = (impl.plugin_name, caller.name)
        found = [owners[frame.f_code] for frame, _ in walk_tb(exc.__traceback__)
                 if frame.f_code in owners]
        return found[-1] if found else None

    def as_plugin_error(self, exc: BaseException, script: str | None = None) -> LfsplugError:
        """Turn an exception from a hook (a ``SystemExit`` too: never a success) into a
        one-line error (exit 3) naming the plugin and hook, or the lfsconf.py file and line."""
        if isinstance(exc, LfsplugError):
            return exc
        owner = self.culprit(exc)
        local = [f for f in extract_tb(exc.__traceback__) if f.filename.endswith("/" + LFSCONF)]
        error = (PluginError(*owner, exc, script) if owner is not None
                 else LfsplugError(f"{local[-1].filename}:{local[-1].lineno}: lfsconf.py raised "
                                   f"{type(exc).__name__}: {exc}") if local
                 else LfsplugError(f"internal error: {type(exc).__name__}: {exc}"))
        error.__cause__ = exc
        return error

    # -- tracing -------------------------------------------------------------------------------

    def enable_debug(self, stream: TextIO) -> None:
        """Log every hook call and its result to ``stream`` (``--debug``).

        Hooks are called from several threads (the event bus delivers on its own); one lock
        serialises the writes, so that no write tears a multi-byte character.
        """
        import threading

        self._debug_file = stream
        lock = threading.Lock()

        def write(text: str) -> None:
            with lock:
                stream.write(text)

        self.trace.root.setwriter(write)
        self.enable_tracing()

    def describe(self) -> list[dict[str, Any]]:
        """Every registered plugin with its module, version and the hooks it implements."""
        hooks: dict[str, list[str]] = {}
        for caller, impl in self._hookimpls():
            hooks.setdefault(impl.plugin_name, []).append(caller.name)
        rows = []
        for name, plugin in self.list_name_plugin():
            if plugin is None:  # blocked with -p no:NAME
                continue
            origin = self.origins.get(name) or PluginOrigin("internal", name)
            rows.append({
                "name": name,
                "module": origin.module,
                "version": origin.version,
                "origin": origin.how,
                "distribution": origin.distribution,
                "file": origin.file,
                "hooks": sorted(hooks.get(name, [])),
            })
        return sorted(rows, key=lambda r: (r["origin"] != "builtin", r["name"]))


def _distribution(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "?"


def _module_of(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


def _file_of(plugin: object) -> str | None:
    module = plugin if isinstance(plugin, ModuleType) else sys.modules.get(type(plugin).__module__)
    return getattr(module, "__file__", None)


def _module_exists(name: str) -> bool:
    if not all(part.isidentifier() for part in name.split(".")):
        return False
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a missing parent package
        return False


def _import_failure(what: str, exc: BaseException) -> LfsplugError:
    """A plugin that fails to import: exit 3, naming the plugin and where it failed."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" at {exc.filename}:{exc.lineno}"
    elif frames:
        where = f" at {frames[-1].filename}:{frames[-1].lineno}"
    error = LfsplugError(f"{what} failed to import{where}: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _line_in(tb: TracebackType | None, filename: str) -> int | str:
    import traceback

    lines = [frame.lineno for frame in traceback.extract_tb(tb)
             if frame.filename == filename and frame.lineno is not None]
    return lines[-1] if lines else "?"


def check_trust(file: Path) -> None:
    """Refuse a local file (``lfsconf.py``, the configuration file) others could change, as a
    build runs as root: one line, exit 4. Refused: the file, or a folder above it (on the path
    given, each symbolic link's and the real path) but one with the sticky bit (as /tmp),
    writable by all or by a group neither the user's nor root's; a file of another owner."""
    uid, groups = os.getuid(), {0, os.getgid(), os.getegid(), *os.getgroups()}
    real = Path(os.path.realpath(file))
    for path in [real, *_folders_of(file)]:
        try:
            info = path.stat()
        except OSError:
            continue
        why = ("world-writable (chmod o-w)" if info.st_mode & stat.S_IWOTH else
               f"writable by gid {info.st_gid}, neither your group nor root's (chmod g-w)"
               if info.st_mode & stat.S_IWGRP and info.st_gid not in groups else "")
        if why and (path == real or not info.st_mode & stat.S_ISVTX):
            its = "it" if path == real else f"its folder {path}"
            raise UsageError(f"{file}: refusing to load {file.name}: {its} is {why}")
        if path == real and info.st_uid not in (uid, 0):
            raise UsageError(f"{file}: refusing to load {file.name}: it is owned by uid "
                             f"{info.st_uid}, neither you (uid {uid}) nor root")


def _folders_of(file: Path) -> dict[Path, None]:
    """The folders above ``file`` as given, above each symbolic link on its way, and above its
    real path: whoever may write one of them may swap what the file is."""
    found: dict[Path, None] = {}
    hop = Path(os.path.abspath(file))
    for _ in range(40):  # the kernel's limit of links in a row
        real = Path(os.path.realpath(hop.parent))
        found.update(dict.fromkeys([*hop.parents, real, *real.parents]))
        if not hop.is_symlink():
            break
        hop = Path(os.path.normpath(real / os.readlink(hop)))
    return found


def _def_line(function: Any) -> int | str:
    """The line of a function's ``def`` (``co_firstlineno`` is its first decorator's)."""
    import linecache

    code = getattr(function, "__code__", None)
    if code is None:
        return "?"
    for number in range(code.co_firstlineno, code.co_firstlineno + 50):
        text = linecache.getline(code.co_filename, number).lstrip()
        if text.startswith(("def ", "async def ")):
            return number
    return int(code.co_firstlineno)


def _impl_location(function: Any) -> str | None:
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return f"{code.co_filename}:{_def_line(function)}"


def _lfsconf_below(top: Path) -> list[Path]:
    """The lfsconf.py files in folders below ``top``, sorted; hidden folders (the state
    directory ``.lfsplug`` among them), ``__pycache__`` and symlinked folders are not entered."""
    found = []
    for directory, subdirs, filenames in os.walk(top):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d != "__pycache__")
        if directory != str(top) and LFSCONF in filenames:
            found.append(Path(directory) / LFSCONF)
    return found


def _dirs_between(rootdir: Path, top: Path) -> list[Path]:
    """``rootdir`` and each directory down to ``top``; just ``top`` when it is not below root."""
    root, top = rootdir.absolute(), top.absolute()
    upwards = [top, *top.parents]
    return upwards[upwards.index(root)::-1] if root in upwards else [top]


def _suggest(name: str, known: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
