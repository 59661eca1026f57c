"""ProcessList driven in a tiny app: order, sorting keys and clicks, filter, cursor, messages, and no idle repaint."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import on
from textual.app import App, ComposeResult

from observer.renderables.process_table import column_widths
from observer.runtime import Pid
from observer.widgets.process_list import ProcessList, ProcessRow

SIZE = (100, 20)


class ListApp(App[None]):
    """A process list alone, recording what it posts."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[tuple[str, Pid]] = []

    def compose(self) -> ComposeResult:
        yield ProcessList()

    def on_mount(self) -> None:
        self.query_one(ProcessList).focus()

    @on(ProcessList.Highlighted)
    def _highlighted(self, message: ProcessList.Highlighted) -> None:
        self.posted.append(("highlighted", message.pid))

    @on(ProcessList.Selected)
    def _selected(self, message: ProcessList.Selected) -> None:
        self.posted.append(("selected", message.pid))


PIDS = tuple(Pid(index) for index in range(40))


def row(index: int, **changes: Any) -> ProcessRow:
    fields: dict[str, Any] = {"pid": PIDS[index], "name": f"worker_{index}", "kind": "server", "status": "waiting",
                              "mailbox": index % 4, "messages_per_s": 0.0, "reductions_per_s": float(index),
                              "restarts": 0, "awaiting": "receive"}
    fields.update(changes)
    return ProcessRow(**fields)


def names(widget: ProcessList) -> list[str]:
    return [r.name for r in widget.shown]


def screen_lines(widget: ProcessList) -> list[str]:
    return [widget.render_line(y).text.rstrip() for y in range(widget.scrollable_content_region.height)]


async def test_the_busiest_come_first_and_number_keys_sort_by_a_column_then_invert() -> None:
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(ProcessList)
        widget.rows = tuple(row(index) for index in range(6))
        await pilot.pause()
        assert names(widget)[:3] == ["worker_5", "worker_4", "worker_3"], "reductions/s, largest first"
        lines = screen_lines(widget)
        assert "red/s▼" in lines[0] and lines[1].startswith("<0.5.0>")
        await pilot.press("5")  # mailbox
        assert widget.sort_column == "mailbox" and not widget.sort_inverted
        assert [r.mailbox for r in widget.shown] == [3, 2, 1, 1, 0, 0]
        assert [r.pid.id for r in widget.shown][-2:] == [0, 4], "ties by pid"
        await pilot.press("5")
        assert widget.sort_inverted and widget.shown[0].mailbox == 0
        await pilot.press("greater_than_sign")
        assert widget.sort_column == "messages_per_s" and not widget.sort_inverted
        await pilot.press("less_than_sign", "less_than_sign")
        assert widget.sort_column == "status"
        await pilot.press("2", "I")
        assert widget.sort_column == "name" and widget.sort_inverted and names(widget)[0] == "worker_5"


async def test_a_click_on_a_heading_sorts_by_it_and_a_click_on_a_line_selects_it() -> None:
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(ProcessList)
        widget.rows = tuple(row(index) for index in range(6))
        await pilot.pause()
        widths = column_widths(widget.scrollable_content_region.width)
        name_x = widths[0] + 1
        left, top = widget.content_region.x - widget.region.x, widget.content_region.y - widget.region.y
        await pilot.click(ProcessList, offset=(left + name_x + 1, top))
        assert widget.sort_column == "name" and names(widget)[0] == "worker_0"
        await pilot.click(ProcessList, offset=(left + name_x + 1, top))
        assert widget.sort_inverted
        app.posted.clear()
        await pilot.click(ProcessList, offset=(left + 2, top + 3))  # the third line
        await pilot.pause()
        third = widget.shown[2].pid
        assert widget.cursor_pid is third and ("selected", third) in app.posted


async def test_the_filter_keeps_names_and_pids_that_match_and_says_when_none_does() -> None:
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(ProcessList)
        widget.rows = tuple(row(index) for index in range(30))
        widget.filter_text = "WORKER_2"
        await pilot.pause()
        assert sorted(names(widget)) == ["worker_2", *(f"worker_{n}" for n in range(20, 30))]
        assert widget.border_subtitle == "11 of 30"
        widget.filter_text = "0.7."
        await pilot.pause()
        assert names(widget) == ["worker_7"]
        widget.rows = (*widget.rows, row(37, name="like 0.7.0"), row(38))  # a new row that matches, one that does not
        await pilot.pause()
        assert names(widget) == ["like 0.7.0", "worker_7"]
        widget.filter_text = "nothing"
        await pilot.pause()
        assert widget.shown == () and "no process matches 'nothing'" in screen_lines(widget)[1]


async def test_the_cursor_stays_on_its_process_when_the_order_changes_and_moves_are_posted() -> None:
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(ProcessList)
        rows = tuple(row(index) for index in range(30))
        widget.rows = rows
        await pilot.pause()
        await pilot.press("down", "down")
        chosen = widget.cursor_pid
        assert chosen is widget.shown[2].pid and app.posted[-1] == ("highlighted", chosen)
        busier = tuple(replace(r, reductions_per_s=1_000.0) if r.pid is widget.shown[10].pid else r for r in rows)
        widget.rows = busier
        await pilot.pause()
        assert widget.cursor_pid is chosen and widget.shown[3].pid is chosen, "it moved down one with its process"
        await pilot.press("enter")
        assert app.posted[-1] == ("selected", chosen)
        await pilot.press("end")
        assert widget.cursor_pid is widget.shown[-1].pid
        lines = screen_lines(widget)
        assert lines[-1].startswith(repr(widget.cursor_pid)), "the view followed the cursor to the end"
        await pilot.press("home")
        assert widget.cursor_pid is widget.shown[0].pid
        departed = widget.cursor_pid
        widget.rows = tuple(r for r in busier if r.pid is not departed)  # the process under the cursor exits
        await pilot.pause()
        assert len(widget.shown) == 29 and widget.cursor_pid is widget.shown[0].pid is not departed
        assert app.posted[-1] == ("highlighted", widget.cursor_pid), "the line under the cursor shows another process"


async def test_rows_that_did_not_change_repaint_nothing_and_a_change_off_screen_repaints_nothing() -> None:
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(ProcessList)
        rows = tuple(row(index) for index in range(40))
        widget.rows = rows
        await pilot.pause()
        repaints: list[object] = []
        refresh = widget.refresh

        def counting(*regions: Any, **options: Any) -> Any:
            repaints.append(regions)
            return refresh(*regions, **options)

        widget.refresh = counting  # type: ignore[method-assign]
        widget.rows = tuple(rows)  # a new tuple of the same rows: what a snapshot with nothing changed gives
        await pilot.pause()
        assert repaints == []
        last = widget.shown[-1]  # sorted by reductions/s: worker_0, far below the screen
        widget.rows = tuple(replace(r, mailbox=1) if r is last else r for r in rows)
        await pilot.pause()
        assert repaints == [], "a change below the screen draws nothing"
        top = widget.shown[0]
        widget.rows = tuple(replace(r, mailbox=9) if r.pid is top.pid else r for r in widget.rows)
        await pilot.pause()
        assert len(repaints) == 1 and len(repaints[0]) == 1, "one changed line on screen repaints that line only"
        assert "9" in screen_lines(widget)[1]
