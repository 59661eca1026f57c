"""`read_runtime` / `read_in_steps`: what the runtime already keeps, read on its loop as plain data for a scrape.

The reads run on the runtime's event loop (the collector schedules them there) and only read:
the process table (`process_info`), the monitor count, each supervisor's `children()` and each
rate limiter's check counts. Nothing here counts anything on the runtime's hot paths.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass

from observer.runtime import DynamicSupervisor, Pid, Runtime, Server, Supervisor
from observer.runtime.rate_limiter import RateLimiter
from observer.runtime.supervision import child_label

KINDS = ("process", "server", "supervisor", "dynamic_supervisor")
"""Every process kind; each is exported (0 when there is none) so no series comes and goes."""

INTENSITY_ACCESSOR = "restart_intensity_used"
"""The supervisors' synchronous observer method for restarts in the window / max_restarts, once they have it."""

CHUNK = 2000
"""Processes read per loop turn (about 10 ms)."""

SupervisorServer = Supervisor | DynamicSupervisor


@dataclass(frozen=True, slots=True)
class SupervisorReading:
    """One supervisor as a scrape sees it.

    Attributes:
        label: Its registered name; else its parent's label, a slash and its child id; else its pid.
        restarts: ``(child label, restarts)`` in start order; children of a DynamicSupervisor that
            share an id are summed into one.
        intensity_used: Restarts in the current window / max_restarts, or None while the supervisor
            has no public accessor for it.
    """

    label: str
    restarts: tuple[tuple[str, int], ...]
    intensity_used: float | None


@dataclass(frozen=True, slots=True)
class LimiterReading:
    """One rate limiter's checks since it was configured (summed over RateLimiter servers sharing its id)."""

    label: str
    allowed: int
    denied: int


@dataclass(frozen=True, slots=True)
class Reading:
    """What the runtime keeps, read at one instant on its loop.

    Attributes:
        processes: ``(kind, live processes)``, every kind of `KINDS` first.
        monitors: Active monitors in the whole runtime.
        mailbox_depth_max: The longest mailbox (0 without processes).
        mailbox_depth_sum: Messages queued in all mailboxes.
        supervisors: Every live supervisor, one per label.
        limiters: Every configured rate limiter, one per label.
    """

    processes: tuple[tuple[str, int], ...]
    monitors: int
    mailbox_depth_max: int
    mailbox_depth_sum: int
    supervisors: tuple[SupervisorReading, ...]
    limiters: tuple[LimiterReading, ...]


def read_runtime(rt: Runtime) -> Reading:
    """Read `rt` at once; call it on the runtime's loop.

    Args:
        rt: The runtime.

    Returns:
        The reading.
    """
    steps = read_in_steps(rt)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            reading: Reading = done.value
            return reading


def read_in_steps(rt: Runtime, chunk: int = CHUNK) -> Generator[None, None, Reading]:
    """Read `rt` in steps of about `chunk` processes (or supervised children); run one step per loop turn.

    A big runtime is read over several loop turns so that a scrape never holds the loop for long
    (at about 5 µs a process, 100,000 processes in one go would be a stall of its own). Processes
    that exit between two steps are skipped, ones spawned meanwhile are not counted: the figures
    are of the moment the read began, give or take the processes that changed while it ran.

    Args:
        rt: The runtime (every step runs on its loop).
        chunk: Processes, or supervisors' children, read per step.

    Returns:
        The reading, as the generator's return value.
    """
    tally = _Tally()
    pids = rt.processes()
    for start in range(0, len(pids), chunk):
        if start:
            yield
        tally.add_processes(rt, pids[start:start + chunk])
    work = 0
    for pid, server in tally.supervisors.items():
        if work >= chunk:
            yield
            work = 0
        if rt.is_alive(pid):
            work += tally.add_children(pid, server)
    return tally.reading(rt)


class _Tally:
    """The figures of one read as its steps add them up."""

    def __init__(self) -> None:
        self.kinds = dict.fromkeys(KINDS, 0)
        self.depth_max = 0
        self.depth_sum = 0
        self.names: dict[Pid, str] = {}  # registered names, to label supervisors
        self.supervisors: dict[Pid, SupervisorServer] = {}
        self.limiters: list[RateLimiter] = []
        self.restarts: dict[Pid, dict[str, int]] = {}  # supervisor -> child label -> restarts
        self.intensity: dict[Pid, float | None] = {}
        # A supervisor that is the child of another: (its parent, its child id's label).
        self.placed: dict[Pid, tuple[Pid, str]] = {}

    def add_processes(self, rt: Runtime, pids: Iterable[Pid]) -> None:
        """Count processes by kind and mailbox, and note the supervisors and rate limiters among them."""
        kinds, names, server_of, process_info = self.kinds, self.names, rt.server_of, rt.process_info
        for pid in pids:
            info = process_info(pid)
            if info is None:
                continue  # it exited since the read began
            kinds[info.kind] = kinds.get(info.kind, 0) + 1
            self.depth_sum += info.mailbox_size
            if info.mailbox_size > self.depth_max:
                self.depth_max = info.mailbox_size
            if info.name is not None:
                names[pid] = info.name
            if info.kind != "process":
                server = server_of(pid)
                if isinstance(server, SupervisorServer):
                    self.supervisors[pid] = server
                elif isinstance(server, RateLimiter):
                    self.limiters.append(server)

    def add_children(self, pid: Pid, server: SupervisorServer) -> int:
        """Add one supervisor's restarts per child label and its intensity; returns how many children it has."""
        per_child = self.restarts.setdefault(pid, {})
        children = server.children()
        supervisors, placed = self.supervisors, self.placed
        for child, count in children:
            label = child_label(child.id)
            per_child[label] = per_child.get(label, 0) + count
            if isinstance(child.pid, Pid) and child.pid in supervisors:
                placed[child.pid] = (pid, label)
        self.intensity[pid] = _intensity_used(server)
        return len(children)

    def reading(self, rt: Runtime) -> Reading:
        """The reading, supervisors merged by label (children of a DynamicSupervisor can share one)."""
        label = _labeller(self.names, self.placed)
        restarts: dict[str, dict[str, int]] = {}
        intensity: dict[str, float | None] = {}
        for pid, per_child in self.restarts.items():
            sup_label = label(pid)
            merged = restarts.setdefault(sup_label, {})
            for child, count in per_child.items():
                merged[child] = merged.get(child, 0) + count
            used, previous = self.intensity[pid], intensity.get(sup_label)
            intensity[sup_label] = previous if used is None else used if previous is None else max(previous, used)
        return Reading(
            processes=tuple(self.kinds.items()),
            monitors=rt.monitor_count(),
            mailbox_depth_max=self.depth_max,
            mailbox_depth_sum=self.depth_sum,
            supervisors=tuple(
                SupervisorReading(sup_label, tuple(per_child.items()), intensity[sup_label])
                for sup_label, per_child in restarts.items()
            ),
            limiters=_limiters(server for server in self.limiters if rt.is_alive(server.pid)),
        )


def _labeller(names: dict[Pid, str], placed: dict[Pid, tuple[Pid, str]]) -> Callable[[Pid], str]:
    """A function that labels a supervisor: stable across restarts (a name or a path of child ids), else its pid."""
    labels: dict[Pid, str] = {}

    def label(pid: Pid) -> str:
        known = labels.get(pid)
        if known is not None:
            return known
        path: list[str] = []
        current = pid
        seen: set[Pid] = set()
        # Walk up to the nearest named (or already labelled) ancestor; `seen` guards a malformed cycle.
        while current not in names and current not in labels and current in placed and current not in seen:
            seen.add(current)
            current, segment = placed[current]
            path.append(segment)
        base = labels.get(current) or names.get(current) or str(current)
        text = "/".join([base, *reversed(path)])
        labels[pid] = text
        return text

    return label


def _intensity_used(server: Server) -> float | None:
    """The supervisor's restart intensity used, if it offers the observer accessor."""
    accessor = getattr(server, INTENSITY_ACCESSOR, None)
    if not callable(accessor):
        return None
    used = accessor()
    return float(used) if isinstance(used, int | float) else None


def _limiters(servers: Iterable[RateLimiter]) -> tuple[LimiterReading, ...]:
    """Allowed and denied checks per limiter label, summed over the rate limiter servers."""
    totals: dict[str, list[int]] = {}
    for server in servers:
        for limiter_id, checks in server.table.check_counts().items():
            total = totals.setdefault(child_label(limiter_id), [0, 0])
            total[0] += checks.allowed
            total[1] += checks.denied
    return tuple(LimiterReading(label, allowed, denied) for label, (allowed, denied) in totals.items())
