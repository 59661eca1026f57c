"""ObserverApp: the Textual app that draws the snapshots of one or more runtimes and lets a person act on them.

Every runtime comes through a `Source` (observer.source): the embedded default hosts one in this
process (`InProcessSource`), `observer attach` reads services over their endpoints
(`RemoteSource`). The app only composes views, ticks, and turns keys into the source's actions.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.events import Key, Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Input, Tab, Tabs, Tree
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from observer.host import LagProbe
from observer.journal import DrillCheck, DrillStepNote, DrillVerdict
from observer.rates import RateTracker
from observer.renderables import units
from observer.renderables.process_table import ProcessRow
from observer.runtime import Inspection, ObserverError, Pid, Runtime
from observer.snapshot import FOLD_OVER, GROUP_KIND, HostStats, NodeSnapshot, ProcessSample, Snapshot
from observer.source import InProcessSource, Source, StartFailed, View
from observer.source.in_process import START_TIMEOUT
from observer.targets import Factory
from observer.widgets.drill_picker import OWN_PREFIX, DrillPicker
from observer.widgets.event_log import EventLog
from observer.widgets.filter_bar import FilterBar
from observer.widgets.help_screen import HelpScreen
from observer.widgets.process_list import ProcessList
from observer.widgets.reason_prompt import ReasonPrompt
from observer.widgets.runtime_view import RuntimeView
from observer.widgets.supervision_tree import SupervisionTree
from observer.widgets.trace_pane import TracePane
from observer.widgets.traceback_screen import TracebackScreen

if TYPE_CHECKING:
    from observer.drills.builtin import Drill
    from observer.drills.report import DrillReport, StepReport

REFRESH_STEPS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
"""The refresh intervals `+` and `-` step through, in seconds."""
DESTRUCTIVE = frozenset({"kill", "kill_with_reason", "terminate", "restart", "drills", "suspend", "resume", "trace"})
"""Actions that change the runtime: greyed and refused without control (drills kill processes; tracing
changes what the runtime does for the traced process)."""
HISTORY_STEP = 5.0
"""Seconds between two points of the monitors' history while their counts stay the same."""
HELP_SKIPS = frozenset({"unpause", "previous_runtime", "close_trace"})
"""Bindings the help leaves out: the other half of a key pair, said on its first half's line."""
HELP_KEYS = MappingProxyType({"next_runtime": "] [", "faster": "+", "slower": "-"})
"""How the help shows a binding's keys, where it says more than the footer's key."""
WIDE = 120
"""Columns from which the footer also shows the command palette's key."""
QUIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals that quit the app as q does."""
TRACE_LIMIT = 100
"""Messages a trace started with T follows before it stops by itself (`Runtime.trace`'s safety cap)."""
LAG_NOTED = 0.25
"""A timer this late (seconds) means the loop was blocked: a hosted runtime's log says so, and the worst so far."""
AFFECTED_LINGER_SECONDS = 5.0
"""How long, on the app's clock, the processes a drill touched stay highlighted after it ended
(most drills take milliseconds: long enough for a person to see what it touched)."""


@dataclass(eq=False)
class _Session:
    """One observed runtime: its source, its view, and what the app remembers about it.

    Attributes:
        source: Where its snapshots come from and its actions go.
        view: Its widgets.
        worker: The worker running `source.run`.
        ready: `source.run` said it is up (the timer ticks it, its root is started).
        starting: Its tree's factory is running.
        root_exit_noted: The root whose exit the log has already told.
    """

    source: Source
    view: RuntimeView
    worker: Worker[None] | None = None
    ready: bool = False
    starting: bool = False
    root_exit_noted: Pid | None = None
    gone_noted: bool = False
    published: Snapshot | None = field(default=None, repr=False)
    rates: RateTracker = field(default_factory=RateTracker)
    suspended: frozenset[Pid] = frozenset()
    index: _TreeIndex | None = None
    inspected: tuple[Pid, int, int, float, float, float] | None = None  # pid, its counters, when, its rates
    drawn_state: tuple[object, ...] = ()  # what the header, tab and footer last showed of the source's state


@dataclass(frozen=True)
class _Selection:
    """The process a key acts on: under the tree's cursor, or the process list's."""

    node: NodeSnapshot
    parent: NodeSnapshot | None
    path: tuple[str, ...]
    vanished: bool = False


class _TreeIndex:
    """Every process a snapshot's tree shows, by pid: its node, supervisor and path; and what to call it."""

    def __init__(self, root: NodeSnapshot | None) -> None:
        self.root = root
        self.nodes: dict[Pid, tuple[NodeSnapshot, NodeSnapshot | None, tuple[str, ...]]] = {}
        self.names: dict[Pid, str] = {}
        stack: list[tuple[NodeSnapshot, NodeSnapshot | None, tuple[str, ...]]] = (
            [] if root is None else [(root, None, (root.slot,))])
        while stack:
            node, parent, path = stack.pop()
            if node.pid is not None:
                self.nodes[node.pid] = (node, parent, path)
                self.names[node.pid] = node.name or node.label
            stack.extend((child, node, (*path, child.slot)) for child in node.children)


class ObserverApp(App[None]):
    """Live supervision tree, monitors, rate-limiter buckets and restart cascades of a runtime.

    With no `source`, the app hosts a runtime itself (`InProcessSource`: entered in a worker on
    mount, left on quit so that every process stops in order) and starts the tree with `factory`
    (the default system when None). Every `refresh_interval` each source takes or fetches one
    frozen `Snapshot` that every widget of its view draws. Keys act through the source only; their
    errors become notifications. `d` runs a drill live, in a worker: one of the user's (`drills`,
    from ``--drills FILE``) on the observed tree, or a built-in one on the hosted default system;
    the processes it touches go into the snapshots as `affected`, its steps and verdict into the
    journal (`wait_drill` waits for it to end).
    """

    TITLE = "observer"

    BINDINGS: ClassVar[list[BindingType]] = [
        # In the footer's order, which is its priority: what is cut off at 80 columns comes last.
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("k", "kill", "Kill"),
        Binding("t", "terminate", "Terminate"),
        Binding("r", "restart", "Restart"),
        Binding("R", "restart_system", "Restart system", key_display="R"),
        Binding("l", "process_list", "Processes"),
        Binding("T", "trace", "Trace", key_display="T"),
        Binding("s", "suspend", "Suspend"),
        Binding("u", "resume", "Resume"),
        Binding("d", "drills", "Drills"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("p", "pause", "Pause"),
        Binding("p", "unpause", "Resume"),
        # Listed in ? help, not in the footer (there is no room for them at 80 columns).
        Binding("K", "kill_with_reason", "Kill with…", key_display="K", show=False),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+", show=False),
        Binding("minus", "slower", "Slower", key_display="-", show=False),
        Binding("c", "copy_pid", "Copy pid", show=False),
        Binding("escape", "close_trace", "Close trace", show=False),
        Binding("right_square_bracket", "next_runtime", "Next runtime", key_display="]"),
        Binding("left_square_bracket", "previous_runtime", "Previous runtime", key_display="[", show=False),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | q | Quit: stop every process in order, then restore the terminal (SIGTERM and SIGHUP too). |
    | ? | Help: every key. |
    | k | Kill the selected process (exit reason "kill", at once; with --confirm, asked first). |
    | t | terminate_child: its supervisor stops it (a kept spec stays, not running). |
    | r | restart_child: its supervisor starts a stopped child again. |
    | R | Restart the system after its root exited (or failed to start). |
    | l | Show the process list (every process, sortable) instead of the tree, or the tree again. |
    | T | Trace the selected process: its next 100 messages in and handled (T again stops it). |
    | s u | Suspend or resume the selected server (its calls queue meanwhile). |
    | d | Pick a drill (yours from --drills FILE, or a built-in one) and run it live on this runtime. |
    | / | Filter the tree by id, name or pid. |
    | p | Pause refreshing, or resume it (and catch up). |
    | K | Kill the selected process with a reason typed in a prompt (prefilled "kill"). |
    | + - | Refresh faster or slower. |
    | c | Copy the selected process's pid. |
    | ] [ | Show the next or previous runtime (attached to several). |
    """

    CSS = """
    #views {
        height: 1fr;
    }
    """

    def __init__(
        self,
        *,
        factory: Factory | None = None,
        read_only: bool = False,
        refresh_interval: float = 0.25,
        source: Source | Sequence[Source] | None = None,
        clock: Callable[[], float] | None = None,
        host_stats: Callable[[], HostStats] | None = None,
        fold_over: int = FOLD_OVER,
        title: str | None = None,
        ticking: bool = True,
        start_timeout: float = START_TIMEOUT,
        confirm_kill: bool = False,
        drills: Sequence[Drill] = (),
        drills_from: str | None = None,
    ) -> None:
        """Create the app.

        Args:
            factory: Starts the tree to observe in the hosted runtime; None starts the default system
                (`observer.system.start_system`). Not used with `source`.
            read_only: Disable every key that changes a runtime.
            refresh_interval: Seconds between snapshots.
            source: What to observe instead of hosting a runtime: one source, or several (a node list
                switches between them, one view each).
            clock: The app's clock (for uptime, flashes and loop lag), and the hosted runtime's; a fixed
                one makes screens reproducible. Defaults to `time.monotonic`.
            host_stats: Samples the host figures of the hosted runtime; defaults to psutil on this process.
            fold_over: Supervisors with more children than this are folded until opened (hosted runtime).
            title: What the header calls the hosted system.
            ticking: Take snapshots on a timer; False leaves every tick to `tick()` (tests,
                screenshots and benchmarks that must see exactly the ticks they take).
            start_timeout: Seconds the factory may take to return the root (hosted runtime).
            confirm_kill: `k` asks first (the reason prompt, prefilled "kill": enter kills, escape does not).
            drills: The user's own drills (`observer.drills.load_drills` of a drill file), which `d` lists first
                and runs on the observed tree.
            drills_from: Where they come from (the file), for the picker.
        """
        super().__init__()
        if source is None:
            sources: list[Source] = [InProcessSource(factory, clock=clock, host_stats=host_stats, fold_over=fold_over,
                                                     title=title, start_timeout=start_timeout, read_only=read_only)]
        elif isinstance(source, Source):
            sources = [source]
        else:
            sources = list(source)
        if not sources:
            raise ValueError("ObserverApp needs at least one source")
        self._sessions = [_Session(item, RuntimeView(id=f"view-{index}")) for index, item in enumerate(sources)]
        self._current = self._sessions[0]
        self._read_only = read_only
        self._confirm_kill = confirm_kill
        self._own_drills = tuple(drills)
        self._drills_from = drills_from
        self._quitting = False
        self._tabs: Tabs | None = None
        self._footer: Footer | None = None
        self._switcher: ContentSwitcher | None = None
        self._refresh_interval = refresh_interval
        self._clock = clock or time.monotonic
        self._ticking = ticking
        self._timer: Timer | None = None
        self._paused = False
        self._lag = LagProbe(refresh_interval)
        self._worst_lag: tuple[float, float] | None = None  # the longest block seen, and when it ended (time.time)
        self._drill: Drill | None = None  # the drill running live, if one is
        self._drill_session: _Session | None = None  # the session it runs on
        self._drill_builtin = True  # it is a built-in drill (not one of the user's)
        self._drill_started = 0.0  # when it started, on time.perf_counter (as the drill runner times drills)
        self._drill_done: asyncio.Future[DrillReport | None] | None = None  # the latest drill's outcome
        self._drill_worker: Worker[DrillReport] | None = None
        self._affected: frozenset[Pid] = frozenset()  # processes the latest drill touched
        self._affected_until = 0.0  # when they stop being highlighted, once that drill has ended

    # -- public ---------------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """Whether keys that change the runtime shown are disabled (asked for, or the source allows no control)."""
        return self._read_only or not self._current.source.control

    @property
    def refresh_interval(self) -> float:
        """Seconds between snapshots."""
        return self._refresh_interval

    @property
    def paused(self) -> bool:
        """Whether refreshing is paused."""
        return self._paused

    @property
    def source(self) -> Source:
        """The source of the runtime shown."""
        return self._current.source

    @property
    def sources(self) -> tuple[Source, ...]:
        """Every observed runtime's source, in the node list's order."""
        return tuple(session.source for session in self._sessions)

    @property
    def runtime(self) -> Runtime | None:
        """The hosted runtime (None when attached, before it started or after it stopped)."""
        source = self._current.source
        return source.runtime if isinstance(source, InProcessSource) else None

    @property
    def root_pid(self) -> Pid | None:
        """The root of the hosted tree (None when attached, or before it started)."""
        source = self._current.source
        return source.root_pid if isinstance(source, InProcessSource) else None

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest snapshot of the runtime shown."""
        return self._current.source.latest

    @property
    def drill_running(self) -> str | None:
        """The name of the drill running live, or None."""
        return None if self._drill is None else self._drill.name

    async def wait_drill(self) -> DrillReport | None:
        """Wait until the latest drill started with `d` has ended and been logged.

        Returns:
            Its report; None when it stopped by raising (its verdict in the log says what), or when no drill
            has been started.
        """
        done = self._drill_done
        return None if done is None else await asyncio.shield(done)

    def tick(self, *, loop_lag: float | None = None) -> Snapshot | None:
        """Take a snapshot of every runtime and show it: the whole of one refresh (snapshot, diff, apply).

        Args:
            loop_lag: How late the timer ran (kept from the previous tick when None).

        Returns:
            The snapshot of the runtime shown (attached: the newest one fetched), or None while there is none.
        """
        for session in self._sessions:
            self._refresh(session, loop_lag)
        return self._current.source.latest

    # -- composing ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if len(self._sessions) > 1:
            self._tabs = Tabs(*(Tab(_tab_label(session.source), id=f"tab-{index}")
                                for index, session in enumerate(self._sessions)), id="runtimes")
            yield self._tabs
        self._switcher = ContentSwitcher(id="views", initial=self._current.view.id)
        with self._switcher:
            for session in self._sessions:
                yield session.view
        self._footer = Footer(compact=True)
        yield self._footer

    def on_mount(self) -> None:
        for session in self._sessions:
            session.view.header.title = session.source.title
            session.view.header.read_only = self._read_only or not session.source.control
            session.view.header.refresh_interval = self._refresh_interval
            session.worker = self.run_worker(session.source.run(partial(self._source_changed, session)),
                                             name="source", group="source", exit_on_error=False)
        self._current.view.supervision_tree.focus()
        self._handle_signals(True)

    async def on_unmount(self) -> None:
        """Stop every source (a hosted runtime stops every process in order) before the app goes."""
        self._handle_signals(False)
        await self._stop_sources()

    def on_resize(self, event: Resize) -> None:
        """Below `WIDE` columns the footer leaves out ctrl+p, so that the app's own keys fit (help lists it)."""
        if self._footer is not None:
            self._footer.show_command_palette = event.size.width >= WIDE

    def _handle_signals(self, handle: bool) -> None:
        """SIGTERM and SIGHUP quit as q does (every process stopped in order, the terminal restored)."""
        loop = asyncio.get_running_loop()
        for number in QUIT_SIGNALS:
            try:
                if handle:
                    loop.add_signal_handler(number, self._signalled, number)
                else:
                    loop.remove_signal_handler(number)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signals here
                return

    def _signalled(self, number: int) -> None:
        if not self._quitting:
            self._quitting = True
            self.call_later(self.action_quit)

    async def _stop_sources(self) -> None:
        drill = self._drill_worker
        if drill is not None and drill.is_running:
            drill.cancel()  # at once: its process traps exits and would hold up the runtime's shutdown
            try:
                await drill.wait()
            except (WorkerCancelled, WorkerFailed):
                pass  # cancelled, as asked
        if self._timer is not None:
            self._timer.stop()
        for session in self._sessions:
            await session.source.close()
        if self._drill is not None:
            self._drill_finished(None)
        for session in self._sessions:
            worker = session.worker
            if worker is None:
                continue
            if not session.source.ordered_stop:
                worker.cancel()
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass  # cancelled by the app's exit, or it never started: the source has stopped either way

    def _source_changed(self, session: _Session) -> None:
        """A source has something new: the first time, start its tree and the timer; then draw it."""
        source = session.source
        if not session.ready and source.state.phase != "connecting":
            session.ready = True
            if source.restartable and source.latest is None and not session.starting:
                self._start_root(session)
            if self._ticking and self._timer is None:
                self._timer = self.set_interval(self._refresh_interval, self._on_timer)
        if source.state.phase == "gone" and not session.gone_noted:
            session.gone_noted = True
            why = source.state.detail or "it went away"
            self.notify(f"{source.title} ({source.where}) is gone: {why}", title="runtime gone", severity="warning",
                        timeout=10)
        state = (source.state, source.title, source.where, source.control)
        if state != session.drawn_state:  # a fetch that changed nothing of these redraws none of them
            session.drawn_state = state
            view = session.view
            view.header.state = source.state
            view.header.title = source.title
            view.header.where = None if source.local else source.where
            view.header.read_only = view.event_log.read_only = self._read_only or not source.control
            self._update_tab(session)
            self.refresh_bindings()
        self._publish(session, source.latest)

    def _update_tab(self, session: _Session) -> None:
        """The node list's entry of a runtime says its name and how it is doing."""
        tabs = self._tabs
        if tabs is None:
            return
        index = self._sessions.index(session)
        label = _tab_label(session.source)
        tab = tabs.query_one(f"#tab-{index}", Tab)
        if str(tab.label) != label.plain:
            tab.label = label

    def _start_root(self, session: _Session) -> None:
        """Start the observed tree (again, after its root exited) in a worker."""
        session.starting = True
        session.view.supervision_tree.show_starting()
        self.refresh_bindings()
        self.run_worker(self._run_start(session), name="factory", group="factory", exit_on_error=False)

    async def _run_start(self, session: _Session) -> None:
        source = session.source
        try:
            await source.start_root()
        except StartFailed as failure:
            message = f"the tree did not start: {failure} (R tries again)"
            session.view.supervision_tree.show_starting(failed=str(failure))
            source.note(message, "error")
            self.notify(message, severity="error", timeout=10)
        else:
            session.root_exit_noted = None
        finally:
            session.starting = False
        self.refresh_bindings()
        self._refresh(session, None)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "drill" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._drill_ended(worker, event.state)
        elif worker.group == "source" and event.state == WorkerState.ERROR:
            self.notify(f"the runtime stopped: {units.reason(worker.error)}", severity="error", timeout=10)

    # -- ticking ---------------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        lag = self._lag.tick(self._clock())
        if lag >= LAG_NOTED:
            self._note_lag(lag)
        if not self._paused:
            self.tick(loop_lag=lag)

    def _note_lag(self, lag: float) -> None:
        """The app's (and a hosted runtime's) loop was blocked: log how long and when, and the worst so far."""
        ended = time.time()
        worst = self._worst_lag
        if worst is None or lag >= worst[0]:
            worst = self._worst_lag = (lag, ended)
        text = f"event loop blocked {units.duration(lag)} (the app's timer ran that late), until {_wall(ended)}"
        text += "; the worst so far" if worst[1] == ended else f"; the worst so far: {units.duration(worst[0])} " \
                                                               f"until {_wall(worst[1])}"
        for session in self._sessions:
            if session.source.local:
                session.source.note(text, "warning")

    def _view_of(self, session: _Session) -> View:
        view = session.view
        selection = self._selection(session)
        selected = None if selection is None else selection.node.pid
        affected = self._affected_now() if session is self._drill_session else frozenset()
        return View(opened=view.supervision_tree.opened, affected=affected, selected=selected, table=view.list_shown)

    def _refresh(self, session: _Session, loop_lag: float | None) -> None:
        """Ask `session`'s source for a fresh snapshot and draw the newest one it has."""
        source = session.source
        if not session.ready:
            return
        source.refresh(self._view_of(session), loop_lag=loop_lag if source.local else None)
        self._publish(session, source.latest)

    def _publish(self, session: _Session, snapshot: Snapshot | None) -> None:
        """Hand the snapshot to every widget of its view, in one go (only the detail when it is the same one)."""
        if snapshot is None:
            return
        if snapshot is session.published:
            self._show_detail(session)  # the selected process is read again every tick
            return
        if self._note_root_exit(session, snapshot) and session.source.local:
            session.source.refresh(self._view_of(session))  # so that the note is in what is drawn
            snapshot = session.source.latest
            assert snapshot is not None
        session.published = snapshot
        view = session.view
        if view.event_log.started_at == 0.0:
            view.event_log.started_at = snapshot.taken_at - snapshot.uptime
            view.event_log.wall_offset = time.time() - session.source.now()
        view.header.title = session.source.title
        view.header.snapshot = snapshot
        view.supervision_tree.snapshot = snapshot
        if _monitors_moved(view.monitors_panel.snapshot, snapshot):
            view.monitors_panel.snapshot = snapshot
        view.buckets_panel.snapshot = snapshot
        view.event_log.snapshot = snapshot
        view.host_panel.snapshot = snapshot
        if session.suspended:
            session.suspended = frozenset(pid for pid in session.suspended if session.source.is_alive(pid))
        view.supervision_tree.mark_suspended(session.suspended)
        if view.list_shown:
            view.process_list.rows = self._rows(session, snapshot)
        self._show_detail(session)
        view.fit(snapshot)

    def _note_root_exit(self, session: _Session, snapshot: Snapshot) -> bool:
        """Say once, in the log, that the root exited (and how to restart it); True when it was said now."""
        root = snapshot.root
        if (
            root is None or root.pid is None or snapshot.root_alive or snapshot.root_exit is None
            or root.pid is session.root_exit_noted
        ):
            return False
        session.root_exit_noted = root.pid
        hint = ": press R to restart the system" if session.source.restartable else ""
        session.source.note(f"the root {root.label} {root.pid!r} exited ({units.reason(snapshot.root_exit)}){hint}",
                            "error")
        self.refresh_bindings()
        return True

    def _rows(self, session: _Session, snapshot: Snapshot) -> tuple[ProcessRow, ...]:
        """The process list's rows: the snapshot's table, with rates and the names the tree knows."""
        selection = self._selection(session)
        awaiting = None
        if selection is not None and selection.node.pid is not None:
            inspection = session.source.inspection(selection.node.pid)
            awaiting = (selection.node.pid, None if inspection is None else inspection.awaiting)
        return session.rates.rows(snapshot.processes, snapshot.taken_at, names=self._index(session).names,
                                  suspended=session.suspended, awaiting=awaiting)

    def _index(self, session: _Session) -> _TreeIndex:
        """The latest snapshot's tree by pid (built again only when the tree changed)."""
        snapshot = session.source.latest
        root = None if snapshot is None else snapshot.root
        index = session.index
        if index is None or index.root is not root:
            index = session.index = _TreeIndex(root)
        return index

    def _selection(self, session: _Session) -> _Selection | None:
        """The process under the cursor of what is shown: the process list's, or the tree's."""
        view = session.view
        if view.list_shown:
            pid = view.process_list.cursor_pid
            if pid is None:
                return None
            found = self._index(session).nodes.get(pid)
            if found is not None:
                return _Selection(*found)
            return _Selection(_lone_node(pid, session.source.latest), None, (repr(pid),))
        tree = view.supervision_tree
        data = tree.selected
        if data is None:
            return None
        return _Selection(data.node, tree.selected_parent, data.path, data.vanished)

    def _show_detail(self, session: _Session) -> None:
        """The process panel shows the selected process: its figures, inspection and rates, read for it only."""
        view = session.view
        panel = view.process_panel
        selection = self._selection(session)
        source = session.source
        if selection is None or selection.node.kind == GROUP_KIND or source.latest is None:
            panel.show(None)
            return
        node = selection.node
        detail = source.detail(node, selection.parent, vanished=selection.vanished)
        inspection = None if node.pid is None or selection.vanished else source.inspection(node.pid)
        panel.show(detail, inspection, self._selected_row(session, node, inspection))

    def _selected_row(self, session: _Session, node: NodeSnapshot, inspection: Inspection | None) -> ProcessRow | None:
        """The selected process as a process-list row, its rates from its successive inspections."""
        if inspection is None or node.pid is None:
            return None
        info = inspection.info
        snapshot = session.source.latest
        at = 0.0 if snapshot is None else snapshot.taken_at
        messages, reductions = 0.0, 0.0
        last = session.inspected
        if last is not None and last[0] is info.pid:
            _, messages_in, handled, then, messages, reductions = last
            if at > then:
                messages = max(0, info.messages_in - messages_in) / (at - then)
                reductions = max(0, info.reductions - handled) / (at - then)
            else:
                at = then  # the same instant: keep the rates it had
        session.inspected = (info.pid, info.messages_in, info.reductions, at, messages, reductions)
        status = "suspended" if info.pid in session.suspended else info.status
        return ProcessRow(info.pid, info.name or node.label, info.kind, status, info.mailbox_size, messages,
                          reductions, info.restarts, inspection.awaiting)

    # -- events -------------------------------------------------------------------------------------------

    def _session_of(self, widget: Any) -> _Session:
        """The session whose view holds `widget` (the one shown when it is in none)."""
        node = widget
        while node is not None:
            if isinstance(node, RuntimeView):
                for session in self._sessions:
                    if session.view is node:
                        return session
            node = node.parent
        return self._current

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        session = self._session_of(event.control)
        self._show_detail(session)
        if not session.source.local:
            self._refresh(session, None)  # its inspection comes with the next fetch

    @on(ProcessList.Highlighted)
    def _list_highlighted(self, event: ProcessList.Highlighted) -> None:
        session = self._session_of(event.control)
        self._show_detail(session)
        if not session.source.local:
            self._refresh(session, None)

    @on(ProcessList.Selected)
    def _list_selected(self, event: ProcessList.Selected) -> None:
        """Enter on a process in the list: show it in the tree."""
        session = self._session_of(event.control)
        view = session.view
        view.show_list(False)
        if not view.supervision_tree.move_to_pid(event.pid):
            self.notify(f"{event.pid!r} is not drawn in the tree (inside a folded supervisor?)", severity="warning")

    @on(TracePane.Closed)
    def _trace_closed(self, event: TracePane.Closed) -> None:
        self._close_trace(self._session_of(event.control))

    def _close_trace(self, session: _Session) -> None:
        """Stop the trace, if it still runs, and hide the pane."""
        self.workers.cancel_group(self, "trace")
        pane = session.view.trace_pane
        if pane.active:
            pane.end("stopped: the pane was closed")
        pane.remove_class("-shown")
        (session.view.process_list if session.view.list_shown else session.view.supervision_tree).focus()

    @on(EventLog.CrashOpened)
    def _crash_opened(self, event: EventLog.CrashOpened) -> None:
        entry = event.entry
        by = entry.supervisor_label or repr(entry.supervisor)
        title = f"{entry.child} {entry.pid!r} crashed ({units.reason(entry.reason)}), restarted by {by}"
        self.push_screen(TracebackScreen(title, entry.traceback))

    @on(Tabs.TabActivated, "#runtimes")
    def _runtime_chosen(self, event: Tabs.TabActivated) -> None:
        tab_id = event.tab.id or ""
        index = int(tab_id.rpartition("-")[2]) if tab_id.startswith("tab-") else 0
        self._show_session(self._sessions[index])

    def _show_session(self, session: _Session) -> None:
        """Switch the screen to `session`'s view."""
        if session is self._current:
            return
        self._current = session
        if self._switcher is not None:
            self._switcher.current = session.view.id
        session.view.supervision_tree.focus()
        self.refresh_bindings()

    @on(SupervisionTree.Opened)
    def _opened(self, event: SupervisionTree.Opened) -> None:
        self._refresh(self._session_of(event._sender), None)

    @on(Input.Changed, "FilterBar")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._session_of(event.input).view.supervision_tree.filter_text = event.value

    @on(FilterBar.Closed)
    def _filter_closed(self, event: FilterBar.Closed) -> None:
        self._session_of(event._sender).view.supervision_tree.focus()

    def on_key(self, event: Key) -> None:
        """Say why a destructive key does nothing without control (its binding is greyed)."""
        if not self.read_only:
            return
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action in DESTRUCTIVE and event.key in binding.key.split(","):
                self.notify(f"read-only: the {binding.description.lower()} key is disabled{self._why_read_only()}",
                            severity="warning")
                event.stop()
                return

    def _why_read_only(self) -> str:
        if self._read_only:
            return ""
        return " (the service does not allow control: observer run --control, or serve(rt, control=True))"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey destructive actions when read-only; offer R only when the root has exited."""
        if action in DESTRUCTIVE and self.read_only:
            return None
        if action == "restart_system":
            session = self._current
            return session.source.restartable and self._root_exited(session) and not session.starting
        if action in ("next_runtime", "previous_runtime"):
            return len(self._sessions) > 1
        if action == "close_trace":
            return self._current.view.trace_pane.has_class("-shown")
        if action == "pause":
            return not self._paused
        if action == "unpause":
            return self._paused
        return True

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Save an SVG of the screen (the palette's Screenshot) in a directory it creates, and say where.

        The directory is `path`, else ``$XDG_STATE_HOME/observer/screenshots`` (``~/.local/state/...``).
        """
        directory = Path(path) if path is not None else screenshot_dir()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            written = self.save_screenshot(filename, str(directory), time_format)
        except OSError as error:
            self.notify(f"could not save the screenshot in {directory}: {error.strerror or error}", severity="error")
            return None
        self.notify(f"written to {written}", title="Screenshot")
        return written

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The app's own commands, then kill / terminate / restart <name> for every registered name."""
        yield from super().get_system_commands(screen)
        if self.read_only:
            return
        for node, _, _ in self._named_nodes():
            name = node.name
            assert name is not None
            yield SystemCommand(f"kill {name}", f"exit {name} with reason kill", partial(self._kill_named, name))
            yield SystemCommand(f"terminate {name}", f"terminate_child {name} on its supervisor",
                                partial(self._admin_named, "terminate", name))
            yield SystemCommand(f"restart {name}", f"restart_child {name} on its supervisor",
                                partial(self._admin_named, "restart", name))

    # -- acting through the source ---------------------------------------------------------------------------

    def _selected_running(self, verb: str) -> _Selection | None:
        """The selected process if it is alive; otherwise say why not."""
        session = self._current
        selection = self._selection(session)
        if selection is None or session.source.latest is None or selection.node.kind == GROUP_KIND:
            self.notify(f"nothing to {verb}: select a process", severity="warning")
            return None
        pid = selection.node.pid
        if pid is None or selection.vanished or not session.source.is_alive(pid):
            self.notify(f"cannot {verb} {selection.node.label}: it is not running", severity="warning")
            return None
        return selection

    def _send_exit(self, pid: Pid, label: str, reason: str, key: str) -> None:
        source = self._current.source
        if not source.is_alive(pid):
            self.notify(f"{label} {pid!r} is already gone", severity="warning")
            return
        self._act(self._current, key, f"{key}: exit {units.reason(reason)} sent to {label} {pid!r}",
                  source.kill(pid, reason))

    def _admin(self, verb: str, node: NodeSnapshot, parent: NodeSnapshot | None, path: tuple[str, ...]) -> None:
        """terminate_child or restart_child of `node` on its supervisor, in a worker."""
        session = self._current
        source = session.source
        if parent is None or parent.pid is None or not parent.is_supervisor:
            self.notify(f"{node.label} has no supervisor here to {verb} it: use k to kill it", severity="warning")
            return
        if parent.kind == "dynamic_supervisor":
            if verb == "restart":
                self.notify(f"{parent.label} is a DynamicSupervisor: it has no restart_child (kill a child with k "
                            "to watch it restart)", severity="warning")
                return
            if node.pid is None:
                self.notify(f"{node.label} is not running", severity="warning")
                return
            what = f"DynamicSupervisor.terminate_child({parent.label}, {node.pid!r})"
        elif verb == "terminate":
            what = f"terminate_child({parent.label}, {node.label!r})"
        else:
            what = f"restart_child({parent.label}, {node.label!r})"
        if verb == "terminate":
            self._act(session, what, f"{what}: done", source.terminate(node, parent, path))
        else:
            self._act(session, what, f"{what}: done", source.restart(node, parent, path), new_pid=True)

    @work(group="admin", exit_on_error=False)
    async def _act(self, session: _Session, what: str, done: str, call: Awaitable[Any], *,
                   new_pid: bool = False, then: Callable[[], None] | None = None) -> None:
        """Await one action of a source; log what it did (and run `then`), or say why it failed."""
        source = session.source
        try:
            result = await call
        except ObserverError as error:
            source.note(f"{what} failed: {error}", "warning")
            self.notify(f"{what}: {error}", severity="error")
        else:
            if new_pid:
                done += f", now {result!r}" if isinstance(result, Pid) else " (its start returned ignore)"
            source.note(done)
            if then is not None:
                then()
        if self._paused:  # the picture stays as it was: the header says that changes are waiting
            session.view.header.pending += 1
            return
        self._refresh(session, None)

    def _named_nodes(self) -> list[tuple[NodeSnapshot, NodeSnapshot | None, tuple[str, ...]]]:
        """Every registered process in the latest snapshot, with its supervisor and path, in tree order."""
        snapshot = self._current.source.latest
        found: list[tuple[NodeSnapshot, NodeSnapshot | None, tuple[str, ...]]] = []

        def visit(node: NodeSnapshot, parent: NodeSnapshot | None, path: tuple[str, ...]) -> None:
            here = (*path, node.slot)
            if node.name is not None:
                found.append((node, parent, here))
            for child in node.children:
                visit(child, node, here)

        if snapshot is not None and snapshot.root is not None:
            visit(snapshot.root, None, ())
        return found

    def _kill_named(self, name: str) -> None:
        for node, _, _ in self._named_nodes():
            if node.name == name and node.pid is not None:
                self._send_exit(node.pid, name, "kill", "kill")
                return
        self.notify(f"no process is registered as {name!r} now", severity="warning")

    def _admin_named(self, verb: str, name: str) -> None:
        for node, parent, path in self._named_nodes():
            if node.name == name:
                self._admin(verb, node, parent, path)
                return
        self.notify(f"no process is registered as {name!r} now", severity="warning")

    def _root_exited(self, session: _Session) -> bool:
        """Whether the tree is down: its root exited, or it failed to start."""
        if session.source.state.phase == "failed":
            return True
        snapshot = session.source.latest
        return snapshot is not None and snapshot.root is not None and not snapshot.root_alive

    # -- actions ---------------------------------------------------------------------------------------------

    def action_kill(self) -> None:
        """Kill the selected process: exit reason "kill", at once (asks first with --confirm)."""
        if self._confirm_kill:
            self._ask_reason("k")
            return
        selection = self._selected_running("kill")
        if selection is not None and selection.node.pid is not None:
            self._send_exit(selection.node.pid, selection.node.label, "kill", "k")

    def action_kill_with_reason(self) -> None:
        """Ask for an exit reason (prefilled "kill"), then send it to the selected process."""
        self._ask_reason("K")

    def _ask_reason(self, key: str) -> None:
        selection = self._selected_running("kill")
        if selection is None or selection.node.pid is None:
            return
        pid, label = selection.node.pid, selection.node.label

        def chosen(reason: str | None) -> None:
            if reason is not None:
                self._send_exit(pid, label, reason, key)

        self.push_screen(ReasonPrompt(f"{label} {pid!r}"), chosen)

    def action_terminate(self) -> None:
        """terminate_child on the selected process's supervisor."""
        self._admin_selected("terminate")

    def action_restart(self) -> None:
        """restart_child on the selected process's supervisor (for a stopped child)."""
        self._admin_selected("restart")

    def _admin_selected(self, verb: str) -> None:
        selection = self._selection(self._current)
        if selection is None or selection.node.kind == GROUP_KIND:
            self.notify(f"nothing to {verb}: select a process", severity="warning")
            return
        self._admin(verb, selection.node, selection.parent, selection.path)

    def action_restart_system(self) -> None:
        """Start the tree again after its root exited."""
        session = self._current
        if session.source.restartable and self._root_exited(session) and not session.starting:
            session.source.note("R: restarting the system")
            self._start_root(session)

    def action_process_list(self) -> None:
        """Show the process list (every process, sortable) instead of the tree, or the tree again."""
        session = self._current
        view = session.view
        shown = not view.list_shown
        selection = self._selection(session)
        view.show_list(shown)
        self._refresh(session, None)
        if shown and selection is not None and selection.node.pid is not None:
            view.process_list.move_cursor_to(selection.node.pid)
        self._show_detail(session)

    def action_trace(self) -> None:
        """Trace the selected process: its next 100 messages in and handled (T again stops it)."""
        selection = self._selected_running("trace")
        if selection is None or selection.node.pid is None:
            return
        session = self._current
        pid, label = selection.node.pid, f"{selection.node.label} {selection.node.pid!r}"
        if session.view.has_class("-list-alone"):  # the list hides the panels, the pane among them: back to the tree
            session.view.show_list(False)
            session.view.supervision_tree.move_to_pid(pid)
        pane = session.view.trace_pane
        if pane.active and pane.pid is pid:  # T again on the traced process stops its trace
            self.workers.cancel_group(self, "trace")
            pane.end("stopped with T")
            return
        if pane.active:
            pane.end("stopped: T traced another process")
        pane.add_class("-shown")
        pane.begin(pid, label, limit=TRACE_LIMIT, started_at=session.source.now())
        self._run_trace(session, pid, label)

    @work(group="trace", exclusive=True, exit_on_error=False)
    async def _run_trace(self, session: _Session, pid: Pid, label: str) -> None:
        """Feed the trace pane until the trace ends: by itself after its limit, when the process exits, or
        when the pane is closed (the worker is cancelled, which stops the trace at once)."""
        pane = session.view.trace_pane
        try:
            events = session.source.trace(pid, TRACE_LIMIT)
        except ObserverError as error:
            pane.end(f"not traced: {error}")
            self.notify(f"T: {error}", severity="error")
            return
        session.source.note(f"T: tracing {label} (its next {TRACE_LIMIT} messages)")
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    pane.record(event)
        except ObserverError as error:
            pane.end(f"stopped: {error}")
            return
        if pane.pid is pid and pane.active:
            pane.end("the process exited")

    def action_close_trace(self) -> None:
        """Close the trace pane (the trace stops)."""
        self._close_trace(self._current)

    def action_suspend(self) -> None:
        """Suspend the selected server: it handles nothing until resumed (its callers' calls queue)."""
        self._suspend_or_resume("suspend")

    def action_resume(self) -> None:
        """Resume the selected server that was suspended."""
        self._suspend_or_resume("resume")

    def _suspend_or_resume(self, verb: str) -> None:
        selection = self._selected_running(verb)
        if selection is None or selection.node.pid is None:
            return
        session = self._current
        pid, label = selection.node.pid, f"{selection.node.label} {selection.node.pid!r}"
        if verb == "suspend":
            def suspended() -> None:
                session.suspended = session.suspended | {pid}

            self._act(session, "s", f"s: suspended {label}: it handles nothing until u resumes it",
                      session.source.suspend(pid), then=suspended)
        else:
            def resumed() -> None:
                session.suspended = session.suspended - {pid}

            self._act(session, "u", f"u: resumed {label}", session.source.resume(pid), then=resumed)

    def action_copy_pid(self) -> None:
        """Copy the selected process's pid to the clipboard."""
        selection = self._selection(self._current)
        pid = None if selection is None else selection.node.pid
        if pid is None:
            self.notify("nothing to copy: select a process", severity="warning")
            return
        self.copy_to_clipboard(repr(pid))
        self.notify(f"copied {pid!r} ({selection.node.label if selection else ''})", timeout=3)

    def action_next_runtime(self) -> None:
        """Show the next runtime, or the previous one with [ (attached to several)."""
        self._step_runtime(1)

    def action_previous_runtime(self) -> None:
        """Show the previous runtime (attached to several)."""
        self._step_runtime(-1)

    def _step_runtime(self, step: int) -> None:
        if self._tabs is not None:
            index = (self._sessions.index(self._current) + step) % len(self._sessions)
            self._tabs.active = f"tab-{index}"

    def action_filter(self) -> None:
        """Open the filter bar under the tree."""
        self._current.view.filter_bar.open()

    def action_pause(self) -> None:
        """Pause refreshing; p again resumes it and catches up with what happened meanwhile."""
        self._set_paused(True)

    def action_unpause(self) -> None:
        """Resume refreshing: catch up with what happened while paused."""
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        for session in self._sessions:
            session.view.header.paused = paused
            session.view.header.pending = 0
        self.refresh_bindings()
        if not paused:
            self._lag.reset(self._refresh_interval)
            self.tick()

    def action_faster(self) -> None:
        """Refresh more often."""
        faster = [step for step in REFRESH_STEPS if step < self._refresh_interval]
        if faster:
            self._set_refresh(faster[-1])

    def action_slower(self) -> None:
        """Refresh less often."""
        slower = [step for step in REFRESH_STEPS if step > self._refresh_interval]
        if slower:
            self._set_refresh(slower[0])

    def action_drills(self) -> None:
        """Pick a drill (yours from --drills FILE, or a built-in one) and run it live on this runtime."""
        if self._drill is not None:
            self.notify(f"a drill is already running: {self._drill.name} (its verdict goes to the event log)",
                        title="Drills", severity="warning")
            return
        if not self._tree_running("d"):
            return
        from observer.drills.builtin import BUILTIN_DRILLS  # the drills load the default system's modules

        source = self._current.source
        picker = DrillPicker([(drill.name, drill.description) for drill in BUILTIN_DRILLS],
                             unavailable=source.drills_unavailable(),
                             own=[(drill.name, drill.description) for drill in self._own_drills],
                             own_unavailable=source.own_drills_unavailable() if self._own_drills else None,
                             source=self._drills_from)
        self.push_screen(picker, self._drill_chosen)

    def action_help(self) -> None:
        """Show every key."""
        keys = []
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in HELP_SKIPS:
                action = getattr(type(self), f"action_{binding.action}", None)
                doc = (action.__doc__ or binding.description).strip().splitlines()[0] if action else ""
                keys.append((HELP_KEYS.get(binding.action, binding.key_display or binding.key), doc))
        self.push_screen(HelpScreen(keys, read_only=self.read_only))

    async def action_quit(self) -> None:
        """Stop every process in order, then exit and restore the terminal."""
        self._quitting = True
        if any(isinstance(session.source, InProcessSource) and session.source.runtime is not None
               for session in self._sessions):  # the shutdown can take up to the runtime's shutdown timeout: say so
            self.notify("stopping every process…", title="quitting", timeout=60)
        await self._stop_sources()
        self.exit()

    # -- drills ---------------------------------------------------------------------------------------------------

    def _drill_chosen(self, choice: str | None) -> None:
        """Run the drill picked: the user's ``file:N``, or a built-in one by its name (nothing on escape)."""
        from observer.drills.builtin import find_drill

        drill, builtin = None, True
        if choice is not None and choice.startswith(OWN_PREFIX):
            index = int(choice.removeprefix(OWN_PREFIX))
            drill, builtin = (self._own_drills[index] if 0 <= index < len(self._own_drills) else None), False
        elif choice is not None:
            drill = find_drill(choice)
        if drill is None or self._drill is not None or not self._tree_running("d"):
            return
        session = self._current
        self._drill = drill
        self._drill_builtin = builtin
        self._drill_session = session
        self._drill_started = time.perf_counter()
        self._drill_done = asyncio.get_running_loop().create_future()
        self._affected = frozenset()
        session.source.note(f"drill {drill.name}: running live: {drill.description}")
        self._refresh(session, None)
        self.call_after_refresh(self._launch_drill, drill, session)

    def _launch_drill(self, drill: Drill, session: _Session) -> None:
        """Start the drill's worker once the picker is off the screen (that repaint is not the drill's time)."""
        if self._drill is not drill:
            return
        if session.worker is not None and session.worker.is_running and session.source.latest is not None:
            self._drill_worker = self._run_drill(drill, session.source, self._drill_builtin)
        else:
            self._drill_finished(None)  # the app is quitting: the drill never starts

    @work(group="drill", exit_on_error=False)
    async def _run_drill(self, drill: Drill, source: Source, builtin: bool) -> DrillReport:
        """Run `drill` on the source's runtime; `_drill_ended` logs what it did (or what it raised)."""
        return await source.run_drill(drill, self._drill_affected, builtin=builtin)

    def _drill_affected(self, pids: Sequence[Pid]) -> None:
        """The running drill touched these processes: highlight them until it ends (and a little after)."""
        self._affected = self._affected | frozenset(pids)

    def _affected_now(self) -> frozenset[Pid]:
        """The processes to highlight: the running drill's, or the last one's for a while after it ended."""
        if self._drill is None and self._affected and self._clock() >= self._affected_until:
            self._affected = frozenset()
        return self._affected

    def _drill_ended(self, worker: Worker[Any], state: WorkerState) -> None:
        """Log each step and the verdict of the drill that ended, and say the verdict."""
        drill, session = self._drill, self._drill_session
        if drill is None or session is None:
            return
        report: DrillReport | None = worker.result if state == WorkerState.SUCCESS else None
        source = session.source
        if state != WorkerState.CANCELLED and source.latest is not None:
            at = source.now()
            if report is not None:
                for step in report.steps:
                    source.log(_step_note(at, drill.name, step))
                failed = sum(1 for step in report.steps if not step.passed)
                verdict = DrillVerdict(at, drill.name, report.passed, report.seconds, len(report.steps), failed)
            else:
                verdict = DrillVerdict(at, drill.name, False, time.perf_counter() - self._drill_started,
                                       error=units.reason(worker.error))
            source.log(verdict)
            self._say_verdict(verdict, report)
        self._drill_finished(report)
        if state != WorkerState.CANCELLED:
            self._refresh(session, None)

    def _drill_finished(self, report: DrillReport | None) -> None:
        """No drill runs any more: its highlight fades, `d` works again, `wait_drill` returns."""
        done = self._drill_done
        self._drill, self._drill_worker = None, None
        self._affected_until = self._clock() + AFFECTED_LINGER_SECONDS
        if done is not None and not done.done():
            done.set_result(report)

    def _say_verdict(self, verdict: DrillVerdict, report: DrillReport | None) -> None:
        headline = f"{verdict.drill}: {'PASS' if verdict.passed else 'FAIL'} in {verdict.seconds * 1000:.1f} ms"
        if verdict.passed:
            self.notify(headline, title="Drill")
            return
        why = verdict.error if report is None else "; ".join(report.failures()[:2])
        self.notify(f"{headline}\n{why}", title="Drill", severity="error", timeout=10)

    def _tree_running(self, key: str) -> bool:
        """Whether the observed tree is up; otherwise say why `key` cannot act on it."""
        session = self._current
        if self._root_exited(session):
            self.notify(f"{key}: the tree is down: press R to restart it first", severity="warning")
            return False
        snapshot = session.source.latest
        if snapshot is None or snapshot.root is None:
            self.notify(f"{key}: the tree is still starting", severity="warning")
            return False
        return True

    def _set_refresh(self, interval: float) -> None:
        self._refresh_interval = interval
        for session in self._sessions:
            session.view.header.refresh_interval = interval
        self._lag.reset(interval)
        if self._timer is not None:
            self._timer.stop()
            self._timer = self.set_interval(interval, self._on_timer)


def _monitors_moved(shown: Snapshot | None, snapshot: Snapshot) -> bool:
    """Whether the monitors panel is to draw `snapshot`: its counts changed, or a history step has passed.

    The panel adds a point of history per snapshot it is given; one a second keeps an idle app's
    panel still between seconds (and its history a minute long).
    """
    return (shown is None or snapshot.monitors is not shown.monitors or snapshot.monitor_count != shown.monitor_count
            or snapshot.taken_at - shown.taken_at >= HISTORY_STEP or snapshot.taken_at < shown.taken_at)


def screenshot_dir() -> Path:
    """Where the palette's Screenshot writes: ``$XDG_STATE_HOME/observer/screenshots`` (``~/.local/state``)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "observer" / "screenshots"


def _lone_node(pid: Pid, snapshot: Snapshot | None) -> NodeSnapshot:
    """A process the tree does not draw (inside a folded supervisor), as a node made from its table row."""
    sample: ProcessSample | None = None
    if snapshot is not None:
        sample = next((row for row in snapshot.processes if row.pid is pid), None)
    if sample is None:
        return NodeSnapshot(repr(pid), repr(pid), None, pid, "process", None, None, "running", 0, None)
    label = sample.name or repr(pid)
    return NodeSnapshot(label, label, None, pid, sample.kind, None, None, "running", sample.restarts, sample.name)


def _wall(at: float) -> str:
    """A wall-clock time as ``21:04:05``."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def _tab_label(source: Source) -> Text:
    """``● shop  pid 4242`` for the node list; gone or blocked runtimes say so."""
    state = source.state
    if state.phase == "gone":
        mark, style = "✖", "red"
    elif state.blocked > 0:
        mark, style = "◐", "yellow"
    elif state.phase == "up":
        mark, style = "●", "green"
    else:
        mark, style = "○", "bright_black"
    where = source.where.removeprefix("attached: ")
    return Text.assemble((mark, style), f" {source.title} ", (where, "bright_black"),
                         (" gone" if state.phase == "gone" else "", "red"))


def _step_note(at: float, drill: str, step: StepReport) -> DrillStepNote:
    """One step of a drill's report as an entry of the event log."""
    checks = tuple(DrillCheck(check.description, check.passed, check.expected, check.actual)
                   for check in step.expectations)
    return DrillStepNote(at, drill, step.name, step.seconds, tuple(step.happened), checks, step.error)

