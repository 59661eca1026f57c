"""ObserverApp: the Textual app that hosts a runtime, snapshots it every tick and lets a person kill its processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Tree
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from observer.host import HostSampler, LagProbe
from observer.journal import MISSING, DrillCheck, DrillStepNote, DrillVerdict, Journal
from observer.renderables import units
from observer.runtime import DynamicSupervisor, ObserverError, Pid, Runtime, Supervisor
from observer.snapshot import FOLD_OVER, HostStats, NodeSnapshot, Snapshot, SnapshotBuilder
from observer.targets import Factory
from observer.widgets.buckets_panel import BucketsPanel
from observer.widgets.drill_picker import DrillPicker
from observer.widgets.event_log import EventLog
from observer.widgets.filter_bar import FilterBar
from observer.widgets.help_screen import HelpScreen
from observer.widgets.host_panel import HostPanel
from observer.widgets.monitors_panel import MonitorsPanel
from observer.widgets.process_panel import ProcessPanel
from observer.widgets.reason_prompt import ReasonPrompt
from observer.widgets.status_header import StatusHeader
from observer.widgets.supervision_tree import NodeData, SupervisionTree

if TYPE_CHECKING:
    from observer.drills.builtin import Drill
    from observer.drills.report import DrillReport, StepReport

REFRESH_STEPS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
"""The refresh intervals `+` and `-` step through, in seconds."""
DESTRUCTIVE = frozenset({"kill", "kill_with_reason", "terminate", "restart", "drills"})
"""Actions that change the runtime: greyed and refused with --read-only (drills kill processes)."""
HOST_SAMPLE_SECONDS = 1.0
"""Host figures are sampled at most this often (psutil reads /proc)."""
DRILL_ROOT = "system"
"""The name the built-in drills find the default system's root by."""
AFFECTED_LINGER_SECONDS = 5.0
"""How long, on the app's clock, the processes a drill touched stay highlighted after it ended
(most drills take milliseconds: long enough for a person to see what it touched)."""


class ObserverApp(App[None]):
    """Live supervision tree, monitors, rate-limiter buckets and restart cascades of a runtime it hosts.

    The app owns a `Runtime` for its whole life (entered in a worker started on
    mount, left on quit so that every process stops in order), starts the tree
    with `factory` (the default system when None), and every `refresh_interval`
    takes one frozen `Snapshot` that every widget draws. Keys act on the
    runtime through its public API only; their errors become notifications.
    `d` runs a built-in drill on the same runtime, in a worker: the processes
    it touches go into the snapshots as `affected`, its steps and verdict into
    the journal (`wait_drill` waits for it to end).
    """

    TITLE = "observer"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "kill", "Kill"),
        Binding("K", "kill_with_reason", "Kill with…", key_display="K"),
        Binding("t", "terminate", "Terminate"),
        Binding("r", "restart", "Restart child"),
        Binding("R", "restart_system", "Restart system", key_display="R"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("p", "pause", "Pause"),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+"),
        Binding("minus", "slower", "Slower", key_display="-"),
        Binding("d", "drills", "Drills"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | k | Kill the selected process (exit reason "kill", at once). |
    | K | Kill the selected process with a reason typed in a prompt (prefilled "kill"). |
    | t | terminate_child: its supervisor stops it (a kept spec stays, not running). |
    | r | restart_child: its supervisor starts a stopped child again. |
    | R | Restart the system after its root exited. |
    | / | Filter the tree by id, name or pid. |
    | p | Pause or resume refreshing. |
    | + - | Refresh faster or slower. |
    | d | Pick a built-in drill and run it live on this runtime. |
    | ? | Help. |
    | q | Quit: stop every process in order, then restore the terminal. |
    """

    CSS = """
    #main {
        height: 1fr;
    }
    #left {
        width: 3fr;
    }
    SupervisionTree {
        height: 1fr;
        border: round $primary;
        border-title-color: $text-primary;
    }
    #right {
        width: 2fr;
        scrollbar-size-vertical: 1;
    }
    #bottom {
        height: 13;
    }
    EventLog {
        width: 1fr;
        height: 100%;
    }
    HostPanel {
        width: 28;
        height: 100%;
    }
    """

    def __init__(
        self,
        *,
        factory: Factory | None = None,
        read_only: bool = False,
        refresh_interval: float = 0.25,
        clock: Callable[[], float] | None = None,
        host_stats: Callable[[], HostStats] | None = None,
        fold_over: int = FOLD_OVER,
        title: str | None = None,
        ticking: bool = True,
    ) -> None:
        """Create the app.

        Args:
            factory: Starts the tree to observe; None starts the default system
                (`observer.system.start_system`).
            read_only: Disable every key that changes the runtime.
            refresh_interval: Seconds between snapshots.
            clock: The runtime's clock (and the app's, for uptime, flashes and loop
                lag); a fixed one makes screens reproducible. Defaults to `time.monotonic`.
            host_stats: Samples the host figures; defaults to psutil on this process.
            fold_over: Supervisors with more children than this are folded until opened.
            title: What the header calls the observed system.
            ticking: Take snapshots on a timer; False leaves every tick to `tick()` (tests,
                screenshots and benchmarks that must see exactly the ticks they take).
        """
        super().__init__()
        self._factory = factory
        self._read_only = read_only
        self._refresh_interval = refresh_interval
        self._clock = clock or time.monotonic
        self._host_stats = host_stats
        self._fold_over = fold_over
        self._title: str = title or ("observer" if factory is None else str(getattr(factory, "__name__", "observer")))
        self._runtime: Runtime | None = None
        self._journal: Journal | None = None
        self._builder: SnapshotBuilder | None = None
        self._root_pid: Pid | None = None
        self._root_exit_noted: Pid | None = None
        self._stopping = asyncio.Event()
        self._host_worker: Worker[None] | None = None
        self._timer: Timer | None = None
        self._paused = False
        self._lag = LagProbe(refresh_interval)
        self._host_sampled_at = -HOST_SAMPLE_SECONDS
        self._host: HostStats | None = None
        self._starting_root = False
        self._start_failed = False
        self._ticking = ticking
        self._drill: Drill | None = None  # the drill running live, if one is
        self._drill_started = 0.0  # when it started, on time.perf_counter (as the drill runner times drills)
        self._drill_done: asyncio.Future[DrillReport | None] | None = None  # the latest drill's outcome
        self._drill_worker: Worker[DrillReport] | None = None
        self._affected: frozenset[Pid] = frozenset()  # processes the latest drill touched
        self._affected_until = 0.0  # when they stop being highlighted, once that drill has ended

    # -- public ---------------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """Whether keys that change the runtime are disabled."""
        return self._read_only

    @property
    def refresh_interval(self) -> float:
        """Seconds between snapshots."""
        return self._refresh_interval

    @property
    def paused(self) -> bool:
        """Whether refreshing is paused."""
        return self._paused

    @property
    def runtime(self) -> Runtime | None:
        """The hosted runtime (None before it started or after it stopped)."""
        return self._runtime

    @property
    def root_pid(self) -> Pid | None:
        """The root of the observed tree (None before it started)."""
        return self._root_pid

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest snapshot."""
        return None if self._builder is None else self._builder.previous

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
        """Take a snapshot and show it: the whole of one refresh (snapshot, diff, apply).

        Args:
            loop_lag: How late the timer ran (kept from the previous tick when None).

        Returns:
            The snapshot, or None while the runtime is not up.
        """
        builder = self._builder
        if builder is None:
            return None
        tree = self.query_one(SupervisionTree)
        previous = builder.previous
        lag = loop_lag if loop_lag is not None else (0.0 if previous is None else previous.loop_lag)
        self._note_root_exit(previous)
        snapshot = builder.take(self._root_pid, opened=tree.opened, host=self._sample_host(), loop_lag=lag,
                                affected=self._affected_now())
        self._publish(snapshot)
        return snapshot

    # -- composing and hosting ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield SupervisionTree()
                yield FilterBar()
            with VerticalScroll(id="right"):
                yield ProcessPanel()
                yield MonitorsPanel()
                yield BucketsPanel()
        with Horizontal(id="bottom"):
            yield EventLog()
            yield HostPanel()
        yield Footer()

    def on_mount(self) -> None:
        header = self.query_one(StatusHeader)
        header.title = self._title
        header.read_only = self._read_only
        header.refresh_interval = self._refresh_interval
        tree = self.query_one(SupervisionTree)
        tree.border_title = "Supervision tree"
        tree.focus()
        self._host_worker = self.run_worker(self._host_runtime(), name="runtime", group="runtime",
                                            exit_on_error=False)

    async def on_unmount(self) -> None:
        """Leave the runtime's block (every process stops in order) before the app goes."""
        await self._stop_runtime()

    async def _host_runtime(self) -> None:
        """Own the runtime from mount to quit; the app's timer ticks in between."""
        async with Runtime(clock=self._clock) as rt:
            journal = Journal(describe=self._describe)
            unsubscribe = rt.subscribe(journal.record)
            started_at = self._clock()
            self._runtime, self._journal = rt, journal
            self._builder = SnapshotBuilder(rt, journal, started_at=started_at, fold_over=self._fold_over)
            self.query_one(EventLog).started_at = started_at
            self._start_root()
            if self._ticking:
                self._timer = self.set_interval(self._refresh_interval, self._on_timer)
            try:
                await self._stopping.wait()
            finally:
                if self._timer is not None:
                    self._timer.stop()
                unsubscribe()
                self._builder = None
        self._runtime = None

    async def _stop_runtime(self) -> None:
        drill = self._drill_worker
        if drill is not None and drill.is_running:
            drill.cancel()  # at once: its process traps exits and would hold up the runtime's shutdown
            try:
                await drill.wait()
            except (WorkerCancelled, WorkerFailed):
                pass  # cancelled, as asked
        self._stopping.set()
        if self._drill is not None:
            self._drill_finished(None)
        worker = self._host_worker
        if worker is None:
            return
        try:
            await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            pass  # cancelled by the app's exit, or it never started: the runtime's block has been left either way

    def _start_root(self) -> None:
        """Start the observed tree (again, after its root exited) in a worker."""
        self._starting_root = True
        self.query_one(SupervisionTree).show_starting()
        self.refresh_bindings()
        self.run_worker(self._run_factory(), name="factory", group="factory", exit_on_error=False)

    async def _run_factory(self) -> Pid:
        rt = self._runtime
        assert rt is not None
        factory = self._factory
        if factory is None:
            from observer.system import start_system  # the default system loads only when used

            factory = start_system
        root = await factory(rt)
        if not isinstance(root, Pid):
            raise TypeError(f"the factory returned {root!r}, not the root's Pid")
        return root

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "drill" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._drill_ended(worker, event.state)
            return
        if worker.group != "factory" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self._starting_root = False
        self._start_failed = not (event.state == WorkerState.SUCCESS and isinstance(worker.result, Pid))
        if not self._start_failed:
            self._root_pid = worker.result
            self._root_exit_noted = None
        else:
            error = worker.error
            message = f"the tree did not start: {units.reason(error)} (R tries again)"
            self.query_one(SupervisionTree).show_starting(failed=units.reason(error))
            self._note(message, "error")
            self.notify(message, severity="error", timeout=10)
        self.refresh_bindings()
        self.tick()

    def _describe(self, pid: Pid) -> tuple[str | None, str | None]:
        """A supervisor's name and strategy, for the journal's cascade entries."""
        rt = self._runtime
        if rt is None:
            return None, None
        info = rt.process_info(pid)
        server = rt.server_of(pid)
        strategy = server.strategy if isinstance(server, Supervisor | DynamicSupervisor) else None
        return (None if info is None else info.name), strategy

    # -- ticking ---------------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        lag = self._lag.tick(self._clock())
        if not self._paused:
            self.tick(loop_lag=lag)

    def _sample_host(self) -> HostStats | None:
        now = time.monotonic()
        if self._host is None or now - self._host_sampled_at >= HOST_SAMPLE_SECONDS:
            if self._host_stats is None:
                self._host_stats = HostSampler()
            self._host = self._host_stats()
            self._host_sampled_at = now
        return self._host

    def _publish(self, snapshot: Snapshot) -> None:
        """Hand the snapshot to every widget, in one go."""
        self.query_one(StatusHeader).snapshot = snapshot
        self.query_one(SupervisionTree).snapshot = snapshot
        self.query_one(MonitorsPanel).snapshot = snapshot
        self.query_one(BucketsPanel).snapshot = snapshot
        self.query_one(EventLog).snapshot = snapshot
        self.query_one(HostPanel).snapshot = snapshot
        self._show_detail()

    def _note_root_exit(self, previous: Snapshot | None) -> None:
        """Say once, in the log, that the root exited and how to restart it."""
        rt, journal, root_pid = self._runtime, self._journal, self._root_pid
        if rt is None or journal is None or root_pid is None or root_pid is self._root_exit_noted:
            return
        reason = journal.exit_reason(root_pid)
        if rt.is_alive(root_pid) or reason is MISSING:
            return
        self._root_exit_noted = root_pid
        label = previous.root.label if previous is not None and previous.root is not None else repr(root_pid)
        self._note(f"the root {label} {root_pid!r} exited ({units.reason(reason)}): press R to restart the system",
                   "error")
        self.refresh_bindings()

    def _show_detail(self) -> None:
        builder = self._builder
        tree = self.query_one(SupervisionTree)
        data = tree.selected
        panel = self.query_one(ProcessPanel)
        if builder is None or data is None:
            panel.detail = None
            return
        panel.detail = builder.detail(data.node, tree.selected_parent, vanished=data.vanished)

    def _note(self, text: str, level: Any = "info") -> None:
        journal, rt = self._journal, self._runtime
        if journal is not None and rt is not None:
            journal.note(rt.clock(), text, level)

    # -- events -------------------------------------------------------------------------------------------

    @on(Tree.NodeHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    @on(SupervisionTree.Opened)
    def _opened(self) -> None:
        self.tick()

    @on(Input.Changed, "FilterBar")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(SupervisionTree).filter_text = event.value

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        self.query_one(SupervisionTree).focus()

    def on_key(self, event: Key) -> None:
        """Say why a destructive key does nothing in read-only mode (its binding is greyed)."""
        if not self._read_only:
            return
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action in DESTRUCTIVE and event.key in binding.key.split(","):
                self.notify(f"read-only: the {binding.description.lower()} key is disabled", severity="warning")
                event.stop()
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey destructive actions when read-only; offer R only when the root has exited."""
        if action in DESTRUCTIVE and self._read_only:
            return None
        if action == "restart_system":
            return self._root_exited() and not self._starting_root
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The app's own commands, then kill / terminate / restart <name> for every registered name."""
        yield from super().get_system_commands(screen)
        if self._read_only:
            return
        for node, _ in self._named_nodes():
            name = node.name
            assert name is not None
            yield SystemCommand(f"kill {name}", f"exit {name} with reason kill", partial(self._kill_named, name))
            yield SystemCommand(f"terminate {name}", f"terminate_child {name} on its supervisor",
                                partial(self._admin_named, "terminate", name))
            yield SystemCommand(f"restart {name}", f"restart_child {name} on its supervisor",
                                partial(self._admin_named, "restart", name))

    # -- acting on the runtime ---------------------------------------------------------------------------

    def _selected_running(self, verb: str) -> NodeData | None:
        """The selected node if it has a live process; otherwise say why not."""
        data = self.query_one(SupervisionTree).selected
        rt = self._runtime
        if data is None or rt is None:
            self.notify(f"nothing to {verb}: select a process in the tree", severity="warning")
            return None
        pid = data.node.pid
        if pid is None or not rt.is_alive(pid):
            self.notify(f"cannot {verb} {data.node.label}: it is not running", severity="warning")
            return None
        return data

    def _send_exit(self, pid: Pid, label: str, reason: Any, key: str) -> None:
        rt = self._runtime
        if rt is None:
            return
        if not rt.is_alive(pid):
            self.notify(f"{label} {pid!r} is already gone", severity="warning")
            return
        try:
            rt.exit(pid, reason)
        except ObserverError as error:
            self.notify(f"{key}: {error}", severity="error")
            return
        self._note(f"{key}: exit {units.reason(reason)} sent to {label} {pid!r}")
        self.tick()

    def _admin(self, verb: str, node: NodeSnapshot, parent: NodeSnapshot | None) -> None:
        """terminate_child or restart_child of `node` on its supervisor, in a worker."""
        rt = self._runtime
        if rt is None:
            return
        if parent is None or parent.pid is None or not parent.is_supervisor:
            self.notify(f"{node.label} has no supervisor here to {verb} it: use k to kill it", severity="warning")
            return
        call: Awaitable[Any]
        if parent.kind == "dynamic_supervisor":
            if verb == "restart":
                self.notify(f"{parent.label} is a DynamicSupervisor: it has no restart_child (kill a child with k "
                            "to watch it restart)", severity="warning")
                return
            if node.pid is None:
                self.notify(f"{node.label} is not running", severity="warning")
                return
            call = DynamicSupervisor.terminate_child(rt, parent.pid, node.pid)
            what = f"DynamicSupervisor.terminate_child({parent.label}, {node.pid!r})"
        elif verb == "terminate":
            call = Supervisor.terminate_child(rt, parent.pid, node.child_id)
            what = f"terminate_child({parent.label}, {node.label!r})"
        else:
            call = Supervisor.restart_child(rt, parent.pid, node.child_id)
            what = f"restart_child({parent.label}, {node.label!r})"
        self._run_admin(what, call)

    @work(group="admin", exit_on_error=False)
    async def _run_admin(self, what: str, call: Awaitable[Any]) -> None:
        try:
            await call
        except ObserverError as error:
            self._note(f"{what} failed: {error}", "warning")
            self.notify(f"{what}: {error}", severity="error")
        else:
            self._note(f"{what}: done")
        self.tick()

    def _named_nodes(self) -> list[tuple[NodeSnapshot, NodeSnapshot | None]]:
        """Every registered process in the latest snapshot, with its supervisor, in tree order."""
        snapshot = self.snapshot
        found: list[tuple[NodeSnapshot, NodeSnapshot | None]] = []

        def visit(node: NodeSnapshot, parent: NodeSnapshot | None) -> None:
            if node.name is not None:
                found.append((node, parent))
            for child in node.children:
                visit(child, node)

        if snapshot is not None and snapshot.root is not None:
            visit(snapshot.root, None)
        return found

    def _kill_named(self, name: str) -> None:
        rt = self._runtime
        pid = None if rt is None else rt.whereis(name)
        if pid is None:
            self.notify(f"no process is registered as {name!r} now", severity="warning")
            return
        self._send_exit(pid, name, "kill", "kill")

    def _admin_named(self, verb: str, name: str) -> None:
        for node, parent in self._named_nodes():
            if node.name == name:
                self._admin(verb, node, parent)
                return
        self.notify(f"no process is registered as {name!r} now", severity="warning")

    def _root_exited(self) -> bool:
        """Whether the tree is down: its root exited, or it failed to start."""
        rt, root = self._runtime, self._root_pid
        if rt is None:
            return False
        return self._start_failed or (root is not None and not rt.is_alive(root))

    # -- actions ---------------------------------------------------------------------------------------------

    def action_kill(self) -> None:
        """Kill the selected process: exit reason "kill", at once, no confirmation."""
        data = self._selected_running("kill")
        if data is not None and data.node.pid is not None:
            self._send_exit(data.node.pid, data.node.label, "kill", "k")

    def action_kill_with_reason(self) -> None:
        """Ask for an exit reason (prefilled "kill"), then send it to the selected process."""
        data = self._selected_running("kill")
        if data is None or data.node.pid is None:
            return
        pid, label = data.node.pid, data.node.label

        def chosen(reason: str | None) -> None:
            if reason is not None:
                self._send_exit(pid, label, reason, "K")

        self.push_screen(ReasonPrompt(f"{label} {pid!r}"), chosen)

    def action_terminate(self) -> None:
        """terminate_child on the selected process's supervisor."""
        self._admin_selected("terminate")

    def action_restart(self) -> None:
        """restart_child on the selected process's supervisor (for a stopped child)."""
        self._admin_selected("restart")

    def _admin_selected(self, verb: str) -> None:
        tree = self.query_one(SupervisionTree)
        data = tree.selected
        if data is None:
            self.notify(f"nothing to {verb}: select a process in the tree", severity="warning")
            return
        self._admin(verb, data.node, tree.selected_parent)

    def action_restart_system(self) -> None:
        """Start the tree again after its root exited."""
        if self._root_exited() and not self._starting_root:
            self._note("R: restarting the system")
            self._start_root()

    def action_filter(self) -> None:
        """Open the filter bar under the tree."""
        self.query_one(FilterBar).open()

    def action_pause(self) -> None:
        """Pause or resume refreshing."""
        self._paused = not self._paused
        self.query_one(StatusHeader).paused = self._paused
        if not self._paused:
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
        """Pick a built-in drill and run it live on this runtime."""
        if self._drill is not None:
            self.notify(f"a drill is already running: {self._drill.name} (its verdict goes to the event log)",
                        title="Drills", severity="warning")
            return
        if not self._tree_running("d"):
            return
        from observer.drills.builtin import BUILTIN_DRILLS  # the drills load the default system's modules

        unavailable = None
        if not self._hosts_default_system():
            unavailable = (f"The built-in drills need the default system (observer without --app): they find it "
                           f"by its root, registered as {DRILL_ROOT!r}, and this app hosts {self._title}. Drills "
                           "for your own tree: observer drill --file my.toml --app package.module:factory")
        picker = DrillPicker([(drill.name, drill.description) for drill in BUILTIN_DRILLS], unavailable=unavailable)
        self.push_screen(picker, self._drill_chosen)

    def action_help(self) -> None:
        """Show every key."""
        keys = []
        for binding in self.BINDINGS:
            if isinstance(binding, Binding):
                action = getattr(type(self), f"action_{binding.action}", None)
                doc = (action.__doc__ or binding.description).strip().splitlines()[0] if action else ""
                keys.append((binding.key_display or binding.key, doc))
        self.push_screen(HelpScreen(keys, read_only=self._read_only))

    async def action_quit(self) -> None:
        """Stop every process in order, then exit and restore the terminal."""
        if self._runtime is not None:  # the shutdown can take up to the runtime's shutdown timeout: say so
            self.notify("stopping every process…", title="quitting", timeout=60)
        await self._stop_runtime()
        self.exit()

    # -- drills ---------------------------------------------------------------------------------------------------

    def _drill_chosen(self, name: str | None) -> None:
        """Run the drill picked in the picker (nothing on escape)."""
        from observer.drills.builtin import find_drill

        drill = None if name is None else find_drill(name)
        if drill is None or self._drill is not None or not self._tree_running("d"):
            return
        rt = self._runtime
        assert rt is not None
        self._drill = drill
        self._drill_started = time.perf_counter()
        self._drill_done = asyncio.get_running_loop().create_future()
        self._affected = frozenset()
        self._note(f"drill {drill.name}: running live: {drill.description}")
        self.tick()
        self.call_after_refresh(self._launch_drill, drill, rt)

    def _launch_drill(self, drill: Drill, rt: Runtime) -> None:
        """Start the drill's worker once the picker is off the screen (that repaint is not the drill's time)."""
        if self._drill is not drill:
            return
        if self._runtime is rt and not self._stopping.is_set():
            self._drill_worker = self._run_drill(drill, rt)
        else:
            self._drill_finished(None)  # the app is quitting: the drill never starts

    @work(group="drill", exit_on_error=False)
    async def _run_drill(self, drill: Drill, rt: Runtime) -> DrillReport:
        """Run `drill` on the app's runtime; `_drill_ended` logs what it did (or what it raised)."""
        from observer.drills.runner import run_drill

        return await run_drill(drill, rt, root=DRILL_ROOT, live=True, on_affected=self._drill_affected)

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
        drill = self._drill
        if drill is None:
            return
        report: DrillReport | None = worker.result if state == WorkerState.SUCCESS else None
        rt, journal = self._runtime, self._journal
        if state != WorkerState.CANCELLED and rt is not None and journal is not None:
            at = rt.clock()
            if report is not None:
                for step in report.steps:
                    journal.drill(_step_note(at, drill.name, step))
                failed = sum(1 for step in report.steps if not step.passed)
                verdict = DrillVerdict(at, drill.name, report.passed, report.seconds, len(report.steps), failed)
            else:
                verdict = DrillVerdict(at, drill.name, False, time.perf_counter() - self._drill_started,
                                       error=units.reason(worker.error))
            journal.drill(verdict)
            self._say_verdict(verdict, report)
        self._drill_finished(report)
        if state != WorkerState.CANCELLED:
            self.tick()

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

    def _hosts_default_system(self) -> bool:
        """Whether the observed tree is the default system (the built-in drills find its root by name)."""
        rt, root = self._runtime, self._root_pid
        return rt is not None and root is not None and rt.whereis(DRILL_ROOT) is root

    def _tree_running(self, key: str) -> bool:
        """Whether the observed tree is up; otherwise say why `key` cannot act on it."""
        if self._root_exited():
            self.notify(f"{key}: the tree is down: press R to restart it first", severity="warning")
            return False
        if self._runtime is None or self._root_pid is None:
            self.notify(f"{key}: the tree is still starting", severity="warning")
            return False
        return True

    def _set_refresh(self, interval: float) -> None:
        self._refresh_interval = interval
        self.query_one(StatusHeader).refresh_interval = interval
        self._lag.reset(interval)
        if self._timer is not None:
            self._timer.stop()
            self._timer = self.set_interval(interval, self._on_timer)


def _step_note(at: float, drill: str, step: StepReport) -> DrillStepNote:
    """One step of a drill's report as an entry of the event log."""
    checks = tuple(DrillCheck(check.description, check.passed, check.expected, check.actual)
                   for check in step.expectations)
    return DrillStepNote(at, drill, step.name, step.seconds, tuple(step.happened), checks, step.error)
