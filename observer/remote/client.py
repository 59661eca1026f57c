"""`connect(target)`: talk to a runtime that `serve()` publishes in another OS process.

``async with connect(1234) as conn:`` (an OS pid, a socket path, or ``"host:port"`` with a token)
gives a `Connection`: `hello`, `snapshot` (the same `observer.snapshot.Snapshot` the app draws),
`stalls`, `inspect`, `get_state`, `start_failures`, and — when the service allows control —
`call`, `kill`, `terminate`, `restart`, `suspend`, `resume` and `trace`. Requests go one at a
time over one connection (the endpoint answers them in order); `trace` streams over a connection
of its own, so snapshots keep coming while it runs, and `open_another` gives one more connection
for calls that should be in flight together.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any

from observer.runtime import Inspection, NoProc, ObserverError, Pid, TraceEvent, errors
from observer.snapshot import Snapshot

from . import wire
from .discovery import pid_alive, socket_dir, socket_path
from .errors import Blocked, ReadOnly, RemoteError, Unreachable
from .failures import StartFailure
from .security import dir_problem, peer_uid
from .stall import Stall

DEFAULT_TIMEOUT = 5.0
"""Seconds a read (hello, snapshot, stalls, inspect) waits for its answer."""
CONTROL_TIMEOUT = 35.0
"""Seconds a control request waits (the endpoint allows 30 s for a terminate_child to finish)."""
CALL_GRACE = 5.0
"""Seconds past a call's (or a get_state's) own timeout that the client waits for the endpoint's answer."""
Target = Pid | str

_RAISED_AS_THEMSELVES = frozenset({
    "AlreadyPresent", "ChildNotFound", "ChildRestarting", "ChildRunning", "InvalidArgument", "MaxChildren",
    "NotASupervisor",
})
"""Errors of `observer.runtime.errors` whose only argument is their message: raised here as they were there."""
_UNREACHABLE_KINDS = frozenset({wire.E_VERSION, wire.E_BAD_TOKEN, wire.E_REFUSED, wire.E_HELLO_FIRST})

Opener = Callable[[], Coroutine[Any, Any, tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


def connect(target: int | str | os.PathLike[str], *, token: str | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> _Connecting:
    """Connect to a served runtime: ``async with connect(target) as conn:``.

    Args:
        target: An OS pid (an int or its digits: the endpoint's default socket), a socket path, or
            ``"host:port"`` for a TCP endpoint.
        token: The endpoint's token (TCP needs it).
        timeout: Seconds to wait for the connection and for each read's answer.

    Raises:
        Unreachable: On entering: no endpoint there, refused, a bad token, another uid, a version
            mismatch; the message says which.
    """
    return _Connecting(_where(target), token, timeout)


class _Place:
    """Where an endpoint is: a Unix socket path, or a TCP host and port."""

    def __init__(self, path: Path | None = None, host: str | None = None, port: int | None = None,
                 os_pid: int | None = None) -> None:
        self.path, self.host, self.port, self.os_pid = path, host, port, os_pid

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else f"{self.host}:{self.port}"


def _where(target: int | str | os.PathLike[str]) -> _Place:
    """Parse a target.

    Raises:
        Unreachable: It is none of an OS pid, a socket path or host:port.
    """
    if isinstance(target, int) and not isinstance(target, bool):
        return _Place(socket_path(target), os_pid=target)
    if isinstance(target, os.PathLike):
        return _Place(Path(target))
    if isinstance(target, str):
        text = target.strip()
        if text.isdigit():
            return _Place(socket_path(int(text)), os_pid=int(text))
        host, colon, port = text.rpartition(":")
        if colon and host and port.isdigit() and "/" not in text:
            return _Place(host=host.strip("[]"), port=int(port))
        if text:
            return _Place(Path(text))
    raise Unreachable(f"{target!r} is not an OS pid, a socket path or host:port")


class _Connecting:
    """The context manager behind `connect`."""

    def __init__(self, place: _Place, token: str | None, timeout: float) -> None:
        self._place = place
        self._token = token
        self._timeout = timeout
        self._connection: Connection | None = None

    async def __aenter__(self) -> Connection:
        self._connection = await Connection.open(self._place, self._token, self._timeout)
        return self._connection

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._connection is not None:
            await self._connection.close()


class Connection:
    """One connection to a served runtime (see `connect`).

    Attributes:
        where: The endpoint, as text (its socket path or host:port).
        info: The latest `hello` answer.
    """

    def __init__(self, place: _Place, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 opener: Opener, token: str | None, timeout: float, pids: wire.PidTable) -> None:
        self._place = place
        self.where = str(place)
        self._reader = reader
        self._writer = writer
        self._opener = opener
        self._token = token
        self._timeout = timeout
        self._pids = pids
        self._snapshots = wire.SnapshotDecoder(pids)
        self._lock = asyncio.Lock()
        self._ids = 0
        self._closed = False
        self.info: dict[str, Any] = {}

    @classmethod
    async def open(cls, place: _Place, token: str | None, timeout: float,
                   pids: wire.PidTable | None = None) -> Connection:
        """Connect and say hello.

        Raises:
            Unreachable: As `connect` says.
        """
        if place.host is not None and token is None:
            raise Unreachable(f"{place}: a TCP endpoint needs its token (token=...; the service wrote it next to "
                              "its socket, mode 0600)")
        opener = _opener(place, timeout)
        reader, writer = await opener()
        connection = cls(place, reader, writer, opener, token, timeout, pids or wire.PidTable())
        try:
            await connection.hello()
        except BaseException:
            await connection.close()
            raise
        return connection

    @property
    def control(self) -> bool:
        """Whether the service allows control (kill, terminate, restart, suspend, resume, trace, call)."""
        return bool(self.info.get("control", False))

    async def open_another(self) -> Connection:
        """One more connection to the same service (its token, and this connection's pids), to close when done.

        Raises:
            Unreachable: As `connect` says.
        """
        return await Connection.open(self._place, self._token, self._timeout, self._pids)

    @property
    def closed(self) -> bool:
        """Whether the connection has ended (closed here, or by the service)."""
        return self._closed

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        self._closed = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass  # already gone: closed either way

    # -- reads ------------------------------------------------------------------------------------

    async def hello(self) -> dict[str, Any]:
        """Who the service is and how it is doing.

        Returns:
            At least ``os_pid``, ``argv``, ``python``, ``version`` (the wire version), ``control``,
            ``processes``, ``loop_blocked`` (seconds its loop has not answered, 0.0 when healthy),
            ``uptime`` (seconds the endpoint has run) and ``stall_threshold``.

        Raises:
            Unreachable: Refused, a bad token, a version mismatch, or the service went away.
        """
        reply = await self._request(wire.HELLO, wire.hello_request(self._token))
        try:
            self.info = wire.check_hello(reply)
        except wire.WireError as problem:
            await self.close()
            raise Unreachable(f"{self.where}: {problem}") from None
        return dict(self.info)

    async def snapshot(self, *, opened: frozenset[tuple[str, ...]] = frozenset(), table: bool = False) -> Snapshot:
        """The service's tree and figures, as the in-process app sees them; parts unchanged since the
        previous call are the previous snapshot's objects.

        Args:
            opened: Slot paths (from the root) of big supervisors whose children to list anyway.
            table: Fill `Snapshot.processes` (every live process's counters; rows that did not change
                are the previous snapshot's objects).

        Raises:
            Blocked: The service's loop is blocked (`stalls` says where).
            Unreachable: The service went away.
        """
        fields = {"since": self._snapshots.since, "opened": [list(path) for path in sorted(opened)], "table": table}
        value = await self._request(wire.SNAPSHOT, fields)
        try:
            return self._snapshots.decode(value)
        except wire.WireError as problem:
            raise Unreachable(f"{self.where}: {problem}") from None

    async def stalls(self) -> list[Stall]:
        """The times the service's loop stopped running, oldest first (an ongoing one last)."""
        values = await self._request(wire.STALLS, {})
        return [wire.stall_from_wire(value, self._pids) for value in values]

    async def inspect(self, target: Target) -> Inspection:
        """`Runtime.inspect` of a live process in the service: info, state, stack, what it awaits.

        Raises:
            NoProc: It is not alive (or no such name).
        """
        value = await self._request(wire.INSPECT, {"target": wire.target_to_wire(target)}, target=target)
        return wire.inspection_from_wire(value, self._pids)

    async def get_state(self, target: Target, *, timeout: float = 5.0) -> Any:
        """A server's state in the service (`format_status()`, redacted there), taken between its callbacks.

        Returns:
            The state as a JSON value (tuples arrive as lists), or a `RemoteRepr` of its repr when it
            has no JSON form (see `observer.remote.values`).

        Raises:
            NoProc: It is not alive (or no such name).
            NotAServer: It is a plain process.
            CallTimeout: The server did not get to it within `timeout` (it is stuck in a callback).
            InvalidArgument: `timeout` is not in (0, 300] seconds.
        """
        fields = wire.state_request_to_wire(target, timeout)
        value = await self._request(wire.GET_STATE, fields, target=target,
                                    timeout=max(self._timeout, timeout + CALL_GRACE))
        return self._value(value)

    async def start_failures(self, since: int = 0) -> list[StartFailure]:
        """Why supervisors in the service could not start a child: the latest failure of each child, oldest first.

        Args:
            since: Only failures newer than this `StartFailure.seq` (0: every one the endpoint keeps).
        """
        values = await self._request(wire.START_FAILURES, {"since": since})
        try:
            return [wire.start_failure_from_wire(value, self._pids) for value in values]
        except (wire.WireError, TypeError) as problem:
            raise Unreachable(f"{self.where}: {problem}") from None

    # -- control ----------------------------------------------------------------------------------

    async def call(self, target: Target, request: Any, *, timeout: float = 5.0) -> Any:
        """Call a server in the service (`Runtime.call` there) and return its reply.

        The request crosses as JSON: lists, dicts with str keys, strings, numbers, booleans and None
        (a tuple is sent as a list, which a server's ``match`` on ``["get", key]`` accepts too).

        Returns:
            The reply as a JSON value (tuples arrive as lists), or a `RemoteRepr` of its repr when it
            has no JSON form.

        Raises:
            ReadOnly: The service does not allow control (a call can change it).
            NoProc: It is not alive (or no such name).
            CallTimeout: No reply within `timeout` seconds.
            CallExit: The server exited during the call (`reason` is the repr of its exit reason).
            NotAServer: It is a plain process.
            InvalidArgument: The request has no JSON form, or `timeout` is not in (0, 300] seconds.
        """
        if not self.control:
            raise ReadOnly(wire.CALL)
        fields = wire.call_to_wire(target, request, timeout)
        value = await self._request(wire.CALL, fields, target=target, request=request,
                                    timeout=max(self._timeout, timeout + CALL_GRACE))
        return self._value(value)

    def _value(self, value: Any) -> Any:
        try:
            return wire.value_from_wire(value)
        except wire.WireError as problem:
            raise Unreachable(f"{self.where}: {problem}") from None

    async def kill(self, target: Target, reason: str = "kill") -> None:
        """Send an exit signal (``"kill"`` cannot be trapped) to a process: a pid, its text, a name or a path.

        Raises:
            ReadOnly: The service does not allow control.
            NoProc: It is not alive (or no such name).
        """
        await self._control(wire.KILL, target, reason=reason)

    async def terminate(self, target: Target) -> None:
        """terminate_child on the target's supervisor (a kept spec stays, not running).

        Raises:
            ReadOnly: The service does not allow control.
            NoProc: No such process or child.
        """
        await self._control(wire.TERMINATE, target)

    async def restart(self, target: Target) -> Pid | None:
        """restart_child on the target's supervisor; a stopped child is named by its path or its last pid.

        Returns:
            The restarted child's pid (None when its start returned ignore).

        Raises:
            ReadOnly: The service does not allow control.
            NoProc: No such process or child.
            ChildRunning: It is running (terminate it first).
        """
        return self._pids(await self._control(wire.RESTART, target))

    async def suspend(self, target: Target) -> None:
        """Suspend a server in the service (it handles nothing until resumed)."""
        await self._control(wire.SUSPEND, target)

    async def resume(self, target: Target) -> None:
        """Resume a suspended server in the service."""
        await self._control(wire.RESUME, target)

    async def trace(self, target: Target, limit: int = 100) -> AsyncGenerator[TraceEvent, None]:
        """The target's next `limit` messages as they happen (each message as its repr), over a connection
        of its own; it ends after `limit` events or when the process exits.

        Use ``async with contextlib.aclosing(conn.trace(pid)) as events: async for event in events: ...``
        so that breaking out stops the trace at once.

        Raises:
            ReadOnly: The service does not allow control.
            NoProc: It is not alive.
        """
        if not self.control:
            raise ReadOnly(wire.TRACE)
        stream = await Connection.open(self._place, self._token, self._timeout, self._pids)
        try:
            async for event in stream._stream_trace(target, limit):
                yield event
        finally:
            await stream.close()

    # -- the exchange -----------------------------------------------------------------------------

    async def _control(self, op: str, target: Target, **fields: Any) -> Any:
        if not self.control:
            raise ReadOnly(op)
        return await self._request(op, {"target": wire.target_to_wire(target), **fields}, target=target,
                                   timeout=max(self._timeout, CONTROL_TIMEOUT))

    async def _request(self, op: str, fields: dict[str, Any], *, target: Target | None = None,
                       request: Any = None, timeout: float | None = None) -> Any:
        async with self._lock:
            if self._closed:
                raise Unreachable(f"{self.where}: the connection is closed")
            self._ids += 1
            request_id = self._ids
            seconds = self._timeout if timeout is None else timeout
            deadline = asyncio.timeout(seconds)
            try:
                async with deadline:
                    return await self._exchange(request_id, op, fields, target, request)
            except TimeoutError:
                if not deadline.expired():
                    raise  # Blocked (a TimeoutError too): the endpoint's answer, not our deadline
                raise Unreachable(f"{self.where}: no answer to {op} within {seconds:g} s") from None

    async def _exchange(self, request_id: int, op: str, fields: dict[str, Any], target: Target | None,
                        request: Any) -> Any:
        await self._write(wire.request(request_id, op, **fields))
        while True:
            message = await self._read()
            if message.get("id") != request_id or not ("ok" in message or "error" in message):
                continue  # the late answer of a request that timed out, or a trace's line: not ours
            if "error" in message:
                self._raise(message["error"], op, target, request)
            return message["ok"]

    async def _stream_trace(self, target: Target, limit: int) -> AsyncIterator[TraceEvent]:
        async with self._lock:
            self._ids += 1
            request_id = self._ids
            await self._write(wire.request(request_id, wire.TRACE, target=wire.target_to_wire(target), limit=limit))
            while True:
                message = await self._read()
                if message.get("id") != request_id:
                    continue
                if "event" in message:
                    try:
                        event = wire.trace_event_from_wire(message["event"], self._pids)
                    except (KeyError, TypeError, ValueError, AssertionError):
                        raise Unreachable(f"{self.where}: a malformed trace event") from None
                    yield event
                elif "error" in message:
                    self._raise(message["error"], wire.TRACE, target)
                elif "ok" in message:
                    return

    async def _write(self, message: dict[str, Any]) -> None:
        try:
            self._writer.write(wire.encode(message))
            await self._writer.drain()
        except (ConnectionError, OSError):
            self._closed = True
            raise Unreachable(f"{self.where}: the service closed the connection (it exited?)") from None

    async def _read(self) -> dict[str, Any]:
        try:
            line = await self._reader.readline()
        except ValueError:  # longer than MAX_RESPONSE_LINE
            await self.close()
            raise Unreachable(f"{self.where}: the endpoint sent a line over {wire.MAX_RESPONSE_LINE:,} bytes") from None
        except (ConnectionError, OSError):
            line = b""
        if not line.endswith(b"\n"):
            self._closed = True
            raise Unreachable(f"{self.where}: the service closed the connection (it exited?)")
        try:
            return wire.decode(line)
        except wire.WireError as problem:
            await self.close()
            raise Unreachable(f"{self.where}: the endpoint does not speak the observer wire protocol ({problem})") \
                from None

    def _raise(self, failure: Any, op: str, target: Target | None, request: Any = None) -> None:
        """Raise the error an endpoint answered with, as the exception it stands for."""
        kind = failure.get("kind") if isinstance(failure, dict) else None
        message = str(failure.get("message", "")) if isinstance(failure, dict) else str(failure)
        if kind in wire.CLOSING_ERRORS:
            self._closed = True
        if kind in _UNREACHABLE_KINDS:
            raise Unreachable(f"{self.where}: {message}")
        if kind == wire.E_UNKNOWN_OP:
            raise RemoteError(f"{self.where}: the service's endpoint does not know {op!r} (an older observer? "
                              f"use the same version on both sides): {message}")
        if isinstance(failure, dict):
            call_error = wire.call_error_from_wire(failure, target, request, op)
            if call_error is not None:
                raise call_error
        if kind == wire.E_READ_ONLY:
            raise ReadOnly(op)
        if kind == wire.E_BLOCKED:
            seconds = failure.get("seconds", 0.0)
            raise Blocked(float(seconds) if isinstance(seconds, int | float) else 0.0)
        if kind == wire.E_NOPROC:
            missing = NoProc(target if target is not None else failure.get("target"))
            missing.args = (message,)  # the service's words, which say why
            raise missing
        if kind == wire.E_ERROR:
            name = failure.get("type")
            if name in _RAISED_AS_THEMSELVES:
                error_type = getattr(errors, str(name))
                if isinstance(error_type, type) and issubclass(error_type, ObserverError):
                    raise error_type(message)
            raise RemoteError(f"{name}: {message}" if name else message)
        raise RemoteError(f"{self.where}: {message or kind}")


def _opener(place: _Place, timeout: float) -> Opener:
    """The function that opens a stream to `place` (again, for a trace), with one-line errors."""

    async def open_unix() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        path = place.path
        assert path is not None
        if place.os_pid is not None:
            problem = dir_problem(socket_dir())
            if problem is not None and socket_dir().exists():
                raise Unreachable(f"refusing to connect: {problem}")
            if not path.exists():
                if pid_alive(place.os_pid):
                    raise Unreachable(f"OS process {place.os_pid} has no observer endpoint (no {path}): "
                                      "serve it with observer.remote.serve(rt) or `observer run`")
                raise Unreachable(f"no OS process {place.os_pid}")
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(path), limit=wire.MAX_RESPONSE_LINE), timeout)
        except FileNotFoundError:
            raise Unreachable(f"no endpoint at {path}") from None
        except ConnectionRefusedError:
            raise Unreachable(f"{path}: refused: nobody listens there (a stale socket? `observer ps` removes "
                              "those)") from None
        except PermissionError:
            raise Unreachable(f"{path}: permission denied (another user's endpoint?)") from None
        except TimeoutError:
            raise Unreachable(f"{path}: no connection within {timeout:g} s") from None
        except OSError as error:
            raise Unreachable(f"{path}: {error.strerror or error}") from None
        sock = writer.get_extra_info("socket")
        owner = None if sock is None else peer_uid(sock)
        if owner is not None and owner != os.getuid():
            writer.close()
            raise Unreachable(f"{path}: the endpoint runs as uid {owner}, not as this user (uid {os.getuid()}): "
                              "refusing to talk to it")
        return reader, writer

    async def open_tcp() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(place.host, place.port, limit=wire.MAX_RESPONSE_LINE), timeout)
        except ConnectionRefusedError:
            raise Unreachable(f"{place}: refused: nobody listens there") from None
        except TimeoutError:
            raise Unreachable(f"{place}: no connection within {timeout:g} s") from None
        except OSError as error:
            raise Unreachable(f"{place}: {error.strerror or error}") from None

    return open_unix if place.path is not None else open_tcp
