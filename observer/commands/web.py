"""`observer web [--attach TARGET] [--host HOST] [--port PORT] [--token TOKEN] [--read-only]`: the app in a browser."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import socket
import sys
from typing import TYPE_CHECKING
from urllib.parse import quote

from .parsing import OneLineParser

if TYPE_CHECKING:
    from observer.web.server import WebServer

PROG = "observer web"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MIN_TOKEN_LENGTH = 16
CONNECT_TIMEOUT = 5.0
"""Seconds an ``--attach`` target has to answer before serving starts."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(argv: list[str]) -> int:
    """Run `observer web` with `argv` (the arguments after `web`) until SIGINT, SIGTERM or SIGHUP.

    Returns:
        0 after a signal stopped it (every tab's app stopped first); 1 when the ``[web]`` extra is
        missing, the ``--attach`` target does not answer, or the address cannot be listened on
        (one line on stderr says why).

    Raises:
        SystemExit: With status 0 after ``--help``, 2 after a usage error (a bad ``--port``, a host
            that is not loopback without ``--token``, a short token).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        from observer.web.guard import is_loopback
        from observer.web.server import WebServer
    except ImportError as error:
        missing = (error.name or "textual_serve").split(".")[0]
        return _fail(f"needs the [web] extra ({missing} is missing): pip install 'aio-observer[web]'")
    if args.token is not None and len(args.token) < MIN_TOKEN_LENGTH:
        parser.error(f"--token must be at least {MIN_TOKEN_LENGTH} characters (python -c 'import secrets; "
                     "print(secrets.token_hex())' makes one)")
    if args.token is None and not is_loopback(args.host):
        parser.error(f"--host {args.host} is not loopback: anyone who reaches it could drive the app; "
                     "pass --token TOKEN too")
    if args.attach is not None:
        problem = asyncio.run(_unreachable(args.attach, args.attach_token))
        if problem is not None:
            return _fail(f"--attach {args.attach}: {problem}")
    server = WebServer(_app_argv(args), host=args.host, port=args.port, token=args.token, title=_title(args))
    return asyncio.run(_serve(server))


def _app_argv(args: argparse.Namespace) -> list[str]:
    """The command line each tab runs: the app, attached or on its own embedded system."""
    argv = [sys.executable, "-m", "observer"]
    if args.attach is not None:
        argv += ["attach", args.attach]
        if args.attach_token is not None:
            argv += ["--token", args.attach_token]
    if args.read_only:
        argv.append("--read-only")
    return argv


def _title(args: argparse.Namespace) -> str:
    """What each tab runs, as a person would type it (without the attach token): the page's title."""
    words = ["observer"]
    if args.attach is not None:
        words += ["attach", args.attach]
    if args.read_only:
        words.append("--read-only")
    return shlex.join(words)


async def _unreachable(target: str, token: str | None) -> str | None:
    """Why `target` cannot be attached to, or None when it answers hello."""
    from observer.remote import Unreachable, connect

    try:
        async with connect(target, token=token, timeout=CONNECT_TIMEOUT):
            return None
    except Unreachable as error:
        return str(error)


async def _serve(server: WebServer) -> int:
    """Serve until a stop signal; every tab's app is stopped before it returns."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, stopping.set)
    try:
        async with server.running():
            for host, port in server.addresses:
                print(f"{PROG}: serving {_url(host, port, server.token)} (each tab runs {server.title})", flush=True)
            await stopping.wait()
    except OSError as error:
        return _fail(f"cannot listen on {server.host}:{server.port}: {_why(error)}")
    finally:
        for number in STOP_SIGNALS:
            loop.remove_signal_handler(number)
    return 0


def _url(host: str, port: int, token: str | None) -> str:
    """The address a person opens: ``http://127.0.0.1:8000/``, with ``?token=`` when there is one."""
    shown = f"[{host}]" if ":" in host else host
    query = "" if token is None else f"?token={quote(token, safe='')}"
    return f"http://{shown}:{port}/{query}"


def _why(error: OSError) -> str:
    """``address already in use``: the system's words, without aiohttp's wrapping of them."""
    if isinstance(error, socket.gaierror) or not error.errno:
        return str(error.strerror or error)
    return os.strerror(error.errno).lower()


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 1


def _port(text: str) -> int:
    """Parse a TCP port, 0 (any free port) to 65535.

    Raises:
        argparse.ArgumentTypeError: Not a whole number in that range.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {text!r}")
    return value


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Serve the observer app to web browsers (textual-serve): every browser tab runs the app "
        "in a process of its own, which ends when the tab closes.",
        epilog="--attach is the recommended form: every tab attaches to the one service you run with "
        "`observer run` (or serve() in your main). Without it every tab starts a new copy of the embedded "
        "default system, which no other tab sees; a tree of your own that binds a port could not run once "
        "per tab (the second tab's bind fails: address already in use), so serve it with observer run and "
        "attach. Loopback by default; any other --host needs --token, and browsers then open the address "
        "with ?token=TOKEN.",
    )
    parser.add_argument("--attach", metavar="TARGET",
                        help="each tab runs `observer attach TARGET` (an OS pid, a socket path, or HOST:PORT)")
    parser.add_argument("--attach-token", metavar="TOKEN", help="the --attach endpoint's token (TCP endpoints "
                        "need it)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT}; 0: any free port, printed at start)")
    parser.add_argument("--token", metavar="TOKEN", help=f"require TOKEN (at least {MIN_TOKEN_LENGTH} characters) "
                        "from every browser; needed for a host that is not loopback")
    parser.add_argument("--read-only", action="store_true", help="every tab's app refuses destructive keys")
    return parser
