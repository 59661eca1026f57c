"""The app as a debugger: the process list, the detail panel's inspection, tracing, suspend/resume, crash
tracebacks, copying a pid, and the tree's keys."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import RichLog

from observer.journal import Cascade
from observer.runtime import CallTimeout, Pid
from observer.widgets.event_log import EventLog
from observer.widgets.process_list import ProcessList
from observer.widgets.process_panel import ProcessPanel
from observer.widgets.reason_prompt import ReasonPrompt
from observer.widgets.trace_pane import TracePane
from observer.widgets.traceback_screen import TracebackScreen

from .helpers import lines, make_app, node_named, select, started, tree_of, until
from .test_seam import crashing_tree


def process_list(app: Any) -> ProcessList:
    return app.query_one(ProcessList)


async def test_l_shows_every_process_in_the_list_and_l_again_the_tree() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await select(app, pilot, "router")
        await pilot.press("l")
        snapshot = await until(app, pilot, lambda s: len(process_list(app).rows) == 12)
        assert len(snapshot.processes) == 12
        listed = process_list(app)
        assert listed.has_focus and listed.cursor_pid == node_named(app, "router").data.node.pid  # type: ignore[union-attr]
        assert {row.name for row in listed.rows} >= {"demo", "store", "router", "agent_3", "scratch"}
        await pilot.press("l")
        await until(app, pilot, lambda s: True)
        assert tree_of(app).has_focus and app.tick() is not None
        assert not app.snapshot.processes, "the table is read only while the list is shown"  # type: ignore[union-attr]


async def test_the_list_shows_rates_from_successive_snapshots() -> None:
    now = [1000.0]
    app = make_app(clock=lambda: now[0])
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("l")
        await until(app, pilot, lambda s: len(process_list(app).rows) == 12)
        rt = app.runtime
        assert rt is not None
        for _ in range(10):
            await rt.call("store", "ping")
        now[0] += 2.0
        await until(app, pilot, lambda s: True)
        [store] = [row for row in process_list(app).rows if row.name == "store"]
        assert store.messages_per_s == pytest.approx(5.0) and store.reductions_per_s == pytest.approx(5.0)
        assert process_list(app).shown[0].name == "store", "sorted by reductions/s, the busiest first"


async def test_the_detail_panel_shows_the_selected_servers_state_stack_and_what_it_awaits() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        store = await select(app, pilot, "store")
        await until(app, pilot, lambda s: True)
        panel = app.query_one(ProcessPanel)
        assert panel.inspection is not None and panel.detail is not None
        assert panel.inspection.info.pid is store.data.node.pid  # type: ignore[union-attr]
        assert panel.inspection.awaiting == "receive" and panel.inspection.state is not None
        assert any("in Server._serve" in frame for frame in panel.inspection.stack)
        assert panel.row is not None and panel.row.awaiting == "receive"


async def test_shift_t_traces_the_selected_process_until_its_limit_and_t_again_stops_it() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        store = await select(app, pilot, "store")
        pid = store.data.node.pid  # type: ignore[union-attr]
        assert isinstance(pid, Pid)
        await pilot.press("T")
        pane = app.query_one(TracePane)
        await until(app, pilot, lambda s: pane.active)
        rt = app.runtime
        assert rt is not None
        assert await rt.call(pid, "hello") == "hello"
        await until(app, pilot, lambda s: pane.seen >= 3)
        assert [event.kind for event in pane.events] == ["in", "call", "reply"]
        assert pane.has_class("-shown")
        await pilot.press("T")
        await until(app, pilot, lambda s: not pane.active)
        await rt.call(pid, "after")
        await until(app, pilot, lambda s: True)
        assert pane.seen == 3, "the trace stopped"
        await pilot.press("T")
        await until(app, pilot, lambda s: pane.active)
        await pilot.press("escape")  # the tree has the focus: escape still closes the pane, and stops the trace
        await until(app, pilot, lambda s: True)
        assert not pane.has_class("-shown") and not pane.active


async def test_the_trace_pane_cuts_long_lines_to_its_width_and_never_scrolls_sideways() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        store = await select(app, pilot, "store")
        pid = store.data.node.pid  # type: ignore[union-attr]
        await pilot.press("T")
        pane = app.query_one(TracePane)
        await until(app, pilot, lambda s: pane.active)
        rt = app.runtime
        assert rt is not None
        long = "a message far longer than the right column of an 80-column terminal"
        assert await rt.call(pid, long) == long
        await until(app, pilot, lambda s: pane.seen >= 3)
        log = pane.query_one(RichLog)
        width = log.scrollable_content_region.width
        assert 0 < width < len(long)
        assert not log.show_horizontal_scrollbar and log.virtual_size.width <= width
        assert all(line.cell_length <= width for line in log.lines)
        assert log.lines[0].text.rstrip().endswith("…"), "a cut line says so"
        await pilot.resize_terminal(160, 48)
        await until(app, pilot, lambda s: log.scrollable_content_region.width > width)
        await pilot.pause()
        assert long[:30] in log.lines[0].text, "widened, the kept lines are cut again to the new width"
        assert not log.show_horizontal_scrollbar


async def test_tracing_suspending_and_resuming_are_refused_read_only() -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await select(app, pilot, "store")
        for action in ("trace", "suspend", "resume"):
            assert app.check_action(action, ()) is None
        await pilot.press("T", "s")
        await until(app, pilot, lambda s: True)
        assert not app.query_one(TracePane).active
        assert sum("read-only" in notification.message for notification in app._notifications) == 2


async def test_s_suspends_the_selected_server_until_u_resumes_it() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        store = await select(app, pilot, "store")
        await pilot.press("s")
        await until(app, pilot, lambda s: "suspended" in store.label.plain)  # type: ignore[union-attr]
        rt = app.runtime
        assert rt is not None
        with pytest.raises(CallTimeout):
            await rt.call("store", "ping", timeout=0.05)
        await pilot.press("u")
        await until(app, pilot, lambda s: "suspended" not in store.label.plain)  # type: ignore[union-attr]
        assert await rt.call("store", "ping") == "ping"


async def test_enter_on_a_crash_in_the_log_opens_its_traceback() -> None:
    app = make_app(crashing_tree)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        rt.cast("crasher", "crash")
        await until(app, pilot, lambda s: any(isinstance(e, Cascade) and e.outcome == "restarted" for e in s.log))
        app.query_one(EventLog).focus()
        await pilot.press("home", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TracebackScreen)
        assert app.screen.traceback is not None and "in explode" in app.screen.traceback
        await pilot.press("escape")
        assert not isinstance(app.screen, TracebackScreen)


async def test_c_copies_the_selected_pid() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        store = await select(app, pilot, "store")
        await pilot.press("c")
        assert app.clipboard == repr(store.data.node.pid)  # type: ignore[union-attr]


async def test_enter_and_left_right_close_and_open_a_supervisor() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        services = await select(app, pilot, "services")
        await pilot.press("enter")
        assert not services.is_expanded and "router" not in " ".join(lines(app))
        await pilot.press("enter")
        assert services.is_expanded
        await pilot.press("left")
        assert not services.is_expanded
        await pilot.press("right")
        assert services.is_expanded
        await pilot.press("right")
        assert tree_of(app).cursor_node is node_named(app, "rate_limiter")
        await pilot.press("left")
        assert tree_of(app).cursor_node is services


async def test_confirm_kill_asks_before_k_kills() -> None:
    app = make_app(confirm_kill=True)
    async with app.run_test(size=(160, 48)) as pilot:
        before = await started(app, pilot)
        await select(app, pilot, "router")
        await pilot.press("k")
        assert isinstance(app.screen, ReasonPrompt)
        await pilot.press("escape")
        after = await until(app, pilot, lambda s: True)
        assert after.restarts == before.restarts == 0
