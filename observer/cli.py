"""Command line entry point: ``observer`` (the terminal app) and ``observer drill ...``."""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn

APP_NOT_BUILT = (
    "observer: the terminal app is not built yet (see issue 5); the runtime is importable as observer.runtime"
)
DRILLS_NOT_BUILT = "observer: drills are not built yet (see issue 6)"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``observer: error: <message> (try <prog> --help)`` and exit with status 2.

        Args:
            message: argparse's description of what was wrong.
        """
        self.exit(2, f"observer: error: {' '.join(message.split())} (try {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Run the ``observer`` command.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit status: 1 while the app and the drills are not built yet.

    Raises:
        SystemExit: With status 0 after ``--help``, and 2 after a usage error.
    """
    parser = _build_parser()
    args, unrecognized = parser.parse_known_args(argv)
    if args.command == "drill":
        print(DRILLS_NOT_BUILT, file=sys.stderr)
        return 1
    if unrecognized:
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")
    print(APP_NOT_BUILT, file=sys.stderr)
    return 1


def _build_parser() -> _Parser:
    """Build the parser for ``observer`` and its ``drill`` subcommand."""
    parser = _Parser(prog="observer", description="Watch an observer.runtime supervision tree live.")
    parser.add_argument(
        "--app",
        metavar="MODULE:FACTORY",
        type=_app_target,
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
        help="run kill-and-observe drills headless",
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


def _app_target(text: str) -> str:
    """Check that an ``--app`` value has the shape ``package.module:factory``.

    Only the shape is checked here; the module is imported when the app starts.

    Args:
        text: The command line value.

    Returns:
        The value unchanged.

    Raises:
        argparse.ArgumentTypeError: The value is not dotted identifiers, a colon and an identifier.
    """
    module, colon, factory = text.partition(":")
    if not (colon and factory.isidentifier() and all(part.isidentifier() for part in module.split("."))):
        raise argparse.ArgumentTypeError(f"expected package.module:factory, got {text!r}")
    return text
