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
LABEL_WIDTH = 28
"""Cells of the process column (longer labels end in …)."""
HELD_WIDTH = 9
WATCHED_WIDTH = 12
"""Cells of the count columns: as wide as their headings, so that no column moves when a count grows."""
FIXED_WIDTH = LABEL_WIDTH + HELD_WIDTH + WATCHED_WIDTH + 3
"""Cells every line takes besides its history (the columns and the gaps between them)."""


def monitor_table(total: int, total_history: Sequence[int], rows: Sequence[tuple[MonitorCount, Sequence[int]]],
                  *, history_width: int = 24, label_width: int = LABEL_WIDTH, min_rows: int = 0) -> Table:
    """The total monitor count and the busiest processes, each with a history line.

    Every column has a fixed width, so that the columns stay where they are from one tick to the next.

    Args:
        total: Active monitors in the whole runtime.
        total_history: The total at each earlier snapshot, oldest first (a leak shows as a rise).
        rows: The busiest processes and the history of their held + watched counts.
        history_width: Cells of each history line.
        label_width: Cells of the process column.
        min_rows: Process lines to draw at least (blank ones fill up), so that the panel keeps its height
            while processes restart.
    """
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, width=label_width, overflow="ellipsis")
    table.add_column(justify="right", no_wrap=True, width=HELD_WIDTH)
    table.add_column(justify="right", no_wrap=True, width=WATCHED_WIDTH)
    table.add_column(no_wrap=True, width=history_width)
    table.add_row(Text("total", VALUE), Text(f"{total:,}", VALUE), "", history_line(total_history, history_width))
    table.add_row(Text("process", KEY), Text("holds", KEY), Text("monitored by", KEY), "")
    for count, history in rows:
        label = count.label if count.label.startswith("<") else f"{count.label} {count.pid!r}"
        table.add_row(label, f"{count.held:,}", f"{count.watched_by:,}", history_line(history, history_width))
    shown = len(rows)
    if not rows:
        table.add_row(Text("no process holds a monitor", KEY), "", "", "")
        shown = 1
    for _ in range(min_rows - shown):
        table.add_row("", "", "", "")
    return table
