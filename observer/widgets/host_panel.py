"""HostPanel: CPU, memory, threads and open fds of the app's process, and the event loop's lag."""

from __future__ import annotations

from textual.reactive import var
from textual.widgets import Static

from observer.renderables.figures import host_figures
from observer.snapshot import Snapshot


class HostPanel(Static):
    """Host figures from psutil and how late the last tick ran."""

    DEFAULT_CSS = """
    HostPanel {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True)
    """The latest snapshot."""

    def on_mount(self) -> None:
        self.border_title = "Host"

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        self.update(host_figures(snapshot))
