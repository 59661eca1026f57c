"""Command line entry point: ``observer`` (the terminal app) and ``observer drill ...``."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from observer.targets import Factory

class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message> (try <prog> --help)`` and exit with status 2.

        Args:
            message: argparse's description of what was wrong.
        """
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (try {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Run the ``observer`` command.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit status: 0 after the app quits; for ``drill``, 0 when every drill passed, 1 when one failed.

    Raises:
        SystemExit: With status 0 after ``--help``, and 2 after a usage error or a bad ``--app``
            target (checked before the terminal app starts).
    """
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["drill"]:
        from observer.drills.cli import main as drill_main

        return drill_main(arguments[1:])
    parser = _build_parser()
    args, unrecognized = parser.parse_known_args(arguments)
    if args.command == "drill":
        parser.error("`drill` comes first: observer drill [options] (its options are its own)")
    if unrecognized:
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")
    factory = None if args.app is None else _load_app_factory(parser, args.app)
    run_app(factory, read_only=args.read_only, refresh_interval=args.refresh)
    return 0


def run_app(factory: Factory | None, *, read_only: bool, refresh_interval: float) -> None:
    """Run the terminal app until the user quits.

    Args:
        factory: Starts the tree to observe; None for the default system.
        read_only: Disable every key that changes the runtime.
        refresh_interval: Seconds between snapshots.
    """
    from observer.app import ObserverApp  # textual loads only when the app runs

    ObserverApp(factory=factory, read_only=read_only, refresh_interval=refresh_interval).run()


def _load_app_factory(parser: OneLineParser, target: str) -> Factory:
    """Import an ``--app`` target, or exit with one line on stderr (status 2) saying why it cannot be used."""
    from observer.targets import TargetError, load_factory

    try:
        return load_factory(target)
    except TargetError as error:
        parser.error(str(error))


def _build_parser() -> OneLineParser:
    """Build the parser for ``observer`` and its ``drill`` subcommand."""
    parser = OneLineParser(prog="observer", description="Watch an observer.runtime supervision tree live.")
    parser.add_argument(
        "--app",
        metavar="MODULE:FACTORY",
        type=app_target,
        help="host your own tree: `async def factory(rt) -> Pid` in an importable module",
    )
    parser.add_argument("--read-only", action="store_true", help="disable every destructive key binding")
    parser.add_argument(
        "--refresh",
        metavar="SECONDS",
        type=_positive_seconds,
        default=0.25,
        help="refresh interval (default 0.25)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "drill",
        help="run kill-and-observe drills headless (observer drill --help)",
        description="Run kill-and-observe drills headless.",
    )
    return parser


def _positive_seconds(text: str) -> float:
    """Parse a refresh interval.

    Args:
        text: The command line value.

    Returns:
        The interval in seconds.

    Raises:
        argparse.ArgumentTypeError: The value is not a finite number above zero.
    """
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return seconds


def app_target(text: str) -> str:
    """Check that an ``--app`` value has the shape ``package.module:factory``; it is imported later.

    Raises:
        argparse.ArgumentTypeError: The value is not dotted identifiers, a colon and a dotted identifier.
    """
    from observer.targets import well_formed

    if not well_formed(text):
        raise argparse.ArgumentTypeError(f"expected package.module:factory, got {text!r}")
    return text
