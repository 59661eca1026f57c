"""`observer run --app MODULE:FACTORY [--control] [--tcp HOST:PORT]`: host a tree headless, published for attach."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from observer import metrics
from observer.loop_alarm import LoopAlarm, LoopBlocked
from observer.remote import EndpointError, serve
from observer.runtime import Pid, Runtime
from observer.targets import Factory

from .logs import open_log, routed_to
from .parsing import OneLineParser, app_target, load_app_factory, seconds

logger = logging.getLogger("observer.runtime")  # where the runtime's crash reports go

PROG = "observer run"
START_TIMEOUT = 10.0
"""Seconds the factory has to return the root."""
ALARM_GRACE = 1.0
"""Seconds past the start timeout after which a factory that holds the loop is interrupted."""


def main(argv: list[str]) -> int:
    """Run `observer run` with `argv` (the arguments after `run`).

    Returns:
        0 after SIGTERM or SIGINT stopped the tree in order; 1 when the tree or the endpoint could not start.

    Raises:
        SystemExit: With status 0 after ``--help``, 2 after a usage error or a bad ``--app`` target.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    factory = load_app_factory(parser, args.app)
    try:
        log = open_log(args.log) if args.log is not None else None
    except OSError as error:
        parser.error(f"--log {args.log}: cannot write it: {error.strerror}")
    if log is None:
        return asyncio.run(_run(factory, args))
    with routed_to(log):
        return asyncio.run(_run(factory, args))


async def _run(factory: Factory, args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stopping.set)
    try:
        async with Runtime() as rt:
            root = await _start(rt, factory, args.start_timeout, logged=args.log is not None)
            if not isinstance(root, Pid):
                return _error(root)
            try:
                async with serve(rt, path=args.socket, tcp=args.tcp, control=args.control,
                                 stall_threshold=args.stall_threshold, root=root) as endpoint, \
                        _metrics(rt, args.metrics, args.stall_threshold) as served:
                    line = f"{PROG}: listening on {endpoint.path}"
                    if endpoint.address is not None:
                        where = "" if endpoint.token_path is None else f", token in {endpoint.token_path}"
                        line += f" and tcp {endpoint.address[0]}:{endpoint.address[1]}{where}"
                    print(f"{line} ({'control' if endpoint.control else 'read-only'})", flush=True)
                    if served is not None:
                        print(f"{PROG}: metrics on {served.url}", flush=True)
                    await stopping.wait()
            except (EndpointError, metrics.MetricsError) as error:
                return _error(str(error))
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)
    return 0


async def _start(rt: Runtime, factory: Factory, start_timeout: float, *, logged: bool) -> Pid | str:
    """The root the factory returned within `start_timeout`, or why it did not (one line).

    Args:
        rt: The runtime to start the tree in.
        factory: The tree's factory.
        start_timeout: Seconds it may take.
        logged: Whether a `--log` file takes the failure's traceback (stderr gets only the line).
    """
    alarm = LoopAlarm(start_timeout + ALARM_GRACE)
    deadline = asyncio.timeout(start_timeout)
    try:
        with alarm:
            async with deadline:
                root: object = await factory(rt)
    except LoopBlocked:
        return f"the factory held the event loop for over {start_timeout:g} s (a blocking call in async code?)"
    except Exception as error:  # the user's tree did not start: one line on stderr, the traceback in --log
        if logged:
            logger.error("the tree factory failed", exc_info=error)
        if deadline.expired():
            return f"the factory did not return the root within {start_timeout:g} s"
        return f"the tree did not start: {type(error).__name__}: {error}"
    if alarm.fired:
        return f"the factory held the event loop for over {start_timeout:g} s (a blocking call in async code?)"
    if not isinstance(root, Pid):
        return f"the factory returned {root!r}, not the root's Pid"
    return root


def _metrics(rt: Runtime, address: tuple[str, int] | None,
             stall_threshold: float) -> AbstractAsyncContextManager[metrics.MetricsEndpoint | None]:
    """Prometheus metrics served on `address` while the block runs, or nothing without ``--metrics``."""
    if address is None:
        return contextlib.nullcontext()
    return metrics.serve(rt, address, stall_threshold=stall_threshold)


def _error(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def _tcp(text: str) -> tuple[str, int]:
    """Parse ``HOST:PORT`` (``[::1]:PORT`` for IPv6).

    Raises:
        argparse.ArgumentTypeError: It is not a host, a colon and a port in 0..65535.
    """
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT with a port in 0..65535, got {text!r}")
    return host, int(port)


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Run a tree headless and publish it for `observer attach`, `observer ps` and `observer tree` "
        "until SIGTERM or SIGINT, then stop it in order. Exit status: 0 after a signal, 1 when it could not "
        "start, 2 bad usage.",
    )
    parser.add_argument("--app", metavar="MODULE:FACTORY", type=app_target, required=True,
                        help="the tree: `async def factory(rt) -> Pid` in an importable module")
    parser.add_argument("--control", action="store_true",
                        help="let clients kill, terminate, restart, suspend, resume and trace (read-only otherwise)")
    parser.add_argument("--tcp", metavar="HOST:PORT", type=_tcp,
                        help="also listen on TCP (loopback; port 0 picks one), with a token written next to the socket")
    parser.add_argument("--metrics", metavar="HOST:PORT", type=_tcp,
                        help="serve Prometheus metrics on http://HOST:PORT/metrics (port 0 picks one; "
                        "needs the [metrics] extra)")
    parser.add_argument("--socket", metavar="PATH", type=Path,
                        help="the Unix socket (default: $XDG_RUNTIME_DIR/observer/<pid>.sock, "
                        "else /tmp/observer-<uid>/<pid>.sock)")
    parser.add_argument("--start-timeout", metavar="SECONDS", type=seconds, default=START_TIMEOUT,
                        help=f"how long the factory may take to return the root (default {START_TIMEOUT:g})")
    parser.add_argument("--stall-threshold", metavar="SECONDS", type=seconds, default=0.25,
                        help="how long the event loop may not run before a stall is recorded (default 0.25)")
    parser.add_argument("--log", metavar="FILE", help="append the runtime's log records to FILE (default: stderr)")
    return parser
