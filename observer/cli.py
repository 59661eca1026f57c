"""The `observer` command: dispatches `observer <command> ...` to `observer.commands.<module>`.

Anything that does not start with a command name runs the terminal app
(`observer.commands.app`). Command modules are imported only when chosen, so
`observer --help` and `observer drill --list` load neither Textual nor the
other commands.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import cast


@dataclass(frozen=True, slots=True)
class Command:
    """One `observer <name>` command: the module whose `main(argv: list[str]) -> int` runs it."""

    module: str
    summary: str  # one line for `observer --help`


COMMANDS = MappingProxyType({
    "attach": Command("observer.commands.attach", "open the app on running services (see ps)"),
    "drill": Command("observer.commands.drill", "run kill-and-observe drills headless"),
    "ps": Command("observer.commands.ps", "list the runtimes you may attach to"),
    "run": Command("observer.commands.run", "host a tree headless, for ps, tree and attach"),
    "tree": Command("observer.commands.tree", "print a running service's tree once"),
    "web": Command("observer.commands.web", "serve the app to web browsers (textual-serve)"),
})
"""The commands by their first argument; the app command takes everything else."""


def main(argv: list[str] | None = None) -> int:
    """Run the ``observer`` command.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The chosen command's exit status (0 after the app quits; for ``drill``, 0 when every drill
        passed, 1 when one failed).

    Raises:
        SystemExit: From the command: status 0 after ``--help``, 2 after a usage error.
    """
    arguments = sys.argv[1:] if argv is None else argv
    command = COMMANDS.get(arguments[0]) if arguments else None
    if command is None:
        from observer.commands import app

        return app.main(arguments, {name: command.summary for name, command in COMMANDS.items()})
    run = cast(Callable[[list[str]], int], importlib.import_module(command.module).main)
    return run(arguments[1:])
