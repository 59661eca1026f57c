"""Snapshot: a frozen, pure-data view of a runtime at one instant, built cheaply tick after tick.

`SnapshotBuilder.take` reads the runtime through its public, synchronous
observer API (`generation`, `server_of`, `children()`, `process_info`,
`monitor_count`) and the app's `Journal`. When nothing changed it returns
parts of the previous snapshot unchanged, so that widgets can skip whatever
is identical (`is`) to what they drew last. No textual imports here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from observer.journal import MISSING, Journal, LogEntry
from observer.runtime import Child, DynamicSupervisor, Pid, ProcessInfo, Runtime, Supervisor
from observer.runtime.rate_limiter import Bucket, BucketTable, RateLimiter

RATE_LIMITER_NAME = "rate_limiter"
TOP_MONITORS = 6
"""Per-process monitor counts kept in a snapshot (the processes holding or watched by the most)."""
TOP_BUCKETS = 12
"""Rate-limiter buckets kept in a snapshot (the fullest first)."""
MAX_LINKS_SHOWN = 8
FOLD_OVER = 64
"""Supervisors with more children than this are folded (children not listed) until opened."""
TABLE_BUDGET = 1_000
"""Processes whose counters a snapshot reads again per tick, at most (the busiest first, then round robin):
at 10k processes every row is fresh every few ticks, and a tick stays cheap."""
SIGNATURES_KEPT = 4_096
"""Supervisors whose children's listing a builder remembers (see `SnapshotBuilder._node`)."""
OUTSIDE_SLOT = "(outside the tree)"
"""The slot of the group, last under the root, that holds the live processes no supervisor of the tree holds."""
GROUP_KIND = "group"
"""The kind of that group node (it is no process: its pid is None)."""
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
            ("supervisor"/"worker" spec type when it is not running), or "group" for the
            "outside the tree" group (its pid is None; its children are processes).
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
class ProcessSample:
    """One process as the process table last read it (a row of the process list, before rates).

    Attributes:
        pid: The process.
        name: Its registered name, if any.
        kind: "process", "server", "supervisor" or "dynamic_supervisor".
        status: "waiting" (blocked in receive) or "running".
        mailbox: Queued messages.
        messages_in: Messages delivered to its mailbox since it started.
        reductions: Callbacks or receive rounds it has handled.
        restarts: How often its supervisor restarted it.
        sampled_at: When these figures were read, on the runtime clock (rates divide by its differences).
        awaiting: What it awaited then (`Runtime.awaiting`): "receive", "call <0.7.0>", ...; None while running.
    """

    pid: Pid
    name: str | None
    kind: str
    status: str
    mailbox: int
    messages_in: int
    reductions: int
    restarts: int
    sampled_at: float
    awaiting: str | None = None


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
        processes: Every live process, oldest first, when the table was asked for (else empty); a row
            equal to the previous snapshot's is the previous row's object.
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
    processes: tuple[ProcessSample, ...] = ()


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
        self._tree: NodeSnapshot | None = None  # the latest tree without its "outside the tree" group
        # Per supervisor whose children were listed: its (messages_in, reductions, links) then, and those
        # children with how many of them are running workers and whether they all are workers.
        # Invariant: `_listed[pid][0]` is the children tuple listed at `_signatures[pid]`.
        self._signatures: dict[Pid, tuple[int, int, int]] = {}
        self._listed: dict[Pid, tuple[tuple[NodeSnapshot, ...], int, bool]] = {}
        self._counted: tuple[tuple[NodeSnapshot, ...], int, bool] = ((), 0, True)  # the last `_children`'s
        # The process table: the latest row of every live process, the pids oldest first, where the
        # round robin of re-reads goes on, and the rows whose counters moved at their last read.
        # Invariant: `_rows` has exactly the pids of `_order`, which are the live ones as of `_rows_generation`.
        self._rows: dict[Pid, ProcessSample] = {}
        self._order: list[Pid] = []
        self._rows_generation = -1
        self._next_row = 0
        self._busy: set[Pid] = set()

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
        table: bool = False,
    ) -> Snapshot:
        """Take a snapshot of the tree under `root_pid` and the runtime's totals.

        Args:
            root_pid: The root of the supervision tree (None before it started).
            opened: Slot paths (from the root) of big supervisors whose children to list anyway.
            host: Host figures sampled by the caller.
            loop_lag: How late this tick ran.
            affected: Processes a drill running live has touched, to draw highlighted.
            table: Fill `Snapshot.processes` (the process list is shown); its counters are read again
                for at most `TABLE_BUDGET` processes per snapshot.

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
            tree = self._root(root_pid, self._tree)
            self._tree = tree
            process_count = len(rt.processes())
            root = self._with_outside(tree, process_count, None if previous is None else previous.root)
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
            processes=self._table(previous, generation, now) if table else (),
        )
        self._previous = snapshot
        self._previous_root_pid = root_pid
        return snapshot

    def detail(self, node: NodeSnapshot, parent: NodeSnapshot | None, *, vanished: bool = False) -> ProcessDetail:
        """Describe one process of the tree for the process panel.

        Its figures are read now; its uptime is as of the latest snapshot, as the header's is (so that
        both clocks tick in the same frame, and an idle app draws once a second, not twice).

        Args:
            node: The node, as of the latest snapshot.
            parent: Its parent node, if any.
            vanished: Whether it has left the tree.
        """
        rt, journal = self._rt, self._journal
        last_exit = MISSING if node.previous_pid is None else journal.exit_reason(node.previous_pid)
        info = None if node.pid is None else rt.process_info(node.pid)
        exit_reason = journal.exit_reason(node.pid) if node.pid is not None else last_exit
        now = rt.clock() if self._previous is None else self._previous.taken_at
        return describe(node, parent, info, now=now, last_exit=last_exit, exit_reason=exit_reason,
                        vanished=vanished, label_of=self._label_of)

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
        info = rt.process_info(pid)
        count = 0 if info is None else len(info.links) - (1 if info.parent is not None and info.parent in info.links
                                                            else 0)
        if count > self._fold_over and path not in self._opened:
            children: tuple[NodeSnapshot, ...] = ()
            folded = True
        else:
            # A supervisor whose mailbox and links have not moved has the same children as before: a
            # child cannot start, stop, restart or die without one or the other. Reusing them skips
            # `children()`, which builds a report per child (10,000 for a big pool), when only workers
            # are below it (a nested supervisor's own children may have changed).
            # Only while it waits in receive: in the middle of a restart (awaiting a child's init) its
            # counters and links are already final but its child table is not.
            signature = (
                None if info is None or info.status != "waiting"
                else (info.messages_in, info.reductions, len(info.links))
            )
            if (
                previous is not None and previous.pid is pid and not previous.folded and signature is not None
                and self._signatures.get(pid) == signature and self._leafy(pid, old_children)
            ):
                children = old_children
            else:
                children = self._children(path, server.children(), old_children)
                self._remember_children(pid, signature, children)
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
        supervisor_kinds = _SUPERVISOR_KINDS
        by_slot: dict[str, NodeSnapshot] | None = None
        used: set[str] | None = None  # slots taken in this pass, kept once the slow path has run
        built: list[NodeSnapshot] = []
        append = built.append
        old_count = len(old)
        unchanged = len(reported) == old_count
        running = 0  # running workers among the children (see `_listed`)
        leafy = True
        for position, (child, restarts) in enumerate(reported):
            before = old[position] if position < old_count else None
            pid = child.pid
            # The hot path: a running worker that has not changed since the last snapshot (a running
            # node has a pid, so `before.pid is pid` also says that `pid` is one).
            if (
                before is not None and before.pid is pid and before.status == "running"
                and before.restarts == restarts and before.kind not in supervisor_kinds
                and before.child_id == child.id and is_alive(pid)  # type: ignore[arg-type]
            ):
                append(before)
                running += 1
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
            append(node)
            if node.kind in supervisor_kinds:
                leafy = False
            elif node.pid is not None and node.status != "exited":
                running += 1
            if unchanged and node is not old[position]:
                unchanged = False
        children = old if unchanged else tuple(built)
        self._counted = (children, running, leafy)
        return children

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

    def _remember_children(self, pid: Pid, signature: tuple[int, int, int] | None,
                           children: tuple[NodeSnapshot, ...]) -> None:
        """Keep what a supervisor's children were listed at (the counts `_children` made of them)."""
        signatures, listed = self._signatures, self._listed
        if len(signatures) > SIGNATURES_KEPT:  # supervisors that have gone: forget them all, and start over
            signatures.clear()
            listed.clear()
        counted = self._counted
        if counted[0] is children:
            listed[pid] = counted
        else:
            listed.pop(pid, None)
        if signature is None:
            signatures.pop(pid, None)
        else:
            signatures[pid] = signature

    def _leafy(self, pid: Pid, children: tuple[NodeSnapshot, ...]) -> bool:
        """Whether `children`, as listed for `pid`, are all workers."""
        listed = self._listed.get(pid)
        return listed is not None and listed[0] is children and listed[2]

    def _count(self, node: NodeSnapshot) -> int:
        """Processes a tree shows: its live nodes, and the children of folded supervisors (counted, not listed).

        A supervisor whose children were counted when they were listed is not walked again: an opened
        pool of 10,000 workers costs a lookup.
        """
        listed = self._listed
        total = 0
        stack = [node]
        while stack:
            current = stack.pop()
            if current.pid is not None and current.status != "exited":
                total += 1
            if current.folded:
                total += current.child_count
            children = current.children
            if not children:
                continue
            known = None if current.pid is None else listed.get(current.pid)
            if known is not None and known[0] is children:
                total += known[1]
                if not known[2]:
                    stack.extend(child for child in children if child.kind in _SUPERVISOR_KINDS)
                continue
            for child in children:
                if child.children or child.folded or child.kind in _SUPERVISOR_KINDS:
                    stack.append(child)
                elif child.pid is not None and child.status != "exited":
                    total += 1
        return total

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

    def _with_outside(self, tree: NodeSnapshot | None, process_count: int,
                      previous: NodeSnapshot | None) -> NodeSnapshot | None:
        """`tree` with a last child "outside the tree" holding the live processes it does not show.

        Cheap when there are none: a count of the tree's processes (a folded supervisor counts its
        children) equal to the runtime's says so without listing anyone.
        """
        if tree is None or tree.pid is None or tree.status != "running":
            return tree
        if self._count(tree) >= process_count:
            return tree
        rt = self._rt
        held: set[Pid] = set()
        _collect(tree, held, rt)
        outside = [pid for pid in rt.processes() if pid not in held]
        if not outside:
            return tree
        old_group = previous.children[-1] if previous is not None and previous.children else None
        if old_group is not None and old_group.kind != GROUP_KIND:
            old_group = None
        old = {} if old_group is None else {node.pid: node for node in old_group.children}
        members = tuple(self._outsider(pid, old.get(pid)) for pid in outside)
        group = NodeSnapshot(OUTSIDE_SLOT, "outside the tree", None, None, GROUP_KIND, None, None, "running", 0,
                             None, None, members, len(members))
        if old_group is not None and old_group.children == members:
            group = old_group
        return NodeSnapshot(tree.slot, tree.label, tree.child_id, tree.pid, tree.kind, tree.strategy, tree.restart,
                            tree.status, tree.restarts, tree.name, tree.previous_pid, (*tree.children, group),
                            tree.child_count, tree.folded, tree.child_restarts)

    def _outsider(self, pid: Pid, previous: NodeSnapshot | None) -> NodeSnapshot:
        """A live process no supervisor of the tree holds, labelled by its name and the process that spawned it."""
        rt = self._rt
        info = rt.process_info(pid)
        name = None if info is None else info.name
        parent = None if info is None else info.parent
        label = name or repr(pid)
        if parent is not None:
            label += f" (spawned by {self._label_of(parent)})"
        server = rt.server_of(pid)
        kind = "process" if server is None else server.kind
        node = NodeSnapshot(repr(pid), label, None, pid, kind, None, None, "running", 0, name)
        return _reuse(node, previous)

    # -- the process table -------------------------------------------------------------

    def _table(self, previous: Snapshot | None, generation: int, now: float) -> tuple[ProcessSample, ...]:
        """Every live process's row: new processes read now, then the busiest and a round robin of the rest."""
        rt = self._rt
        rows, order = self._rows, self._order
        changed = False
        if generation != self._rows_generation:
            live = rt.processes()
            if live != order:
                alive = set(live)
                for pid in [pid for pid in rows if pid not in alive]:
                    del rows[pid]
                    self._busy.discard(pid)
                for pid in live:
                    if pid not in rows:
                        row = self._sample(pid, None, now)
                        if row is not None:
                            rows[pid] = row
                order = self._order = [pid for pid in live if pid in rows]
                changed = True
            self._rows_generation = generation
        budget = TABLE_BUDGET
        reread: list[Pid] = [pid for pid in self._busy if pid in rows][:budget]
        count = len(order)
        if count:
            start = self._next_row % count
            wanted = min(count, max(0, budget - len(reread)))
            reread.extend(order[(start + offset) % count] for offset in range(wanted))
            self._next_row = (start + wanted) % count
        busy: set[Pid] = set()
        for pid in dict.fromkeys(reread):
            old = rows.get(pid)
            row = self._sample(pid, old, now)
            if row is None or row is old:
                continue
            if old is not None and (row.messages_in != old.messages_in or row.reductions != old.reductions):
                busy.add(pid)
            rows[pid] = row
            changed = True
        self._busy = busy
        if not changed and previous is not None and len(previous.processes) == len(order):
            return previous.processes
        return tuple(rows[pid] for pid in order)

    def _sample(self, pid: Pid, old: ProcessSample | None, now: float) -> ProcessSample | None:
        """`pid`'s row read now; `old` itself when its figures have not moved (None once it is dead)."""
        rt = self._rt
        info = rt.process_info(pid)
        if info is None:
            return None
        awaiting = rt.awaiting(pid)  # read every time: a caller stuck in a call moves no counter
        if (
            old is not None and old.messages_in == info.messages_in and old.reductions == info.reductions
            and old.mailbox == info.mailbox_size and old.status == info.status and old.restarts == info.restarts
            and old.name == info.name and old.awaiting == awaiting
        ):
            return old
        return ProcessSample(pid, info.name, info.kind, info.status, info.mailbox_size, info.messages_in,
                             info.reductions, info.restarts, now, awaiting)

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


def describe(
    node: NodeSnapshot,
    parent: NodeSnapshot | None,
    info: ProcessInfo | None,
    *,
    now: float,
    last_exit: Any,
    exit_reason: Any,
    vanished: bool = False,
    label_of: Callable[[Pid], str] = repr,
) -> ProcessDetail:
    """Describe one process for the process panel from its `ProcessInfo` (None when it is not alive).

    Pure, so that a snapshot read in-process and an inspection read over the wire give the same panel.

    Args:
        node: The node, as of the latest snapshot.
        parent: Its parent node, if any.
        info: Its `ProcessInfo` read now (from `process_info` or an `Inspection`), None if it is not alive.
        now: The runtime clock now (for its uptime).
        last_exit: Why its previous incarnation exited (`MISSING` when unknown or never restarted).
        exit_reason: Why its own pid exited, when it is not alive (`MISSING` when unknown).
        vanished: Whether it has left the tree.
        label_of: Names a linked process (``name <0.4.0>``).
    """
    parent_label = None if parent is None else f"{parent.label} {parent.pid!r}"
    if info is None:
        status = node.status
        if node.pid is not None and not vanished:
            status = "exited"
        return ProcessDetail(node, False, status, 0, (), 0, 0, 0, False, parent_label, None, exit_reason, vanished)
    links = tuple((pid, label_of(pid)) for pid in sorted(info.links)[:MAX_LINKS_SHOWN])
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
        uptime=max(0.0, now - info.started_at),
        last_exit=last_exit,
        vanished=vanished,
    )


def _collect(node: NodeSnapshot, into: set[Pid], rt: Runtime) -> None:
    """The pids a tree holds, the children of folded supervisors included (their links, but their parent's)."""
    if node.pid is not None:
        into.add(node.pid)
        if node.folded:
            info = rt.process_info(node.pid)
            if info is not None:
                into.update(info.links)
    for child in node.children:
        _collect(child, into, rt)
