"""MonitorsPanel: the total monitor count and the busiest processes, with their history."""

from __future__ import annotations

from collections import deque

from textual.reactive import var
from textual.widgets import Static

from observer.renderables.monitors import monitor_table
from observer.runtime import Pid
from observer.snapshot import Snapshot

HISTORY = 60
"""Snapshots of history kept per line."""


class MonitorsPanel(Static):
    """Monitor counts with a history line each, so that a leak shows as a rise."""

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
        self._per_process: dict[Pid, deque[int]] = {}
        self._taken_at = float("-inf")
        self._shown: object = None  # what the table last drawn was made of

    def on_mount(self) -> None:
        self.border_title = "Monitors"

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        later = snapshot.taken_at > self._taken_at  # two snapshots of the same instant are one point of history
        self._taken_at = snapshot.taken_at
        _record(self._total, snapshot.monitor_count, later)
        shown = {count.pid for count in snapshot.monitors}
        for pid in [pid for pid in self._per_process if pid not in shown]:
            del self._per_process[pid]
        rows = []
        for count in snapshot.monitors:
            history = self._per_process.setdefault(count.pid, deque(maxlen=HISTORY))
            _record(history, count.held + count.watched_by, later)
            rows.append((count, history))
        history_width = max(8, min(HISTORY, self.size.width - 4 - 28 - 16))
        key = (snapshot.monitor_count, tuple(self._total), tuple((count, tuple(history)) for count, history in rows),
               history_width)
        if key == self._shown:
            return
        self._shown = key
        self.update(monitor_table(snapshot.monitor_count, self._total, rows, history_width=history_width))


def _record(history: deque[int], value: int, later: bool) -> None:
    """Append a point, or replace the last one when the clock has not moved since it."""
    if history and not later:
        history[-1] = value
    else:
        history.append(value)
