"""ProcessPanel: everything about the selected process, with its state, stack and counters when inspected."""

from __future__ import annotations

from textual import events
from textual.reactive import var

from observer.renderables.figures import DETAIL_WIDTH, process_detail, process_detail_key
from observer.renderables.process_table import ProcessRow
from observer.runtime import Inspection
from observer.snapshot import ProcessDetail
from observer.widgets.line_panel import LinePanel


class ProcessPanel(LinePanel):
    """Kind, status, links, monitors, mailbox, restarts and last exit of the process under the cursor.

    The app sets `detail` (from the snapshot builder) for the selected process, and, refreshed
    for that process only, `inspection` (``rt.inspect(pid)``: counters, state, stack, awaiting)
    and `row` (its `ProcessRow`, for the message and reduction rates). `show` sets all three
    and draws once; a tick that changes nothing that is shown draws nothing, and one that changes
    the uptime shown (in whole seconds) repaints that figure only (`LinePanel`).
    """

    DEFAULT_CSS = """
    ProcessPanel {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
        height: auto;
    }
    """

    detail: var[ProcessDetail | None] = var(None, always_update=True)
    """The selected process, or None."""
    inspection: var[Inspection | None] = var(None, always_update=True)
    """What `Runtime.inspect` saw of the selected process (None: not inspected, or not alive)."""
    row: var[ProcessRow | None] = var(None, always_update=True)
    """The selected process's line of the process list, for its rates (None: unknown)."""

    _shown: object = object()  # nothing drawn yet; what the detail last drawn was made of

    def show(self, detail: ProcessDetail | None, inspection: Inspection | None = None,
             row: ProcessRow | None = None) -> None:
        """Show one process: its detail, and its inspection and rates when the app has them; drawn once."""
        self.set_reactive(ProcessPanel.detail, detail)
        self.set_reactive(ProcessPanel.inspection, inspection)
        self.set_reactive(ProcessPanel.row, row)
        self._draw()

    def on_mount(self) -> None:
        self.border_title = "Process"
        self._draw()

    def watch_detail(self) -> None:
        self._draw()

    def watch_inspection(self) -> None:
        self._draw()

    def watch_row(self) -> None:
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        width = self.content_region.width or DETAIL_WIDTH
        inspection = self.inspection
        if inspection is not None and self.detail is not None and inspection.info.pid is not self.detail.node.pid:
            inspection = None  # an inspection of the process selected before: not this one's
        row = self.row
        if row is not None and self.detail is not None and row.pid is not self.detail.node.pid:
            row = None
        key = process_detail_key(self.detail, inspection, row, width=width)
        if key == self._shown:
            return
        self._shown = key
        self.draw(process_detail(self.detail, inspection, row, width=width))
