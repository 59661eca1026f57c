"""What every `observer` command parses the same way: one-line usage errors, seconds, and `--app` targets."""

from __future__ import annotations

import argparse
import math
import os
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from observer.targets import Factory

MIN_REFRESH = 0.05
"""The shortest refresh interval accepted: faster only burns CPU (a terminal cannot show it)."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message> (try <prog> --help)`` and exit with status 2.

        Args:
            message: argparse's description of what was wrong.
        """
        message = " ".join(message.split())
        if message.endswith("expected one argument"):
            # argparse takes a value that starts with "-" for an option: say how to pass one.
            message += " (a value that starts with - goes as --option=VALUE)"
        self.exit(2, f"{self.prog}: error: {message} (try {self.prog} --help)\n")


def seconds(text: str) -> float:
    """Parse a positive, finite number of seconds (a timeout).

    Args:
        text: The command line value.

    Returns:
        The number of seconds.

    Raises:
        argparse.ArgumentTypeError: The value is not a finite number above zero.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def refresh_seconds(text: str) -> float:
    """Parse a refresh interval: a number of seconds, at least `MIN_REFRESH`.

    Raises:
        argparse.ArgumentTypeError: The value is not a number of seconds, or is below `MIN_REFRESH`.
    """
    value = seconds(text)
    if value < MIN_REFRESH:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_REFRESH} seconds (faster only burns CPU), got {text!r}"
        )
    return value


def app_target(text: str) -> str:
    """Check that an ``--app`` value has the shape ``package.module:factory``; it is imported later.

    Raises:
        argparse.ArgumentTypeError: The value is not dotted identifiers, a colon and a dotted identifier.
    """
    from observer.targets import well_formed

    if not well_formed(text):
        raise argparse.ArgumentTypeError(f"expected package.module:factory, got {text!r}")
    return text


def load_app_factory(parser: OneLineParser, target: str) -> Factory:
    """Import an ``--app`` target, or exit with one line on stderr (status 2) saying why it cannot be used.

    Args:
        parser: The command's parser, which words and prints the usage error.
        target: A ``package.module:factory`` value.

    Returns:
        The async factory.
    """
    from observer.targets import TargetError, load_factory

    try:
        return load_factory(target)
    except TargetError as error:
        parser.error(str(error))


TOKEN_ENV = "OBSERVER_TOKEN"
"""The environment variable a TCP endpoint's token may come from (never seen by other users in `ps`)."""


def add_token_options(parser: OneLineParser) -> None:
    """`--token-file FILE` and `--token TOKEN` for commands that reach an endpoint (TCP needs a token).

    `resolve_token` reads them, then `$OBSERVER_TOKEN`.
    """
    parser.add_argument("--token-file", metavar="FILE",
                        help=f"read the TCP endpoint's token from FILE (or set ${TOKEN_ENV})")
    parser.add_argument("--token", metavar="TOKEN",
                        help=f"the token itself (visible to other users in ps: prefer --token-file or ${TOKEN_ENV})")


def resolve_token(parser: OneLineParser, args: argparse.Namespace) -> str | None:
    """The token from `--token`, else `--token-file`, else `$OBSERVER_TOKEN`, else None.

    A token file that cannot be read is a usage error (one line, exit 2).
    """
    if args.token is not None:
        return str(args.token)
    if args.token_file is not None:
        try:
            with open(args.token_file, encoding="utf-8") as file:
                return file.read().strip()
        except OSError as error:
            parser.error(f"--token-file {args.token_file}: {error.strerror}")
    return os.environ.get(TOKEN_ENV) or None
