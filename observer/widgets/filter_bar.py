"""FilterBar: the ``/`` input that filters the supervision tree as you type."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    """An input under the tree: typing filters it, enter keeps the filter, escape clears it."""

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter")]
    """
    | Key(s) | Description |
    | :- | :- |
    | escape | Clear the filter and hide the bar. |
    """

    DEFAULT_CSS = """
    FilterBar {
        display: none;
        &.-shown {
            display: block;
        }
    }
    """

    class Closed(Message):
        """The bar was closed (enter keeps the filter, escape clears it)."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        """Create the hidden filter bar."""
        super().__init__(placeholder="filter: id, name or pid (enter keeps it, escape clears)", name=name, id=id,
                         classes=classes)

    def open(self) -> None:
        """Show the bar and focus it."""
        self.add_class("-shown")
        self.focus()

    def _on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.remove_class("-shown")
        self.post_message(self.Closed())

    def action_clear_filter(self) -> None:
        """Clear the filter and hide the bar."""
        self.value = ""
        self.remove_class("-shown")
        self.post_message(self.Closed())
