"""Snapshot: a frozen, pure-data view of a runtime at one instant, built cheaply tick after tick.

`SnapshotBuilder.take` reads the runtime through its public, synchronous
observer API (`generation`, `server_of`, `children()`, `process_info`,
`monitor_count`) and the app's `Journal`. When nothing changed it returns
parts of the previous snapshot unchanged, so that widgets can skip whatever
is identical (`is`) to what they drew last. No textual imports here.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from observer.journal import MISSING, Journal, LogEntry
from observer.runtime import Child, DynamicSupervisor, Pid, Runtime, Supervisor
from observer.runtime.rate_limiter import Bucket, BucketTable, RateLimiter

RATE_LIMITER_NAME = "rate_limiter"
TOP_MONITORS = 6
"""Per-process monitor counts kept in a snapshot (the processes holding or watched by the most)."""
TOP_BUCKETS = 12
"""Rate-limiter buckets kept in a snapshot (the fullest first)."""
MAX_LINKS_SHOWN = 8
FOLD_OVER = 64
"""Supervisors with more children than this are folded (children not listed) until opened."""
_SUPERVISOR_KINDS = frozenset({"supervisor", "dynamic_supervisor"})
"""The kinds of process that supervise children (`NodeSnapshot.is_supervisor`; the hot path tests it inline)."""


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """One process of the supervision tree and its children.

    Attributes:
        slot: Identity among its siblings: the child id's label, or the label and
            the pid when siblings share an id. A restarted child keeps its slot.
        label: The child id as text (the root's registered name, or its pid).
        child_id: The id its supervisor knows it by (None for the root).
        pid: The current pid; None when the child is not running or is restarting.
        kind: "supervisor", "dynamic_supervisor", "server" or "process"
            ("supervisor"/"worker" spec type when it is not running).
        strategy: The restart strategy of a supervisor, else None.
        restart: "permanent", "transient" or "temporary" (None for the root).
        status: "running", "restarting", "stopped" (kept spec, not running) or
            "exited" (the pid is dead and its supervisor has not yet reacted).
        restarts: How often its supervisor restarted it.
        name: Its registered name, if any.
        previous_pid: The pid it had before its last restart, if the app saw one.
        children: Its children in start order (supervisors only; empty when folded).
        child_count: How many children it has (supervisors only).
        folded: Its children were not listed: a big supervisor that is not opened.
        child_restarts: Restarts of its children since the app started (supervisors only).
    """

    slot: str
    label: str
    child_id: Hashable
    pid: Pid | None
    kind: str
    strategy: str | None
    restart: str | None
    status: str
    restarts: int
    name: str | None
    previous_pid: Pid | None = None
    children: tuple[NodeSnapshot, ...] = ()
    child_count: int = 0
    folded: bool = False
    child_restarts: int = 0

    @property
    def is_supervisor(self) -> bool:
        """Whether it supervises children (a static or dynamic supervisor)."""
        return self.kind in _SUPERVISOR_KINDS


@dataclass(frozen=True, slots=True)
class MonitorCount:
    """Monitors of one process.

    Attributes:
        pid: The process.
        label: Its registered name, or its pid as text.
        held: Monitors it holds on other processes.
        watched_by: Monitors other processes hold on it.
    """

    pid: Pid
    label: str
    held: int
    watched_by: int


@dataclass(frozen=True, slots=True)
class BucketView:
    """One rate-limiter window on a fixed scale.

    Attributes:
        limiter_id: The limiter.
        key: What is being limited.
        count: Allowed hits in the window.
        limit: The limiter's limit (the bar's full scale).
        denied: Denied checks in the window.
        left_ms: Milliseconds left in the window (None when the window length is unknown;
            negative when it has ended and awaits the sweep).
    """

    limiter_id: str
    key: str
    count: int
    limit: int
    denied: int
    left_ms: float | None


@dataclass(frozen=True, slots=True)
class HostStats:
    """Figures of the host process (the app and its runtime share it).

    Attributes:
        cpu_percent: CPU use since the previous sample (100 = one core).
        rss_bytes: Resident memory.
        threads: OS threads.
        open_fds: Open file descriptors (None where the platform has no such count).
    """

    cpu_percent: float
    rss_bytes: int
    threads: int
    open_fds: int | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The runtime at one instant, as the widgets draw it.

    Attributes:
        taken_at: On the runtime clock.
        uptime: Seconds since the app started its runtime.
        generation: The runtime's generation when taken.
        root: The supervision tree (None before the root has started).
        root_alive: Whether the root process is alive.
        root_exit: Why the root exited (None while it lives or when unknown).
        process_count: Live processes.
        monitor_count: Active monitors in the whole runtime.
        restarts: Restarts since the app started.
        monitors: The processes with the most monitors, most first.
        buckets: Rate-limiter windows, fullest first (empty without a rate limiter).
        bucket_total: How many windows the rate limiter has in all.
        log: The event log, oldest first.
        host: Host figures, when sampled.
        loop_lag: How late the last tick ran, in seconds.
        affected: Processes a drill running live has touched (the app's record, drawn highlighted).
    """

    taken_at: float
    uptime: float
    generation: int
    root: NodeSnapshot | None
    root_alive: bool
    root_exit: Any
    process_count: int
    monitor_count: int
    restarts: int
    monitors: tuple[MonitorCount, ...]
    buckets: tuple[BucketView, ...]
    bucket_total: int
    log: tuple[LogEntry, ...]
    host: HostStats | None
    loop_lag: float
    affected: frozenset[Pid] = frozenset()


@dataclass(frozen=True, slots=True)
class ProcessDetail:
    """Everything the process panel shows about one process.

    Attributes:
        node: The tree node (as of the snapshot).
        alive: Whether its pid is alive now.
        status: "waiting" (blocked in receive), "running", or the node's status when not alive.
        mailbox_size: Queued messages.
        links: Linked processes as (pid, label), at most `MAX_LINKS_SHOWN`.
        link_count: How many links in all.
        monitors: How many monitors it holds.
        monitored_by: How many monitors are on it.
        trap_exits: Whether it traps exits.
        parent_label: Its supervisor, as text.
        uptime: Seconds since this pid started.
        last_exit: Why its previous incarnation exited (`MISSING` when unknown or never restarted).
        vanished: It is no longer in the tree (it exited and was not restarted).
    """

    node: NodeSnapshot
    alive: bool
    status: str
    mailbox_size: int
    links: tuple[tuple[Pid, str], ...]
    link_count: int
    monitors: int
    monitored_by: int
    trap_exits: bool
    parent_label: str | None
    uptime: float | None
    last_exit: Any
    vanished: bool = False


class SnapshotBuilder:
    """Takes snapshots of one runtime, reusing the previous one's parts when nothing changed."""

    def __init__(self, rt: Runtime, journal: Journal, *, started_at: float, fold_over: int = FOLD_OVER) -> None:
        """Create a builder.

        Args:
            rt: The runtime to observe (on the same event loop).
            journal: The journal subscribed to `rt`.
            started_at: When the app started the runtime, on its clock.
            fold_over: Supervisors with more children than this are folded until opened.
        """
        self._rt = rt
        self._journal = journal
        self._started_at = started_at
        self._fold_over = fold_over
        self._opened: frozenset[tuple[str, ...]] = frozenset()
        self._previous: Snapshot | None = None
        self._previous_root_pid: Pid | None = None
        self._monitor_version = -1
        self._log_version = -1

    @property
    def previous(self) -> Snapshot | None:
        """The last snapshot taken."""
        return self._previous

    def take(
        self,
        root_pid: Pid | None,
        *,
        opened: frozenset[tuple[str, ...]] = frozenset(),
        host: HostStats | None = None,
        loop_lag: float = 0.0,
        affected: frozenset[Pid] = frozenset(),
    ) -> Snapshot:
        """Take a snapshot of the tree under `root_pid` and the runtime's totals.

        Args:
            root_pid: The root of the supervision tree (None before it started).
            opened: Slot paths (from the root) of big supervisors whose children to list anyway.
            host: Host figures sampled by the caller.
            loop_lag: How late this tick ran.
            affected: Processes a drill running live has touched, to draw highlighted.

        Returns:
            The snapshot; every part equal to the previous one's is the previous one's object.
        """
        rt = self._rt
        previous = self._previous
        generation = rt.generation
        same_graph = (
            previous is not None and previous.generation == generation and root_pid is self._previous_root_pid
            and opened == self._opened
        )
        self._opened = opened
        if same_graph and previous is not None:
            root, process_count = previous.root, previous.process_count
        else:
            root = self._root(root_pid, None if previous is None else previous.root)
            process_count = len(rt.processes())
        journal = self._journal
        now = rt.clock()
        root_alive = root_pid is not None and rt.is_alive(root_pid)
        root_exit = None
        if root_pid is not None and not root_alive:
            reason = journal.exit_reason(root_pid)
            root_exit = None if reason is MISSING else reason
        buckets, bucket_total = self._buckets(now)
        snapshot = Snapshot(
            taken_at=now,
            uptime=max(0.0, now - self._started_at),
            generation=generation,
            root=root,
            root_alive=root_alive,
            root_exit=root_exit,
            process_count=process_count,
            monitor_count=rt.monitor_count(),
            restarts=journal.restarts,
            monitors=self._monitors(previous),
            buckets=buckets,
            bucket_total=bucket_total,
            log=self._log(previous),
            host=host,
            loop_lag=loop_lag,
            affected=affected,
        )
        self._previous = snapshot
        self._previous_root_pid = root_pid
        return snapshot

    def detail(self, node: NodeSnapshot, parent: NodeSnapshot | None, *, vanished: bool = False) -> ProcessDetail:
        """Describe one process of the tree for the process panel.

        Args:
            node: The node, as of the latest snapshot.
            parent: Its parent node, if any.
            vanished: Whether it has left the tree.
        """
        rt = self._rt
        last_exit = MISSING if node.previous_pid is None else self._journal.exit_reason(node.previous_pid)
        info = None if node.pid is None else rt.process_info(node.pid)
        parent_label = None if parent is None else f"{parent.label} {parent.pid!r}"
        if info is None:
            status = node.status
            if node.pid is not None and not vanished:
                status = "exited"
            return ProcessDetail(node, False, status, 0, (), 0, 0, 0, False, parent_label, None,
                                 self._journal.exit_reason(node.pid) if node.pid is not None else last_exit,
                                 vanished)
        links = tuple((pid, self._label_of(pid)) for pid in sorted(info.links)[:MAX_LINKS_SHOWN])
        return ProcessDetail(
            node=node,
            alive=True,
            status=info.status,
            mailbox_size=info.mailbox_size,
            links=links,
            link_count=len(info.links),
            monitors=len(info.monitors),
            monitored_by=len(info.monitored_by),
            trap_exits=info.trap_exits,
            parent_label=parent_label,
            uptime=max(0.0, rt.clock() - info.started_at),
            last_exit=last_exit,
            vanished=vanished,
        )

    # -- the tree ----------------------------------------------------------------------

    def _root(self, root_pid: Pid | None, previous: NodeSnapshot | None) -> NodeSnapshot | None:
        if root_pid is None:
            return None
        rt = self._rt
        if previous is not None and previous.pid is not root_pid:
            previous_pid = previous.pid  # a restarted system: the old root's exit is the last exit
        else:
            previous_pid = None if previous is None else previous.previous_pid
        if not rt.is_alive(root_pid):
            if previous is not None and previous.pid is root_pid:  # as it was last seen alive
                node = NodeSnapshot(previous.slot, previous.label, None, root_pid, previous.kind, previous.strategy,
                                    None, "exited", previous.restarts, previous.name, previous.previous_pid)
            else:
                node = NodeSnapshot(repr(root_pid), repr(root_pid), None, root_pid, "process", None, None, "exited",
                                    0, None, previous_pid)
            return _reuse(node, previous)
        name = self._name_of(root_pid, None)
        label = name or repr(root_pid)
        return self._node((label,), label, None, root_pid, None, 0, previous, previous_pid)

    def _node(
        self,
        path: tuple[str, ...],
        label: str,
        child_id: Hashable,
        pid: Pid,
        restart: str | None,
        restarts: int,
        previous: NodeSnapshot | None,
        previous_pid: Pid | None,
    ) -> NodeSnapshot:
        """A child with a pid (or the root), with its subtree when it is a supervisor.

        Args:
            path: Slots from the root down to this node.
            label: The child id as text.
            child_id: The id its supervisor knows it by.
            pid: Its pid.
            restart: Its restart type.
            restarts: How often it was restarted.
            previous: The same slot in the previous snapshot.
            previous_pid: The pid the slot had before, if any.
        """
        rt = self._rt
        slot = path[-1]
        server = rt.server_of(pid)
        alive = server is not None or rt.is_alive(pid)
        status = "running" if alive else "exited"
        if not isinstance(server, Supervisor | DynamicSupervisor):
            if (
                previous is not None and previous.pid is pid and previous.status == status
                and previous.restarts == restarts and previous.previous_pid is previous_pid
            ):
                return previous
            kind = "process" if server is None else server.kind
            return NodeSnapshot(slot, label, child_id, pid, kind, None, restart, status, restarts,
                                self._name_of(pid, label) if alive else None, previous_pid)
        old_children = () if previous is None else previous.children
        count = self._child_count(pid)
        if count > self._fold_over and path not in self._opened:
            children: tuple[NodeSnapshot, ...] = ()
            folded = True
        else:
            children = self._children(path, server.children(), old_children)
            count, folded = len(children), False
        child_restarts = self._journal.restarts_under(pid)
        if (
            previous is not None and previous.pid is pid and previous.children is children
            and previous.child_count == count and previous.folded == folded
            and previous.child_restarts == child_restarts and previous.restarts == restarts
            and previous.status == status and previous.previous_pid is previous_pid
        ):
            return previous
        return NodeSnapshot(slot, label, child_id, pid, server.kind, server.strategy, restart, status, restarts,
                            self._name_of(pid, label), previous_pid, children, count, folded, child_restarts)

    def _children(
        self, path: tuple[str, ...], reported: list[tuple[Child, int]], old: tuple[NodeSnapshot, ...]
    ) -> tuple[NodeSnapshot, ...]:
        """The children of a supervisor; `old` itself when every child is unchanged.

        A child keeps its slot while it stays at the same position with the same id
        (restarts keep both); otherwise its slot is its label, made unique with its
        pid when a sibling already has it.
        """
        is_alive = self._rt.is_alive
        by_slot: dict[str, NodeSnapshot] | None = None
        used: set[str] | None = None  # slots taken in this pass, kept once the slow path has run
        built: list[NodeSnapshot] = []
        old_count = len(old)
        unchanged = len(reported) == old_count
        for position, (child, restarts) in enumerate(reported):
            before = old[position] if position < old_count else None
            pid = child.pid
            # The hot path: a running worker that has not changed since the last snapshot.
            if (
                before is not None and before.pid is pid and before.restarts == restarts
                and before.status == "running" and before.kind not in _SUPERVISOR_KINDS
                and before.child_id == child.id and isinstance(pid, Pid) and is_alive(pid)
            ):
                built.append(before)
                if used is not None:
                    used.add(before.slot)
                continue
            child_id = child.id
            if before is not None and before.child_id == child_id and (used is None or before.slot not in used):
                label, slot = before.label, before.slot
            else:
                label = child_id if isinstance(child_id, str) else repr(child_id)
                if used is None:
                    used = {node.slot for node in built}
                slot = label
                if slot in used:
                    slot = f"{label}#{pid.id}" if isinstance(pid, Pid) else f"{label}#{position}"
                if by_slot is None:
                    by_slot = {node.slot: node for node in old}
                before = by_slot.get(slot)
                if before is not None and before.child_id != child_id:
                    before = None
            if used is not None:
                used.add(slot)
            node = self._child((*path, slot), label, child, restarts, before)
            built.append(node)
            if unchanged and node is not old[position]:
                unchanged = False
        return old if unchanged else tuple(built)

    def _child(
        self, path: tuple[str, ...], label: str, child: Child, restarts: int, previous: NodeSnapshot | None
    ) -> NodeSnapshot:
        pid = child.pid
        previous_pid = None
        if previous is not None:
            previous_pid = previous.previous_pid
            if previous.pid is not None and previous.pid is not pid:
                previous_pid = previous.pid
        if isinstance(pid, Pid):
            return self._node(path, label, child.id, pid, child.restart, restarts, previous, previous_pid)
        status = "stopped" if pid is None else "restarting"
        node = NodeSnapshot(path[-1], label, child.id, None, child.type, None, child.restart, status, restarts,
                            None, previous_pid)
        return _reuse(node, previous)

    def _child_count(self, pid: Pid) -> int:
        """How many running children a supervisor has, without listing them: its links but its parent's."""
        info = self._rt.process_info(pid)
        if info is None:
            return 0
        return len(info.links) - (1 if info.parent is not None and info.parent in info.links else 0)

    def _name_of(self, pid: Pid, label: str | None) -> str | None:
        """The registered name of `pid`: its label when registered under it (cheap), else looked up."""
        rt = self._rt
        if label is not None and rt.whereis(label) is pid:
            return label
        info = rt.process_info(pid)
        return None if info is None else info.name

    def _label_of(self, pid: Pid) -> str:
        name = self._journal.name_of(pid) if self._rt.is_alive(pid) else None
        if name is None:
            info = self._rt.process_info(pid)
            name = None if info is None else info.name
        return repr(pid) if name is None else f"{name} {pid!r}"

    # -- totals ------------------------------------------------------------------------

    def _monitors(self, previous: Snapshot | None) -> tuple[MonitorCount, ...]:
        journal = self._journal
        if previous is not None and journal.monitor_version == self._monitor_version:
            return previous.monitors
        self._monitor_version = journal.monitor_version
        held, watched = journal.monitors_held, journal.monitors_watching
        busiest = sorted(set(held) | set(watched), key=lambda pid: (-(held.get(pid, 0) + watched.get(pid, 0)), pid.id))
        counts = tuple(
            MonitorCount(pid, journal.name_of(pid) or repr(pid), held.get(pid, 0), watched.get(pid, 0))
            for pid in busiest[:TOP_MONITORS]
        )
        if previous is not None and counts == previous.monitors:
            return previous.monitors
        return counts

    def _log(self, previous: Snapshot | None) -> tuple[LogEntry, ...]:
        journal = self._journal
        if previous is not None and journal.version == self._log_version:
            return previous.log
        self._log_version = journal.version
        return journal.entries()

    def _buckets(self, now: float) -> tuple[tuple[BucketView, ...], int]:
        table = self._bucket_table()
        if table is None:
            return (), 0
        raw = table.buckets()
        now_ms = now * 1000
        views = [
            BucketView(
                str(bucket.limiter_id), str(bucket.key), bucket.count, bucket.limit, bucket.denied,
                _left_ms(table, bucket, now_ms),
            )
            for bucket in raw
        ]
        views.sort(key=_fullest_live_first)
        return tuple(views[:TOP_BUCKETS]), len(raw)

    def _bucket_table(self) -> BucketTable | None:
        """The bucket table of the RateLimiter registered as "rate_limiter", if there is one."""
        pid = self._rt.whereis(RATE_LIMITER_NAME)
        server = None if pid is None else self._rt.server_of(pid)
        return server.table if isinstance(server, RateLimiter) else None


def _left_ms(table: BucketTable, bucket: Bucket, now_ms: float) -> float:
    """Milliseconds left in a bucket's window (negative once it has ended)."""
    end = bucket.window_start_ms + table.scale_ms(bucket.limiter_id)
    return float(math.floor(end - now_ms))


def _fullest_live_first(bucket: BucketView) -> tuple[bool, float, int, str, str]:
    """Windows still open first, then the fullest, the most denied, by limiter and key."""
    ended = bucket.left_ms is not None and bucket.left_ms < 0
    return ended, -bucket.count / max(bucket.limit, 1), -bucket.denied, bucket.limiter_id, bucket.key


def _reuse(node: NodeSnapshot, previous: NodeSnapshot | None) -> NodeSnapshot:
    """`previous` when it equals `node` (so that widgets can skip it by identity), else `node`."""
    return previous if previous is not None and previous == node else node
