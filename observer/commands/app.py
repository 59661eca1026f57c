"""`observer [--app MODULE:FACTORY | --store PATH] [--drills FILE] [--read-only] [--confirm] [--refresh S]
[--start-timeout S] [--log PATH]`: the app."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .logs import open_log, routed_to
from .parsing import MIN_REFRESH, OneLineParser, app_target, load_app_factory, refresh_seconds, seconds

if TYPE_CHECKING:
    from observer.drills import Drill
    from observer.runtime import Pid, Runtime
    from observer.targets import Factory

START_TIMEOUT = 10.0
"""Seconds the observed tree's factory may take to start by default (`observer.source.in_process.START_TIMEOUT`,
repeated here so that parsing loads no runtime)."""


def main(argv: list[str], commands: Mapping[str, str] = MappingProxyType({})) -> int:
    """Run the terminal app until the user quits.

    Args:
        argv: The arguments after the program name.
        commands: The other commands (name -> one-line summary), listed in ``--help``; a command
            name after an option is a usage error (it must come first).

    Returns:
        0 after the app quits.

    Raises:
        SystemExit: With status 0 after ``--help`` or ``--version``, and 2 after a usage error, a bad
            ``--app`` target, a ``--store`` that cannot be a database, a ``--drills`` file that cannot be
            loaded or a ``--log`` that cannot be written (all checked before the terminal app starts).
    """
    parser = _parser(commands)
    args, unrecognized = parser.parse_known_args(argv)
    if args.command is not None:
        parser.error(f"`{args.command}` comes first: observer {args.command} [options] (its options are its own)")
    if unrecognized:
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")
    if args.app is not None and args.store is not None:
        parser.error("--store keeps the default system's agent state; with --app your factory keeps its own")
    factory = None if args.app is None else load_app_factory(parser, args.app)
    if args.store is not None:
        factory = _stored_default_system(parser, args.store)
    options = _options(args)
    if args.drills is not None:
        options.update(drills=drill_file(parser, args.drills), drills_from=args.drills)
    with _log(parser, args.log):
        run_app(factory, read_only=args.read_only, refresh_interval=args.refresh, **options)
    return 0


def run_app(factory: Factory | None, *, read_only: bool, refresh_interval: float, **options: Any) -> None:
    """Run the terminal app until the user quits.

    Args:
        factory: Starts the tree to observe; None for the default system.
        read_only: Disable every key that changes the runtime.
        refresh_interval: Seconds between snapshots.
        **options: More of `ObserverApp`'s options (``start_timeout``, ``confirm_kill``, ``drills``).
    """
    from observer.app import ObserverApp  # textual loads only when the app runs

    ObserverApp(factory=factory, read_only=read_only, refresh_interval=refresh_interval, **options).run()


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The app's other options, those that differ from their defaults."""
    options: dict[str, Any] = {}
    if args.confirm:
        options["confirm_kill"] = True
    if args.start_timeout != START_TIMEOUT:
        options["start_timeout"] = args.start_timeout
    return options


def drill_file(parser: OneLineParser, path: str) -> list[Drill]:
    """The drills of the drill file at `path` (TOML, or Python's ``drill_*`` functions), loaded now (`--drills`).

    Exits with one line on stderr (status 2) when the file is missing, malformed or has no drill.
    """
    from observer.drills import load_drills
    from observer.drills.toml_drill import DrillFileError

    try:
        return load_drills(path)
    except DrillFileError as error:
        parser.error(f"--drills {error}")


def _stored_default_system(parser: OneLineParser, path: str) -> Factory:
    """A factory of the default system keeping agent state in the SQLite file `path`, checked now.

    Exits with one line on stderr (status 2) when `path` cannot be a database.
    """
    from observer.system import StorageError, StoreLocation, start_system

    try:
        StoreLocation(path).close()  # creates the file and its schema, or says why it cannot
    except StorageError as error:
        parser.error(f"--store {path}: {error}")

    async def observer(rt: Runtime) -> Pid:  # named as the app names the default system
        return await start_system(rt, store_path=path)

    return observer


def _log(parser: OneLineParser, path: str | None) -> contextlib.AbstractContextManager[None]:
    """Route the runtime's log records to `path` while the app runs (nothing changes without it).

    Exits with one line on stderr (status 2) when `path` cannot be opened for appending.
    """
    if path is None:
        return contextlib.nullcontext()
    try:
        return routed_to(open_log(path))
    except OSError as error:
        parser.error(f"--log {path}: cannot write it: {error.strerror}")


def _parser(commands: Mapping[str, str]) -> OneLineParser:
    from observer import __version__

    parser = OneLineParser(
        prog="observer",
        usage="observer [options]\n       observer COMMAND [options]",
        description="Watch an observer.runtime supervision tree live.",
        epilog="Textual draws the screen on stderr, so `observer 2>FILE` captures the screen, not the "
        "runtime's log: use --log FILE.",
    )
    parser.add_argument("--version", action="version", version=f"observer {__version__}")
    parser.add_argument(
        "--app",
        metavar="MODULE:FACTORY",
        type=app_target,
        help="host your own tree: `async def factory(rt) -> Pid` in an importable module",
    )
    parser.add_argument(
        "--store", metavar="PATH", help="keep the default system's agent state in the SQLite file PATH across runs"
    )
    parser.add_argument(
        "--drills", metavar="FILE", help="d lists the drills of FILE (TOML, or a Python file of drill_* functions) "
        "first, to run live on the tree"
    )
    parser.add_argument("--read-only", action="store_true", help="disable every destructive key binding")
    parser.add_argument("--confirm", action="store_true", help="k asks before it kills (enter kills, escape does not)")
    parser.add_argument(
        "--refresh",
        metavar="SECONDS",
        type=refresh_seconds,
        default=0.25,
        help=f"refresh interval (default 0.25, at least {MIN_REFRESH})",
    )
    parser.add_argument(
        "--start-timeout",
        metavar="SECONDS",
        type=seconds,
        default=START_TIMEOUT,
        help=f"seconds the tree's factory may take to return its root (default {START_TIMEOUT:g}); R tries again",
    )
    parser.add_argument(
        "--log",
        metavar="PATH",
        help="append the runtime's log records (crash reports) to PATH",
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands (each has its own --help)")
    for name, summary in commands.items():
        subcommands.add_parser(name, help=summary, add_help=False)
    return parser
