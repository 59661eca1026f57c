"""`serve(rt)`: publish a runtime on a Unix socket (and TCP if asked) from a thread beside its loop.

The endpoint runs in one thread of its own, with its own asyncio loop: the socket servers, one
session per connection and the stall watchdog. It reads the runtime only by scheduling small
synchronous reads onto the runtime's loop (`asyncio.run_coroutine_threadsafe`, see
`observer.remote.service`), each with a deadline. So `hello` and `stalls` answer while the
runtime's loop is blocked, and say for how long it has been. With no client attached the runtime
pays for one ping every `HEARTBEAT` seconds (the endpoint's thread taking the GIL for a moment) and
for its journal's observation events.

This module is the only one that starts a thread (ruff's per-file ignore says so).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import os
import platform
import secrets
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from observer.runtime import NoProc, ObserverError, Pid, Runtime, TraceEvent
from observer.snapshot import HostStats

from . import wire
from .discovery import answers, socket_dir, socket_path, token_path
from .errors import Blocked, EndpointError, ReadOnly
from .hoststats import HostSampler
from .security import (
    SOCKET_MODE,
    ensure_private_dir,
    is_loopback,
    new_token,
    peer_uid,
    refusal,
    tokens_match,
    write_token,
)
from .service import CallFailed, RuntimeSide
from .watchdog import HEARTBEAT, Watchdog

logger = logging.getLogger("observer.remote")

T = TypeVar("T")

HELLO_PROBE = 0.02
"""How long `hello` waits for the runtime's loop before it reports the loop blocked."""
STALLS_PROBE = 0.25
"""How long `stalls` waits for the runtime's loop (so that a stall that just ended is finished)..."""
STALLS_PROBE_BLOCKED = 0.05
"""... and how long while the watchdog holds it blocked (the ongoing stall is then the answer)."""
READ_DEADLINE = 2.0
"""How long a read (snapshot, inspect, stalls) waits for the runtime's loop."""
CONTROL_DEADLINE = 30.0
"""How long a control action waits (terminate_child waits for the child's shutdown)."""
CALL_GRACE = 2.0
"""How long past its own timeout a call or a get_state waits for the runtime's loop before it says blocked."""
HOST_SAMPLE_SECONDS = 1.0
TRACE_LIMIT_CAP = 10_000
TRACE_ALIVE_CHECK = 0.5
"""Seconds between checks that a traced process still lives (a trace ends when it exits)."""
STOP_DEADLINE = 5.0
LINGER_SECONDS = 1.0
LINGER_BYTES = 4 * wire.MAX_REQUEST_LINE
"""How long, and how much, a connection closed for an error still reads (and drops) of the client's input."""


class Endpoint:
    """A published runtime: where it listens and how clients get in (what `serve` yields).

    Attributes:
        path: The Unix socket it listens on.
        address: The bound TCP ``(host, port)``, or None without TCP.
        token: The TCP token (None without TCP).
        token_path: The file the generated token was written to (None unless it generated one).
        control: Whether clients may kill, terminate, restart, suspend, resume, trace and call.
        stall_threshold: Seconds the runtime's loop may not run before the watchdog records a stall.
    """

    def __init__(self, path: Path, address: tuple[str, int] | None, token: str | None, token_path: Path | None,
                 control: bool, stall_threshold: float) -> None:
        self.path = path
        self.address = address
        self.token = token
        self.token_path = token_path
        self.control = control
        self.stall_threshold = stall_threshold
        self._watchdog: Watchdog | None = None  # set once, when its thread is made

    def __repr__(self) -> str:
        tcp = "" if self.address is None else f" tcp={self.address[0]}:{self.address[1]}"
        return f"<Endpoint {self.path}{tcp} {'control' if self.control else 'read-only'}>"

    @property
    def stalls_total(self) -> int:
        """Stalls of the runtime's loop since the endpoint started, an ongoing one included (it never goes back).

        A read from any thread (a metrics scrape's): one integer the watchdog's thread writes.
        """
        watchdog = self._watchdog
        return 0 if watchdog is None else watchdog.stalls_begun

    @property
    def loop_lag(self) -> float:
        """Seconds the latest ping of the runtime's loop took to run; while one is unanswered, how long so far.

        A read from any thread (a metrics scrape's), also while the runtime's loop is blocked.
        """
        watchdog = self._watchdog
        return 0.0 if watchdog is None else max(watchdog.lag, watchdog.blocked_for())


_PUBLISHED: ContextVar[tuple[tuple[Runtime, Endpoint], ...]] = ContextVar("observer_remote_published", default=())
"""The runtimes `serve()` publishes in this context (a task, and the tasks it starts), with their endpoints."""


def endpoint_of(rt: Runtime) -> Endpoint | None:
    """The endpoint that publishes `rt`, if `serve(rt)` was entered in this task (or in the one that started it).

    `observer.metrics` uses it to read the loop's lag and stalls from the endpoint's watchdog
    instead of starting a probe of its own (as under ``observer run --metrics``).
    """
    for served, endpoint in reversed(_PUBLISHED.get()):
        if served is rt:
            return endpoint
    return None


def serve(
    rt: Runtime,
    *,
    path: str | os.PathLike[str] | None = None,
    tcp: tuple[str, int] | None = None,
    token: str | None = None,
    control: bool = False,
    stall_threshold: float = 0.25,
    root: Pid | None = None,
) -> _Serving:
    """Publish `rt` for `observer.remote.connect` while the block runs: ``async with serve(rt) as endpoint:``.

    Enter it on the runtime's loop. Leaving the block stops the endpoint's thread and removes the
    socket (and the token file it wrote).

    Args:
        rt: A running runtime.
        path: The Unix socket; default ``<socket dir>/<os-pid>.sock`` (`observer.remote.discovery`),
            in a directory made 0700 (one of another uid, or open to others, is refused).
        tcp: Also listen on TCP at ``(host, port)`` (port 0: any free one); always with a token.
        token: The TCP token; None makes one and writes it next to the socket (mode 0600). A host
            other than loopback needs a token passed here.
        control: Allow kill, terminate, restart, suspend, resume, trace and call (read-only otherwise).
        stall_threshold: Seconds the runtime's loop may not run before the watchdog records a stall.
        root: The root of the tree to show (default: `observer.remote.service.select_root`).

    Raises:
        EndpointError: On entering: an unsafe socket directory, a socket in use, a TCP host that is not
            loopback without an explicit token, or bad arguments.
    """
    if not isinstance(stall_threshold, int | float) or isinstance(stall_threshold, bool) or not (
            math.isfinite(stall_threshold) and stall_threshold > 0):
        raise EndpointError(f"stall_threshold is a positive number of seconds, got {stall_threshold!r}")
    if tcp is not None:
        if not (isinstance(tcp, tuple) and len(tcp) == 2 and isinstance(tcp[0], str) and isinstance(tcp[1], int)
                and not isinstance(tcp[1], bool) and 0 <= tcp[1] <= 65535):
            raise EndpointError(f"tcp is a (host, port) pair with a port in 0..65535, got {tcp!r}")
        if token is None and not is_loopback(tcp[0]):
            raise EndpointError(f"refusing TCP on {tcp[0]}: a host other than loopback needs an explicit token= "
                                "(or forward the Unix socket over SSH)")
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise EndpointError("token is a non-empty string")
    return _Serving(rt, None if path is None else Path(path), tcp, token, bool(control), float(stall_threshold), root)


class _Serving:
    """The context manager behind `serve`."""

    def __init__(self, rt: Runtime, path: Path | None, tcp: tuple[str, int] | None, token: str | None,
                 control: bool, stall_threshold: float, root: Pid | None) -> None:
        self._rt = rt
        self._path = path
        self._tcp = tcp
        self._token = token
        self._control = control
        self._stall_threshold = stall_threshold
        self._root = root
        self._side: RuntimeSide | None = None
        self._thread: _EndpointThread | None = None
        self._endpoint: Endpoint | None = None
        self._socket_inode: int | None = None

    async def __aenter__(self) -> Endpoint:
        if self._thread is not None:
            raise EndpointError("this serve() is already running; call serve() again for another endpoint")
        loop = asyncio.get_running_loop()
        if self._path is None:
            ensure_private_dir(socket_dir())
            path = socket_path(os.getpid())
        else:
            path = self._path
        unix = _bind_unix(path)
        self._socket_inode = os.stat(path).st_ino
        tcp_sock: socket.socket | None = None
        side: RuntimeSide | None = None
        token, written = self._token, None
        try:
            if self._tcp is not None:
                tcp_sock = _bind_tcp(*self._tcp)
                if token is None:
                    token, written = new_token(), token_path(path)
                    write_token(written, token)
            address = None if tcp_sock is None else _address(tcp_sock)
            side = RuntimeSide(self._rt, root=self._root)
            endpoint = Endpoint(path, address, token if tcp_sock is not None else None, written, self._control,
                                self._stall_threshold)
            thread = _EndpointThread(endpoint, side, loop, threading.get_ident(), unix, tcp_sock)
            endpoint._watchdog = thread.watchdog
        except BaseException:
            unix.close()
            if tcp_sock is not None:
                tcp_sock.close()
            if side is not None:
                side.close()
            self._remove_files(path, written)
            raise
        try:
            await asyncio.wrap_future(thread.start())
        except BaseException:
            side.close()
            self._remove_files(path, written)
            raise
        self._side, self._thread, self._endpoint = side, thread, endpoint
        _PUBLISHED.set((*_PUBLISHED.get(), (self._rt, endpoint)))
        return endpoint

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        thread, side, endpoint = self._thread, self._side, self._endpoint
        if thread is None or side is None or endpoint is None:
            return
        _PUBLISHED.set(tuple(pair for pair in _PUBLISHED.get() if pair[1] is not endpoint))
        try:
            await asyncio.wait_for(asyncio.wrap_future(thread.stop()), STOP_DEADLINE)
        except TimeoutError:
            logger.warning("the observer endpoint's thread did not stop within %s s; leaving it (a daemon)",
                           STOP_DEADLINE)
        else:
            thread.join()
        finally:
            side.close()
            self._remove_files(endpoint.path, endpoint.token_path)
            self._thread = None

    def _remove_files(self, path: Path, written: Path | None) -> None:
        """Remove our socket (not one another endpoint has bound there since) and the token file we wrote."""
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == self._socket_inode:
                path.unlink()
        if written is not None:
            written.unlink(missing_ok=True)


def _bind_unix(path: Path) -> socket.socket:
    """A listening Unix socket at `path`, mode 0600 from the start (bound elsewhere, then renamed in place).

    Raises:
        EndpointError: A live endpoint answers at `path`, or it cannot be bound.
    """
    if path.is_socket():
        if answers(path):
            raise EndpointError(f"{path} is in use by a live endpoint; pass serve(path=...) for another one")
        path.unlink()
    elif path.exists():
        raise EndpointError(f"{path} exists and is not a socket; pass serve(path=...) for another place")
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(staging))
        os.chmod(staging, SOCKET_MODE)
        os.replace(staging, path)
        sock.listen(64)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        staging.unlink(missing_ok=True)
        raise EndpointError(f"cannot listen on {path}: {error.strerror or error}") from None
    return sock


def _bind_tcp(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as error:
        raise EndpointError(f"cannot listen on TCP {host}:{port}: {error.strerror or error}") from None
    sock.setblocking(False)
    return sock


def _address(sock: socket.socket) -> tuple[str, int]:
    host, port = sock.getsockname()[:2]
    return str(host), int(port)


async def _run_sync(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """Run a synchronous read on the runtime's loop (scheduled there by `run_coroutine_threadsafe`)."""
    return fn(*args)


class _NoAnswer(Exception):
    """The runtime's loop did not run a scheduled read within its deadline."""


class _Fail(Exception):
    """Answer the request with an error (and close the connection when `closing`)."""

    def __init__(self, kind: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


class _EndpointThread:
    """The endpoint's thread: its loop, the socket servers, the sessions and the watchdog."""

    def __init__(self, endpoint: Endpoint, side: RuntimeSide, runtime_loop: asyncio.AbstractEventLoop,
                 runtime_thread: int, unix: socket.socket, tcp: socket.socket | None) -> None:
        self.endpoint = endpoint
        self.side = side
        self.runtime_loop = runtime_loop
        self._unix = unix
        self._tcp = tcp
        self.started_at = time.time()
        self._started_mono = time.monotonic()
        self.watchdog = Watchdog(runtime_loop, runtime_thread, threshold=endpoint.stall_threshold,
                                 interval=min(HEARTBEAT, endpoint.stall_threshold / 2), on_stall=self._stalled)
        self._thread = threading.Thread(target=self._main, name="observer-endpoint", daemon=True)
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._sessions: set[asyncio.Task[Any]] = set()
        self._host = HostSampler()
        self._host_sample: tuple[float, HostStats] | None = None
        self.processes = 0  # the latest process count read, for a hello while the loop is blocked

    # -- lifecycle (called from the runtime's loop) ---------------------------------------------

    def start(self) -> concurrent.futures.Future[None]:
        """Start the thread; the future is done once it listens (or failed to)."""
        self._thread.start()
        return self._started

    def stop(self) -> concurrent.futures.Future[None]:
        """Ask the thread to stop; the future is done once every session has ended."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not self._done.done():
            with contextlib.suppress(RuntimeError):  # its loop already closed: it is done
                loop.call_soon_threadsafe(stop.set)
        return self._done

    def join(self) -> None:
        """Wait for the thread to end (it has: `stop()`'s future is done)."""
        self._thread.join(timeout=STOP_DEADLINE)

    # -- the thread ---------------------------------------------------------------------------

    def _main(self) -> None:
        # As asyncio.run does: closing the Runner cancels and awaits whatever is still pending.
        runner = asyncio.Runner()
        try:
            self._loop = runner.get_loop()
            runner.run(self._serve())
        finally:
            runner.close()
            self._unix.close()  # closed already by its server, unless the server never started
            if self._tcp is not None:
                self._tcp.close()
            if not self._started.done():
                self._started.set_exception(EndpointError("the endpoint's thread stopped before it listened"))
            if not self._done.done():
                self._done.set_result(None)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            servers = [await asyncio.start_unix_server(self._unix_session, sock=self._unix,
                                                       limit=wire.MAX_REQUEST_LINE)]
            if self._tcp is not None:
                servers.append(await asyncio.start_server(self._tcp_session, sock=self._tcp,
                                                          limit=wire.MAX_REQUEST_LINE))
        except OSError as error:
            self._started.set_exception(EndpointError(f"cannot serve: {error.strerror or error}"))
            return
        assert self._loop is not None
        self.watchdog.start(self._loop)
        self._started.set_result(None)
        try:
            await self._stop.wait()
        finally:
            self.watchdog.stop()
            for server in servers:
                server.close()
            for task in list(self._sessions):
                task.cancel()
            if self._sessions:
                await asyncio.wait(list(self._sessions), timeout=STOP_DEADLINE)
            for server in servers:
                await server.wait_closed()

    async def _unix_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._session(reader, writer, tcp=False)

    async def _tcp_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._session(reader, writer, tcp=True)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tcp: bool) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await _Session(self, reader, writer, tcp=tcp).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: its session ends, nothing else does
        except asyncio.CancelledError:
            # The endpoint is stopping (the only canceller). End normally: asyncio's stream server
            # reads this task's exception when it ends, and a cancelled one would be logged as an error.
            task.uncancel()
        finally:
            self._sessions.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    # -- reaching the runtime (from the endpoint's thread) ------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any, deadline: float = READ_DEADLINE) -> T:
        """Run `fn(*args)` on the runtime's loop and return its result.

        Raises:
            _NoAnswer: The loop did not run it within `deadline`.
        """
        return await self.act(_run_sync(fn, args), deadline=deadline)

    async def act(self, coroutine: Coroutine[Any, Any, T], *, deadline: float = CONTROL_DEADLINE) -> T:
        """Run a coroutine on the runtime's loop and return its result (its own errors raised here).

        Raises:
            _NoAnswer: The loop did not finish it within `deadline` (it is cancelled).
        """
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self.runtime_loop)
        except RuntimeError:  # the runtime's loop is closed
            coroutine.close()
            raise _NoAnswer from None
        waiting = asyncio.wrap_future(future)
        try:
            done, _ = await asyncio.wait({waiting}, timeout=deadline)  # its own TimeoutErrors stay its own
        except asyncio.CancelledError:
            future.cancel()
            raise
        if not done:
            future.cancel()
            raise _NoAnswer
        self.watchdog.seen(time.monotonic())
        return waiting.result()

    def host(self) -> HostStats:
        """The host figures, sampled at most once a second (in this thread)."""
        now = time.monotonic()
        sample = self._host_sample
        if sample is None or now - sample[0] >= HOST_SAMPLE_SECONDS:
            sample = self._host_sample = (now, self._host())
        return sample[1]

    def uptime(self) -> float:
        """Seconds since the endpoint started."""
        return time.monotonic() - self._started_mono

    def _stalled(self, stall: wire.StallRecord) -> None:
        """A stall ended: log it where clients see it (on the runtime's loop, which is back)."""
        with contextlib.suppress(RuntimeError):  # the runtime's loop closed meanwhile
            self.runtime_loop.call_soon_threadsafe(self.side.note_stall, stall)


class _Session:
    """One connection: hello first, then one request at a time."""

    def __init__(self, host: _EndpointThread, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 tcp: bool) -> None:
        self._host = host
        self._reader = reader
        self._writer = writer
        self._tcp = tcp
        self._hello_done = False
        self._encoder = wire.SnapshotEncoder()
        self._handlers: dict[str, Callable[[wire.Request], Awaitable[Any]]] = {
            wire.HELLO: self._hello, wire.SNAPSHOT: self._snapshot, wire.STALLS: self._stalls,
            wire.INSPECT: self._inspect, wire.KILL: self._kill, wire.TERMINATE: self._terminate,
            wire.RESTART: self._restart, wire.SUSPEND: self._suspend, wire.RESUME: self._resume,
            wire.TRACE: self._trace, wire.CALL: self._call, wire.GET_STATE: self._get_state,
            wire.START_FAILURES: self._start_failures,
        }

    async def run(self) -> None:
        """Serve requests until the client leaves or sends something that ends the connection."""
        if not self._tcp:
            sock = self._writer.get_extra_info("socket")
            problem = None if sock is None else refusal(peer_uid(sock), os.getuid())
            if problem is not None:
                await self._fail(None, _Fail(wire.E_REFUSED, problem))
                return
        while True:
            try:
                line = await self._reader.readline()
            except ValueError:  # the line is longer than the limit (asyncio's LimitOverrunError, wrapped)
                await self._fail(None, _Fail(wire.E_TOO_LONG,
                                             f"a line is at most {wire.MAX_REQUEST_LINE:,} bytes: closing"))
                return
            if not line.endswith(b"\n"):
                return  # end of input (a partial last line is dropped with it)
            if not await self._one(line):
                return

    async def _one(self, line: bytes) -> bool:
        """Answer one request line; False when the connection must close."""
        request_id: Any = None
        try:
            message = wire.decode(line)
            request_id = wire.request_id_of(message)
            request = wire.parse_request(message)
            if not self._hello_done and request.op != wire.HELLO:
                raise _Fail(wire.E_HELLO_FIRST, "the first request must be hello (with the wire version)")
            handler = self._handlers.get(request.op)
            if handler is None:
                raise _Fail(wire.E_UNKNOWN_OP, f"unknown op {request.op[:100]!r}: closing")
            value = await handler(request)
        except wire.WireError as problem:
            return await self._fail(request_id, _Fail(wire.E_BAD_REQUEST, f"bad request: {problem}: closing"))
        except _Fail as failure:
            return await self._fail(request_id, failure)
        except _NoAnswer:
            blocked = Blocked(self._blocked())
            return await self._fail(request_id, _Fail(wire.E_BLOCKED, str(blocked), seconds=blocked.seconds))
        except Blocked as blocked:
            return await self._fail(request_id, _Fail(wire.E_BLOCKED, str(blocked), seconds=blocked.seconds))
        except ReadOnly as refused:
            return await self._fail(request_id, _Fail(wire.E_READ_ONLY, str(refused)))
        except NoProc as missing:
            return await self._fail(request_id, _Fail(wire.E_NOPROC, str(missing), target=str(missing.dest)))
        except CallFailed as failed:
            return await self._fail(request_id, _Fail(failed.kind, failed.message, **failed.details))
        except ObserverError as failed:
            return await self._fail(request_id, _Fail(wire.E_ERROR, str(failed), type=type(failed).__name__))
        except ConnectionError:
            raise
        except Exception as crash:  # an endpoint bug must not take the service down: logged, answered, kept
            logger.exception("the observer endpoint failed on a request")
            return await self._fail(request_id, _Fail(wire.E_INTERNAL, f"the endpoint failed: {crash!r}"[:500]))
        await self._send(wire.ok(request.id, value))
        return True

    async def _fail(self, request_id: Any, failure: _Fail) -> bool:
        await self._send(wire.error(request_id, failure.kind, failure.message, **failure.details))
        if failure.kind not in wire.CLOSING_ERRORS:
            return True
        await self._linger()
        return False

    async def _linger(self) -> None:
        """Before closing on an error: say so (end of output), then drop what the client still sends.

        Closing a socket with unread input resets the connection, and the client could lose the error
        line; so read and discard its input for a moment (bounded in time and bytes) first.
        """
        with contextlib.suppress(OSError, RuntimeError):  # a transport that cannot half-close: close at once
            self._writer.write_eof()
        dropped = 0
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(LINGER_SECONDS):
                while dropped < LINGER_BYTES and (chunk := await self._reader.read(65_536)):
                    dropped += len(chunk)

    async def _send(self, message: dict[str, Any]) -> None:
        self._writer.write(wire.encode(message))
        await self._writer.drain()

    def _blocked(self) -> float:
        return self._host.watchdog.unseen_for()

    def _check_running(self) -> None:
        """Fail at once (instead of waiting out a deadline) while the watchdog knows the loop is blocked."""
        watchdog = self._host.watchdog
        if watchdog.blocked_for() >= watchdog.threshold:
            raise Blocked(watchdog.unseen_for())

    def _check_control(self, op: str) -> None:
        if not self._host.endpoint.control:
            raise ReadOnly(op)

    # -- ops --------------------------------------------------------------------------------

    async def _hello(self, request: wire.Request) -> dict[str, Any]:
        host, endpoint = self._host, self._host.endpoint
        version = request.fields.get("version")
        if version != wire.VERSION:
            raise _Fail(wire.E_VERSION, f"this endpoint speaks wire version {wire.VERSION}, the client "
                                        f"{str(version)[:20]}: use the same observer version on both sides")
        if self._tcp:
            assert endpoint.token is not None
            if not tokens_match(request.fields.get("token"), endpoint.token):
                raise _Fail(wire.E_BAD_TOKEN, "bad token: TCP needs the endpoint's token")
        self._hello_done = True
        loop_blocked = 0.0
        if host.watchdog.blocked_for() >= HELLO_PROBE:
            loop_blocked = host.watchdog.unseen_for()
        else:
            try:
                host.processes = await host.read(host.side.process_count, deadline=HELLO_PROBE)
            except _NoAnswer:
                loop_blocked = host.watchdog.unseen_for()
        return wire.hello_reply(
            os_pid=os.getpid(), argv=sys.argv, python=platform.python_version(), executable=sys.executable,
            control=endpoint.control, processes=host.processes, loop_blocked=loop_blocked, uptime=host.uptime(),
            started_at=host.started_at, stall_threshold=endpoint.stall_threshold, path=str(endpoint.path),
            tcp=endpoint.address,
        )

    async def _snapshot(self, request: wire.Request) -> dict[str, Any]:
        fields = request.fields
        since = wire.field(fields, "since", (int, type(None)), None)
        opened_value = wire.field(fields, "opened", list, [])
        table = wire.field(fields, "table", bool, False)
        if not all(isinstance(path, list) and all(isinstance(slot, str) for slot in path) for path in opened_value):
            raise wire.WireError("'opened' is a list of slot paths (lists of strings)")
        self._check_running()
        host = self._host
        snapshot = await host.read(host.side.snapshot, frozenset(tuple(path) for path in opened_value), host.host(),
                                   host.watchdog.lag, table)
        host.processes = snapshot.process_count
        return self._encoder.encode(snapshot, since)

    async def _stalls(self, request: wire.Request) -> list[dict[str, Any]]:
        host = self._host
        watchdog = host.watchdog
        probe = STALLS_PROBE_BLOCKED if watchdog.blocked_for() >= watchdog.threshold else STALLS_PROBE
        with contextlib.suppress(_NoAnswer):  # still blocked: the ongoing stall is part of the answer
            await host.read(host.side.running, deadline=probe)  # runs after the pong of a stall that ended
        host.watchdog.poll()
        return [wire.stall_to_wire(stall) for stall in host.watchdog.stalls()]

    async def _start_failures(self, request: wire.Request) -> list[dict[str, Any]]:
        since = wire.field(request.fields, "since", int, 0)
        self._check_running()
        host = self._host
        return await host.read(host.side.start_failures, since)

    async def _get_state(self, request: wire.Request) -> dict[str, Any]:
        target, timeout = wire.state_request_from_wire(request.fields)
        self._check_running()
        host = self._host
        return await host.act(host.side.get_state(target, timeout), deadline=timeout + CALL_GRACE)

    async def _call(self, request: wire.Request) -> dict[str, Any]:
        self._check_control(wire.CALL)
        target, message, timeout = wire.call_from_wire(request.fields)
        self._check_running()
        host = self._host
        return await host.act(host.side.call(target, message, timeout), deadline=timeout + CALL_GRACE)

    async def _inspect(self, request: wire.Request) -> dict[str, Any]:
        target = wire.target_from_wire(request.fields.get("target"))
        self._check_running()
        host = self._host
        return wire.inspection_to_wire(await host.read(host.side.inspect, target))

    async def _kill(self, request: wire.Request) -> int:
        self._check_control(wire.KILL)
        target = wire.target_from_wire(request.fields.get("target"))
        reason = wire.field(request.fields, "reason", str, "kill")
        if not reason or len(reason) > wire.REPR_CAP:
            raise wire.WireError("'reason' is a non-empty string of at most 2,000 characters")
        self._check_running()
        host = self._host
        pid: Pid = await host.read(host.side.kill, target, reason, deadline=CONTROL_DEADLINE)
        return pid.id

    async def _terminate(self, request: wire.Request) -> None:
        self._check_control(wire.TERMINATE)
        target = wire.target_from_wire(request.fields.get("target"))
        self._check_running()
        await self._host.act(self._host.side.terminate(target))

    async def _restart(self, request: wire.Request) -> int | None:
        self._check_control(wire.RESTART)
        target = wire.target_from_wire(request.fields.get("target"))
        self._check_running()
        return wire.pid_id(await self._host.act(self._host.side.restart(target)))

    async def _suspend(self, request: wire.Request) -> None:
        self._check_control(wire.SUSPEND)
        target = wire.target_from_wire(request.fields.get("target"))
        self._check_running()
        await self._host.act(self._host.side.suspend(target))

    async def _resume(self, request: wire.Request) -> None:
        self._check_control(wire.RESUME)
        target = wire.target_from_wire(request.fields.get("target"))
        self._check_running()
        await self._host.act(self._host.side.resume(target))

    async def _trace(self, request: wire.Request) -> dict[str, Any]:
        """Stream the target's next messages: a ``tracing`` line, ``event`` lines, then the answer.

        The answer (``ok``) says how many events were sent and why the trace ended; the connection
        then takes requests again.
        """
        self._check_control(wire.TRACE)
        target = wire.target_from_wire(request.fields.get("target"))
        limit = wire.field(request.fields, "limit", int, 100)
        if not 1 <= limit <= TRACE_LIMIT_CAP:
            raise wire.WireError(f"'limit' is an integer in 1..{TRACE_LIMIT_CAP:,}")
        self._check_running()
        host = self._host
        own_loop = asyncio.get_running_loop()
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def deliver(event: TraceEvent) -> None:  # on the runtime's loop: the message's repr is taken there and then
            encoded = wire.trace_event_to_wire(event)
            with contextlib.suppress(RuntimeError):  # the endpoint stopped
                own_loop.call_soon_threadsafe(events.put_nowait, encoded)

        pid, stop = await host.read(host.side.trace, target, limit, deliver)
        await self._send(wire.trace_started(request.id, pid.id, limit))
        sent, why = 0, "limit"
        try:
            while sent < limit:
                try:
                    event = await asyncio.wait_for(events.get(), TRACE_ALIVE_CHECK)
                except TimeoutError:
                    if self._reader.at_eof():
                        why = "closed"
                        break
                    with contextlib.suppress(_NoAnswer):
                        if not await host.read(host.side.is_alive, pid, deadline=TRACE_ALIVE_CHECK):
                            why = "exited"
                            break
                    continue
                await self._send(wire.trace_event(request.id, event))
                sent += 1
        finally:
            with contextlib.suppress(RuntimeError):
                host.runtime_loop.call_soon_threadsafe(stop)
        return wire.trace_ended(sent, why)
