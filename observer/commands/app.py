"""`observer [--app MODULE:FACTORY] [--read-only] [--refresh SECONDS]`: the terminal app."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from .parsing import OneLineParser, app_target, load_app_factory, seconds

if TYPE_CHECKING:
    from observer.targets import Factory


def main(argv: list[str], commands: Mapping[str, str] = MappingProxyType({})) -> int:
    """Run the terminal app until the user quits.

    Args:
        argv: The arguments after the program name.
        commands: The other commands (name -> one-line summary), listed in ``--help``; a command
            name after an option is a usage error (it must come first).

    Returns:
        0 after the app quits.

    Raises:
        SystemExit: With status 0 after ``--help`` or ``--version``, and 2 after a usage error or a
            bad ``--app`` target (checked before the terminal app starts).
    """
    parser = _parser(commands)
    args, unrecognized = parser.parse_known_args(argv)
    if args.command is not None:
        parser.error(f"`{args.command}` comes first: observer {args.command} [options] (its options are its own)")
    if unrecognized:
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")
    factory = None if args.app is None else load_app_factory(parser, args.app)
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


def _parser(commands: Mapping[str, str]) -> OneLineParser:
    from observer import __version__

    parser = OneLineParser(prog="observer", description="Watch an observer.runtime supervision tree live.")
    parser.add_argument("--version", action="version", version=f"observer {__version__}")
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
        type=seconds,
        default=0.25,
        help="refresh interval (default 0.25)",
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands (each has its own --help)")
    for name, summary in commands.items():
        subcommands.add_parser(name, help=summary, add_help=False)
    return parser
