"""EventLog driven in a tiny app: focus, order, drill runs, cursor and crashes, history bound, scrolling, export,
wall-clock times, and drawing only what is new."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from textual import on
from textual.app import App, ComposeResult
from textual.widgets import Input

import observer.widgets.event_log as event_log_module
from observer.journal import Cascade, DrillCheck, DrillStepNote, DrillVerdict, LogEntry, LogNote
from observer.runtime import Pid
from observer.snapshot import Snapshot
from observer.widgets.event_log import HISTORY, EventLog, default_export_path

SIZE = (100, 30)


def snapshot(log: tuple[LogEntry, ...]) -> Snapshot:
    return Snapshot(taken_at=10.0, uptime=10.0, generation=1, root=None, root_alive=True, root_exit=None,
                    process_count=1, monitor_count=0, restarts=0, monitors=(), buckets=(), bucket_total=0, log=log,
                    host=None, loop_lag=0.0)


class LogApp(App[None]):
    """An input (to tab away from) and the log, recording what the log posts."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[Cascade] = []

    def compose(self) -> ComposeResult:
        yield Input()
        yield EventLog()

    @on(EventLog.CrashOpened)
    def _opened(self, message: EventLog.CrashOpened) -> None:
        self.opened.append(message.entry)


def notes(count: int, start: int = 0) -> tuple[LogEntry, ...]:
    return tuple(LogNote(float(index), f"note {index}") for index in range(start, start + count))


CRASH = Cascade(Pid(1), "sup", "one_for_one", "worker", Pid(2), RuntimeError("boom"), 5.0, 5.1, outcome="restarted")
KILL = Cascade(Pid(1), "sup", "one_for_one", "worker", Pid(3), "killed", 6.0, 6.1, outcome="restarted")


async def test_tab_focuses_the_log_and_entries_read_newest_first() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        log.snapshot = snapshot(notes(3))
        await pilot.pause()
        assert not log.has_focus
        await pilot.press("tab")
        assert log.has_focus
        assert log.lines == ["+00:02.000 note 2", "+00:01.000 note 1", "+00:00.000 note 0"]


async def test_a_drill_run_reads_oldest_step_first_as_one_entry_under_newer_ones() -> None:
    steps = (
        DrillStepNote(9.0, "d", "first step", 0.001, checks=(DrillCheck("a holds", True, "1", "1"),)),
        DrillStepNote(9.0, "d", "second step", 0.001),
        DrillVerdict(9.0, "d", True, 0.002, steps=2),
    )
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        log.snapshot = snapshot((LogNote(8.0, "drill d: running live"), *steps, LogNote(9.5, "after")))
        await pilot.pause()
        assert [len(block) for block in log.blocks] == [1, 3, 1]
        text = [line.split(" ", 1)[1] for line in log.lines]
        assert text[0] == "after"
        first, second, verdict = (next(i for i, line in enumerate(text) if what in line)
                                  for what in ("first step", "second step", "drill d: PASS"))
        assert first < second < verdict, "the run reads in the order it ran"
        assert "✓ a holds: 1" in "\n".join(text), "the expectation keeps its value"
        assert text[-1] == "drill d: running live"


async def test_enter_on_a_crash_opens_it_and_on_another_entry_does_not() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        log.snapshot = snapshot((CRASH, KILL, LogNote(7.0, "k: exit kill sent")))
        log.focus()
        await pilot.pause()
        await pilot.press("enter")  # the note
        assert app.opened == []
        await pilot.press("down", "enter")  # the kill: no traceback
        assert app.opened == []
        await pilot.press("down", "enter")
        assert app.opened == [CRASH]
        await pilot.press("down", "enter")  # already the oldest: stays on the crash
        assert app.opened == [CRASH, CRASH]


async def test_the_log_keeps_the_newest_entries_only_and_end_reaches_the_oldest_kept() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        log.snapshot = snapshot(notes(HISTORY + 500))
        log.focus()
        await pilot.pause()
        assert len(log.entries) == HISTORY and len(log.blocks) == HISTORY
        assert log.entries[0] == LogNote(500.0, "note 500")
        await pilot.press("end")
        assert log.scroll_y == log.max_scroll_y > 0
        assert log.render_line(log.scrollable_content_region.height - 1).text.rstrip().endswith("note 500")
        await pilot.press("pageup")
        assert log.scroll_y == log.max_scroll_y - log.scrollable_content_region.height
        await pilot.press("home")
        assert log.scroll_y == 0 and log.cursor_block == (log.entries[-1],)


async def test_new_entries_do_not_move_what_a_reader_scrolled_to() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        log.snapshot = snapshot(notes(100))
        log.focus()
        await pilot.pause()
        for _ in range(40):
            await pilot.press("down")
        top = log.render_line(0).text
        cursor = log.cursor_block
        log.snapshot = snapshot(notes(103))
        await pilot.pause()
        assert log.render_line(0).text == top and log.cursor_block == cursor
        await pilot.press("home")
        log.snapshot = snapshot(notes(105))
        await pilot.pause()
        assert log.render_line(0).text.rstrip().endswith("note 104"), "at the top, the newest shows"


async def test_export_writes_json_lines_where_it_says_and_creates_the_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_export_path(0.0).parent == tmp_path / "state" / "observer"
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        log.snapshot = snapshot((CRASH, *notes(2, start=7)))
        await pilot.pause()
        written = log.export(tmp_path / "deep" / "log.jsonl")
        records = [json.loads(line) for line in written.read_text().splitlines()]
        assert [record["type"] for record in records] == ["cascade", "note", "note"], "oldest first"
        assert records[0]["reason"] == "RuntimeError: boom" and "wall" in records[0]
        log.focus()
        await pilot.press("e")
        [exported] = list((tmp_path / "state" / "observer").glob("events-*.jsonl"))
        assert len(exported.read_text().splitlines()) == 3
        assert any(str(exported) in notification.message for notification in app._notifications)


async def test_w_switches_to_wall_clock_times_and_back() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        log.wall_offset = 1_700_000_000.0
        log.snapshot = snapshot(notes(1))
        log.focus()
        await pilot.pause()
        await pilot.press("w")
        assert log.wall_clock and re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} note 0", log.lines[0])
        await pilot.press("w")
        assert log.lines == ["+00:00.000 note 0"]


async def test_read_only_the_empty_log_does_not_suggest_a_key_that_is_off() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        assert "k" in log.lines[0].split(": ")[1].split()
        log.read_only = True
        await pilot.pause()
        assert "kill" not in log.lines[0] and "no events yet" in log.lines[0]


async def test_only_new_entries_are_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[LogEntry] = []
    real = event_log_module.log_entry

    def counting(entry: LogEntry, **options: Any) -> Any:
        rendered.append(entry)
        return real(entry, **options)

    monkeypatch.setattr(event_log_module, "log_entry", counting)
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        entries = notes(51)  # the journal hands out the same entry objects tick after tick
        log.snapshot = snapshot(entries[:50])
        await pilot.pause()
        rendered.clear()
        log.snapshot = snapshot(entries)
        await pilot.pause()
        assert rendered == [entries[-1]]


async def test_a_click_chooses_an_entry_and_a_second_click_on_a_crash_opens_it() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        log.snapshot = snapshot((CRASH, LogNote(7.0, "k: exit kill sent")))
        await pilot.pause()
        left, top = log.content_region.x - log.region.x, log.content_region.y - log.region.y
        await pilot.click(EventLog, offset=(left + 2, top + 1))  # the crash, under the note
        assert log.cursor_block == (CRASH,) and app.opened == []
        await pilot.click(EventLog, offset=(left + 2, top + 1))
        assert app.opened == [CRASH]
