"""The process list as data and lines: `ProcessRow`, its columns, sorting, filtering and one line per process.

Pure (no textual imports), so that the snapshot can build rows and tests can draw them
without an app. Rates are computed by whoever builds the rows; this module only shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from observer.runtime import Pid

from . import units

HEADER = Style(bold=True)
SORTED = Style(bold=True, underline=True)
MUTED = Style(color="bright_black")
WARN = Style(color="yellow", bold=True)
STATUS_STYLES: Mapping[str, Style] = MappingProxyType({
    "running": Style(color="green"),
    "exited": Style(color="red", bold=True),
    "suspended": Style(color="yellow", bold=True),
})
MAILBOX_WARN = 100
"""A mailbox longer than this is drawn as a warning (as in the detail panel)."""
KINDS: Mapping[str, str] = MappingProxyType({"supervisor": "sup", "dynamic_supervisor": "dynamic"})
"""Kinds shown shorter in the list (the others as they are: server, process)."""


@dataclass(frozen=True, slots=True)
class ProcessRow:
    """One live process as the process list shows it.

    Attributes:
        pid: The process.
        name: What a person calls it: its registered name, else its child id as text, else "".
        kind: "server", "process", "supervisor" or "dynamic_supervisor" (`ProcessInfo.kind`).
        status: "running", "waiting" (blocked in receive), or another word the app knows ("suspended").
        mailbox: Messages queued.
        messages_per_s: Messages delivered to its mailbox per second, over the last refresh.
        reductions_per_s: Callbacks or receive rounds handled per second, over the last refresh.
        restarts: How often its supervisor restarted it.
        awaiting: What it waited on when sampled (`Runtime.awaiting`; the selected process's from its
            newest inspection); None while it ran.
    """

    pid: Pid
    name: str
    kind: str
    status: str
    mailbox: int
    messages_per_s: float
    reductions_per_s: float
    restarts: int
    awaiting: str | None = None


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the list.

    Attributes:
        key: The `ProcessRow` field it shows and sorts by.
        title: Its heading.
        width: Cells; 0 for the two columns that share what the others leave (name and awaiting).
        numeric: Right-aligned, and sorted largest first.
    """

    key: str
    title: str
    width: int
    numeric: bool = False


COLUMNS = (
    Column("pid", "pid", 11),
    Column("name", "name", 0),
    Column("kind", "kind", 7),
    Column("status", "status", 9),
    Column("mailbox", "mailbox", 8, numeric=True),  # room for "mailbox▼"
    Column("messages_per_s", "msg/s", 6, numeric=True),
    Column("reductions_per_s", "red/s", 6, numeric=True),
    Column("restarts", "↻", 3, numeric=True),
    Column("awaiting", "awaiting", 0),
)
"""The columns, left to right; number keys 1-9 sort by them in this order."""
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
MIN_NAME, MIN_AWAITING, MAX_NAME = 8, 8, 40


def column_widths(width: int) -> tuple[int, ...]:
    """The width of each column when the list is `width` cells wide (one cell between columns).

    The fixed columns keep their widths at any size, so that nothing moves between ticks;
    name and awaiting share the rest: name three fifths, at most `MAX_NAME`, awaiting what is left.
    """
    fixed = sum(column.width for column in COLUMNS) + len(COLUMNS) - 1
    spare = max(MIN_NAME + MIN_AWAITING, width - fixed)
    name = max(MIN_NAME, min(MAX_NAME, spare * 3 // 5))
    awaiting = spare - name
    return tuple(name if column.key == "name" else awaiting if column.key == "awaiting" else column.width
                 for column in COLUMNS)


def column_at(x: int, widths: Sequence[int]) -> str | None:
    """The key of the column drawn at cell `x` (None in a gap or past the last one)."""
    left = 0
    for column, width in zip(COLUMNS, widths, strict=True):
        if left <= x < left + width:
            return column.key
        left += width + 1
    return None


def sort_key(column: str) -> Callable[[ProcessRow], Any]:
    """The key that orders rows by `column` (ties by pid, oldest first); numbers sort largest first."""
    if column == "pid":
        return lambda row: row.pid.id
    spec = COLUMNS[COLUMN_KEYS.index(column)]
    if spec.numeric:
        return lambda row: (-getattr(row, column), row.pid.id)
    return lambda row: ((getattr(row, column) or "").lower(), row.pid.id)


def sorted_rows(rows: Sequence[ProcessRow], column: str, *, inverted: bool = False) -> list[ProcessRow]:
    """`rows` in the order of `column` (largest first for numbers, A-Z for text), or the other way round."""
    return sorted(rows, key=sort_key(column), reverse=inverted)


def matches(row: ProcessRow, needle: str) -> bool:
    """Whether `needle` (lower case) is in the row's name or pid (``0.12`` finds ``<0.12.0>``)."""
    return needle in row.name.lower() or needle in repr(row.pid)


def header_segments(widths: Sequence[int], sorted_by: str, inverted: bool) -> list[Segment]:
    """The heading line: each title, the sorted column's with ``▼`` (or ``▲`` when inverted)."""
    segments: list[Segment] = []
    for index, (column, width) in enumerate(zip(COLUMNS, widths, strict=True)):
        if index:
            segments.append(Segment(" "))
        title = column.title
        style = HEADER
        if column.key == sorted_by:  # ▼: largest (or last) first, ▲: smallest (or first) first
            title = f"{title}{'▼' if column.numeric != inverted else '▲'}"
            style = SORTED
        segments.append(Segment(_fit(title, width, column.numeric), style))
    return segments


def row_segments(row: ProcessRow, widths: Sequence[int]) -> list[Segment]:
    """One process as a line of cells, each padded or cut to its column's width."""
    cells = (
        (repr(row.pid), MUTED),
        (row.name or "-", None if row.name else MUTED),
        (KINDS.get(row.kind, row.kind), None),
        (row.status, STATUS_STYLES.get(row.status)),
        (units.count(row.mailbox), WARN if row.mailbox > MAILBOX_WARN else None),
        (units.rate(row.messages_per_s), None if row.messages_per_s else MUTED),
        (units.rate(row.reductions_per_s), None if row.reductions_per_s else MUTED),
        (units.count(row.restarts), WARN if row.restarts else MUTED),
        (row.awaiting or "-", None if row.awaiting else MUTED),
    )
    segments: list[Segment] = []
    for index, ((text, style), column, width) in enumerate(zip(cells, COLUMNS, widths, strict=True)):
        if index:
            segments.append(Segment(" "))
        segments.append(Segment(_fit(text, width, column.numeric), style))
    return segments


def _fit(text: str, width: int, right: bool) -> str:
    """`text` in exactly `width` cells: padded (right-aligned for numbers) or cut with ``…``."""
    cells = cell_len(text)
    if cells > width:
        return set_cell_size(text, width - 1) + "…" if width > 0 else ""
    padding = " " * (width - cells)
    return padding + text if right else text + padding
