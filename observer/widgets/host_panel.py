"""HostPanel: CPU, memory, threads and open fds of the app's process, and the event loop's lag."""

from __future__ import annotations

from textual.reactive import var

from observer.renderables.figures import host_figures, host_key
from observer.snapshot import Snapshot
from observer.widgets.line_panel import LinePanel


class HostPanel(LinePanel):
    """Host figures from psutil and how late the last tick ran (a figure that changed repaints only itself)."""

    DEFAULT_CSS = """
    HostPanel {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True)
    """The latest snapshot."""

    _shown: object = object()  # nothing drawn yet; what the figures last drawn were made of

    def on_mount(self) -> None:
        self.border_title = "Host"

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        key = host_key(snapshot)
        if key == self._shown:
            return
        self._shown = key
        self.draw(host_figures(snapshot))
