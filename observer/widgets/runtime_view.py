"""RuntimeView: everything the app shows of one runtime — header, tree, panels, event log and host figures."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher

from observer.snapshot import Snapshot
from observer.widgets.buckets_panel import BucketsPanel
from observer.widgets.event_log import EventLog
from observer.widgets.filter_bar import FilterBar
from observer.widgets.host_panel import HostPanel
from observer.widgets.monitors_panel import MonitorsPanel
from observer.widgets.process_list import ProcessList
from observer.widgets.process_panel import ProcessPanel
from observer.widgets.status_header import StatusHeader
from observer.widgets.supervision_tree import SupervisionTree
from observer.widgets.trace_pane import TracePane

BOTTOM_MIN = 7
"""Rows of the bottom row at least: the host panel's five figures and its border."""
LIST_ALONE_UNDER = 120
"""Columns under which the process list is shown alone, without the panels on the right."""
BOTTOM_MAX = 16
"""Rows of the bottom row at most, however tall the terminal and long the log."""


class RuntimeView(Vertical):
    """One runtime's view: the app keeps one per observed runtime and shows one at a time.

    The app hands every widget in it the snapshots of that runtime's source; the view itself only
    lays them out and gives the app typed access to them.
    """

    DEFAULT_CSS = """
    RuntimeView {
        height: 1fr;
        & > .main {
            height: 1fr;
        }
        & .left {
            width: 3fr;
        }
        & .switcher, & #tree-pane {
            height: 1fr;
        }
        & SupervisionTree, & ProcessList {
            height: 1fr;
            border: round $primary;
            border-title-color: $text-primary;
        }
        & .right {
            width: 2fr;
            scrollbar-size-vertical: 1;
        }
        &.-list-alone .right {
            display: none;
        }
        & TracePane {
            display: none;
            &.-shown {
                display: block;
            }
        }
        & > .bottom {
            height: 7;
        }
        & EventLog {
            width: 1fr;
            height: 100%;
        }
        & HostPanel {
            width: 28;
            height: 100%;
        }
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create the view and its widgets (composed when it is mounted)."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.header = StatusHeader()
        """The runtime's header line."""
        self.supervision_tree = SupervisionTree()
        """The supervision tree."""
        self.filter_bar = FilterBar()
        """The filter input under the tree."""
        self.process_list = ProcessList(id="process-list")
        """The process list (shown instead of the tree with `show_list`)."""
        self.process_panel = ProcessPanel()
        """The selected process's panel."""
        self.trace_pane = TracePane()
        """The trace pane (hidden until a trace begins)."""
        self.monitors_panel = MonitorsPanel()
        """The monitors panel."""
        self.buckets_panel = BucketsPanel()
        """The rate limiter's panel."""
        self.event_log = EventLog()
        """The event log."""
        self.host_panel = HostPanel()
        """The host figures."""
        self._switcher = ContentSwitcher(initial="tree-pane", classes="switcher")
        self._bottom = Horizontal(classes="bottom")
        self._snapshot: Snapshot | None = None
        self._fitted: tuple[object, ...] = ()  # what the layout was last fitted to
        self._had_buckets = False
        self._had_monitors = False

    def compose(self) -> ComposeResult:
        yield self.header
        with Horizontal(classes="main"):
            with Vertical(classes="left"):
                with self._switcher:
                    with Vertical(id="tree-pane"):
                        yield self.supervision_tree
                        yield self.filter_bar
                    yield self.process_list
            with VerticalScroll(classes="right"):
                yield self.trace_pane  # first: at 80x24 the panels below it scroll out of sight
                yield self.process_panel
                yield self.monitors_panel
                yield self.buckets_panel
        with self._bottom:
            yield self.event_log
            yield self.host_panel

    def on_mount(self) -> None:
        self.supervision_tree.border_title = "Supervision tree"
        self.buckets_panel.display = False
        self.monitors_panel.display = False

    def on_resize(self) -> None:
        self._fit_list()
        if self._snapshot is not None:
            self.fit(self._snapshot)

    def fit(self, snapshot: Snapshot) -> None:
        """Size the bottom row by its content and the terminal, and hide the panels that have nothing to show.

        The event log's row grows with the log up to a third of the height (`BOTTOM_MIN` to
        `BOTTOM_MAX` rows), so that the tree keeps most of an 80x24 terminal; the rate limiter's
        panel shows once there has been a window, the monitors' once there has been a monitor
        (and they stay: a panel that comes and goes would make the others jump).
        """
        self._snapshot = snapshot
        self._had_buckets = self._had_buckets or snapshot.bucket_total > 0
        self._had_monitors = self._had_monitors or snapshot.monitor_count > 0 or bool(snapshot.monitors)
        height = self.size.height
        key = (id(snapshot.log), height, self._had_buckets, self._had_monitors)
        if key == self._fitted:
            return
        self._fitted = key
        cap = max(BOTTOM_MIN, min(BOTTOM_MAX, height // 3))
        lines = cap if len(snapshot.log) >= cap else len(self.event_log.lines)
        bottom = self._bottom
        wanted = min(cap, max(BOTTOM_MIN, lines + 2))
        if bottom.styles.height is None or bottom.styles.height.value != wanted:
            bottom.styles.height = wanted
        self.buckets_panel.display = self._had_buckets
        self.monitors_panel.display = self._had_monitors

    @property
    def list_shown(self) -> bool:
        """Whether the process list is shown instead of the tree."""
        return self._switcher.current == "process-list"

    def show_list(self, shown: bool) -> None:
        """Show the process list instead of the tree, or the tree again; the shown one gets the focus.

        Below `LIST_ALONE_UNDER` columns the list takes the whole width (the panels on the right
        come back with the tree): its nine columns do not fit beside them.
        """
        self._switcher.current = "process-list" if shown else "tree-pane"
        self._fit_list()
        (self.process_list if shown else self.supervision_tree).focus()

    def _fit_list(self) -> None:
        self.set_class(self.list_shown and 0 < self.size.width < LIST_ALONE_UNDER, "-list-alone")

