"""`RemoteSource`: a runtime that runs in another OS process, read over its endpoint (`observer.remote.connect`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from observer.journal import MISSING, Cascade, Level, LogEntry, LogNote
from observer.remote import Blocked, Connection, ReadOnly, Unreachable, connect
from observer.remote.client import DEFAULT_TIMEOUT
from observer.runtime import Inspection, NoProc, ObserverError, Pid, TraceEvent
from observer.snapshot import NodeSnapshot, ProcessDetail, Snapshot, describe

from .base import Changed, Source, SourceState, Unsupported, View
from .reasons import RemoteReasons

if TYPE_CHECKING:
    from observer.drills.builtin import Drill
    from observer.drills.report import DrillReport

MAX_LOCAL_NOTES = 200
"""Lines of the app's own (actions taken, errors) kept beside the service's log."""
PATIENCE = 0.3
"""Seconds a snapshot may take before the source asks (over a second connection) whether the service's loop
is blocked; a snapshot that is merely slow gets three times its last duration."""

Connector = Callable[..., contextlib.AbstractAsyncContextManager[Connection]]


class RemoteSource(Source):
    """A served runtime: snapshots fetched over its endpoint, actions sent to it, its stalls shown.

    `run` connects and then fetches one snapshot (and the selected process's inspection) each time
    the app asks (`refresh`), one request at a time, calling `changed` when it arrived; with the
    process table while the app shows the process list. Exit reasons, which cross the wire as their
    repr, are read back as the embedded app shows them (`observer.source.reasons`). While the
    service's loop is blocked, its endpoint still answers: the state says for how long. When the
    service goes away, the state is ``gone`` and the last snapshot stays.
    """

    def __init__(self, target: str | int | os.PathLike[str], *, token: str | None = None, read_only: bool = False,
                 timeout: float = DEFAULT_TIMEOUT, connector: Connector = connect) -> None:
        """Create the source (nothing connects before `run`).

        Args:
            target: An OS pid, a socket path, or ``host:port`` (see `observer.remote.connect`).
            token: The endpoint's token (TCP needs it).
            read_only: Refuse every action even when the service allows control.
            timeout: Seconds to wait for the connection and each read.
            connector: Opens the connection (`observer.remote.connect`; tests pass their own).
        """
        self._target = target
        self._token = token
        self._read_only = read_only
        self._timeout = timeout
        self._connector = connector
        self._conn: Connection | None = None
        self._state = SourceState("connecting")
        self._view = View()
        self._wanted = asyncio.Event()
        self._closing = False
        self._remote: Snapshot | None = None  # the service's latest snapshot, as fetched (its reasons read back)
        self._reasons = RemoteReasons()
        self._latest: Snapshot | None = None  # the same with the app's own notes in its log
        self._received_at = 0.0  # when it arrived (time.monotonic), to tell the service's time since
        self._notes: tuple[LogEntry, ...] = ()  # the app's own entries: its notes, a drill's steps and verdict
        self._inspection: Inspection | None = None
        self._live: tuple[Snapshot | None, frozenset[Pid]] = (None, frozenset())  # the pids a snapshot shows alive
        self._merged_from: tuple[tuple[LogEntry, ...], tuple[LogEntry, ...]] | None = None  # what `_latest.log` is of
        self._fetched = asyncio.Event()  # set (and replaced) when a fetch ends, or when the service is gone
        self._stack: contextlib.AsyncExitStack | None = None  # holds the connections while `run` runs
        self._probe: Connection | None = None  # the second connection, that asks whether the loop is blocked
        self._patience = PATIENCE

    # -- who ---------------------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        """The root's registered name once a snapshot came, else the service's program, else the target."""
        snapshot = self._remote
        if snapshot is not None and snapshot.root is not None:
            return snapshot.root.name or snapshot.root.label
        conn = self._conn
        argv = [] if conn is None else conn.info.get("argv") or []
        if argv:
            return Path(str(argv[0])).name
        return str(self._target)

    @property
    def where(self) -> str:
        """``attached: pid 4242``, or the endpoint's address."""
        conn = self._conn
        os_pid = None if conn is None else conn.info.get("os_pid")
        return f"attached: pid {os_pid}" if os_pid is not None else f"attached: {self._target}"

    @property
    def target(self) -> str:
        """The target as given."""
        return str(self._target)

    # -- life --------------------------------------------------------------------------------------------

    async def run(self, changed: Changed) -> None:
        """Connect, then fetch whatever the app asks for until `close`, or until the service goes away."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                conn = await stack.enter_async_context(
                    self._connector(self._target, token=self._token, timeout=self._timeout))
                self._stack = stack
                self._conn = conn
                self._state = SourceState("up", blocked=float(conn.info.get("loop_blocked") or 0.0))
                changed()
                self._fetched_now()
                while not self._closing:
                    await self._wanted.wait()
                    self._wanted.clear()
                    if self._closing:
                        break
                    await self._fetch(conn)
                    self._fetched_now()
                    changed()
        except Unreachable as error:
            self._state = SourceState("gone", _short(str(error)))
            changed()
        finally:
            self._fetched.set()

    def fetched(self) -> asyncio.Event:
        """An event set once the fetch after this call has ended (or the connection is made, or the service gone).

        The app never waits on it; tests and scripts do, instead of guessing how long a fetch takes.
        """
        return self._fetched

    def _fetched_now(self) -> None:
        done, self._fetched = self._fetched, asyncio.Event()
        done.set()

    async def close(self) -> None:
        """Stop fetching; `run` returns (the app may also cancel it: a pending read is simply dropped)."""
        self._closing = True
        self._wanted.set()

    @property
    def state(self) -> SourceState:
        """Connecting, up (with how long the service's loop has been blocked), or gone (and why)."""
        return self._state

    @property
    def control(self) -> bool:
        """Whether the service allows control and the app was not asked to be read-only."""
        conn = self._conn
        return conn is not None and conn.control and not self._read_only and self._state.phase == "up"

    async def _fetch(self, conn: Connection) -> None:
        view = self._view
        began = time.monotonic()
        try:
            snapshot = await asyncio.wait_for(conn.snapshot(opened=view.opened, table=view.table), self._patience)
        except TimeoutError:  # dropped (its late answer is skipped): is the service's loop blocked, or slow?
            blocked = await self._loop_blocked()
            if blocked > 0:
                self._state = SourceState("up", blocked=blocked)
            else:
                self._patience = min(self._timeout, self._patience * 3)
            return
        except Blocked as blocked:
            self._state = SourceState("up", blocked=max(blocked.seconds, 0.001))
            return
        self._patience = max(PATIENCE, 3 * (time.monotonic() - began))
        self._state = SourceState("up")
        self._remote, self._received_at = self._reasons.snapshot(snapshot), time.monotonic()
        self._merge()
        selected = view.selected
        inspection = None
        if selected is not None and self._alive_in(snapshot, selected):
            try:
                inspection = await conn.inspect(selected)
            except (NoProc, Blocked):
                inspection = None
        self._inspection = inspection

    async def _loop_blocked(self) -> float:
        """Seconds the service's loop has not run, from `hello` over a second connection (kept for next time).

        Raises:
            Unreachable: The service has gone.
        """
        probe = self._probe
        if probe is None or probe.closed:
            stack = self._stack
            assert stack is not None
            probe = self._probe = await stack.enter_async_context(
                self._connector(self._target, token=self._token, timeout=self._timeout))
        hello = await probe.hello()
        return float(hello.get("loop_blocked") or 0.0)

    # -- reading -----------------------------------------------------------------------------------------

    def refresh(self, view: View, *, loop_lag: float | None = None) -> None:
        """Ask `run` for a fresh snapshot (and the selected process's inspection); `changed` when they came."""
        self._view = view
        self._wanted.set()

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot fetched, with the app's own notes in its log."""
        return self._latest

    def inspection(self, pid: Pid) -> Inspection | None:
        """The newest inspection fetched, if it is of `pid`."""
        inspection = self._inspection
        return inspection if inspection is not None and inspection.info.pid is pid else None

    def detail(self, node: NodeSnapshot, parent: NodeSnapshot | None, *, vanished: bool = False) -> ProcessDetail:
        """The process panel's figures from the newest inspection (the node's own status until it came)."""
        inspection = None if node.pid is None else self.inspection(node.pid)
        last_exit = self._exit_of(node.previous_pid)
        exit_reason = self._exit_of(node.pid) if node.pid is not None else last_exit
        info = None if inspection is None else inspection.info
        snapshot = self._remote
        now = self.now() if snapshot is None else snapshot.taken_at  # the uptime as of the snapshot, as the header's
        detail = describe(node, parent, info, now=now, last_exit=last_exit, exit_reason=exit_reason,
                          vanished=vanished, label_of=self._label_of)
        if info is None and node.status == "running" and not vanished:
            detail = replace(detail, alive=True, status="running")  # not inspected yet: as the snapshot says
        return detail

    def is_alive(self, pid: Pid) -> bool:
        """Whether the newest snapshot shows `pid` running."""
        return self._alive_in(self._remote, pid)

    def now(self) -> float:
        """The service's clock, as told by its newest snapshot and the time since it came."""
        snapshot = self._remote
        if snapshot is None:
            return 0.0
        return snapshot.taken_at + (time.monotonic() - self._received_at)

    # -- the log -----------------------------------------------------------------------------------------

    def note(self, text: str, level: Level = "info") -> None:
        """Keep a line of the app's own beside the service's log."""
        self.log(LogNote(self.now(), text, level))

    def log(self, entry: LogEntry) -> None:
        """Keep an entry of the app's own (a note, a drill's step or verdict) beside the service's log."""
        self._notes = (*self._notes, entry)[-MAX_LOCAL_NOTES:]
        self._merge()

    def _merge(self) -> None:
        """The service's log with the app's notes, in time order (the same object while neither changed)."""
        remote = self._remote
        if remote is None:
            return
        latest = self._latest
        merged = remote.log
        if self._notes:
            if latest is not None and latest.log and self._merged_from == (remote.log, self._notes):
                merged = latest.log
            else:
                merged = tuple(sorted((*remote.log, *self._notes), key=_entry_time))
            self._merged_from = (remote.log, self._notes)
        self._latest = remote if merged is remote.log else replace(remote, log=merged)

    # -- actions ----------------------------------------------------------------------------------------

    async def kill(self, pid: Pid, reason: str) -> None:
        """`Connection.kill`."""
        await self._controlled("kill").kill(pid, reason)

    async def terminate(self, node: NodeSnapshot, parent: NodeSnapshot, path: tuple[str, ...]) -> None:
        """`Connection.terminate` of the node's pid (of its path when it is not running)."""
        await self._controlled("terminate").terminate(node.pid if node.pid is not None else "/".join(path))

    async def restart(self, node: NodeSnapshot, parent: NodeSnapshot, path: tuple[str, ...]) -> Pid | None:
        """`Connection.restart` of the node by its path (a stopped child has no pid)."""
        return await self._controlled("restart").restart(node.pid if node.pid is not None else "/".join(path))

    async def suspend(self, pid: Pid) -> None:
        """`Connection.suspend`."""
        await self._controlled("suspend").suspend(pid)

    async def resume(self, pid: Pid) -> None:
        """`Connection.resume`."""
        await self._controlled("resume").resume(pid)

    def trace(self, pid: Pid, limit: int) -> AsyncGenerator[TraceEvent, None]:
        """`Connection.trace`, over a connection of its own (opened when first iterated).

        Raises:
            ReadOnly: No control (raised now, not when iterated).
        """
        return _aclosed(self._controlled("trace").trace(pid, limit))

    def _controlled(self, what: str) -> Connection:
        """The connection, for an action.

        Raises:
            ReadOnly: The app was asked to be read-only, or the service does not allow control.
            Unreachable: The service has gone.
        """
        conn = self._conn
        if conn is None or self._state.phase != "up":
            raise Unreachable(f"{self._target}: {self._state.detail or 'not connected'}")
        if self._read_only:
            raise ReadOnlyHere(what)
        if not conn.control:
            raise ReadOnly(what)
        return conn

    # -- drills -----------------------------------------------------------------------------------------

    def own_drills_unavailable(self) -> str | None:
        """None when the service allows control (a drill kills processes) and the app is not read-only."""
        conn = self._conn
        if self._read_only:
            return "attached with --read-only: a drill kills processes"
        if conn is None or self._state.phase != "up":
            return f"{self._target}: {self._state.detail or 'not connected'}"
        if not conn.control:
            return ("the service does not allow control, which a drill needs (observer run --control, or "
                    "serve(rt, control=True))")
        return None

    async def run_drill(self, drill: Drill, on_affected: Callable[[Sequence[Pid]], None], *,
                        builtin: bool = True) -> DrillReport:
        """Run a drill from the user's drill file against the service, as ``observer drill --file F --attach``
        does (over connections of its own; the processes it touches are not highlighted).

        Raises:
            Unsupported: A built-in drill, or `own_drills_unavailable` says why not.
            ReadOnly, Unreachable: The service refused, or went away.
        """
        why = self.drills_unavailable() if builtin else self.own_drills_unavailable()
        if why is not None:
            raise Unsupported(why)
        from observer.drills.attached import run_attached

        [report] = await run_attached([drill], self._target, token=self._token, connect_timeout=self._timeout)
        return report

    # -- helpers ----------------------------------------------------------------------------------------

    def _alive_in(self, snapshot: Snapshot | None, pid: Pid) -> bool:
        held, live = self._live
        if held is not snapshot:
            live = frozenset() if snapshot is None or snapshot.root is None else _running(snapshot.root)
            self._live = (snapshot, live)
        return pid in live

    def _exit_of(self, pid: Pid | None) -> Any:
        """Why `pid` exited, from the cascades of the log (`MISSING` when it does not say)."""
        snapshot = self._remote
        if pid is None or snapshot is None:
            return MISSING
        for entry in reversed(snapshot.log):
            if isinstance(entry, Cascade) and entry.pid is pid:
                return entry.reason
        return MISSING

    def _label_of(self, pid: Pid) -> str:
        snapshot = self._remote
        node = None if snapshot is None or snapshot.root is None else _find(snapshot.root, pid)
        return repr(pid) if node is None or node.name is None else f"{node.name} {pid!r}"


class ReadOnlyHere(ObserverError, PermissionError):
    """A control request while the app itself was started read-only (``observer attach --read-only``)."""

    def __init__(self, what: str) -> None:
        """Say what was refused and why."""
        self.what = what
        super().__init__(f"{what} refused: attached with --read-only")


async def _aclosed(events: AsyncGenerator[TraceEvent, None]) -> AsyncGenerator[TraceEvent, None]:
    """`events`, closed (its trace stopped at once) when the consumer leaves early."""
    async with contextlib.aclosing(events):
        async for event in events:
            yield event


def _running(node: NodeSnapshot) -> frozenset[Pid]:
    found: set[Pid] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.pid is not None and current.status == "running":
            found.add(current.pid)
        stack.extend(current.children)
    return frozenset(found)


def _find(node: NodeSnapshot, pid: Pid) -> NodeSnapshot | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.pid is pid:
            return current
        stack.extend(current.children)
    return None


def _entry_time(entry: LogEntry) -> float:
    return entry.began_at if isinstance(entry, Cascade) else entry.at


def _short(message: str) -> str:
    """An unreachable endpoint's message without the socket path it starts with."""
    where, colon, rest = message.partition(": ")
    return rest if colon and ("/" in where or ":" in where) else message
