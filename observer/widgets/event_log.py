"""EventLog: restart cascades and notes, newest first, one entry per cascade."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import var
from textual.widgets import Static

from observer.journal import LogEntry
from observer.renderables.cascade import log_entry
from observer.snapshot import Snapshot

SHOWN = 25
"""Entries drawn (the newest): more than the panel holds, few enough to draw every tick of a storm."""


class EventLog(Static):
    """The event log: each restart cascade as one entry, the newest at the top."""

    DEFAULT_CSS = """
    EventLog {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
        overflow-y: auto;
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True)
    """The latest snapshot."""
    started_at: var[float] = var(0.0)
    """When the app started its runtime (entries show the time since)."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create an empty log."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._drawn: tuple[LogEntry, ...] | None = None

    def on_mount(self) -> None:
        self.border_title = "Events"
        self.update(Text("no events yet: kill a process with k to watch its supervisor restart it",
                         style="bright_black"))

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None or snapshot.log is self._drawn:
            return
        self._drawn = snapshot.log
        if not snapshot.log:
            return
        newest = snapshot.log[-SHOWN:][::-1]
        self.update(Group(*(log_entry(entry, started_at=self.started_at) for entry in newest)))
