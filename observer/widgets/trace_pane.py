"""TracePane: the live trace of one process, its next messages in and handled, until it stops by itself."""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import RichLog, Static

from observer.renderables.trace import trace_hint, trace_line, trace_status
from observer.runtime import Pid, TraceEvent

HISTORY = 1_000
"""Trace lines kept (the oldest go first); a trace's own limit is usually far lower."""
DEFAULT_LIMIT = 100
"""Messages a trace follows unless the app says otherwise (`Runtime.trace`'s default)."""


class TracePane(Vertical):
    """What one traced process receives and handles: time, kind and message, oldest first.

    Tracing is control (it changes what the runtime does for that process), so the app refuses
    it in read-only mode; this pane only renders. The app starts a trace with
    ``rt.trace(pid, pane.record, limit=...)`` after ``pane.begin(pid, label, limit=..., started_at=rt.clock())``,
    and calls ``pane.end("stopped with T")`` (or ``"the process exited"``) when it stops it
    sooner; when `limit` events have come the pane says the trace stopped by itself.
    Escape posts `Closed` (the app stops the trace, if it still runs, and hides the pane).
    """

    BINDINGS = [Binding("escape", "close", "Close trace")]
    """
    | Key(s) | Description |
    | :- | :- |
    | escape | Close the pane (posts `Closed`). |
    """

    DEFAULT_CSS = """
    TracePane {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
        height: 12;
        &:focus-within {
            border: round $primary;
        }
        & > .status {
            height: 1;
        }
        & > RichLog {
            height: 1fr;
            background: transparent;
            scrollbar-size-vertical: 1;
            scrollbar-gutter: stable;
            overflow-x: hidden;
            overflow-y: auto;
        }
        & > .hint {
            height: 1;
        }
    }
    """

    class Closed(Message):
        """Escape in the pane: the app stops the trace and hides the pane."""

        def __init__(self, pane: TracePane, pid: Pid | None) -> None:
            self.pane = pane
            self.pid = pid
            """The traced process (None when the pane traced nothing)."""
            super().__init__()

        @property
        def control(self) -> TracePane:
            """The pane that was closed."""
            return self.pane

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create an idle pane (nothing traced until `begin`)."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._pid: Pid | None = None
        self._target = ""
        self._limit = DEFAULT_LIMIT
        self._started_at = 0.0
        self._seen = 0
        self._stopped: str | None = None
        self._events: deque[TraceEvent] = deque(maxlen=HISTORY)
        self._width = 0  # the width the lines were cut to (they are cut again when it changes)

    def compose(self) -> ComposeResult:
        yield Static(classes="status")
        # Each line is cut to the pane's width (with …), never scrolled sideways: wrap lets the line's own
        # no-wrap ellipsis apply, min_width=1 lets it shrink to the width, and the gutter keeps that width
        # the same when the vertical scrollbar comes.
        yield RichLog(max_lines=HISTORY, min_width=1, wrap=True, markup=False, highlight=False, auto_scroll=True)
        yield Static(classes="hint")

    def on_mount(self) -> None:
        self.border_title = "Trace"
        self._say()

    def on_resize(self) -> None:
        """Cut the kept lines again to the new width (a line cut narrower would stay cut when it widens)."""
        width = self.query_one(RichLog).scrollable_content_region.width
        if width != self._width and self._events:
            self._rewrite()

    # -- public -------------------------------------------------------------------------------

    @property
    def pid(self) -> Pid | None:
        """The traced process, or None before the first `begin`."""
        return self._pid

    @property
    def active(self) -> bool:
        """Whether the trace still runs: begun, fewer than `limit` events, not ended."""
        return self._pid is not None and self._stopped is None and self._seen < self._limit

    @property
    def seen(self) -> int:
        """Events received since `begin`."""
        return self._seen

    @property
    def events(self) -> tuple[TraceEvent, ...]:
        """The events kept (at most `HISTORY`), oldest first."""
        return tuple(self._events)

    def begin(self, pid: Pid, target: str, *, limit: int = DEFAULT_LIMIT, started_at: float = 0.0) -> None:
        """Start showing a new trace: the pane is cleared.

        Args:
            pid: The traced process (events of any other are ignored: a previous trace's stragglers).
            target: How a person knows it (``store <0.4.0>``).
            limit: The trace's limit, as passed to `Runtime.trace`.
            started_at: When the trace began, on the runtime clock (lines show the time since).
        """
        self._pid, self._target, self._limit, self._started_at = pid, target, max(1, limit), started_at
        self._seen, self._stopped = 0, None
        self._events.clear()
        self.query_one(RichLog).clear()
        self._say()

    def record(self, event: TraceEvent) -> None:
        """Add one traced message; the callback to pass to `Runtime.trace`."""
        if event.pid is not self._pid or not self.active:
            return
        self._seen += 1
        self._events.append(event)
        log = self.query_one(RichLog)
        log.write(trace_line(event, started_at=self._started_at))
        self._width = log.scrollable_content_region.width
        self._say()

    def end(self, why: str) -> None:
        """The trace was stopped before its limit (``stopped with T``, ``the process exited``)."""
        if self.active:
            self._stopped = why
            self._say()

    # -- drawing ------------------------------------------------------------------------------

    def _rewrite(self) -> None:
        log = self.query_one(RichLog)
        log.clear()
        for event in self._events:
            log.write(trace_line(event, started_at=self._started_at))
        self._width = log.scrollable_content_region.width

    def _say(self) -> None:
        status, hint = self.query_one(".status", Static), self.query_one(".hint", Static)
        if self._pid is None:
            status.update("no trace: T on a process traces its next messages")
        else:
            status.update(trace_status(self._target, self._seen, self._limit, stopped=self._stopped))
        hint.update(trace_hint(active=self.active))

    # -- actions ------------------------------------------------------------------------------

    def action_close(self) -> None:
        """Close the pane."""
        self.post_message(self.Closed(self, self._pid))
