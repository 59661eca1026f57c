"""`Source`: the one seam through which the app reads a runtime and acts on it, in-process or attached.

The app never touches a `Runtime` or a `Connection` itself. It runs `Source.run` in a worker for
its whole life, asks for a fresh snapshot every tick (`refresh`), draws `latest`, reads the
selected process's `inspection`, and sends every action through the source. Widgets only ever see
the `Snapshot`s and `Inspection`s it hands out, so they cannot tell which source feeds them.
No textual imports here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from observer.journal import Level, LogEntry
from observer.runtime import Inspection, ObserverError, Pid, TraceEvent
from observer.snapshot import NodeSnapshot, ProcessDetail, Snapshot

if TYPE_CHECKING:
    from observer.drills.builtin import Drill
    from observer.drills.report import DrillReport

Phase = Literal["connecting", "starting", "up", "failed", "gone"]
"""Where a source is in its life.

``connecting``: not yet reading a runtime (entering it, or connecting to it); ``starting``: the tree's
factory runs; ``up``: snapshots come; ``failed``: the tree did not start (in-process; `restartable`
says whether R tries again); ``gone``: the attached runtime went away (its last snapshot stays shown).
"""


class Unsupported(ObserverError):
    """The source cannot do that at all (e.g. start the tree again on a runtime it only attaches to)."""


@dataclass(frozen=True, slots=True)
class SourceState:
    """How a source is doing, for the header and the tree.

    Attributes:
        phase: See `Phase`.
        detail: Why it failed or went away, in a few words (None otherwise).
        blocked: Seconds the observed runtime's event loop has not run (0.0 while it runs).
    """

    phase: Phase
    detail: str | None = None
    blocked: float = 0.0


@dataclass(frozen=True, slots=True)
class View:
    """What the app shows, so that a snapshot holds what it needs and no more.

    Attributes:
        opened: Slot paths (from the root) of big supervisors the user opened.
        affected: Processes a drill running live touched (drawn highlighted).
        selected: The process under the cursor (its inspection is refreshed with the snapshot).
        table: Whether the per-process table is wanted (the process list is shown).
    """

    opened: frozenset[tuple[str, ...]] = frozenset()
    affected: frozenset[Pid] = frozenset()
    selected: Pid | None = None
    table: bool = False


Changed = Callable[[], None]
"""Called by a source when something new can be drawn (a snapshot arrived, its state changed)."""


class Source(ABC):
    """A runtime as the app sees it: snapshots in, actions out.

    Attributes:
        local: The runtime runs on the app's own event loop (the app's timer lag is its loop lag).
        restartable: The source hosts the tree and can start it again after its root exited (R).
        ordered_stop: `close` stops processes in order: the app waits for `run` to return; otherwise
            it may cancel `run` after `close`.
    """

    local: bool = False
    restartable: bool = False
    ordered_stop: bool = False

    @property
    @abstractmethod
    def title(self) -> str:
        """What the header calls the observed system."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Which runtime this is, for the header and the node list ("in this process", a socket path)."""

    # -- life ---------------------------------------------------------------------------------------

    @abstractmethod
    async def run(self, changed: Changed) -> None:
        """Enter the runtime (or connect to it) and stay until `close`; the app runs this in a worker.

        Args:
            changed: Called whenever something new can be drawn.
        """

    @abstractmethod
    async def close(self) -> None:
        """Ask `run` to return: stop every process in order (in-process) or disconnect."""

    @property
    @abstractmethod
    def state(self) -> SourceState:
        """How the source is doing now."""

    @property
    @abstractmethod
    def control(self) -> bool:
        """Whether actions are allowed (False: read-only, the footer greys them and they raise `ReadOnly`)."""

    async def start_root(self) -> Pid:
        """Start the observed tree (again, after its root exited); the app runs this in a worker.

        Raises:
            Unsupported: The source only attaches to a tree it does not host.
        """
        raise Unsupported(f"{self.where}: the tree runs in another process: restart it there")

    # -- reading ------------------------------------------------------------------------------------

    @abstractmethod
    def refresh(self, view: View, *, loop_lag: float | None = None) -> None:
        """Ask for a fresh snapshot of what `view` shows (taken now in-process; fetched, then `changed`).

        Args:
            view: What the app shows.
            loop_lag: How late the app's timer ran (used by a local source as its runtime's loop lag).
        """

    @property
    @abstractmethod
    def latest(self) -> Snapshot | None:
        """The newest snapshot (None before the first)."""

    @abstractmethod
    def inspection(self, pid: Pid) -> Inspection | None:
        """The newest inspection of `pid` (the view's selected process), or None if there is none."""

    @abstractmethod
    def detail(self, node: NodeSnapshot, parent: NodeSnapshot | None, *, vanished: bool = False) -> ProcessDetail:
        """Describe one process of the tree for the process panel (as of the newest reads)."""

    @abstractmethod
    def is_alive(self, pid: Pid) -> bool:
        """Whether `pid` lives, as far as the source knows now."""

    @abstractmethod
    def now(self) -> float:
        """The observed runtime's clock (what log entries and snapshots are timed on)."""

    # -- the log ------------------------------------------------------------------------------------

    @abstractmethod
    def note(self, text: str, level: Level = "info") -> None:
        """Add a line of the app's own to the event log (an action taken, an error)."""

    @abstractmethod
    def log(self, entry: LogEntry) -> None:
        """Add an entry of the app's own (a drill's step or verdict) to the event log."""

    # -- actions (each raises `ReadOnly` without control, an `ObserverError` when it fails) ---------------

    @abstractmethod
    async def kill(self, pid: Pid, reason: str) -> None:
        """Send an exit signal with `reason` to `pid`."""

    @abstractmethod
    async def terminate(self, node: NodeSnapshot, parent: NodeSnapshot, path: tuple[str, ...]) -> None:
        """terminate_child of `node` on its supervisor `parent` (`path`: its slots from the root)."""

    @abstractmethod
    async def restart(self, node: NodeSnapshot, parent: NodeSnapshot, path: tuple[str, ...]) -> Pid | None:
        """restart_child of `node` on its supervisor `parent`; returns the new pid (None if it ignored the start)."""

    @abstractmethod
    async def suspend(self, pid: Pid) -> None:
        """Suspend a server: it handles nothing from its mailbox until resumed."""

    @abstractmethod
    async def resume(self, pid: Pid) -> None:
        """Resume a suspended server."""

    @abstractmethod
    def trace(self, pid: Pid, limit: int) -> AsyncGenerator[TraceEvent, None]:
        """The next `limit` messages `pid` receives and handles, traced from now; ends by itself (or when closed)."""

    # -- drills -----------------------------------------------------------------------------------------

    def drills_unavailable(self) -> str | None:
        """Why the built-in drills cannot run live on this source (None: they can)."""
        return ("The built-in drills run live only on a runtime the app hosts. Against a running service: "
                "observer drill --file my.toml --attach TARGET")

    def own_drills_unavailable(self) -> str | None:
        """Why drills from the user's drill file cannot run live on this source (None: they can)."""
        return "drills from a drill file do not run here"

    async def run_drill(self, drill: Drill, on_affected: Callable[[Sequence[Pid]], None], *,
                        builtin: bool = True) -> DrillReport:
        """Run a drill live on the observed runtime: a built-in one, or one from the user's drill file.

        Args:
            drill: The drill.
            on_affected: Told which processes each step touches (the app highlights them).
            builtin: A built-in drill (it finds the default system by its root's name); False: the user's own,
                which finds the observed tree by its root.

        Raises:
            Unsupported: `drills_unavailable` (or `own_drills_unavailable`) says why.
        """
        why = self.drills_unavailable() if builtin else self.own_drills_unavailable()
        raise Unsupported(why or "drills are not supported here")
