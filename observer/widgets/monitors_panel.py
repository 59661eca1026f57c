"""MonitorsPanel: the total monitor count and the busiest processes, with their history."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

from textual.reactive import var

from observer.renderables.monitors import FIXED_WIDTH, LABEL_WIDTH, monitor_table
from observer.snapshot import MonitorCount, Snapshot
from observer.widgets.line_panel import LinePanel

HISTORY = 60
"""Snapshots of history kept per line."""


def history_key(count: MonitorCount) -> Hashable:
    """What a line's history is kept under: the registered name when it has one, which a restarted
    process registers again, so that its history goes on across the restart; else its pid."""
    return count.pid if count.label.startswith("<") else count.label


class MonitorsPanel(LinePanel):
    """Monitor counts with a history line each, so that a leak shows as a rise.

    The app sets `snapshot` every tick. Columns have fixed widths and the panel does not
    shrink while the busiest processes restart (it keeps as many lines as it has shown). A new
    point of history repaints the lines whose history moved (`LinePanel`).
    """

    DEFAULT_CSS = """
    MonitorsPanel {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
        height: auto;
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True)
    """The latest snapshot."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create the panel with empty histories."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._total: deque[int] = deque(maxlen=HISTORY)
        self._per_process: dict[Hashable, deque[int]] = {}
        self._taken_at = float("-inf")
        self._most_rows = 0  # the most process lines shown so far: the panel keeps that height
        self._shown: object = None  # what the table last drawn was made of

    def on_mount(self) -> None:
        self.border_title = "Monitors"

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        later = snapshot.taken_at > self._taken_at  # two snapshots of the same instant are one point of history
        self._taken_at = snapshot.taken_at
        _record(self._total, snapshot.monitor_count, later)
        shown = {history_key(count) for count in snapshot.monitors}
        # A line that left the top keeps its history for a while (it restarts, or comes back);
        # only lines that left more than a screen's worth ago are forgotten.
        if len(self._per_process) > 4 * max(len(shown), 1):
            for key in [key for key in self._per_process if key not in shown]:
                del self._per_process[key]
        rows = []
        for count in snapshot.monitors:
            history = self._per_process.setdefault(history_key(count), deque(maxlen=HISTORY))
            _record(history, count.held + count.watched_by, later)
            rows.append((count, history))
        self._most_rows = max(self._most_rows, len(rows))
        history_width = max(8, min(HISTORY, self.size.width - 4 - FIXED_WIDTH))
        key = (snapshot.monitor_count, tuple(self._total), tuple((count, tuple(history)) for count, history in rows),
               history_width, self._most_rows)
        if key == self._shown:
            return
        self._shown = key
        self.draw(monitor_table(snapshot.monitor_count, self._total, rows, history_width=history_width,
                                label_width=LABEL_WIDTH, min_rows=self._most_rows))


def _record(history: deque[int], value: int, later: bool) -> None:
    """Append a point, or replace the last one when the clock has not moved since it."""
    if history and not later:
        history[-1] = value
    else:
        history.append(value)
