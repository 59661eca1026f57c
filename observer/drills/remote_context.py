"""RemoteDrillContext: a drill's hands and eyes on a service in another OS process, through `observer.remote`.

`observer drill --file F --attach TARGET` runs the same drills against a running
service. What the endpoint offers is what an attached drill can do: kill (any exit
reason), suspend and resume, call a server (`call`, `wait_for` a reply, a background
`load` of calls), read a server's state (`expect_state`), read snapshots (pids by path,
the monitor count, the root's fate, each restart's cascade: what stopped and started,
how long it took) and why a supervisor could not start a child. A kill waits until the
cascade it began has ended in the service's event log (no sleeping on a guess: each
look is a snapshot, a round trip).

Requests and replies cross the wire as JSON (`observer.remote.values`): a request as
TOML drill values are (lists stay lists), a reply as the same JSON value, or as a
`RemoteRepr` of its repr when it has none (compared as that text). A state without a
JSON form is read back from its repr when that is a Python literal.

A load runs in a runtime of the drill's own, in this process: a load process and one
caller process per call, as in-process, each call over a connection of its own
(`CallPool`). What needs the service's runtime itself — a flood (the rate limiter's
requests are Python objects), a churn (it starts processes in the service) — fails its
step with "not supported when attached". HTTP waits run here, on this machine, as
in-process.
"""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from observer.journal import Cascade
from observer.remote import Connection, RemoteRepr, StartFailure
from observer.runtime import Down, ObserverError, Pid, Runtime
from observer.snapshot import NodeSnapshot, Snapshot

from . import values, waits
from .call_pool import CallPool
from .context import KILL_TIMEOUT, LOAD_GRACE, WAIT_TIMEOUT, Dest
from .errors import DrillError
from .load import ANY_REPLY, Load, LoadResult, LoadSpec, run_load
from .report import DrillReport
from .stepping import StepRecorder

POLL = 0.002
"""Seconds between two looks at the service while a kill settles (each look is a snapshot round trip)."""


class NotAttachable(DrillError):
    """What a drill asked for needs the runtime in this process; the message says what and why."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what} is not supported when attached: {why} (run this drill in-process with --app)")


@dataclass(frozen=True, slots=True)
class RemoteKill:
    """What one kill led to in the attached service, as its event log tells it."""

    path: str
    pid: Pid
    reason: Any  # the exit reason the service logged (its text), or the one sent when none is logged
    supervisor: Pid | None
    stopped_ids: tuple[str, ...]
    started_ids: tuple[str, ...]
    restart_seconds: float | None  # the supervisor's cascade, from its start to its end; None: not restarted
    seconds: float

    def stopped(self, supervisor: Pid) -> list[str]:
        """Child ids its supervisor stopped, in order."""
        return list(self.stopped_ids)

    def started(self, supervisor: Pid) -> list[str]:
        """Child ids its supervisor started, in order."""
        return list(self.started_ids)


class RemoteDrillContext(StepRecorder):
    """A drill context on a `Connection` with control (see the module docstring for what it can do)."""

    def __init__(self, conn: Connection, report: DrillReport, root: str, local: Runtime) -> None:
        """A context on `conn`; use `open`, which also learns the service's tree and start failures.

        Args:
            conn: A connection to the service, with control.
            report: The report to fill.
            root: The name paths start with (the service's root, as its snapshot names it).
            local: A running runtime of the drill's own, in this process, where loads run.
        """
        super().__init__(report, root)
        self.conn = conn
        self.local = local
        self.live = False
        self._suspended: set[str] = set()  # what this drill suspended and has not resumed, by target text
        self._causes: list[str] = []
        self._loads: list[Load] = []
        self._pool: CallPool | None = None  # the loads' connections, opened with the first load
        # The service's start failures already seen: the latest seq, and each child's count of them.
        self._failure_seq = 0
        self._failure_counts: dict[tuple[Pid, str], int] = {}

    @classmethod
    async def open(cls, conn: Connection, report: DrillReport, local: Runtime) -> RemoteDrillContext:
        """A context on `conn`, its root named as the service's snapshot names it.

        Start failures from before the drill are not its causes: they are taken as seen.
        """
        snapshot = await conn.snapshot()
        if snapshot.root is None:
            raise DrillError(f"{conn.where}: the service has no supervision tree yet")
        ctx = cls(conn, report, snapshot.root.label, local)
        ctx._seen(await conn.start_failures())
        return ctx

    async def cleanup(self) -> None:
        """Stop this drill's loads and close their connections; resume whatever it suspended and did not resume."""
        for load in self._loads:
            if self.local.is_alive(load.pid):
                self.local.exit(load.pid, "kill")  # its callers are linked to it and die with it
        self._loads.clear()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        for target in list(self._suspended):
            self._suspended.discard(target)
            try:
                await self.conn.resume(target)
            except ObserverError:
                continue  # it died meanwhile, or the service is gone: nothing left to resume

    # -- causes: why a supervisor could not start a child, as the service kept it --------------

    def cause_mark(self) -> int:
        return len(self._causes)

    def causes_since(self, mark: int) -> list[str]:
        return self._causes[mark:]

    async def gather_causes(self) -> None:
        """Ask the service for the start failures since the last ask; each is a cause (as in-process)."""
        await self._gather()

    async def _gather(self) -> list[StartFailure]:
        try:
            failures = await self.conn.start_failures(self._failure_seq)
        except ObserverError:
            return []  # the service is gone or blocked: the step says what it saw
        for failure in failures:
            line = f"supervisor {failure.supervisor} could not start child {failure.child!r}: {failure.reason}"
            self._causes.extend([line] * self._new_failures(failure))
        return failures

    def _seen(self, failures: Sequence[StartFailure]) -> None:
        for failure in failures:
            self._new_failures(failure)

    def _new_failures(self, failure: StartFailure) -> int:
        """How many failed starts `failure` tells of that were not seen yet (and note them as seen)."""
        key = (failure.supervisor, failure.child)
        known = self._failure_counts.get(key, 0)
        self._failure_counts[key] = failure.count
        self._failure_seq = max(self._failure_seq, failure.seq)
        return failure.count - known if failure.count > known else 1  # fewer: it was dropped and came back

    # -- reading the service --------------------------------------------------------------

    async def snapshot(self, paths: Sequence[str] = ()) -> Snapshot:
        """A snapshot with the supervisors along `paths` opened (a folded one lists no children)."""
        opened = frozenset(tuple(path.split("/")[:depth]) for path in paths
                           for depth in range(1, path.count("/") + 1))
        return await self.conn.snapshot(opened=opened)

    async def resolve(self, path: str) -> Pid:
        """The pid at `path` (root name, then child ids) or of a registered name, as the service has it now.

        Raises:
            DrillError: no running process there.
        """
        return _pid_at(await self.snapshot([path]), path)

    async def pids(self, paths: Sequence[str]) -> dict[str, Pid]:
        """The pid at each path (one snapshot)."""
        snapshot = await self.snapshot(paths)
        return {path: _pid_at(snapshot, path) for path in paths}

    def monitor_count(self) -> int:
        raise NotAttachable("monitor_count()", "attached, the count is read from a snapshot: "
                                               "use `await ctx.monitor_total()`")

    async def monitor_total(self) -> int:
        """Monitors in the whole service now (its snapshot's count; this drill holds none there)."""
        return (await self.conn.snapshot()).monitor_count

    async def root_running(self) -> bool:
        """Whether the service's root is alive now."""
        return (await self.conn.snapshot()).root_alive

    async def get_state(self, dest: Dest, *, timeout: float = WAIT_TIMEOUT) -> Any:
        """The server's state (`get_state` in the service: its `format_status()`), as a JSON value.

        A state without a JSON form (a set, a pid, an object) is read back from its repr when that
        is a Python literal.

        Raises:
            DrillError: a state whose repr is not a literal.
            NotAServer, NoProc, CallTimeout: as `Runtime.get_state` does there.
        """
        state = await self.conn.get_state(dest, timeout=timeout)
        if not isinstance(state, RemoteRepr):
            return state
        try:
            return ast.literal_eval(state.text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise DrillError(f"the state of {dest!r} has no JSON form, and its repr is not a Python literal: "
                             f"{state.text[:80]!r}") from None

    # -- faults -------------------------------------------------------------------------

    async def kill(self, path: str, reason: Any = "kill") -> RemoteKill:
        """Send the process at `path` an exit signal and wait until the cascade it began has ended.

        Raises:
            DrillError: no process there, or the service did not settle within `KILL_TIMEOUT`.
        """
        before = await self.snapshot([path])
        node = _node_at(before, path)
        pid = node.pid
        if pid is None:
            raise DrillError(f"{path!r} is not running ({node.status})")
        supervisor = _parent_pid(before, path)
        started = time.perf_counter()
        await self.conn.kill(path, str(reason))
        deadline = started + KILL_TIMEOUT
        while True:
            snapshot = await self.snapshot([path])
            cascade = _cascade_of(snapshot, pid)
            if cascade is not None and cascade.ended_at is not None:
                return self._settled(path, pid, reason, supervisor, cascade, started, await self._gather())
            if not snapshot.root_alive or (cascade is None and _gone_for_good(snapshot, path, pid)):
                await self._gather()
                return RemoteKill(path, pid, _reason(None, reason), supervisor, (), (), None,
                                  time.perf_counter() - started)
            if time.perf_counter() > deadline:
                raise DrillError(f"{path}: the service did not settle within {KILL_TIMEOUT:.0f} s of exit "
                                 f"signal {reason!r}")
            await asyncio.sleep(POLL)

    def _settled(self, path: str, pid: Pid, reason: Any, supervisor: Pid | None, cascade: Cascade,
                 started: float, failures: Sequence[StartFailure]) -> RemoteKill:
        stopped = tuple(step.id for step in cascade.stopped)
        restarted = tuple(step.id for step in cascade.started)
        seconds = cascade.seconds if cascade.child in restarted else None
        if cascade.outcome == "gave_up":
            self._causes.append(f"supervisor {cascade.supervisor_label or cascade.supervisor} gave up "
                                "(restart intensity reached)")
        elif cascade.child not in restarted and not any(
                failure.supervisor is cascade.supervisor and failure.child == cascade.child for failure in failures):
            self._causes.append(f"supervisor {cascade.supervisor_label or cascade.supervisor} did not start "
                                f"{cascade.child!r} again (the service's log may say why)")
        return RemoteKill(path, pid, _reason(cascade.reason, reason), supervisor, stopped, restarted, seconds,
                          time.perf_counter() - started)

    async def suspend(self, dest: Dest) -> Pid:
        """Suspend a server in the service; the drill resumes it at its end if `resume` did not."""
        pid = await self.resolve(str(dest))
        await self.conn.suspend(str(dest))
        self._suspended.add(str(dest))
        return pid

    async def resume(self, dest: Dest) -> Pid:
        """Resume a server `suspend` hung."""
        pid = await self.resolve(str(dest))
        await self.conn.resume(str(dest))
        self._suspended.discard(str(dest))
        return pid

    async def pause(self, seconds: float) -> None:
        """Wait `seconds` (a load window)."""
        await asyncio.sleep(seconds)

    # -- talking to servers ---------------------------------------------------------------

    async def call(self, dest: Dest, request: Any, *, timeout: float = 5.0) -> Any:
        """Call a server in the service (a pid, a registered name or a path); returns its reply.

        Raises:
            NoProc, CallTimeout, CallExit, NotAServer: as `Runtime.call` does there.
            InvalidArgument: the request has no JSON form (see the module docstring).
        """
        return await self.conn.call(dest, request, timeout=timeout)

    async def wait_for_reply(self, dest: Dest, request: Any, reply: Any = ANY_REPLY, *,
                             timeout: float = WAIT_TIMEOUT) -> Any:
        """Call `dest` until it answers (with `reply`, in TOML shapes, when one is given); returns the reply.

        Raises:
            DrillError: no such reply within `timeout`; the message says what the last try got.
        """

        async def attempt(remaining: float) -> tuple[bool, Any, str]:
            got = await self.conn.call(dest, request, timeout=max(remaining, 1e-3))
            return reply is ANY_REPLY or values.equal(reply, got), got, f"the reply {got!r}"

        wanted = "a reply" if reply is ANY_REPLY else f"the reply {reply!r}"
        return await waits.until(attempt, timeout, f"wait_for call {dest!r} {request!r}: no {wanted}")

    def start_load(self, dest: Dest, request: Any, *, rate: float, seconds: float, timeout: float = 1.0,
                   reply: Any = ANY_REPLY) -> Load:
        """Start calling `dest` in the service `rate` times a second for `seconds`, from this process.

        `await ctx.wait_load(load)` waits for its end; the drill stops loads still running when it ends.
        """
        if self._pool is None:
            self._pool = CallPool(self.conn)
        spec = LoadSpec(dest, request, float(rate), float(seconds), float(timeout), reply)
        result = LoadResult(spec)
        pid = self.local.spawn(run_load, spec, result, self._pool.call, trap_exits=True)
        load = Load(pid, result)
        self._loads.append(load)
        return load

    @property
    def last_load(self) -> Load | None:
        """The load started last, if any."""
        return self._loads[-1] if self._loads else None

    async def wait_load(self, load: Load) -> LoadResult:
        """Wait until `load` has sent its last call and every call has ended; returns its result.

        Raises:
            DrillError: it did not end within its window, its call timeout and `LOAD_GRACE`.
        """
        spec = load.result.spec
        budget = spec.seconds + spec.timeout + LOAD_GRACE
        if self.local.is_alive(load.pid):
            async with self.local.attached() as me:
                ref = me.monitor(load.pid)
                try:
                    await me.receive(lambda m: type(m) is Down and m.ref is ref, timeout=budget)
                except TimeoutError:
                    raise DrillError(f"the load on {spec.dest!r} did not end within {budget:g} s: "
                                     f"{load.result.summary()}") from None
        return load.result

    # -- waits ----------------------------------------------------------------------------

    async def wait_for_http(self, url: str, status: int = 200, *, timeout: float = WAIT_TIMEOUT) -> int:
        """GET `url` (loopback only, from here) until it answers `status`; returns it (see `DrillContext`)."""
        return await waits.http_status(url, status, timeout)

    async def wait_root_exit(self, *, timeout: float = WAIT_TIMEOUT) -> Any:
        """Wait until the service's root has exited; returns its exit reason as the service logged it."""

        async def attempt(remaining: float) -> tuple[bool, Any, str]:
            snapshot = await self.conn.snapshot()
            return (not snapshot.root_alive, _reason(snapshot.root_exit, "?"),
                    "running" if snapshot.root_alive else "exited")

        return await waits.until(attempt, timeout, f"the root {self.root!r} still runs: no exit")

    # -- what only a runtime in this process can do ---------------------------------------

    async def flood(self, limiter: str, key: str, checks: int) -> int:
        raise NotAttachable("flood", "the rate limiter's checks are Python objects, which do not cross the wire")

    async def churn(self, pattern: str, subscribers: int) -> int:
        raise NotAttachable("churn", "it starts subscriber processes inside the service")


def _node_at(snapshot: Snapshot, path: str) -> NodeSnapshot:
    """The node at a path of labels from the root, or the one registered under a name (no "/")."""
    root = snapshot.root
    if root is None:
        raise DrillError(f"{path!r}: the service has no supervision tree")
    if "/" not in path and path != root.label:
        found = _named(root, path)
        if found is None:
            raise DrillError(f"{path!r}: no process of the tree is registered under that name")
        return found
    segments = path.split("/")
    if segments[0] != root.label:
        raise DrillError(f"{path!r}: the root is {root.label!r}, not {segments[0]!r}")
    node = root
    for depth, segment in enumerate(segments[1:], start=1):
        child = next((c for c in node.children if c.label == segment), None)
        if child is None:
            where = "/".join(segments[:depth])
            names = ", ".join(c.label for c in node.children) or "none"
            raise DrillError(f"{path!r}: {where} has no child {segment!r} (children: {names})")
        node = child
    return node


def _pid_at(snapshot: Snapshot, path: str) -> Pid:
    node = _node_at(snapshot, path)
    if node.pid is None or node.status != "running":
        raise DrillError(f"{path!r} is not running ({node.status})")
    return node.pid


def _named(node: NodeSnapshot, name: str) -> NodeSnapshot | None:
    if node.name == name:
        return node
    for child in node.children:
        found = _named(child, name)
        if found is not None:
            return found
    return None


def _parent_pid(snapshot: Snapshot, path: str) -> Pid | None:
    if "/" not in path:
        return None
    return _node_at(snapshot, path.rsplit("/", 1)[0]).pid


def _gone_for_good(snapshot: Snapshot, path: str, pid: Pid) -> bool:
    """`pid` is dead and nothing will restart it: its slot is gone (a temporary child) or kept stopped."""
    if _alive_in(snapshot, pid):
        return False
    try:
        node = _node_at(snapshot, path)
    except DrillError:
        return True
    return node.status == "stopped"


def _alive_in(snapshot: Snapshot, pid: Pid) -> bool:
    def walk(node: NodeSnapshot | None) -> bool:
        return node is not None and ((str(node.pid) == str(pid) and node.status == "running")
                                     or any(walk(child) for child in node.children))

    return walk(snapshot.root)


def _cascade_of(snapshot: Snapshot, pid: Pid) -> Cascade | None:
    """The latest cascade in the service's log begun by the exit of `pid`."""
    text = str(pid)
    return next((entry for entry in reversed(snapshot.log) if isinstance(entry, Cascade) and str(entry.pid) == text),
                None)


def _reason(logged: Any, sent: Any) -> Any:
    """An exit reason read back: the logged repr's value when it is a literal string, else its text."""
    if logged is None:
        return "killed" if sent == "kill" else sent
    if isinstance(logged, str):
        try:
            value = ast.literal_eval(logged)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return logged
        return value if isinstance(value, str) else logged
    return logged


__all__ = ["NotAttachable", "RemoteDrillContext", "RemoteKill"]
