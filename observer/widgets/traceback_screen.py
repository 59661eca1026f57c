"""TracebackScreen: a modal that shows the traceback a process crashed with, scrollable, closed by escape."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from observer.renderables import units

TRACEBACK_CAP = 20_000
"""Characters shown at most (the journal keeps less; this guards against whatever else is passed)."""


class TracebackScreen(ModalScreen[None]):
    """A crash's traceback as text, in a scrollable box that fits 80 columns.

    The app opens it on `EventLog.CrashOpened`: ``push_screen(TracebackScreen(title, text))``,
    with a title such as ``store <0.4.0> died (RuntimeError: boom)`` and the traceback kept as
    capped text by the journal (None when none was kept: the screen says so).
    """

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | escape, q | Close. |
    | up, down, pageup, pagedown, home, end | Scroll the traceback. |
    """

    DEFAULT_CSS = """
    TracebackScreen {
        align: center middle;
        & > Vertical {
            width: 110;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $error;
            background: $surface;
            padding: 0 1;
            & > .title {
                text-style: bold;
                width: 100%;
            }
            & > VerticalScroll {
                height: auto;
                max-height: 80vh;
                scrollbar-size-vertical: 1;
            }
            & > .hint {
                color: $text-muted;
                width: 100%;
            }
        }
    }
    """

    def __init__(self, title: str, traceback: str | None, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        """Create the screen.

        Args:
            title: What crashed and how, in one line.
            traceback: The traceback as text (capped to `TRACEBACK_CAP` characters), or None when none was kept.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._title = title
        self._traceback = None if traceback is None else units.capped(traceback, TRACEBACK_CAP)

    @property
    def heading(self) -> str:
        """The title line: what crashed and how."""
        return self._title

    @property
    def traceback(self) -> str | None:
        """The text shown (capped), or None."""
        return self._traceback

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._title), classes="title")
            with VerticalScroll():
                if self._traceback is None:
                    yield Static(Text("no traceback was kept for this exit: only an exception raised in the "
                                      "process has one", style="bright_black"))
                else:
                    yield Static(Text(self._traceback, overflow="fold"))
            yield Label("↑ ↓ pgup pgdn scroll · escape closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
