"""Variables of the configuration's ``[env]`` (and ``[chroot.env]``) that reach into every script.

The executor gives every script the book's clean environment (``env -i``) and then ``[env]``, as
the user wrote it: that is its contract. Some names, though, change what bash or the dynamic
loader does in every script the build runs as root, so validation names them, at their line:

* SEC004 (error): the value names code that runs in every script: a file bash reads first
  (``BASH_ENV``, ``ENV``), libraries loaded into every program (``LD_PRELOAD``, ``LD_AUDIT``),
  commands bash runs or expands (``PROMPT_COMMAND``, ``PS4``, ``BASH_FUNC_NAME%%`` functions),
  or shell options bash takes from the environment (``SHELLOPTS``, ``BASHOPTS``: ``noexec``
  runs nothing and succeeds, ``xtrace`` expands ``PS4``);
* SEC005 (warning): the value changes what every script's commands find or how its words are
  read (``LD_LIBRARY_PATH``, ``IFS``, ``CDPATH``, ``GLOBIGNORE``).

``disable = ["SEC005"]`` (or SEC004) in the configuration silences them, as any code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import Finding, Severity

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["RUNS_CODE", "SHAPES_WORDS", "check_config_env"]

#: Names whose value makes every script run code it names (SEC004), and what each does.
RUNS_CODE = {
    "BASH_ENV": "bash sources this file before every script",
    "ENV": "a POSIX shell sources this file as it starts",
    "LD_PRELOAD": "the loader puts these libraries into every program",
    "LD_AUDIT": "the loader runs these libraries' audit hooks in every program",
    "PROMPT_COMMAND": "bash runs it as a command",
    "PS4": "bash expands it (command substitutions included) at each traced command",
    "SHELLOPTS": "bash sets these options in every script (noexec: nothing runs, all passes)",
    "BASHOPTS": "bash sets these shopt options in every script",
}
#: Names whose value changes what commands find or how words are read (SEC005).
SHAPES_WORDS = {
    "LD_LIBRARY_PATH": "the loader looks for every program's libraries there first",
    "IFS": "it changes how every unquoted expansion is split into words",
    "CDPATH": "it changes where every relative cd goes",
    "GLOBIGNORE": "it drops files from every glob",
}
_PLUGIN = "validation"


def _line(config: Config, section: str, key: str) -> int | None:
    file = config.file
    if section == "env":
        return file.line_of(key, "env")
    return file.line_of(key, "chroot.env") or file.line_of("env", "chroot")


def _tables(config: Config) -> list[tuple[str, dict[str, object]]]:
    inside = config.getsection("chroot").get("env")
    return [("env", dict(config.env)),
            ("chroot.env", dict(inside) if isinstance(inside, dict) else {})]


def check_config_env(config: Config) -> list[Finding]:
    """SEC004 and SEC005 for the dangerous names set (to a non-empty value) in the file."""
    path = str(config.file.path) if config.file.path is not None else None
    found = []
    for section, table in _tables(config):
        for key, value in table.items():
            if value == "":
                continue
            if key in RUNS_CODE or key.startswith("BASH_FUNC_"):
                code, severity = "SEC004", Severity.ERROR
                what = RUNS_CODE.get(key, "bash defines this function in every script, over "
                                          "any command of its name")
            elif key in SHAPES_WORDS:
                code, severity, what = "SEC005", Severity.WARNING, SHAPES_WORDS[key]
            else:
                continue
            whom = "the build runs" if section == "env" else "run inside the chroot"
            found.append(Finding(
                code, severity, f"[{section}] {key} = {str(value)!r} reaches every script "
                f"{whom}: {what}", path, _line(config, section, key),
                f"remove {key} from [{section}] (the book's env -i clears it); if you mean it, "
                f'disable = ["{code}"]', _PLUGIN))
    return found
