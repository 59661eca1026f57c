"""ReasonPrompt: asks for the exit reason to kill a process with (prefilled ``kill``)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class ReasonPrompt(ModalScreen[str | None]):
    """A one-line prompt; enter kills with the reason typed, escape cancels (dismisses with None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """
    | Key(s) | Description |
    | :- | :- |
    | escape | Cancel. |
    """

    DEFAULT_CSS = """
    ReasonPrompt {
        align: center middle;
        & > Vertical {
            width: 72;
            height: auto;
            border: thick $warning;
            background: $surface;
            padding: 1 2;
            & > .hint {
                color: $text-muted;
                width: 100%;
            }
        }
    }
    """

    def __init__(self, target: str, *, reason: str = "kill", name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        """Create the prompt.

        Args:
            target: The process to kill, as text (shown in the prompt).
            reason: The prefilled reason.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._target = target
        self._reason = reason

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Exit {self._target} with reason:")
            yield Input(value=self._reason, id="reason")
            yield Label("kill cannot be trapped; shutdown and normal are what supervisors send; any other text is "
                        "a crash. Enter sends, escape cancels.", classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Close without killing."""
        self.dismiss(None)
