"""The right-hand panels driven in a tiny app: the detail with an inspection, monitor history across a restart,
the monitors panel's steady height, the limiter's window length, and what a line panel repaints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from observer.journal import MISSING
from observer.runtime import Inspection, Pid, ProcessInfo
from observer.snapshot import BucketView, MonitorCount, NodeSnapshot, ProcessDetail, Snapshot
from observer.widgets.buckets_panel import BucketsPanel
from observer.widgets.line_panel import LinePanel, changed_span
from observer.widgets.monitors_panel import MonitorsPanel
from observer.widgets.process_list import ProcessRow
from observer.widgets.process_panel import ProcessPanel

SIZE = (100, 40)


def snapshot(**changes: Any) -> Snapshot:
    fields: dict[str, Any] = {
        "taken_at": 10.0, "uptime": 10.0, "generation": 1, "root": None, "root_alive": True, "root_exit": None,
        "process_count": 1, "monitor_count": 1, "restarts": 0, "monitors": (), "buckets": (), "bucket_total": 0,
        "log": (), "host": None, "loop_lag": 0.0,
    }
    fields.update(changes)
    return Snapshot(**fields)


class PanelsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ProcessPanel()
        yield MonitorsPanel()
        yield BucketsPanel()


def text_of(panel: Any) -> str:
    console = Console(width=96, record=True, color_system=None)
    console.print(panel.content)
    return console.export_text()


STORE = Pid(4)
NODE = NodeSnapshot("store", "store", "store", STORE, "server", None, "permanent", "running", 1, "store")
DETAIL = ProcessDetail(NODE, True, "waiting", 0, (), 0, 0, 1, False, "demo <0.1.0>", 5.0, MISSING)
INFO = ProcessInfo(STORE, "store", "server", "waiting", 0, (), (), (), False, None, 0.0, 1, messages_in=40,
                   reductions=41)


async def test_the_detail_shows_the_inspection_of_the_selected_process_only() -> None:
    app = PanelsApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ProcessPanel)
        inspection = Inspection(INFO, "{'count': 3}", ("/app/store.py:10 in Store.handle_call",), "receive")
        panel.show(DETAIL, inspection, ProcessRow(STORE, "store", "server", "waiting", 0, 2.0, 2.5, 1))
        await pilot.pause()
        text = text_of(panel)
        assert "messages in  40  2.0/s" in text and "reductions   41  2.5/s" in text
        assert "state        {'count': 3}" in text and "Store.handle_call" in text and "awaiting     receive" in text
        assert "1 (permanent)" in text and "monitored by" in text
        other = Inspection(ProcessInfo(Pid(9), None, "server", "waiting", 0, (), (), (), False, None, 0.0, 0),
                           None, (), None)
        panel.show(DETAIL, other)
        await pilot.pause()
        assert "state" not in text_of(panel), "an inspection of another process is not shown as this one's"


async def test_monitor_history_goes_on_across_a_restart_and_the_panel_keeps_its_height() -> None:
    app = PanelsApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(MonitorsPanel)
        old, new = Pid(4), Pid(14)
        many = tuple(MonitorCount(Pid(20 + index), f"agent_{index}", 1, 0) for index in range(3))
        panel.snapshot = snapshot(taken_at=1.0, monitors=(MonitorCount(old, "store", 2, 0), *many))
        panel.snapshot = snapshot(taken_at=2.0, monitors=(MonitorCount(old, "store", 4, 0), *many))
        await pilot.pause()
        height = panel.size.height
        panel.snapshot = snapshot(taken_at=3.0, monitors=())  # store restarting: its monitors are gone
        await pilot.pause()
        assert panel.size.height == height, "the panel does not shrink while processes restart"
        panel.snapshot = snapshot(taken_at=4.0, monitors=(MonitorCount(new, "store", 4, 0),))
        await pilot.pause()
        line = next(line for line in text_of(panel).splitlines() if line.startswith("store"))
        assert "<0.14.0>" in line and line.rstrip().endswith("▃▆▆"), "store's history went on under its new pid"


@dataclass(frozen=True, slots=True)
class WindowedBucket(BucketView):
    """A bucket as snapshots that carry the window length give it."""

    window_ms: float = 1000.0


async def test_the_limiter_heading_gives_the_window_length_when_the_snapshot_has_it() -> None:
    app = PanelsApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(BucketsPanel)
        panel.snapshot = snapshot(buckets=(WindowedBucket("api", "alice", 4, 4, 0, 400.0),), bucket_total=1)
        await pilot.pause()
        assert "api  limit 4 per 1.0 s" in text_of(panel)
        panel.snapshot = snapshot(buckets=(BucketView("api", "alice", 4, 4, 0, 400.0),), bucket_total=1)
        await pilot.pause()
        assert "api  limit 4 per window" in text_of(panel)


class LineApp(App[None]):
    """A line panel alone, with the spans it repaints recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.repaints: list[tuple[bool, tuple[Region, ...]]] = []

    def compose(self) -> ComposeResult:
        yield RecordingPanel()


class RecordingPanel(LinePanel):
    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> RecordingPanel:
        if self.is_mounted:
            app = self.app
            assert isinstance(app, LineApp)
            app.repaints.append((layout, regions))
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self


async def test_a_line_panel_repaints_the_cells_that_changed_and_lays_out_only_for_a_new_height() -> None:
    app = LineApp()
    async with app.run_test(size=(40, 10)) as pilot:
        panel = app.query_one(RecordingPanel)
        panel.draw(Text("uptime 00:00:05\nstatus idle"))
        await pilot.pause()
        assert panel.size.height == 2 and [line.text.rstrip() for line in panel.lines] == ["uptime 00:00:05",
                                                                                            "status idle"]
        app.repaints.clear()
        panel.draw(Text("uptime 00:00:05\nstatus idle"))
        assert app.repaints == [], "the same lines: nothing to repaint"
        panel.draw(Text("uptime 00:00:06\nstatus idle"))
        assert app.repaints == [(False, (Region(14, 0, 1, 1),))], "the one digit that changed"
        panel.draw(Text.assemble("uptime 00:00:06\n", ("status idle", "bold")))
        assert app.repaints[-1] == (False, (Region(0, 1, 11, 1),)), "a style is a change too"
        panel.draw(Text("uptime 00:00:06\nstatus busy\nmailbox 3"))
        assert app.repaints[-1][0] is True, "a line more: the panel grows"
        await pilot.pause()
        assert panel.size.height == 3


def test_changed_span_finds_the_first_and_last_cell_that_differ() -> None:
    bold = Style(bold=True)
    assert changed_span([Segment("up "), Segment("00:00:05", bold)], [Segment("up "), Segment("00:00:06", bold)]) \
        == (10, 1)
    assert changed_span([Segment("same")], [Segment("same")]) is None
    assert changed_span([Segment("a·b·c")], [Segment("a-b-c")]) == (1, 3)
    assert changed_span([Segment("ab")], [Segment("abcd")]) == (2, 2), "longer: to its end"
    assert changed_span([Segment("日本")], [Segment("日x ")]) == (2, 2), "wide characters count two cells"
