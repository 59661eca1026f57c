"""The endpoint's work on the runtime's own loop: the journal, snapshots, finding targets, calls, control actions.

Everything in `RuntimeSide` runs on the runtime's event loop, scheduled there by the endpoint's
thread (`asyncio.run_coroutine_threadsafe`): small synchronous reads, calls to servers (a client's
call, a get_state, the control actions that are calls to a supervisor), and the observation
events it subscribes to (the journal's, and the supervisors' start failures). Nothing here touches
the endpoint's thread, and nothing in the endpoint's thread touches the runtime: replies, states
and errors are put in their wire form here, where the values are not changing under the reader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from observer.journal import Journal, Level
from observer.runtime import (
    CallExit,
    CallTimeout,
    DynamicSupervisor,
    Inspection,
    NoProc,
    NotAServer,
    NotASupervisor,
    Pid,
    Runtime,
    RuntimeEvent,
    Supervisor,
    TraceEvent,
)
from observer.runtime.spec import Child
from observer.snapshot import HostStats, NodeSnapshot, Snapshot, SnapshotBuilder

from . import wire
from .failures import StartFailures
from .wire import StallRecord, Target

SYSTEM_NAME = "system"
"""The registered name of the default system's root, which a snapshot shows first of all."""

SupervisorServer = Supervisor | DynamicSupervisor


def select_root(rt: Runtime, explicit: Pid | None, previous: Pid | None) -> Pid | None:
    """The root of the tree that snapshots show.

    In order: the root given to `serve(root=...)` (alive or not); else the process registered as
    ``"system"``; else the previous root while it lives; else the oldest live supervisor whose
    parent is not a supervisor (none, or a plain process such as an attached ``main``); else the
    previous root (dead: shown as exited), or None while there is no supervisor at all.

    Args:
        rt: The runtime (on its loop).
        explicit: The root the service named, if any.
        previous: The root chosen last time.
    """
    if explicit is not None:
        return explicit
    system = rt.whereis(SYSTEM_NAME)
    if system is not None:
        return system
    if previous is not None and rt.is_alive(previous):
        return previous
    server_of = rt.server_of
    for pid in rt.processes():  # oldest first
        if isinstance(server_of(pid), SupervisorServer):
            info = rt.process_info(pid)
            parent = None if info is None else info.parent
            if parent is None or not isinstance(server_of(parent), SupervisorServer):
                return pid
    return previous


def child_label(child_id: Any) -> str:
    """A child id as the tree labels it."""
    return child_id if isinstance(child_id, str) else repr(child_id)


class CallFailed(Exception):
    """A call or a get_state failed in the service: the error in its wire form (made on the runtime's loop)."""

    def __init__(self, kind: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


class RuntimeSide:
    """The endpoint's state on the runtime's loop: a journal, start failures, a snapshot builder and the root."""

    def __init__(self, rt: Runtime, *, root: Pid | None = None) -> None:
        """Subscribe a journal to `rt` (call this on the runtime's loop).

        Args:
            rt: The runtime served.
            root: The root of its tree, if the service knows it (else `select_root` finds one).
        """
        self._rt = rt
        self._explicit_root = root
        self._root: Pid | None = None
        self._root_generation = -1
        self.journal = Journal(describe=self._describe)
        self.failures = StartFailures()
        self._unsubscribe = rt.subscribe(self._observe)
        self.builder = SnapshotBuilder(rt, self.journal, started_at=rt.clock())

    def close(self) -> None:
        """Unsubscribe the journal."""
        self._unsubscribe()

    def _observe(self, event: RuntimeEvent) -> None:
        """One observation event: into the journal, and a start failure's reason kept (the journal has no entry)."""
        self.journal.record(event)
        if event.kind == "start_failed" and event.other is not None:
            self.failures.record(event.at, event.other, self._describe(event.other)[0], event.name or "?",
                                 wire.safe_repr(event.reason))  # the repr now: the reason itself is not kept

    # -- reads ------------------------------------------------------------------------------------

    def snapshot(self, opened: frozenset[tuple[str, ...]], host: HostStats | None, loop_lag: float,
                 table: bool) -> Snapshot:
        """A snapshot of the tree (its unchanged parts the previous snapshot's objects), with the process
        table when `table`."""
        return self.builder.take(self.root(), opened=opened, host=host, loop_lag=loop_lag, table=table)

    def root(self) -> Pid | None:
        """The root, chosen again whenever the process graph changed."""
        rt = self._rt
        if rt.generation != self._root_generation:
            self._root = select_root(rt, self._explicit_root, self._root)
            self._root_generation = rt.generation
        return self._root

    def process_count(self) -> int:
        """Live processes."""
        return len(self._rt.processes())

    def inspect(self, target: Target) -> Inspection:
        """`Runtime.inspect` of a live target.

        Raises:
            NoProc: It is not alive.
        """
        pid = self._live(target)
        inspection = self._rt.inspect(pid)
        if inspection is None:
            raise NoProc(str(target), "it is not alive")
        return inspection

    def running(self) -> None:
        """Nothing: answering shows the loop runs (and whatever was queued before it has run)."""

    def start_failures(self, since: int) -> list[dict[str, Any]]:
        """The latest start failure of each supervisor's child newer than `since`, on the wire."""
        return [wire.start_failure_to_wire(failure) for failure in self.failures.since(since)]

    async def get_state(self, target: Target, timeout: float) -> dict[str, Any]:
        """`Runtime.get_state` of a live server, on the wire (`wire.value_to_wire`).

        Raises:
            NoProc: It is not alive.
            CallFailed: It is no server, or it did not answer within `timeout`.
        """
        pid = self._live(target)
        try:
            state = await self._rt.get_state(pid, timeout)
        except (CallTimeout, CallExit, NotAServer) as error:
            raise CallFailed(*wire.call_error_to_wire(error)) from None
        return wire.value_to_wire(state)

    async def call(self, target: Target, request: Any, timeout: float) -> dict[str, Any]:
        """`Runtime.call` of a live server with `request` (a JSON value); its reply on the wire.

        Raises:
            NoProc: It is not alive (or died before the call reached it).
            CallFailed: No reply within `timeout`, it exited during the call, or it is no server.
        """
        pid = self._live(target)
        if self._rt.server_of(pid) is None:
            raise CallFailed(*wire.call_error_to_wire(NotAServer(pid, "a call")))
        try:
            reply = await self._rt.call(pid, request, timeout=timeout)
        except (CallTimeout, CallExit) as error:
            raise CallFailed(*wire.call_error_to_wire(error)) from None
        return wire.value_to_wire(reply)

    # -- control ----------------------------------------------------------------------------------

    def kill(self, target: Target, reason: str) -> Pid:
        """Send an exit signal with `reason` to a live target; returns its pid.

        Raises:
            NoProc: It is not alive.
        """
        pid = self._live(target)
        label = self._label(pid)
        self._rt.exit(pid, reason)
        self.note(f"remote: exit {reason!r} sent to {label}")
        return pid

    async def terminate(self, target: Target) -> None:
        """terminate_child on the target's supervisor.

        Raises:
            NoProc: No such process or child.
            NotASupervisor: It has no supervisor.
        """
        rt = self._rt
        supervisor, server, child = self._child(target)
        if isinstance(server, DynamicSupervisor):
            if not isinstance(child.pid, Pid):
                raise NoProc(str(target), "that child is not running")
            await DynamicSupervisor.terminate_child(rt, supervisor, child.pid)
        else:
            await Supervisor.terminate_child(rt, supervisor, child.id)
        self.note(f"remote: terminate_child({self._label(supervisor)}, {child_label(child.id)!r})")

    async def restart(self, target: Target) -> Pid | None:
        """restart_child on the target's supervisor; returns the new pid (None when the child ignored the start).

        Raises:
            NoProc: No such process or child.
            NotASupervisor: It has no supervisor, or a dynamic one (which has no restart_child).
        """
        supervisor, server, child = self._child(target)
        if isinstance(server, DynamicSupervisor):
            raise NotASupervisor(f"{self._label(supervisor)} is a DynamicSupervisor: it has no restart_child "
                                 "(kill the child to watch it restart)")
        started = await Supervisor.restart_child(self._rt, supervisor, child.id)
        self.note(f"remote: restart_child({self._label(supervisor)}, {child_label(child.id)!r})")
        if isinstance(started, tuple):
            started = started[0]
        return started if isinstance(started, Pid) else None

    async def suspend(self, target: Target) -> None:
        """`Runtime.suspend` of a live server."""
        pid = self._live(target)
        await self._rt.suspend(pid)
        self.note(f"remote: suspended {self._label(pid)}")

    async def resume(self, target: Target) -> None:
        """`Runtime.resume` of a live server."""
        pid = self._live(target)
        await self._rt.resume(pid)
        self.note(f"remote: resumed {self._label(pid)}")

    def trace(
        self, target: Target, limit: int, deliver: Callable[[TraceEvent], None]
    ) -> tuple[Pid, Callable[[], None]]:
        """`Runtime.trace` of a live target; returns its pid and the function that stops the trace."""
        pid = self._live(target)
        return pid, self._rt.trace(pid, deliver, limit=limit)

    def is_alive(self, pid: Pid) -> bool:
        """Whether `pid` lives."""
        return self._rt.is_alive(pid)

    # -- the log -----------------------------------------------------------------------------------

    def note(self, text: str, level: Level = "info") -> None:
        """Add a line to the event log that clients see."""
        self.journal.note(self._rt.clock(), text, level)

    def note_stall(self, stall: StallRecord) -> None:
        """Log a stall the watchdog recorded: how long, and where the loop was blocked."""
        where = _frame_text(stall.stack[0]) if stall.stack else "unknown code"
        task = "" if stall.task is None else f" (task {stall.task})"
        self.note(f"loop blocked {stall.seconds:.2f} s in {where}{task}", "warning")

    # -- finding targets ----------------------------------------------------------------------------

    def _live(self, target: Target) -> Pid:
        rt = self._rt
        if target.pid is not None:
            pid = self._pid_by_id(target.pid)
        else:
            assert target.name is not None
            pid = rt.whereis(target.name)
            if pid is None and "/" in target.name:
                child = self._walk(target.name)[2]
                pid = child.pid if isinstance(child.pid, Pid) else None
        if pid is None or not rt.is_alive(pid):
            raise NoProc(str(target), "it is not alive" if target.pid is not None or pid is not None
                         else "no process is registered under that name (nor is it a path from the root)")
        return pid

    def _pid_by_id(self, pid_id: int) -> Pid | None:
        for pid in self._rt.processes():
            if pid.id == pid_id:
                return pid
        return None

    def _child(self, target: Target) -> tuple[Pid, SupervisorServer, Child]:
        """The supervisor of a target and its `Child` entry."""
        rt = self._rt
        if target.name is not None and rt.whereis(target.name) is None and "/" in target.name:
            return self._walk(target.name)
        pid = self._pid_by_id(target.pid) if target.pid is not None else rt.whereis(str(target.name))
        if pid is None and target.pid is not None:
            return self._stopped_child(target.pid, str(target))
        if pid is None:
            raise NoProc(str(target), "no process is registered under that name (nor is it a path from the root)")
        info = rt.process_info(pid)
        parent = None if info is None else info.parent
        server = None if parent is None else rt.server_of(parent)
        if parent is None or not isinstance(server, SupervisorServer):
            raise NotASupervisor(f"{self._label(pid)} has no supervisor to terminate or restart it: kill it instead")
        for child, _ in server.children():
            if child.pid is pid:
                return parent, server, child
        raise NoProc(str(target), f"{self._label(parent)} does not list it as a child")

    def _stopped_child(self, pid_id: int, text: str) -> tuple[Pid, SupervisorServer, Child]:
        """The child whose last pid was `pid_id`, from the latest snapshot (a stopped child has no pid now)."""
        snapshot = self.builder.previous
        found = None if snapshot is None or snapshot.root is None else _find_previous(snapshot.root, pid_id)
        if found is None:
            raise NoProc(text, "it is not alive (name a stopped child by its path from the root)")
        node, parent = found
        if parent.pid is None:
            raise NoProc(text, "its supervisor is not running")
        server = self._rt.server_of(parent.pid)
        if not isinstance(server, SupervisorServer):
            raise NoProc(text, "its supervisor is not running")
        for child, _ in server.children():
            if child.id == node.child_id:
                return parent.pid, server, child
        raise NoProc(text, "its supervisor no longer has that child")

    def _walk(self, path: str) -> tuple[Pid, SupervisorServer, Child]:
        """The supervisor and `Child` at a path of slots from the root (``system/services/rate_limiter``)."""
        rt = self._rt
        segments = path.split("/")
        root = self.root()
        if root is None or len(segments) < 2 or segments[0] not in self._labels(root):
            raise NoProc(path, "no such path: it starts with the root's name and names a child below it")
        current = root
        for depth, segment in enumerate(segments[1:], start=2):
            server = rt.server_of(current)
            if not isinstance(server, SupervisorServer):
                raise NoProc(path, f"{'/'.join(segments[:depth - 1])} is not a supervisor")
            child = _child_named(server.children(), segment)
            if child is None:
                raise NoProc(path, f"{'/'.join(segments[:depth - 1])} has no child {segment!r}")
            if depth == len(segments):
                return current, server, child
            if not isinstance(child.pid, Pid):
                raise NoProc(path, f"{'/'.join(segments[:depth])} is not running")
            current = child.pid
        raise AssertionError("unreachable: the loop returns at the last segment")

    def _labels(self, pid: Pid) -> tuple[str, ...]:
        """What a path may call a process: its pid's text, and its registered name if it has one."""
        info = self._rt.process_info(pid)
        return (repr(pid),) if info is None or info.name is None else (info.name, repr(pid))

    def _label(self, pid: Pid) -> str:
        info = self._rt.process_info(pid)
        return repr(pid) if info is None or info.name is None else f"{info.name} {pid!r}"

    def _describe(self, pid: Pid) -> tuple[str | None, str | None]:
        """A supervisor's name and strategy, for the journal's cascade entries."""
        rt = self._rt
        info = rt.process_info(pid)
        server = rt.server_of(pid)
        strategy = server.strategy if isinstance(server, SupervisorServer) else None
        return (None if info is None else info.name), strategy


def _child_named(children: list[tuple[Child, int]], segment: str) -> Child | None:
    """The child whose label, or label and pid (``worker#12``, for siblings sharing an id), is `segment`."""
    for child, _ in children:
        label = child_label(child.id)
        if label == segment or (isinstance(child.pid, Pid) and f"{label}#{child.pid.id}" == segment):
            return child
    return None


def _find_previous(node: NodeSnapshot, pid_id: int) -> tuple[NodeSnapshot, NodeSnapshot] | None:
    """The stopped node (and its parent) whose previous pid was `pid_id`, searching below `node`."""
    for child in node.children:
        if child.pid is None and child.previous_pid is not None and child.previous_pid.id == pid_id:
            return child, node
        found = _find_previous(child, pid_id)
        if found is not None:
            return found
    return None


def _frame_text(line: str) -> str:
    """``function (file:line)`` from a ``file:line in function`` stack line."""
    where, _, function = line.rpartition(" in ")
    return f"{function} ({where})" if where else line
