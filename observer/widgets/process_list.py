"""ProcessList: every process in one table, sortable by any column and filterable, cheap at 10,000 rows."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from observer.renderables.process_table import (
    COLUMN_KEYS,
    COLUMNS,
    MUTED,
    ProcessRow,
    column_at,
    column_widths,
    header_segments,
    matches,
    row_segments,
    sort_key,
)
from observer.runtime import Pid

__all__ = ["ProcessList", "ProcessRow"]

DEFAULT_SORT = "reductions_per_s"
"""The busiest processes first, as in observer_cli and Erlang observer's Processes tab."""
LINE_CACHE = 1024
"""Rendered lines kept: a few screens' worth, so that scrolling back and forth draws nothing twice."""


class ProcessList(ScrollView, can_focus=True):
    """Every live process, one line each, like `top` or observer_cli's process view.

    The app sets `rows` each tick to a tuple of `ProcessRow` (any order; rates computed by
    the app, from the counters of two snapshots): ``process_list.rows = snapshot.processes``.
    Setting the same tuple again costs nothing. The list sorts and filters them itself
    (`sort_column`, `sort_inverted`, `filter_text`) and draws only the lines on screen
    (a Line-API widget: Textual's DataTable took 91 ms to repaint 100 changed rows of 10,000).
    The cursor stays on its process when the order changes. It posts `Highlighted` when the
    cursor moves onto another process and `Selected` on enter or a click on a row; a click on
    a heading sorts by that column (again: the other way round).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
        *(Binding(str(number), f"sort_by({number - 1})", f"Sort by {column.title}", show=False)
          for number, column in enumerate(COLUMNS, start=1)),
        Binding("less_than_sign", "sort_step(-1)", "Sort by the column left", key_display="<", show=False),
        Binding("greater_than_sign", "sort_step(1)", "Sort by the column right", key_display=">", show=False),
        Binding("I", "invert", "Invert the order", key_display="I", show=False),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | up, down, pageup, pagedown, home, end | Move the cursor. |
    | enter | Select the process under the cursor (posts `Selected`). |
    | 1-9 | Sort by the nth column (pid, name, kind, status, mailbox, msg/s, red/s, ↻, awaiting); again: invert. |
    | < > | Sort by the column left or right of the sorted one. |
    | I | Invert the order. |
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "process-list--header",
        "process-list--cursor",
        "process-list--cursor-blurred",
    }

    DEFAULT_CSS = """
    ProcessList {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        &:focus {
            border: round $primary;
        }
        & > .process-list--header {
            background: $boost;
            color: $text-primary;
        }
        & > .process-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .process-list--cursor-blurred {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
    }
    """

    rows: var[tuple[ProcessRow, ...]] = var((), always_update=True)
    """Every process, in any order (the list sorts them)."""
    filter_text: var[str] = var("")
    """Show only processes whose name or pid contains this (case-insensitive)."""
    sort_column: var[str] = var(DEFAULT_SORT)
    """The `ProcessRow` field the list is sorted by (numbers largest first, text A-Z)."""
    sort_inverted: var[bool] = var(False)
    """Sort the other way round."""

    class Highlighted(Message):
        """The cursor moved onto another process."""

        def __init__(self, process_list: ProcessList, pid: Pid) -> None:
            self.process_list = process_list
            self.pid = pid
            """The process under the cursor."""
            super().__init__()

        @property
        def control(self) -> ProcessList:
            """The list the cursor moved in."""
            return self.process_list

    class Selected(Message):
        """A process was chosen: enter, or a click on its line."""

        def __init__(self, process_list: ProcessList, pid: Pid) -> None:
            self.process_list = process_list
            self.pid = pid
            """The chosen process."""
            super().__init__()

        @property
        def control(self) -> ProcessList:
            """The list it was chosen in."""
            return self.process_list

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create an empty list (rows come with the first `rows`)."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._applied: tuple[ProcessRow, ...] = ()  # the `rows` the order below was built from
        self._by_pid: dict[Pid, ProcessRow] = {}  # every row of `_applied`
        # Invariant: `_order` holds the rows of `_by_pid` that pass the filter, ascending by `_keys`
        # (`_keys[i]` is the sort key of `_order[i]`, unique because it ends with the pid); the list
        # shows them in that order, or from the end when `sort_inverted`.
        self._order: list[ProcessRow] = []
        self._keys: list[Any] = []
        self._key: Callable[[ProcessRow], Any] = sort_key(DEFAULT_SORT)
        self._needle = ""  # the filter, lower case
        self._cursor = 0  # the line of the cursor, in display order
        self._cursor_pid: Pid | None = None  # the process the cursor is on (it follows it when the order changes)
        self._drawn: tuple[Any, ...] = ()  # what the last paint showed: its frame, then (row, cursor) per line
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(LINE_CACHE)

    def on_mount(self) -> None:
        self.border_title = "Processes"

    # -- public -------------------------------------------------------------------------------

    @property
    def shown(self) -> tuple[ProcessRow, ...]:
        """The rows the list shows (filtered), in the order it shows them."""
        return tuple(reversed(self._order)) if self.sort_inverted else tuple(self._order)

    @property
    def cursor_pid(self) -> Pid | None:
        """The process under the cursor (None when the list is empty)."""
        return self._cursor_pid

    def move_cursor_to(self, pid: Pid) -> bool:
        """Put the cursor on `pid` if the list shows it; return whether it does."""
        line = self._line_of(pid)
        if line is not None:
            self._move_cursor(line)
        return line is not None

    # -- rendering ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """The heading on the first line, then the processes from the scroll position down."""
        width = self.scrollable_content_region.width
        widths = column_widths(width)
        base = self.rich_style
        if y == 0:
            key: tuple[object, ...] = ("header", widths, width, self.sort_column, self.sort_inverted)
            strip = self._lines.get(key)
            if strip is None:
                header = self.get_component_rich_style("process-list--header")
                strip = _strip(header_segments(widths, self.sort_column, self.sort_inverted), width, base + header)
                self._lines[key] = strip
            return strip
        line = int(self.scroll_offset.y) + y - 1
        row = self._row_at(line)
        if row is None:
            if line == 0:
                return _strip([Segment(self._empty_text(), MUTED)], width, base)
            return Strip.blank(width, base)
        cursor = line == self._cursor
        focused = self.has_focus
        key = (row, widths, width, cursor, focused)
        strip = self._lines.get(key)
        if strip is None:
            style = base
            if cursor:
                style += self.get_component_rich_style(
                    "process-list--cursor" if focused else "process-list--cursor-blurred")
            strip = _strip(row_segments(row, widths), width, style)
            self._lines[key] = strip
        return strip

    # -- reacting -----------------------------------------------------------------------------

    def watch_rows(self, rows: tuple[ProcessRow, ...]) -> None:
        if rows is not self._applied:
            self._apply_rows(rows)
            self._settle()

    def watch_filter_text(self, text: str) -> None:
        needle = text.strip().lower()
        if needle != self._needle:
            self._needle = needle
            self._rebuild()
            self._settle()

    def watch_sort_column(self, column: str) -> None:
        self._key = sort_key(column)
        self._rebuild()
        self._settle()

    def watch_sort_inverted(self) -> None:
        self._settle()

    def _on_resize(self, event: events.Resize) -> None:
        self._settle()

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            widths = column_widths(self.scrollable_content_region.width)
            column = column_at(offset.x + int(self.scroll_offset.x), widths)
            if column is not None:
                self._sort(column)
            return
        line = int(self.scroll_offset.y) + offset.y - 1
        row = self._row_at(line)
        if row is not None:
            self._move_cursor(line)
            self.post_message(self.Selected(self, row.pid))

    # -- keeping the order --------------------------------------------------------------------

    def _apply_rows(self, rows: tuple[ProcessRow, ...]) -> None:
        """Take the new rows into the order: only the changed ones move, unless most of them changed.

        A row that is the same object as last time is unchanged (the snapshot reuses the rows of
        processes whose figures did not change), so a tick costs one dictionary look-up per process
        plus a binary search per changed one.
        """
        by_pid = self._by_pid
        changed: list[tuple[ProcessRow | None, ProcessRow]] = []
        for row in rows:
            old = by_pid.get(row.pid)
            if old is not row:
                changed.append((old, row))
        added = sum(1 for old, _ in changed if old is None)
        gone: list[ProcessRow] = []
        if len(rows) - added != len(by_pid):
            live = {row.pid for row in rows}
            gone = [row for pid, row in by_pid.items() if pid not in live]
        self._applied = rows
        if len(changed) + len(gone) > max(64, len(rows) // 25):  # past this, sorting anew is cheaper
            self._by_pid = {row.pid: row for row in rows}
            self._rebuild()
            return
        for row in gone:
            del by_pid[row.pid]
            self._remove(row)
        for old, row in changed:
            by_pid[row.pid] = row
            if old is not None:
                self._remove(old)
            self._insert(row)

    def _rebuild(self) -> None:
        """Filter and sort every row again (the filter or the sort column changed, or most rows did)."""
        needle, key = self._needle, self._key
        chosen = [row for row in self._by_pid.values() if matches(row, needle)] if needle else self._by_pid.values()
        rows = list(chosen)
        keys = list(map(key, rows))
        ranked = sorted(range(len(rows)), key=keys.__getitem__)  # sorting indices by key beats sorting pairs 2-3x
        self._keys = [keys[index] for index in ranked]
        self._order = [rows[index] for index in ranked]

    def _remove(self, row: ProcessRow) -> None:
        key = self._key(row)
        index = bisect_left(self._keys, key)
        if index < len(self._keys) and self._keys[index] == key:
            del self._keys[index]
            del self._order[index]

    def _insert(self, row: ProcessRow) -> None:
        if self._needle and not matches(row, self._needle):
            return
        key = self._key(row)
        index = bisect_left(self._keys, key)
        self._keys.insert(index, key)
        self._order.insert(index, row)

    def _row_at(self, line: int) -> ProcessRow | None:
        """The row shown on `line` (display order), or None past the end."""
        count = len(self._order)
        if not 0 <= line < count:
            return None
        return self._order[count - 1 - line if self.sort_inverted else line]

    def _line_of(self, pid: Pid) -> int | None:
        """The line (display order) `pid` is shown on, or None when it is not shown."""
        row = self._by_pid.get(pid)
        if row is None:
            return None
        key = self._key(row)
        index = bisect_left(self._keys, key)
        if index >= len(self._keys) or self._keys[index] != key:
            return None
        return len(self._order) - 1 - index if self.sort_inverted else index

    # -- painting -----------------------------------------------------------------------------

    def _settle(self) -> None:
        """After any change: the cursor back on its process, sizes and counts, then paint what changed."""
        previous_pid = self._cursor_pid
        line = None if previous_pid is None else self._line_of(previous_pid)
        count = len(self._order)
        self._cursor = max(0, min(self._cursor if line is None else line, count - 1))
        row = self._row_at(self._cursor)
        self._cursor_pid = None if row is None else row.pid
        size = Size(self.scrollable_content_region.width, count + 1)
        if self.virtual_size != size:
            self.virtual_size = size
        self._scroll_to_cursor()
        self._say_counts(count, len(self._applied))
        self._paint()
        if self._cursor_pid is not None and self._cursor_pid is not previous_pid:
            self.post_message(self.Highlighted(self, self._cursor_pid))

    def _paint(self) -> None:
        """Repaint the lines whose content changed since the last paint (all of them when the frame did)."""
        top = int(self.scroll_offset.y)
        region = self.scrollable_content_region
        frame = (top, region.width, region.height, self.sort_column, self.sort_inverted, self._needle,
                 len(self._order) == 0)
        lines = tuple((row, line == self._cursor) for line in range(top, top + max(0, region.height - 1))
                      if (row := self._row_at(line)) is not None)
        drawn = (frame, *lines)
        previous = self._drawn
        self._drawn = drawn
        if not previous or previous[0] != frame or len(previous) != len(drawn):
            self.refresh()
            return
        for y, (before, now) in enumerate(zip(previous[1:], lines, strict=True), start=1):
            if before[0] is not now[0] or before[1] != now[1]:
                self.refresh(Region(0, y, region.width, 1))

    def _say_counts(self, shown: int, total: int) -> None:
        subtitle = f"{shown:,} of {total:,}" if shown != total else f"{total:,} processes"
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def _empty_text(self) -> str:
        return f"no process matches {self.filter_text.strip()!r}" if self._needle and self._by_pid else (
            "no processes yet")

    def _sort(self, column: str) -> None:
        """Sort by `column`; when it already is, the other way round."""
        if column == self.sort_column:
            self.sort_inverted = not self.sort_inverted
        else:
            self.set_reactive(ProcessList.sort_inverted, False)
            self.sort_column = column

    # -- the cursor ---------------------------------------------------------------------------

    def _move_cursor(self, line: int) -> None:
        if not self._order:
            return
        line = max(0, min(line, len(self._order) - 1))
        row = self._row_at(line)
        assert row is not None
        moved = row.pid is not self._cursor_pid
        self._cursor, self._cursor_pid = line, row.pid
        self._scroll_to_cursor()
        self._paint()
        if moved:
            self.post_message(self.Highlighted(self, row.pid))

    def _scroll_to_cursor(self) -> None:
        rows_on_screen = max(1, self.scrollable_content_region.height - 1)  # under the heading
        top = int(self.scroll_offset.y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + rows_on_screen:
            self.scroll_to(y=self._cursor - rows_on_screen + 1, animate=False, immediate=True)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    # -- actions ------------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        """Move the cursor up a line."""
        self._move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        """Move the cursor down a line."""
        self._move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        """Move the cursor up a page."""
        self._move_cursor(self._cursor - self._page())

    def action_page_down(self) -> None:
        """Move the cursor down a page."""
        self._move_cursor(self._cursor + self._page())

    def action_first(self) -> None:
        """Move the cursor to the first line."""
        self._move_cursor(0)

    def action_last(self) -> None:
        """Move the cursor to the last line."""
        self._move_cursor(len(self._order) - 1)

    def action_select(self) -> None:
        """Choose the process under the cursor."""
        if self._cursor_pid is not None:
            self.post_message(self.Selected(self, self._cursor_pid))

    def action_sort_by(self, index: int) -> None:
        """Sort by the column at `index` (again: the other way round)."""
        if 0 <= index < len(COLUMN_KEYS):
            self._sort(COLUMN_KEYS[index])

    def action_sort_step(self, step: int) -> None:
        """Sort by the column `step` places right (negative: left) of the sorted one."""
        index = COLUMN_KEYS.index(self.sort_column) if self.sort_column in COLUMN_KEYS else 0
        self.set_reactive(ProcessList.sort_inverted, False)
        self.sort_column = COLUMN_KEYS[(index + step) % len(COLUMN_KEYS)]

    def action_invert(self) -> None:
        """Sort the other way round."""
        self.sort_inverted = not self.sort_inverted


def _strip(segments: list[Segment], width: int, style: Style) -> Strip:
    """A line of exactly `width` cells, `style` under every segment's own."""
    return Strip(segments).crop_extend(0, width, None).apply_style(style)
