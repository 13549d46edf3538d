"""The ``momentsense`` command line.

Subcommands live in modules under :mod:`trainer.commands`; each module has a ``register(cli)``
function that declares its commands with :meth:`Cli.command`. Modules import only argparse-level
code at the top, so ``momentsense --help`` stays fast and works without TensorFlow; the heavy
imports happen inside each command's ``run`` function.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import Callable, Optional

RunFn = Callable[[argparse.Namespace], Optional[int]]


class Cli:
    """Collects ``group [name]`` commands from the command modules and builds the parser."""

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser(
            prog="momentsense",
            description="momentsense: on-device behaviour SDK, trainer and model tools.",
        )
        self._top = self.parser.add_subparsers(dest="command", metavar="COMMAND")
        self._groups: dict[str, argparse._SubParsersAction] = {}

    def command(self, path: str, help: str, add_args: Callable[[argparse.ArgumentParser], None], run: RunFn) -> None:
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
        """
        words = path.split()
        if len(words) == 1:
            p = self._top.add_parser(words[0], help=help, description=help)
        elif len(words) == 2:
            group, name = words
            if group not in self._groups:
                gp = self._top.add_parser(group, help=f"{group} commands (see 'momentsense {group} --help')")
                self._groups[group] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
            p = self._groups[group].add_parser(name, help=help, description=help)
        else:
            raise ValueError(f"a command path has one or two words, got {path!r}")
        add_args(p)
        p.set_defaults(_run=run)

    def set_group_help(self, group: str, help: str) -> None:
        """Replace the generic one-line help of a command group."""
        for action in self._top._choices_actions:
            if action.dest == group:
                action.help = help


def build_cli() -> Cli:
    """Import every module in :mod:`trainer.commands` and let it register its commands."""
    from momentsense.trainer import commands

    cli = Cli()
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"momentsense.trainer.commands.{info.name}")
        module.register(cli)
    return cli


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the ``momentsense`` console script."""
    cli = build_cli()
    args = cli.parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        # A bare group ("momentsense simulate") or no command at all: show the relevant help.
        if getattr(args, "command", None) and args.command in cli._groups:
            cli._top.choices[args.command].print_help()
        else:
            cli.parser.print_help()
        return 2
    from momentsense.sdk.errors import MomentsenseError

    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted: stopped cleanly, partial outputs were not written.", file=sys.stderr)
        return 130
    except (MomentsenseError, FileNotFoundError) as exc:
        print(f"momentsense: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``momentsense ... | head``): not an error; keep Python from
        # complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
