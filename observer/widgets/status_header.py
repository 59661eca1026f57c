"""StatusHeader: one line with processes, restarts, monitors, uptime, the refresh rate and the source's state."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import var

from observer.renderables.figures import header_line
from observer.snapshot import Snapshot
from observer.source.base import SourceState
from observer.widgets.line_panel import LinePanel

GONE = Style(bold=True, reverse=True, color="red")
BLOCKED = Style(bold=True, reverse=True, color="yellow")
PENDING = Style(color="yellow")


class StatusHeader(LinePanel):
    """The top line of a runtime's view: its totals and the app's state (paused, read-only, gone, blocked).

    The uptime ticking repaints its last digits only (`LinePanel`).
    """

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
    where: var[str | None] = var(None)
    """Which runtime this is, when it is not the app's own (``attached: pid 4242``)."""
    state: var[SourceState] = var(SourceState("connecting"))
    """How its source is doing (gone, its loop blocked)."""
    pending: var[int] = var(0)
    """Actions taken while paused, whose effects are not drawn yet (shown on resume)."""

    _shown: Text | None = None  # the line last drawn: an equal one is not drawn again

    def watch_snapshot(self) -> None:
        self._draw()

    def watch_refresh_interval(self) -> None:
        self._draw()

    def watch_paused(self) -> None:
        self._draw()

    def watch_read_only(self) -> None:
        self._draw()

    def watch_title(self) -> None:
        self._draw()

    def watch_where(self) -> None:
        self._draw()

    def watch_state(self) -> None:
        self._draw()

    def watch_pending(self) -> None:
        self._draw()

    def _draw(self) -> None:
        title = self.title if self.where is None else f"{self.title} · {self.where}"  # first: never cut off
        line = header_line(self.snapshot, refresh_interval=self.refresh_interval, paused=self.paused,
                           read_only=self.read_only, title=title)
        if self.paused and self.pending:
            line.append(f" {self.pending} action{'s' if self.pending != 1 else ''} not drawn yet: p resumes",
                        PENDING)
        state = self.state
        if state.phase == "gone":  # first: what matters most is never cut off at the right
            line = Text.assemble((f" GONE: {state.detail or 'the runtime went away'} ", GONE), " ", line,
                                 no_wrap=True, end="")
        elif state.blocked > 0:
            line = Text.assemble((f" loop blocked {state.blocked:.1f} s ", BLOCKED), " ", line, no_wrap=True, end="")
        if line == self._shown:
            return
        self._shown = line
        self.draw(line)
