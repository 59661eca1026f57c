"""HelpScreen: every key of the app and what the tree's colours mean."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from observer.renderables.labels import AFFECTED, AFFECTED_MARK, EXITED, FLASH, RESTARTING, RUNNING, STOPPED


class HelpScreen(ModalScreen[None]):
    """A modal list of the keys, closed by escape, q or ?."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | escape, q, ? | Close the help. |
    """

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > Vertical {
            width: 84;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 1 2;
        }
    }
    """

    def __init__(self, keys: Sequence[tuple[str, str]], *, read_only: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """Create the help screen.

        Args:
            keys: (key, what it does) for every binding, in order.
            read_only: Whether destructive keys are disabled (said at the top).
        """
        super().__init__(name=name, id=id, classes=classes)
        self._keys = tuple(keys)
        self._read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._text())

    def _text(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row(Text("observer", style="bold reverse"), Text("keys", style="bold"))
        if self._read_only:
            table.add_row("", Text("read-only: kill, terminate, restart and drills are disabled", style="cyan"))
        table.add_row("", "")
        for key, description in self._keys:
            table.add_row(key, description)
        table.add_row("↑ ↓ space", "move in the tree; space opens or closes a supervisor (big ones list their "
                                   "children only when opened)")
        table.add_row("ctrl+p", "command palette: kill / terminate / restart <name> for every registered name")
        table.add_row("", "")
        legend = Text()
        for mark, style, meaning in (
            ("●", RUNNING, "running  "), ("◐", RESTARTING, "restarting  "), ("○", STOPPED, "stopped  "),
            ("✖", EXITED, "exited  "), (" ↻ ", FLASH, " just restarted (↻n: restart count)"),
        ):
            legend.append(mark, style)
            legend.append(f" {meaning}")
        table.add_row("colours", legend)
        table.add_row("", Text.assemble((f" {AFFECTED_MARK} drill ", AFFECTED),
                                        " touched by the live drill, until shortly after it ends"))
        table.add_row("", Text("escape closes this help", style="bright_black"))
        return table
