"""Unit tests of the process list's lines and order, and of the detail panel with state, stack and counters."""

from __future__ import annotations

from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

from observer.journal import MISSING
from observer.renderables.figures import process_detail, process_detail_key
from observer.renderables.inspection import frame_text, stack_lines, state_lines
from observer.renderables.process_table import (
    COLUMNS,
    ProcessRow,
    column_at,
    column_widths,
    header_segments,
    matches,
    row_segments,
    sorted_rows,
)
from observer.renderables.rows import KeyValueRows
from observer.runtime import Inspection, Pid, ProcessInfo
from observer.snapshot import NodeSnapshot, ProcessDetail


def plain(renderable: object, width: int = 100) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return [line.rstrip() for line in console.export_text().splitlines()]


def row(pid: int, **changes: object) -> ProcessRow:
    fields: dict[str, object] = {"pid": Pid(pid), "name": f"w{pid}", "kind": "server", "status": "waiting",
                                 "mailbox": 0, "messages_per_s": 0.0, "reductions_per_s": 0.0, "restarts": 0,
                                 "awaiting": "receive"}
    fields.update(changes)
    return ProcessRow(**fields)  # type: ignore[arg-type]


def test_fixed_columns_keep_their_widths_at_any_size_and_every_line_fits() -> None:
    for width in (78, 120, 158):
        widths = column_widths(width)
        assert sum(widths) + len(widths) - 1 <= width
        fixed = [w for w, column in zip(widths, COLUMNS, strict=True) if column.width]
        assert fixed == [column.width for column in COLUMNS if column.width]
        line = "".join(segment.text for segment in row_segments(row(1, name="x" * 200, awaiting="y" * 200), widths))
        assert len(line) == sum(widths) + len(widths) - 1 and "…" in line
    widths = column_widths(158)
    assert column_at(0, widths) == "pid" and column_at(widths[0], widths) is None
    assert column_at(widths[0] + 1, widths) == "name"


def test_the_heading_marks_the_sorted_column_and_which_way() -> None:
    widths = column_widths(120)
    heading = "".join(segment.text for segment in header_segments(widths, "mailbox", False))
    assert "mailbox▼" in heading
    assert "msg/s" in heading and "red/s" in heading and "awaiting" in heading
    assert "pid▼" in "".join(s.text for s in header_segments(widths, "pid", True))
    assert "name▲" in "".join(s.text for s in header_segments(widths, "name", False))


def test_numbers_sort_largest_first_text_a_to_z_ties_by_pid_and_inverted_the_other_way() -> None:
    rows = [row(3, mailbox=5, name="b"), row(1, mailbox=5, name="C"), row(2, mailbox=9, name="a")]
    assert [r.pid.id for r in sorted_rows(rows, "mailbox")] == [2, 1, 3]
    assert [r.pid.id for r in sorted_rows(rows, "mailbox", inverted=True)] == [3, 1, 2]
    assert [r.name for r in sorted_rows(rows, "name")] == ["a", "b", "C"]
    assert [r.pid.id for r in sorted_rows(rows, "pid")] == [1, 2, 3]
    assert [r.pid.id for r in sorted_rows([row(1, awaiting=None), row(2, awaiting="call")], "awaiting")] == [1, 2]


def test_the_filter_finds_a_name_or_a_pid() -> None:
    assert matches(row(12, name="Store"), "store") and matches(row(12), "0.12") and not matches(row(12), "zzz")


def test_a_line_shows_every_figure_short() -> None:
    widths = column_widths(120)
    line = "".join(s.text for s in row_segments(row(7, mailbox=123_456, messages_per_s=12_345.0,
                                                     reductions_per_s=0.4, restarts=2, kind="dynamic_supervisor",
                                                     status="running"), widths))
    for part in ("<0.7.0>", "w7", "dynamic", "running", "123.5k", "12.3k", "0.4", "2", "receive"):
        assert part in line


def test_frames_are_shortened_from_the_left_keeping_line_and_function() -> None:
    frame = "/home/someone/.venv/lib/python3.11/site-packages/observer/runtime/server.py:120 in Server._loop"
    assert frame_text(frame, 200) == frame
    short = frame_text(frame, 50)
    assert len(short) == 50 and short.startswith("…") and short.endswith("server.py:120 in Server._loop")
    assert len(frame_text(frame, 20)) == 20


def test_the_stack_ends_with_the_innermost_frame_and_says_what_was_left_out() -> None:
    stack = tuple(f"/x/f{i}.py:{i} in f{i}" for i in range(20))
    lines = [line.plain for line in stack_lines(stack, 60, frames=5)]
    assert lines[0] == "… 15 outer frames" and lines[-1] == "/x/f19.py:19 in f19" and len(lines) == 6
    assert [line.plain for line in stack_lines((), 60)] == ["-"]


def test_state_text_is_cut_to_a_few_lines_that_fit() -> None:
    state = "\n".join(f"field_{i} = {'v' * 100}" for i in range(20))
    lines = [line.plain for line in state_lines(state, 40, lines=4)]
    assert len(lines) == 5 and all(len(line) <= 40 for line in lines) and lines[-1] == "… 16 more lines"
    assert state_lines(None, 40)[0].plain == "- (not a server)"


def detail() -> ProcessDetail:
    node = NodeSnapshot("store", "store", "store", Pid(4), "server", None, "permanent", "running", 1, "store")
    return ProcessDetail(node, True, "waiting", 0, (), 0, 0, 2, False, "demo <0.1.0>", 5.0, MISSING)


def inspection(**changes: object) -> Inspection:
    info = ProcessInfo(Pid(4), "store", "server", "waiting", 0, (), (), (), False, None, 0.0, 1,
                       messages_in=1_234, reductions=5_678)
    fields: dict[str, object] = {"info": info, "state": "{'count': 3, 'token': '***'}",
                                 "stack": ("/a/observer/runtime/server.py:10 in Server._loop",
                                           "/a/observer/runtime/mailbox.py:20 in Mailbox.receive"),
                                 "awaiting": "receive"}
    fields.update(changes)
    return Inspection(**fields)  # type: ignore[arg-type]


def test_the_detail_shows_state_stack_awaiting_and_counters_with_rates() -> None:
    lines = plain(process_detail(detail(), inspection(), row(4, messages_per_s=12.0, reductions_per_s=3.4), width=80))
    text = "\n".join(lines)
    assert "monitored by" in text and "holds on it" not in text
    assert "restarts     1 (permanent)" in text
    assert "kind         worker (server)" in text
    assert "messages in  1,234  12/s" in text and "reductions   5,678  3.4/s" in text
    assert "awaiting     receive" in text and "state        {'count': 3, 'token': '***'}" in text
    stack = [index for index, line in enumerate(lines) if "runtime/" in line]
    assert lines[stack[0]].startswith("stack") and lines[stack[-1]].endswith("Mailbox.receive"), "innermost last"
    without = "\n".join(plain(process_detail(detail())))
    assert "stack" not in without and "messages in" not in without


def test_the_detail_key_changes_with_what_is_shown_only() -> None:
    shown, looked = detail(), inspection()  # pids compare by identity: one of each
    first = process_detail_key(shown, looked, row(4, messages_per_s=12.01))
    assert first == process_detail_key(shown, looked, row(4, messages_per_s=12.02)), "the rate shows as 12"
    assert first != process_detail_key(shown, inspection(awaiting="sleep"), row(4, messages_per_s=12.01))


def _cells(renderable: object, width: int) -> list[list[tuple[str, object]]]:
    """Each line's characters with their styles (a space's style is invisible: left out), trailing spaces cut."""
    console = Console(width=width, color_system="truecolor")
    lines = []
    for line in console.render_lines(renderable, console.options.update_width(width), pad=True):
        cells = [(char, None if char == " " else segment.style) for segment in line for char in segment.text]
        while cells and cells[-1][0] == " ":
            cells.pop()
        lines.append(cells)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_key_value_rows_draw_what_a_grid_table_would() -> None:
    key = Style(color="bright_black")
    rows: list[tuple[str, Text | str]] = [
        ("process", Text.assemble(("●", "green"), " store ", ("<0.4.0>", "dim"), (" ↻1", "yellow"), no_wrap=True)),
        ("status", Text("● idle (waiting in receive)", "green")),
        ("links", "3: " + ", ".join(f"agent_{n} <0.{n}.0>" for n in range(12))),
        ("stack", Text("…/observer/runtime/mailbox.py:90 in Mailbox.receive", "bold", no_wrap=True)),
        ("", Text("a [bold]markup-looking[/bold] value, shown as it is")),
        ("monitored by", "2"),
    ]
    for width in (30, 60, 100):
        table = Table.grid(padding=(0, 1))
        table.add_column(style=key, no_wrap=True, width=12)
        table.add_column()
        for name, value in rows:
            table.add_row(name, value if isinstance(value, Text) else Text(value))
        assert _cells(KeyValueRows.of(rows, key_width=12, key_style=key), width) == _cells(table, width), width


def test_key_value_rows_put_figures_flush_right_after_the_widest_key() -> None:
    figures = KeyValueRows.of([("cpu", "12 %"), ("rss", "48.0 MiB"), ("loop lag", Text("850 µs", "bold"))],
                              key_style=Style(), justify="right")
    assert plain(figures, width=24) == ["cpu          12 %", "rss      48.0 MiB", "loop lag   850 µs"]
