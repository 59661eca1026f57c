"""`InProcessSource`: the app hosts a `Runtime` on its own event loop and starts the tree in it (the default)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING

from observer.journal import Journal, Level, LogEntry
from observer.loop_alarm import FactoryBlocked, LoopAlarm
from observer.runtime import (
    DynamicSupervisor,
    Inspection,
    NoProc,
    Pid,
    Runtime,
    RuntimeEvent,
    Supervisor,
    TraceEvent,
)
from observer.snapshot import FOLD_OVER, HostStats, NodeSnapshot, ProcessDetail, Snapshot, SnapshotBuilder

from .base import Changed, Source, SourceState, Unsupported, View

if TYPE_CHECKING:
    from observer.drills.builtin import Drill
    from observer.drills.report import DrillReport
    from observer.targets import Factory

START_TIMEOUT = 10.0
"""Seconds the tree's factory may take to return its root before the start is given up."""
HOST_SAMPLE_SECONDS = 1.0
"""Host figures are sampled at most this often (psutil reads /proc)."""
QUIET_SECONDS = 1.0
"""While nothing a snapshot shows has changed, one is taken at most this often (for the clocks it shows)."""
DRILL_ROOT = "system"
"""The name the built-in drills find the default system's root by."""


class StartFailed(Exception):
    """The tree did not start; the message says why in one line (the factory's own error is its cause)."""


class InProcessSource(Source):
    """A runtime the app hosts for its whole life, with the tree `factory` starts in it.

    `run` enters the `Runtime` (every process stops in order when it returns), subscribes a
    `Journal` and keeps a `SnapshotBuilder`; `start_root` runs the factory with a start timeout
    that holds even when the factory blocks the loop. Snapshots are taken on the spot.
    """

    local = True
    restartable = True
    ordered_stop = True

    def __init__(
        self,
        factory: Factory | None = None,
        *,
        clock: Callable[[], float] | None = None,
        host_stats: Callable[[], HostStats] | None = None,
        fold_over: int = FOLD_OVER,
        title: str | None = None,
        start_timeout: float = START_TIMEOUT,
        read_only: bool = False,
    ) -> None:
        """Create the source (nothing runs before `run`).

        Args:
            factory: Starts the tree to observe; None starts the default system (`observer.system.start_system`).
            clock: The runtime's clock; defaults to `time.monotonic`.
            host_stats: Samples the host figures; defaults to psutil on this process.
            fold_over: Supervisors with more children than this are folded until opened.
            title: What the header calls the observed system (default: the factory's module, or "observer").
            start_timeout: Seconds the factory may take to return the root.
            read_only: Refuse every action (`control` is False).
        """
        self._factory = factory
        self._clock = clock or time.monotonic
        self._host_stats = host_stats
        self._fold_over = fold_over
        self._title = title
        self._start_timeout = start_timeout
        self._read_only = read_only
        self._runtime: Runtime | None = None
        self._journal: Journal | None = None
        self._builder: SnapshotBuilder | None = None
        self._root_pid: Pid | None = None
        self._state = SourceState("connecting")
        self._stopping = asyncio.Event()
        self._changed: Changed = _nothing
        self._loop_lag = 0.0  # the worst lag of the last host sample's second, as snapshots show it
        self._lag_window = 0.0  # the worst lag since then
        self._host: HostStats | None = None
        self._host_sampled_at = -HOST_SAMPLE_SECONDS
        self._quiet: tuple[object, ...] = ()  # what the last snapshot was taken of (see `refresh`)

    @property
    def title(self) -> str:
        """What the header calls the tree: the title given, else "observer" for the default system, else
        the root's registered name once it runs, else the factory's module."""
        if self._title is not None:
            return self._title
        if self._factory is None:
            return "observer"
        rt, root = self._runtime, self._root_pid
        info = None if rt is None or root is None else rt.process_info(root)
        if info is not None and info.name:
            return info.name
        return factory_module(self._factory)

    @property
    def where(self) -> str:
        """The runtime runs in this process."""
        return "in this process"

    # -- what the app reads besides the interface ---------------------------------------------------

    @property
    def runtime(self) -> Runtime | None:
        """The hosted runtime (None before `run` entered it and after it left it)."""
        return self._runtime

    @property
    def root_pid(self) -> Pid | None:
        """The root of the observed tree (None before it started)."""
        return self._root_pid

    @property
    def journal(self) -> Journal | None:
        """The journal subscribed to the runtime (None while it is not up)."""
        return self._journal

    # -- life ------------------------------------------------------------------------------------------

    async def run(self, changed: Changed) -> None:
        """Own the runtime until `close`; every process stops in order on the way out."""
        self._changed = changed
        try:
            async with Runtime(clock=self._clock) as rt:
                journal = Journal(describe=self._describe)
                unsubscribe = rt.subscribe(journal.record)
                self._runtime, self._journal = rt, journal
                self._builder = SnapshotBuilder(rt, journal, started_at=self._clock(), fold_over=self._fold_over)
                self._state = SourceState("starting")
                changed()
                try:
                    await self._stopping.wait()
                finally:
                    unsubscribe()
                    self._builder = None
        finally:
            self._runtime = None

    async def close(self) -> None:
        """Ask `run` to leave the runtime's block (which stops every process in order)."""
        self._stopping.set()

    @property
    def state(self) -> SourceState:
        """How the source is doing now (the root exiting shows in the snapshots, not here)."""
        return self._state

    @property
    def control(self) -> bool:
        """Whether actions are allowed (not with ``read_only``)."""
        return not self._read_only

    async def start_root(self) -> Pid:
        """Run the factory (again), within the start timeout, and make its result the root.

        Raises:
            StartFailed: It raised, returned something else than a pid, took longer than the start
                timeout, or held the event loop that long; the message says which.
        """
        rt = self._runtime
        if rt is None:
            raise StartFailed("the runtime is not running")
        self._state = SourceState("starting")
        self._changed()
        try:
            root = await self._run_factory(rt)
        except StartFailed as failure:
            self._state = SourceState("failed", str(failure))
            raise
        self._root_pid = root
        self._state = SourceState("up")
        return root

    async def _run_factory(self, rt: Runtime) -> Pid:
        factory = self._factory
        if factory is None:
            from observer.system import start_system  # the default system loads only when used

            factory = start_system
        timeout = self._start_timeout
        deadline = asyncio.timeout(timeout)
        alarm = LoopAlarm(timeout, FactoryBlocked, task=asyncio.current_task(), repeat=0.5)
        try:
            with alarm:
                async with deadline:
                    root = await factory(rt)
        except FactoryBlocked:
            raise StartFailed(f"the factory held the event loop for over {timeout:g} s (a blocking call in "
                              "async code?)") from None
        except TimeoutError as error:
            if deadline.expired():
                raise StartFailed(f"the factory did not return the root within {timeout:g} s") from None
            raise StartFailed(_why(error)) from error
        # The user's factory failed: the app shows why and offers R (a SystemExit from it is a failure too).
        except (Exception, SystemExit) as error:
            if alarm.fired:
                raise StartFailed(f"the factory held the event loop for over {timeout:g} s") from error
            raise StartFailed(_why(error)) from error
        if not isinstance(root, Pid):
            raise StartFailed(f"the factory returned {root!r}, not the root's Pid")
        return root

    # -- reading -----------------------------------------------------------------------------------------

    def refresh(self, view: View, *, loop_lag: float | None = None) -> None:
        """Take a snapshot now, unless nothing it shows can have changed since the last one, less than
        `QUIET_SECONDS` ago (then `latest` stays the same object, and the app draws nothing)."""
        builder = self._builder
        rt, journal = self._runtime, self._journal
        if builder is None or rt is None or journal is None:
            return
        if loop_lag is not None:
            self._lag_window = max(self._lag_window, loop_lag)
        host = self._sample_host()
        quiet = (rt.generation, journal.version, journal.monitor_version, rt.monitor_count(), self._root_pid, host,
                 self._loop_lag, view.opened, view.affected)
        previous = builder.previous
        if (
            previous is not None and not view.table and not previous.buckets and quiet == self._quiet
            and 0.0 <= self._clock() - previous.taken_at < QUIET_SECONDS
        ):
            return
        self._quiet = quiet
        builder.take(self._root_pid, opened=view.opened, host=host, loop_lag=self._loop_lag, affected=view.affected,
                     table=view.table)

    @property
    def latest(self) -> Snapshot | None:
        """The snapshot taken last."""
        return None if self._builder is None else self._builder.previous

    def inspection(self, pid: Pid) -> Inspection | None:
        """`Runtime.inspect`, on the spot."""
        rt = self._runtime
        return None if rt is None else rt.inspect(pid)

    def detail(self, node: NodeSnapshot, parent: NodeSnapshot | None, *, vanished: bool = False) -> ProcessDetail:
        """The process panel's figures, read now."""
        builder = self._builder
        assert builder is not None, "a detail is asked for only while snapshots are taken"
        return builder.detail(node, parent, vanished=vanished)

    def is_alive(self, pid: Pid) -> bool:
        """Whether `pid` lives now."""
        rt = self._runtime
        return rt is not None and rt.is_alive(pid)

    def now(self) -> float:
        """The runtime's clock."""
        return self._clock()

    # -- the log ---------------------------------------------------------------------------------------

    def note(self, text: str, level: Level = "info") -> None:
        """Add a line to the journal."""
        if self._journal is not None:
            self._journal.note(self._clock(), text, level)

    def log(self, entry: LogEntry) -> None:
        """Add an entry to the journal."""
        if self._journal is not None:
            self._journal.add(entry)

    # -- actions ---------------------------------------------------------------------------------------

    async def kill(self, pid: Pid, reason: str) -> None:
        """`Runtime.exit(pid, reason)`, at once."""
        self._require().exit(pid, reason)

    async def terminate(self, node: NodeSnapshot, parent: NodeSnapshot, path: tuple[str, ...]) -> None:
        """terminate_child on `parent` (a DynamicSupervisor's by the child's pid)."""
        rt = self._require()
        assert parent.pid is not None
        if parent.kind == "dynamic_supervisor":
            if node.pid is None:
                raise NoProc(node.label, "it is not running")
            await DynamicSupervisor.terminate_child(rt, parent.pid, node.pid)
        else:
            await Supervisor.terminate_child(rt, parent.pid, node.child_id)

    async def restart(self, node: NodeSnapshot, parent: NodeSnapshot, path: tuple[str, ...]) -> Pid | None:
        """restart_child on `parent`; the new pid."""
        assert parent.pid is not None
        started = await Supervisor.restart_child(self._require(), parent.pid, node.child_id)
        if isinstance(started, tuple):
            started = started[0]
        return started if isinstance(started, Pid) else None

    async def suspend(self, pid: Pid) -> None:
        """`Runtime.suspend`."""
        await self._require().suspend(pid)

    async def resume(self, pid: Pid) -> None:
        """`Runtime.resume`."""
        await self._require().resume(pid)

    def trace(self, pid: Pid, limit: int) -> AsyncGenerator[TraceEvent, None]:
        """`Runtime.trace`, started now, as an async iterator: it ends after `limit` events, when `pid`
        exits, or when closed.

        Raises:
            NoProc: `pid` is not alive.
        """
        rt = self._require()
        events: asyncio.Queue[TraceEvent | None] = asyncio.Queue()

        def on_exit(event: RuntimeEvent) -> None:
            if event.kind == "exited" and event.pid is pid:
                events.put_nowait(None)  # after the events it delivered before it exited (both come via the loop)

        unsubscribe = rt.subscribe(on_exit)
        try:
            stop = rt.trace(pid, events.put_nowait, limit=limit)
        except BaseException:
            unsubscribe()
            raise
        return _traced(events, limit, stop, unsubscribe)

    def _require(self) -> Runtime:
        rt = self._runtime
        if rt is None:
            raise NoProc("the runtime", "it is not running")
        return rt

    # -- drills ----------------------------------------------------------------------------------------

    def drills_unavailable(self) -> str | None:
        """None on the default system (the built-in drills find it by its root's name); else why not."""
        rt, root = self._runtime, self._root_pid
        if rt is not None and root is not None and rt.whereis(DRILL_ROOT) is root:
            return None
        return (f"The built-in drills need the default system (observer without --app): they find it by its "
                f"root, registered as {DRILL_ROOT!r}, and this app hosts {self.title}. Drills for your own tree: "
                "observer --app package.module:factory --drills my.toml runs them here, live; "
                "observer drill --file my.toml --app package.module:factory, headless")

    def own_drills_unavailable(self) -> str | None:
        """None while the tree runs (a drill file's drills find it by its root); else why not."""
        rt, root = self._runtime, self._root_pid
        if rt is None or root is None or not rt.is_alive(root):
            return "the tree is not running (R starts it again)"
        return None

    async def run_drill(self, drill: Drill, on_affected: Callable[[Sequence[Pid]], None], *,
                        builtin: bool = True) -> DrillReport:
        """Run `drill` live on this runtime: a built-in one on the default system, or the user's own on the tree.

        The user's drill finds the tree by its root's registered name, as ``observer drill --file F --app``
        does (a root without a name is registered as ``root``); what it raises is a failed step (its
        traceback goes to the ``observer.drills`` log), and it stops after `DRILL_TIMEOUT` seconds.

        Raises:
            Unsupported: The user's drill and no tree runs.
        """
        from observer.drills.errors import DrillError
        from observer.drills.runner import DRILL_TIMEOUT, root_name, run_drill

        rt = self._require()
        if builtin:
            return await run_drill(drill, rt, root=DRILL_ROOT, live=True, on_affected=on_affected)
        why = self.own_drills_unavailable()
        root = self._root_pid
        if why is not None or root is None:
            raise Unsupported(why or "the tree is not running")
        try:
            name = root_name(rt, root)
        except DrillError as error:
            raise Unsupported(str(error)) from None
        return await run_drill(drill, rt, root=name, live=True, on_affected=on_affected, timeout=DRILL_TIMEOUT,
                               catch=True)

    # -- helpers -----------------------------------------------------------------------------------------

    def _describe(self, pid: Pid) -> tuple[str | None, str | None]:
        """A supervisor's name and strategy, for the journal's cascade entries."""
        rt = self._runtime
        if rt is None:
            return None, None
        info = rt.process_info(pid)
        server = rt.server_of(pid)
        strategy = server.strategy if isinstance(server, Supervisor | DynamicSupervisor) else None
        return (None if info is None else info.name), strategy

    def _sample_host(self) -> HostStats | None:
        now = time.monotonic()
        if self._host is None or now - self._host_sampled_at >= HOST_SAMPLE_SECONDS:
            if self._host_stats is None:
                from observer.host import HostSampler  # psutil loads only when figures are sampled

                self._host_stats = HostSampler()
            self._host = self._host_stats()
            self._host_sampled_at = now
            # The lag is shown as the worst of the second, with the host figures: a figure that moves
            # every tick by a few microseconds would redraw the panel every tick, and tell nothing.
            self._loop_lag, self._lag_window = self._lag_window, 0.0
        return self._host


def factory_module(factory: Factory) -> str:
    """The module a factory comes from (``shop.app`` for ``shop.app:main``), or its name when it has none."""
    module = getattr(factory, "__module__", None)
    if isinstance(module, str) and module and module != "__main__":
        return module
    return str(getattr(factory, "__name__", "observer"))


async def _traced(events: asyncio.Queue[TraceEvent | None], limit: int, stop: Callable[[], None],
                  unsubscribe: Callable[[], None]) -> AsyncGenerator[TraceEvent, None]:
    """The events of one trace, until `limit` of them, the process's exit (None), or the consumer leaving."""
    try:
        for _ in range(limit):
            event = await events.get()
            if event is None:
                return
            yield event
    finally:
        stop()
        unsubscribe()


def _why(error: BaseException) -> str:
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _nothing() -> None:
    """The `changed` callback before `run` was given one."""
