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

    def on_mount(self) -> None:
        self.border_title = "Monitors"

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        self._total.append(snapshot.monitor_count)
        shown = {count.pid for count in snapshot.monitors}
        for pid in [pid for pid in self._per_process if pid not in shown]:
            del self._per_process[pid]
        rows = []
        for count in snapshot.monitors:
            history = self._per_process.setdefault(count.pid, deque(maxlen=HISTORY))
            history.append(count.held + count.watched_by)
            rows.append((count, history))
        self.update(monitor_table(snapshot.monitor_count, self._total, rows))
