"""EventLog: restart cascades, notes and drill runs, newest first, focusable, scrollable and exportable."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from observer.journal import Cascade, DrillStepNote, DrillVerdict, LogEntry
from observer.renderables.cascade import is_crash, log_entry
from observer.renderables.log_records import entry_record
from observer.snapshot import Snapshot

HISTORY = 1_000
"""Entries kept and shown (the newest); the app's journal should keep as many (`Journal(max_entries=HISTORY)`)."""
EMPTY = "no events yet: kill a process with k to watch its supervisor restart it"
EMPTY_READ_ONLY = "no events yet: restarts, exits and actions show here as they happen"

Block = tuple[LogEntry, ...]
"""What the log shows as one entry: one log entry, or the steps and the verdict of one drill run."""


def default_export_path(now: float | None = None) -> Path:
    """Where `EventLog.export` writes by default: ``$XDG_STATE_HOME/observer/events-YYYYmmdd-HHMMSS.jsonl``.

    ``$XDG_STATE_HOME`` defaults to ``~/.local/state`` (the XDG base directory rule for state
    that should survive a restart, such as logs and history).
    """
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return Path(state) / "observer" / f"events-{stamp}.jsonl"


class EventLog(ScrollView, can_focus=True):
    """The event log: each restart cascade as one entry, the newest at the top.

    The app sets `snapshot` every tick (only a changed `snapshot.log` is drawn again) and
    `started_at` once (entries show the time since); `wall_offset` (``time.time() - rt.clock()``)
    when its runtime's clock is not `time.monotonic`, and `read_only`. The log keeps the last
    `HISTORY` entries; the steps and verdict of one live drill run read as one entry, oldest
    step first, under the newer entries above it. Tab focuses it: up and down move from entry
    to entry, page up and down, home and end scroll; enter on a crash posts `CrashOpened` (the
    app opens its traceback); ``e`` writes the whole log as JSON lines (`export`) and says
    where; ``w`` switches between the time since start and the wall-clock time (`wall_clock`).
    Only what is new is rendered: each entry is drawn once per width, then reused.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Newer", show=False),
        Binding("down", "cursor_down", "Older", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "Newest", show=False),
        Binding("end", "last", "Oldest", show=False),
        Binding("enter", "open", "Traceback", show=False),
        Binding("e", "export", "Export log"),
        Binding("w", "toggle_wall_clock", "Wall clock"),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | up, down | Move to the newer or older entry. |
    | pageup, pagedown, home, end | Scroll a page, to the newest, to the oldest. |
    | enter | Open the traceback of the crash under the cursor (posts `CrashOpened`). |
    | e | Export the log as JSON lines and say where it was written. |
    | w | Show wall-clock times, or the time since start. |
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"event-log--cursor"}

    DEFAULT_CSS = """
    EventLog {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        &:focus {
            border: round $primary;
        }
        & > .event-log--cursor {
            background: $primary 30%;
        }
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True)
    """The latest snapshot."""
    started_at: var[float] = var(0.0)
    """When the app started its runtime (entries show the time since)."""
    wall_clock: var[bool] = var(False)
    """Show each entry's wall-clock time of day instead of the time since start."""
    wall_offset: var[float | None] = var(None)
    """Seconds to add to a runtime-clock time to get a Unix time (None: the runtime's clock is `time.monotonic`)."""
    read_only: var[bool] = var(False)
    """The app cannot act on the runtime (the empty log does not suggest a key that is off)."""

    class CrashOpened(Message):
        """Enter on a crash: the app shows its traceback."""

        def __init__(self, event_log: EventLog, entry: Cascade) -> None:
            self.event_log = event_log
            self.entry = entry
            """The cascade the crash began (its `pid` and `reason` name the crash)."""
            super().__init__()

        @property
        def control(self) -> EventLog:
            """The log it was opened from."""
            return self.event_log

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create an empty log."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._drawn: tuple[LogEntry, ...] | None = None  # the log last laid out
        self._entries: tuple[LogEntry, ...] = ()  # the entries kept, oldest first
        self._blocks: list[Block] = []  # newest first
        # Invariant: `_lines` is every block's rendered lines in display order, `_starts[i]` the
        # first line of `_blocks[i]` (and `_starts[-1]` one past the last line).
        self._lines: list[Strip] = []
        self._starts: list[int] = [0]
        self._rendered: dict[int, tuple[LogEntry, list[Strip]]] = {}  # by id(entry), for `_render_key`
        self._render_key: tuple[object, ...] = ()
        self._cursor = 0  # index into _blocks
        self._clicked: int | None = None  # the block a first click chose (a second one opens it)

    # -- public -------------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[LogEntry, ...]:
        """The entries kept, oldest first (at most `HISTORY`)."""
        return self._entries

    @property
    def blocks(self) -> tuple[Block, ...]:
        """What the log shows, newest first: single entries and whole drill runs (oldest step first)."""
        return tuple(self._blocks)

    @property
    def cursor_block(self) -> Block | None:
        """The block under the cursor, if the log has any."""
        return self._blocks[self._cursor] if self._blocks else None

    @property
    def lines(self) -> list[str]:
        """The log as it is drawn, one plain string per line (for tests and copying)."""
        return [strip.text.rstrip() for strip in self._lines] or [self._empty_text()]

    def export(self, path: Path | str | None = None) -> Path:
        """Write every entry kept, oldest first, as one JSON object per line.

        Args:
            path: Where to write; the default is `default_export_path()`. Missing directories are created.

        Returns:
            The path written.

        Raises:
            OSError: The file could not be written.
        """
        target = default_export_path() if path is None else Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        offset = self._wall_offset()
        with target.open("w", encoding="utf-8") as out:
            for entry in self._entries:
                out.write(json.dumps(entry_record(entry, started_at=self.started_at, wall_offset=offset)) + "\n")
        return target

    def on_mount(self) -> None:
        self.border_title = "Events"

    # -- rendering ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """The line `y` rows below the top of the view, the cursor's entry highlighted while focused."""
        width = self.scrollable_content_region.width
        line = int(self.scroll_offset.y) + y
        base = self.rich_style
        if not self._lines:
            if y == 0:
                text = Text(self._empty_text(), style="bright_black", no_wrap=True, overflow="ellipsis")
                return Strip(text.render(self.app.console), text.cell_len).crop_extend(0, width, None).apply_style(
                    base)
            return Strip.blank(width, base)
        if line >= len(self._lines):
            return Strip.blank(width, base)
        strip = self._lines[line].crop_extend(0, width, None)
        if self.has_focus and self._starts[self._cursor] <= line < self._starts[self._cursor + 1]:
            strip = strip.apply_style(self.get_component_rich_style("event-log--cursor"))
        return strip.apply_style(base)

    # -- reacting -----------------------------------------------------------------------------

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None or snapshot.log is self._drawn:
            return
        self._drawn = snapshot.log
        self._lay_out(snapshot.log[-HISTORY:])

    def watch_started_at(self) -> None:
        self._lay_out(self._entries)

    def watch_wall_clock(self) -> None:
        self._lay_out(self._entries)

    def watch_wall_offset(self) -> None:
        self._lay_out(self._entries)

    def watch_read_only(self) -> None:
        self.refresh()

    def _on_resize(self, event: events.Resize) -> None:
        self._lay_out(self._entries)

    def _on_focus(self, event: events.Focus) -> None:
        """Focused: the cursor comes onto the first entry in view if it is not in view."""
        if self._blocks:
            top = int(self.scroll_offset.y)
            first, end = self._starts[self._cursor], self._starts[self._cursor + 1]
            if end <= top or first >= top + self.scrollable_content_region.height:
                block = _block_index(self._starts, top)
                self._cursor = block + 1 if self._starts[block] < top and block + 1 < len(self._blocks) else block

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self._blocks:
            return
        block = self._block_at(int(self.scroll_offset.y) + offset.y)
        if block is None:
            return
        if block == self._clicked and block == self._cursor:
            self.action_open()
        self._clicked = block
        self._move_cursor(block)

    # -- laying out ---------------------------------------------------------------------------

    def _lay_out(self, entries: tuple[LogEntry, ...]) -> None:
        """Show `entries` (oldest first): render the new ones, keep the cursor and the view where they were."""
        old_blocks, old_starts = self._blocks, self._starts
        cursor_from_end = len(old_blocks) - 1 - self._cursor  # blocks arrive at the top: count from the bottom
        top = int(self.scroll_offset.y)
        top_block = _block_index(old_starts, top) if old_blocks and top > 0 else None
        top_from_end = None if top_block is None else len(old_blocks) - 1 - top_block
        top_within = 0 if top_block is None else top - old_starts[top_block]

        self._entries = entries
        blocks = _blocks(entries)
        blocks.reverse()
        width = self.scrollable_content_region.width
        lines: list[Strip] = []
        starts = [0]
        if width > 0:
            rendered = self._renderer(width)
            for block in blocks:
                for entry in block:
                    lines.extend(rendered(entry))
                starts.append(len(lines))
        else:  # not laid out yet: drawn on the first resize
            starts.extend(0 for _ in blocks)
        self._blocks, self._lines, self._starts = blocks, lines, starts
        # The cursor stays on its entry (counted from the oldest end, where nothing arrives); new log: the newest.
        self._cursor = 0 if not old_blocks else max(0, min(len(blocks) - 1 - cursor_from_end, len(blocks) - 1))
        self.virtual_size = Size(width, max(1, len(lines)))
        if top_from_end is not None and blocks:
            anchor = max(0, min(len(blocks) - 1 - top_from_end, len(blocks) - 1))
            self.scroll_to(y=starts[anchor] + top_within, animate=False, immediate=True)
        self.refresh()

    def _renderer(self, width: int) -> Callable[[LogEntry], list[Strip]]:
        """Renders one entry to lines at `width`, reusing what was rendered for the same entry and settings."""
        offset = self._wall_offset() if self.wall_clock else None
        key = (width, offset, self.started_at)
        if key != self._render_key:
            self._render_key = key
            self._rendered = {}
        previous: dict[int, tuple[LogEntry, list[Strip]]] = self._rendered
        kept: dict[int, tuple[LogEntry, list[Strip]]] = {}
        console = self.app.console
        options = console.options.update(width=width, highlight=False)

        def render(entry: LogEntry) -> list[Strip]:
            cached = previous.get(id(entry))
            if cached is None or cached[0] is not entry:  # an id can be reused once its entry is gone
                table = log_entry(entry, started_at=self.started_at, wall_offset=offset)
                strips = [Strip(line, width) for line in console.render_lines(table, options, pad=True)]
                cached = (entry, strips)
            kept[id(entry)] = cached
            return cached[1]

        self._rendered = kept
        return render

    def _wall_offset(self) -> float:
        offset = self.wall_offset
        return time.time() - time.monotonic() if offset is None else offset

    def _empty_text(self) -> str:
        return EMPTY_READ_ONLY if self.read_only else EMPTY

    def _block_at(self, line: int) -> int | None:
        if not self._blocks or not 0 <= line < len(self._lines):
            return None
        return _block_index(self._starts, line)

    # -- the cursor ---------------------------------------------------------------------------

    def _move_cursor(self, block: int) -> None:
        if not self._blocks:
            return
        self._cursor = max(0, min(block, len(self._blocks) - 1))
        first, end = self._starts[self._cursor], self._starts[self._cursor + 1]
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        if first < top or end - first > height:
            self.scroll_to(y=first, animate=False, immediate=True)
        elif end > top + height:
            self.scroll_to(y=end - height, animate=False, immediate=True)
        self.refresh()

    def _page(self, direction: int) -> None:
        """Scroll a page up (-1) or down (1); the cursor goes to the first entry that starts in view."""
        if not self._blocks:
            return
        height = max(1, self.scrollable_content_region.height)
        top = max(0, min(int(self.scroll_offset.y) + direction * height, max(0, len(self._lines) - height)))
        self.scroll_to(y=top, animate=False, immediate=True)
        block = _block_index(self._starts, top)
        if self._starts[block] < top and block + 1 < len(self._blocks):
            block += 1  # the first entry that starts in view
        self._cursor = block
        self.refresh()

    # -- actions ------------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        """Move to the newer entry."""
        self._move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        """Move to the older entry."""
        self._move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        """Scroll up a page; the cursor goes to the first entry in view."""
        self._page(-1)

    def action_page_down(self) -> None:
        """Scroll down a page; the cursor goes to the first entry in view."""
        self._page(1)

    def action_first(self) -> None:
        """Go to the newest entry."""
        self._move_cursor(0)

    def action_last(self) -> None:
        """Go to the oldest entry."""
        self._move_cursor(len(self._blocks) - 1)

    def action_open(self) -> None:
        """Open the traceback of the crash under the cursor."""
        block = self.cursor_block
        crash = None if block is None else next((entry for entry in block if is_crash(entry)), None)
        if isinstance(crash, Cascade):
            self.post_message(self.CrashOpened(self, crash))
        elif block is not None:
            self.notify("this entry is not a crash: only a child that raised has a traceback", timeout=3)

    def action_export(self) -> None:
        """Export the log as JSON lines and say where it was written."""
        try:
            path = self.export()
        except OSError as error:
            self.notify(f"could not export the event log: {error}", severity="error")
            return
        self.notify(f"{len(self._entries):,} log entries written to {path}", title="Event log exported")

    def action_toggle_wall_clock(self) -> None:
        """Show wall-clock times, or the time since start."""
        self.wall_clock = not self.wall_clock


def _blocks(entries: Sequence[LogEntry]) -> list[Block]:
    """Entries, oldest first, as blocks: the steps and verdict of one drill run together, in order."""
    blocks: list[Block] = []
    run: list[DrillStepNote | DrillVerdict] = []
    for entry in entries:
        if isinstance(entry, DrillStepNote | DrillVerdict):
            if run and not _same_run(run[-1], entry):
                blocks.append(tuple(run))
                run = []
            run.append(entry)
            if isinstance(entry, DrillVerdict):
                blocks.append(tuple(run))
                run = []
            continue
        if run:
            blocks.append(tuple(run))
            run = []
        blocks.append((entry,))
    if run:
        blocks.append(tuple(run))
    return blocks


def _same_run(earlier: DrillStepNote | DrillVerdict, later: DrillStepNote | DrillVerdict) -> bool:
    """Whether two drill entries belong to one run (the app logs a run's steps and verdict at once)."""
    return isinstance(earlier, DrillStepNote) and earlier.drill == later.drill and earlier.at == later.at


def _block_index(starts: Sequence[int], line: int) -> int:
    """The block whose lines include `line` (`starts` as in `EventLog._starts`)."""
    low, high = 0, len(starts) - 2
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= line:
            low = middle
        else:
            high = middle - 1
    return max(0, low)

