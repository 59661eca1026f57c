"""HelpScreen: every key of the app, of its tree, log and process list, and what the tree's colours mean."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from observer.renderables.labels import AFFECTED, AFFECTED_MARK, EXITED, FLASH, RESTARTING, RUNNING, STOPPED

KeyRows = tuple[tuple[str, str], ...]

SECTIONS: tuple[tuple[str, KeyRows], ...] = (
    ("in the tree", (
        ("↑ ↓", "move"),
        ("enter space", "open or close a supervisor (big ones list their children only when opened)"),
        ("→ ←", "open, close (← on a closed one goes up to its supervisor)"),
    )),
    ("in the event log (tab focuses it)", (
        ("↑ ↓", "newer, older entry"),
        ("pgup pgdn", "scroll a page; home, end: the newest, the oldest"),
        ("enter", "open the traceback of a crash"),
        ("e", "export the log as JSON lines (it says where)"),
        ("w", "wall-clock times, or the time since start"),
    )),
    ("in the process list (l)", (
        ("↑ ↓ pgup pgdn", "move; enter selects the process (home, end: first, last)"),
        ("1-9", "sort by the nth column (again: the other way round)"),
        ("< > I", "sort by the column left, right; invert the order (a click on a heading sorts too)"),
    )),
    ("anywhere", (
        ("tab", "move the focus: tree, event log, process list"),
        ("ctrl+p", "command palette: kill / terminate / restart <name> for every registered name"),
    )),
)
"""The keys of the widgets (as opposed to the app's bindings, which the app passes), by where they work."""


class HelpScreen(ModalScreen[None]):
    """A modal list of the keys, closed by escape, q or ?; it fits 80 columns and scrolls when it is taller.

    The app passes its own bindings as (key, what it does); the widgets' keys (`SECTIONS`)
    follow, less any key the app already listed.
    """

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
        & > VerticalScroll {
            width: 80;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
            scrollbar-size-vertical: 1;
        }
    }
    """

    def __init__(self, keys: Sequence[tuple[str, str]], *, read_only: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """Create the help screen.

        Args:
            keys: (key, what it does) for every binding of the app, in order.
            read_only: Whether destructive keys are disabled (said at the top).
        """
        super().__init__(name=name, id=id, classes=classes)
        self._keys = tuple(keys)
        self._read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text())

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()  # so that arrows and page keys scroll a help taller than the screen

    def _text(self) -> RenderableType:
        parts: list[RenderableType] = [Text("observer keys", style="bold reverse")]
        if self._read_only:
            parts.append(Text("read-only: the keys that change the runtime (kill, terminate, restart, suspend, "
                              "resume, trace, drills) are off", style="cyan"))
        parts.append(_keys_table(self._keys))
        taken = {key for key, _ in self._keys}
        for title, rows in SECTIONS:
            rows = tuple((key, what) for key, what in rows if key not in taken)
            if rows:
                parts.append(Text(title, style="bold"))
                parts.append(_keys_table(rows))
        parts.append(Text("colours", style="bold"))
        parts.append(_legend())
        parts.append(Text("escape closes this help", style="bright_black"))
        return Group(*parts)


def _keys_table(rows: Sequence[tuple[str, str]]) -> Table:
    """Keys in a column of their own, what they do beside (wrapped under itself when long)."""
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(style="bold", no_wrap=True, min_width=12)
    table.add_column(ratio=1)
    for key, what in rows:
        table.add_row(key, what)
    return table


def _legend() -> Table:
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(no_wrap=True, min_width=12)
    table.add_column(ratio=1)
    for mark, style, meaning in (
        ("●", RUNNING, "running"), ("◐", RESTARTING, "restarting"), ("○", STOPPED, "stopped"),
        ("✖", EXITED, "exited (its supervisor has not reacted yet)"),
    ):
        table.add_row(Text(mark, style), meaning)
    table.add_row(Text(" ↻ ", FLASH), "just restarted (↻n: how often)")
    table.add_row(Text(f" {AFFECTED_MARK} drill ", AFFECTED), "touched by the live drill, until shortly after it ends")
    return table
