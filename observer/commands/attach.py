"""`observer attach TARGET [TARGET ...] [--read-only] [--token-file FILE | --token TOKEN] [--drills FILE]`: the
terminal app on services that run on their own."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .app import drill_file
from .logs import open_log, routed_to
from .parsing import MIN_REFRESH, OneLineParser, add_token_options, refresh_seconds, resolve_token, seconds

if TYPE_CHECKING:
    from observer.app import ObserverApp
    from observer.drills import Drill

PROG = "observer attach"
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for each endpoint's answer, at the start and for every read after."""


def main(argv: list[str]) -> int:
    """Run `observer attach` with `argv` (the arguments after `attach`).

    Returns:
        0 after the app quits; 1 when a target cannot be attached to (one line on stderr says why).

    Raises:
        SystemExit: With status 0 after ``--help``, 2 after a usage error, a ``--token-file`` that cannot be read,
            a ``--drills`` file that cannot be loaded or a ``--log`` that cannot be written.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    token = resolve_token(parser, args)
    drills = [] if args.drills is None else drill_file(parser, args.drills)
    problem = asyncio.run(_first_problem(args.targets, token, args.timeout))
    if problem is not None:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return 1
    log: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if args.log is not None:
        try:
            log = routed_to(open_log(args.log))
        except OSError as error:
            parser.error(f"--log {args.log}: cannot write it: {error.strerror}")
    with log:
        attach_app(args.targets, read_only=args.read_only, refresh_interval=args.refresh, token=token,
                   timeout=args.timeout, drills=drills, drills_from=args.drills).run()
    return 0


def attach_app(targets: Sequence[str], *, read_only: bool = False, refresh_interval: float = 0.25,
               token: str | None = None, timeout: float = CONNECT_TIMEOUT, ticking: bool = True,
               drills: Sequence[Drill] = (), drills_from: str | None = None) -> ObserverApp:
    """The app fed by one `RemoteSource` per target (a node list switches between them when there are several).

    Args:
        targets: OS pids, socket paths or ``host:port`` addresses.
        read_only: Refuse every action even where the service allows control.
        refresh_interval: Seconds between snapshots.
        token: The endpoints' token (TCP needs it).
        timeout: Seconds to wait for each read.
        ticking: Fetch snapshots on a timer (False: only when `ObserverApp.tick` is called, for tests).
        drills: Drills of the user's drill file, which `d` runs against the service shown (it needs control).
        drills_from: The drill file's name, for the picker.
    """
    from observer.app import ObserverApp  # textual loads only when the app runs
    from observer.source.remote import RemoteSource

    sources = [RemoteSource(target, token=token, read_only=read_only, timeout=timeout) for target in targets]
    return ObserverApp(source=sources, read_only=read_only, refresh_interval=refresh_interval, ticking=ticking,
                       drills=drills, drills_from=drills_from)


async def _first_problem(targets: Sequence[str], token: str | None, timeout: float) -> str | None:
    """Why the first target that cannot be attached to cannot be, or None when every one answers hello."""
    from observer.remote import Unreachable, connect

    for target in targets:
        try:
            async with connect(target, token=token, timeout=timeout):
                pass
        except Unreachable as error:
            return str(error)
    return None


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Open the observer app on running services (published with observer run or "
        "observer.remote.serve); `observer ps` lists those you can attach to.",
        epilog="Kill, terminate, restart, suspend, resume and trace need a service that allows control "
        "(observer run --control, or serve(rt, control=True)); without it the app is read-only.",
    )
    parser.add_argument("targets", metavar="TARGET", nargs="+",
                        help="an OS pid, a socket path, or HOST:PORT (with its token); several show a node list")
    parser.add_argument("--read-only", action="store_true", help="disable every destructive key, whatever the "
                        "service allows")
    add_token_options(parser)
    parser.add_argument("--refresh", metavar="SECONDS", type=refresh_seconds, default=0.25,
                        help=f"refresh interval (default 0.25, at least {MIN_REFRESH})")
    parser.add_argument("--timeout", metavar="SECONDS", type=seconds, default=CONNECT_TIMEOUT,
                        help=f"seconds to wait for an endpoint's answer (default {CONNECT_TIMEOUT:g})")
    parser.add_argument("--drills", metavar="FILE", help="d runs the drills of FILE (TOML or Python) against the "
                        "service shown (it needs control)")
    parser.add_argument("--log", metavar="PATH", help="append this app's own log records to PATH")
    return parser

