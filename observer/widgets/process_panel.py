"""ProcessPanel: everything about the selected process."""

from __future__ import annotations

from textual.reactive import var
from textual.widgets import Static

from observer.renderables.figures import process_detail, process_detail_key
from observer.snapshot import ProcessDetail


class ProcessPanel(Static):
    """Kind, status, links, monitors, mailbox, restarts and last exit of the process under the cursor."""

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

    _shown: object = object()  # nothing drawn yet; what the detail last drawn was made of

    def on_mount(self) -> None:
        self.border_title = "Process"
        self._draw()

    def watch_detail(self) -> None:
        self._draw()

    def _draw(self) -> None:
        key = process_detail_key(self.detail)
        if key == self._shown:
            return
        self._shown = key
        self.update(process_detail(self.detail))
