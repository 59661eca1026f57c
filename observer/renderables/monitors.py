"""The monitors panel: the total with its history, then the processes holding or watched by the most."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.table import Table
from rich.text import Text

from observer.snapshot import MonitorCount

from .history import history_line

KEY = Style(color="bright_black")
VALUE = Style(bold=True)


def monitor_table(total: int, total_history: Sequence[int], rows: Sequence[tuple[MonitorCount, Sequence[int]]],
                  *, history_width: int = 24) -> Table:
    """The total monitor count and the busiest processes, each with a history line.

    Args:
        total: Active monitors in the whole runtime.
        total_history: The total at each earlier snapshot, oldest first (a leak shows as a rise).
        rows: The busiest processes and the history of their held + watched counts.
        history_width: Cells of each history line.
    """
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, max_width=28, overflow="ellipsis")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True, width=history_width)
    table.add_row(Text("total", VALUE), Text(f"{total:,}", VALUE), "", history_line(total_history, history_width))
    if rows:
        table.add_row(Text("process", KEY), Text("holds", KEY), Text("on it", KEY), "")
    for count, history in rows:
        label = count.label if count.label.startswith("<") else f"{count.label} {count.pid!r}"
        table.add_row(label, f"{count.held:,}", f"{count.watched_by:,}", history_line(history, history_width))
    if not rows:
        table.add_row(Text("no process holds a monitor", KEY), "", "", "")
    return table
