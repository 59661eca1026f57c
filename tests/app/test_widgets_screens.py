"""The modal screens at 80×24: help lists every key and fits, the drill picker fits, the traceback screen fits,
scrolls and closes; and the trace pane follows a trace until its limit."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, OptionList, RichLog, Static

from observer.runtime import Pid, TraceEvent
from observer.widgets.drill_picker import DrillPicker
from observer.widgets.help_screen import HelpScreen
from observer.widgets.trace_pane import TracePane
from observer.widgets.traceback_screen import TracebackScreen

SMALL = (80, 24)
APP_KEYS = (
    ("k", "Kill the selected process: exit reason \"kill\", at once, no confirmation."),
    ("K", "Ask for an exit reason (prefilled \"kill\"), then send it to the selected process."),
    ("t", "terminate_child on the selected process's supervisor."), ("r", "restart_child"),
    ("R", "Start the tree again after its root exited."), ("/", "Open the filter bar under the tree."),
    ("p", "Pause or resume refreshing."), ("+", "Refresh more often."), ("-", "Refresh less often."),
    ("d", "Pick a built-in drill and run it live on this runtime."), ("l", "Show the process list."),
    ("T", "Trace the selected process's next 100 messages."), ("s", "Suspend the selected server."),
    ("u", "Resume the selected server."), ("c", "Copy the selected pid."), ("e", "Export the event log."),
    ("?", "Show every key."), ("q", "Stop every process in order, then exit and restore the terminal."),
)


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("main screen")


def plain(renderable: Any, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def inside(region: Any, size: tuple[int, int]) -> bool:
    return region.x >= 0 and region.y >= 0 and region.right <= size[0] and region.bottom <= size[1]


async def test_help_lists_every_key_and_fits_80_columns_scrolling_when_taller() -> None:
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        await app.push_screen(HelpScreen(APP_KEYS, read_only=True))
        await pilot.pause()
        box = app.screen.query_one(VerticalScroll)
        assert inside(box.region, SMALL) and box.region.width == 80
        text = plain(app.screen.query_one(Static).content, width=box.content_region.width)
        assert max(len(line.rstrip()) for line in text.splitlines()) <= box.content_region.width
        for key, _ in APP_KEYS:
            assert any(line.startswith(key + " ") for line in text.splitlines()), key
        for widget_key in ("enter space", "→ ←", "tab", "pgup pgdn", "1-9", "< > I", "w", "ctrl+p"):
            assert any(line.startswith(widget_key) for line in text.splitlines()), widget_key
        assert text.count("\ne ") == 1, "a key the app lists is not listed again under the log"
        assert "read-only" in text and "◆ drill" in text
        assert box.max_scroll_y > 0
        await pilot.press("end")
        assert box.scroll_y == box.max_scroll_y
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_the_drill_picker_fits_80_columns_with_its_hint_on_screen() -> None:
    drills = [(f"drill-number-{index}", "kill one service and check that only it restarts, with the others "
               "keeping their pids and the supervisor restarting it within its intensity") for index in range(9)]
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        await app.push_screen(DrillPicker(drills))
        await pilot.pause()
        box = app.screen.query_one(Vertical)
        assert inside(box.region, SMALL)
        hint = app.screen.query_one(".hint", Label)
        assert inside(hint.region, SMALL) and hint.region.height >= 1
        assert app.screen.query_one(OptionList).option_count == 9


async def test_the_traceback_screen_fits_scrolls_and_escape_closes_it() -> None:
    traceback = "Traceback (most recent call last):\n" + "".join(
        f'  File "/srv/app/module_{index}.py", line {index}, in handler_{index}\n    do_something({index})\n'
        for index in range(100)) + "RuntimeError: boom"
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        await app.push_screen(TracebackScreen("store <0.4.0> died (RuntimeError: boom)", traceback))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TracebackScreen)
        assert inside(screen.query_one(Vertical).region, SMALL)
        assert inside(screen.query_one(".hint", Label).region, SMALL)
        scroll = screen.query_one(VerticalScroll)
        assert scroll.max_scroll_y > 0
        await pilot.press("end")
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("escape")
        assert not isinstance(app.screen, TracebackScreen)
        huge = TracebackScreen("x", "y" * 100_000)
        assert huge.traceback is not None and len(huge.traceback) <= 20_000 and "more characters" in huge.traceback
        await app.push_screen(TracebackScreen("w <0.5.0> died (killed)", None))
        await pilot.pause()
        assert "no traceback was kept" in plain(app.screen.query_one(VerticalScroll).query_one(Static).content)


class TraceApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.closed: list[Pid | None] = []

    def compose(self) -> ComposeResult:
        yield TracePane()

    def on_trace_pane_closed(self, message: TracePane.Closed) -> None:
        self.closed.append(message.pid)


async def test_the_trace_pane_shows_each_message_and_says_when_the_trace_stopped_by_itself() -> None:
    app = TraceApp()
    async with app.run_test(size=SMALL) as pilot:
        pane = app.query_one(TracePane)
        status = pane.query_one(".status", Static)
        assert "no trace" in str(status.content)
        store, other = Pid(4), Pid(5)
        pane.begin(store, "store <0.4.0>", limit=3, started_at=100.0)
        pane.record(TraceEvent(100.5, store, "in", ("call", "get")))
        pane.record(TraceEvent(100.6, other, "in", "not this one"))
        pane.record(TraceEvent(100.7, store, "call", "get"))
        await pilot.pause()
        assert pane.active and pane.seen == 2
        assert "2 of the next 3 messages" in plain(status.content)
        pane.record(TraceEvent(100.8, store, "reply", 42))
        pane.record(TraceEvent(100.9, store, "in", "after the limit"))
        await pilot.pause()
        assert not pane.active and pane.seen == 3 and [event.kind for event in pane.events] == ["in", "call", "reply"]
        assert "stopped by itself after 3 messages (its limit)" in plain(status.content)
        log = pane.query_one(RichLog)
        assert [strip.text.split()[1] for strip in log.lines] == ["in", "call", "reply"]
        assert log.lines[0].text.startswith("+00:00.500")
        pane.begin(store, "store <0.4.0>", limit=100)
        pane.end("stopped with T")
        await pilot.pause()
        assert "stopped with T after 0 messages" in plain(status.content) and not pane.events
        pane.focus()
        await pilot.press("escape")
        assert app.closed == [store]
