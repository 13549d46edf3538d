"""The ``momentsense`` command line.

Subcommands live in modules under :mod:`trainer.commands`; each module has a ``register(cli)``
function that declares its commands with :meth:`Cli.command`. Modules import only argparse-level
code at the top, so ``momentsense --help`` stays fast and works without TensorFlow; the heavy
imports happen inside each command's ``run`` function.

Before a command runs, the CLI checks what the user can get wrong without any work being done:
the extras it declares (``needs="train"``) are installed, its input paths exist and its outputs
lie below an existing, writable folder (:mod:`trainer.cli_checks`). A user's mistake, found then
or while running (:class:`sdk.errors.MomentsenseError`, a missing file, a package not installed),
is printed as one line ``momentsense COMMAND: error: ...`` with exit code 2, never a traceback.
TensorFlow's log noise is hidden unless ``--verbose`` (:mod:`trainer.cli_quiet`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shutil
import sys
import textwrap
from typing import Callable, Optional, Sequence, Union

RunFn = Callable[[argparse.Namespace], Optional[int]]

#: Sections of ``momentsense --help`` in order, and the first word of the commands in each. A
#: command whose first word is not listed goes to "other commands".
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("main job", ("demo", "run")),
    ("data", ("simulate", "convert", "export-training", "shard")),
    ("train", ("train", "quantize")),
    ("evaluate", ("eval", "report")),
    ("serve", ("serve",)),
    ("benchmark", ("bench", "profile")),
)
#: Help of common options a command declared without one.
COMMON_HELP = {
    "--seed": "random seed (same seed, same result)",
    "--json": "print JSON",
    "--no-progress": "hide the progress bar",
    "--quiet": "print only the result",
    "--threads": "CPU threads",
    "--batch-size": "training batch size",
    "--epochs": "training epochs",
    "--max-users": "use at most this many users (default: all)",
    "--out": "output path",
}


def version() -> str:
    """The installed distribution's version (the source tree's when not installed)."""
    try:
        from importlib.metadata import PackageNotFoundError, version as dist_version

        return dist_version("momentsense")
    except (ImportError, PackageNotFoundError):
        from momentsense.trainer import __version__

        return __version__


class HelpFormatter(argparse.HelpFormatter):
    """Help with each option's default shown, unless the help already states it or it is empty."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if d is None or d is False or d is argparse.SUPPRESS or d == [] or d == "" or "default" in text:
            return text
        if not action.option_strings or isinstance(action, (argparse._StoreConstAction, argparse._HelpAction)):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: ``PROG: error: MESSAGE (see PROG --help)``."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # noqa: D401 - argparse's signature
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _plain(text: str) -> str:
    """One command's help line: lower-case start (unless an acronym), no trailing period."""
    text = " ".join(text.split()).rstrip(".")
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


class Cli:
    """Collects ``group [name]`` commands from the command modules and builds the parser."""

    def __init__(self) -> None:
        self.parser = Parser(prog="momentsense", usage="momentsense [-h] [--version] COMMAND [SUBCOMMAND] [options]",
                             description="momentsense: on-device behaviour SDK, trainer and model tools.",
                             formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        self.parser.add_argument("--version", action="version", version=f"momentsense {version()}")
        self._top = self.parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser, prog="momentsense")
        self._groups: dict[str, argparse._SubParsersAction] = {}
        self.commands: dict[str, argparse.ArgumentParser] = {}
        self.helps: dict[str, str] = {}

    def command(self, path: str, help: str, add_args: Callable[[argparse.ArgumentParser], None], run: RunFn,
                needs: Union[str, Sequence[str], None] = None) -> None:  # fmt: skip
        """Declare a command.

        Parameters
        ----------
        path : str
            ``"demo"`` for a top-level command or ``"simulate sensors"`` for one inside a group.
        help : str
            One line shown by ``momentsense --help`` (or ``momentsense GROUP --help``).
        add_args : callable
            Adds the command's arguments to its parser.
        run : callable
            Called with the parsed namespace; returns an exit code or None (= 0).
        needs : str or sequence of str, optional
            pip extras (``"train"``, ``"demo"``, ``"server"``...) or module names the command imports;
            checked before it runs, so a missing one is named with its ``pip install`` line.
        """
        help = _plain(help)
        words = path.split()
        if len(words) == 1:
            p = self._top.add_parser(words[0], help=help, description=help)
        elif len(words) == 2:
            group, name = words
            if group not in self._groups:
                gp = self._top.add_parser(group, help=f"{group} commands (see 'momentsense {group} --help')")
                self._groups[group] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", parser_class=Parser,
                                                        prog=f"momentsense {group}")
            p = self._groups[group].add_parser(name, help=help, description=help)
        else:
            raise ValueError(f"a command path has one or two words, got {path!r}")
        add_args(p)
        if "--verbose" not in p._option_string_actions:
            p.add_argument("--verbose", action="store_true",
                           help="show the libraries' log messages (TensorFlow, LiteRT) and tracebacks")  # fmt: skip
        for action in p._actions:
            if action.help is None and action.option_strings:
                action.help = COMMON_HELP.get(action.option_strings[-1])
        needs = (needs,) if isinstance(needs, str) else tuple(needs or ())
        positionals = tuple(a.dest for a in p._actions if not a.option_strings)
        p.set_defaults(_run=run, _needs=needs, _path=path, _positionals=positionals)
        self.commands[path] = p
        self.helps[path] = help

    def set_group_help(self, group: str, help: str) -> None:
        """Replace the generic one-line help of a command group."""
        for action in self._top._choices_actions:
            if action.dest == group:
                action.help = help

    def overview(self, width: Optional[int] = None) -> str:
        """The commands by section (main job, data, train, evaluate, serve, benchmark), one per line."""
        width = width or min(110, shutil.get_terminal_size((100, 20)).columns)
        words = [w for _, ws in SECTIONS for w in ws]
        placed = {w: title for title, ws in SECTIONS for w in ws}
        order = [title for title, _ in SECTIONS] + ["other commands"]
        name_w = max(len(p) for p in self.commands) + 2
        lines = []
        for title in order:
            mine = [p for p in self.commands if placed.get(p.split()[0], "other commands") == title]
            # by the section's word order, then in the order the commands were declared
            paths = sorted(mine, key=lambda p: words.index(p.split()[0]) if p.split()[0] in words else 0)
            if not paths:
                continue
            lines.append(f"{title}:")
            for path in paths:
                body = textwrap.wrap(self.helps[path], max(30, width - name_w - 2))
                lines.append(f"  {path:<{name_w}}{body[0]}")
                lines += [" " * (name_w + 2) + b for b in body[1:]]
            lines.append("")
        return "\n".join(lines)

    def finish(self) -> None:
        """Put the sectioned command list into ``momentsense --help`` (after all commands are declared)."""
        self._top.help = argparse.SUPPRESS
        self.parser.description = (f"momentsense {version()}: on-device behaviour SDK, trainer and model tools.\n"
                                   "Start with 'momentsense demo --days 1' (about half a minute).\n\n" + self.overview()
                                   + "Each command has its own --help; add --verbose to see the libraries' log messages.")  # fmt: skip


def build_cli() -> Cli:
    """Import every module in :mod:`trainer.commands` and let it register its commands."""
    from momentsense.trainer import commands

    cli = Cli()
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"momentsense.trainer.commands.{info.name}")
        module.register(cli)
    cli.finish()
    return cli


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def run_command(args: argparse.Namespace) -> int:
    """Check the command's extras and paths, then run it; user mistakes become one line + exit 2."""
    from momentsense.sdk.errors import MomentsenseError
    from momentsense.trainer.cli_checks import UsageError, check_paths, missing_extra, module_error_message

    prog = f"momentsense {args._path}"
    try:
        missing = missing_extra(args._needs)
        if missing:
            raise UsageError(missing)
        check_paths(args)
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted: stopped cleanly, partial outputs were not written.", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        if getattr(args, "verbose", False):
            raise
        return _fail(prog, module_error_message(exc))
    except (MomentsenseError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        if getattr(args, "verbose", False) and not isinstance(exc, UsageError):
            import traceback

            traceback.print_exc()
        if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
            return _fail(prog, f"{exc.filename}: {exc.strerror}")
        return _fail(prog, str(exc))
    except BrokenPipeError:
        # The reader went away (``momentsense ... | head``): not an error; keep Python from
        # complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the ``momentsense`` console script."""
    cli = build_cli()
    args = cli.parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        # A bare group ("momentsense simulate") or no command at all: show the relevant help.
        if getattr(args, "command", None) and args.command in cli._groups:
            cli._top.choices[args.command].print_help()
        else:
            cli.parser.print_help()
        return 2
    if args.verbose:
        return run_command(args)
    from momentsense.trainer.cli_quiet import StderrFilter, quiet_libraries

    quiet_libraries()
    with StderrFilter():
        return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
