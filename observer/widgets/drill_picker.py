"""DrillPicker: a modal list of the built-in drills; enter runs the one under the cursor."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class DrillPicker(ModalScreen[str | None]):
    """Each drill's name and description; dismisses with the chosen name, or None on escape.

    It fits 80 columns: the descriptions wrap under themselves, the list scrolls when it is taller.

    When the drills cannot run here (`unavailable` says why), the list is shown
    greyed so that a person still sees what they would do, and enter does nothing.
    """

    BINDINGS = [Binding("escape", "cancel", "Close")]
    """
    | Key(s) | Description |
    | :- | :- |
    | escape | Close without running a drill. |
    """

    DEFAULT_CSS = """
    DrillPicker {
        align: center middle;
        & > Vertical {
            width: 110;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $accent;
            background: $surface;
            padding: 0 1;
            & > OptionList {
                height: auto;
                max-height: 60vh;
                margin: 1 0;
            }
            & > .unavailable {
                color: $warning;
                width: 100%;
            }
            & > .hint {
                color: $text-muted;
                width: 100%;
            }
        }
    }
    """

    def __init__(self, drills: Sequence[tuple[str, str]], *, unavailable: str | None = None,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        """Create the picker.

        Args:
            drills: (name, description) of every drill, in the order to list them.
            unavailable: Why no drill can run here (shown instead of running one), or None.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._drills = tuple(drills)
        self._unavailable = unavailable

    def compose(self) -> ComposeResult:
        width = max((len(drill_name) for drill_name, _ in self._drills), default=0)
        with Vertical():
            yield Label(Text("Run a drill on this system", style="bold"))
            if self._unavailable is not None:
                yield Label(self._unavailable, classes="unavailable")
            yield OptionList(*(
                Option(_prompt(drill_name, description, width), id=drill_name,
                       disabled=self._unavailable is not None)
                for drill_name, description in self._drills
            ))
            hint = "escape closes" if self._unavailable is not None else (
                "enter runs the drill on this runtime (the processes it touches are highlighted, its steps go to "
                "the event log); escape closes")
            yield Label(hint, classes="hint")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without running a drill."""
        self.dismiss(None)


def _prompt(drill_name: str, description: str, width: int) -> Text:
    """``one-for-one-isolation   kill one service: only it restarts``, the names in one column."""
    return Text.assemble((drill_name.ljust(width), "bold"), "  ", (description, "dim"))
