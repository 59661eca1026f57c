"""StatusHeader: one line with processes, restarts, monitors, uptime and the refresh rate."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import var
from textual.widgets import Static

from observer.renderables.figures import header_line
from observer.snapshot import Snapshot


class StatusHeader(Static):
    """The top line of the screen: the runtime's totals and the app's state (paused, read-only)."""

    DEFAULT_CSS = """
    StatusHeader {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True)
    """The latest snapshot."""
    refresh_interval: var[float] = var(0.25)
    """Seconds between snapshots."""
    paused: var[bool] = var(False)
    """Whether refreshing is paused."""
    read_only: var[bool] = var(False)
    """Whether destructive keys are disabled."""
    title: var[str] = var("observer")
    """What is being observed."""

    _shown: Text | None = None  # the line last drawn: an equal one is not drawn again

    def watch_snapshot(self) -> None:
        self._draw()

    def watch_refresh_interval(self) -> None:
        self._draw()

    def watch_paused(self) -> None:
        self._draw()

    def watch_read_only(self) -> None:
        self._draw()

    def _draw(self) -> None:
        line = header_line(self.snapshot, refresh_interval=self.refresh_interval, paused=self.paused,
                           read_only=self.read_only, title=self.title)
        if line == self._shown:
            return
        self._shown = line
        self.update(line, layout=False)  # one line, always: its size does not change
