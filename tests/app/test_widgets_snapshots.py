"""Snapshot tests of the debugging widgets alone, in tiny apps with fixed data, at 80×24 and 160×48.

Run with ``--snapshot-update`` to accept a changed screen after looking at the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget

from observer.journal import Cascade, CascadeStep, DrillCheck, DrillStepNote, DrillVerdict, LogNote
from observer.runtime import Inspection, Pid, ProcessInfo, TraceEvent
from observer.snapshot import NodeSnapshot, ProcessDetail, Snapshot
from observer.widgets.event_log import EventLog
from observer.widgets.help_screen import HelpScreen
from observer.widgets.process_list import ProcessList, ProcessRow
from observer.widgets.process_panel import ProcessPanel
from observer.widgets.trace_pane import TracePane
from observer.widgets.traceback_screen import TracebackScreen
from tests.app.test_widgets_screens import APP_KEYS

SnapCompare = Callable[..., bool]
SMALL, LARGE = (80, 24), (160, 48)
PIDS = tuple(Pid(index) for index in range(60))
KINDS = ("server", "process", "supervisor", "dynamic_supervisor")


class One(App[None]):
    """One widget filling the screen."""

    def __init__(self, make: Callable[[], Widget]) -> None:
        super().__init__()
        self._make = make

    def compose(self) -> ComposeResult:
        yield self._make()


def rows() -> tuple[ProcessRow, ...]:
    return tuple(
        ProcessRow(PIDS[index], f"agent_{index}" if index % 5 else "", KINDS[index % 4],
                   "running" if index % 7 == 0 else "waiting", (index * 37) % 150, float((index * 13) % 40),
                   float((index * 29) % 90) / 3, index % 3, None if index % 4 else "receive")
        for index in range(1, 60))


async def _process_list(pilot: Pilot[Any]) -> None:
    widget = pilot.app.query_one(ProcessList)
    widget.rows = rows()
    widget.focus()
    await pilot.pause()
    await pilot.press("down", "down")


def test_process_list_80x24(snap_compare: SnapCompare) -> None:
    """You should see the process list with its heading (red/s▼: sorted by reductions per second, largest
    first), 59 processes of which the first 20 or so fit, the third line under the cursor, mailboxes over 100 in
    yellow, "59 processes" in the bottom border."""
    assert snap_compare(One(ProcessList), terminal_size=SMALL, run_before=_process_list)


def test_process_list_160x48(snap_compare: SnapCompare) -> None:
    """You should see the same list at 160 columns: name and awaiting wider, every fixed column where it was."""
    assert snap_compare(One(ProcessList), terminal_size=LARGE, run_before=_process_list)


STORE = PIDS[4]
NODE = NodeSnapshot("store", "store", "store", STORE, "server", None, "permanent", "running", 1, "store")
DETAIL = ProcessDetail(NODE, True, "waiting", 3, ((PIDS[1], "demo <0.1.0>"),), 1, 0, 1, False, "demo <0.1.0>", 65.0,
                       "killed")
INSPECTION = Inspection(
    ProcessInfo(STORE, "store", "server", "waiting", 3, (PIDS[1],), (), (PIDS[9],), False, PIDS[1], 0.0, 1,
                messages_in=12_345, reductions=12_001),
    "{'rows': 1204,\n 'last_key': 'agent_7',\n 'password': '***',\n 'pending': []}",
    ("/home/user/project/.venv/lib/python3.11/site-packages/observer/runtime/runtime.py:412 in Runtime._run",
     "/home/user/project/.venv/lib/python3.11/site-packages/observer/runtime/server.py:230 in Server._loop",
     "/home/user/project/.venv/lib/python3.11/site-packages/observer/runtime/mailbox.py:88 in Mailbox.receive"),
    "receive",
)


async def _detail(pilot: Pilot[Any]) -> None:
    pilot.app.query_one(ProcessPanel).show(DETAIL, INSPECTION, ProcessRow(STORE, "store", "server", "waiting", 3,
                                                                           41.5, 40.0, 1))
    await pilot.pause()


def test_detail_with_state_and_stack_80x24(snap_compare: SnapCompare) -> None:
    """You should see store's detail: worker (server), idle, 1 restart (permanent), last exit killed, messages in
    12,345 at 42/s, reductions 12,001 at 40/s, awaiting receive, its state over four lines with the password
    redacted, and three frames with their paths shortened from the left, Mailbox.receive (innermost) last."""
    assert snap_compare(One(ProcessPanel), terminal_size=SMALL, run_before=_detail)


def test_detail_with_state_and_stack_160x48(snap_compare: SnapCompare) -> None:
    """You should see the same detail at 160 columns, the frames whole."""
    assert snap_compare(One(ProcessPanel), terminal_size=LARGE, run_before=_detail)


async def _trace(pilot: Pilot[Any]) -> None:
    pane = pilot.app.query_one(TracePane)
    pane.begin(STORE, "store <0.4.0>", limit=4, started_at=100.0)
    for at, kind, message in ((100.25, "in", ("$call", ("get", "alice"))), (100.26, "call", ("get", "alice")),
                              (100.27, "reply", {"name": "alice", "visits": 3}), (101.5, "cast", ("put", "bob"))):
        pane.record(TraceEvent(at, STORE, kind, message))  # type: ignore[arg-type]
    await pilot.pause()


def test_trace_pane_80x24(snap_compare: SnapCompare) -> None:
    """You should see the trace of store <0.4.0> stopped by itself after 4 messages (its limit), and the four
    lines oldest first: in, call, reply, cast, each with its time since the trace began and its message."""
    assert snap_compare(One(TracePane), terminal_size=SMALL, run_before=_trace)


async def _log(pilot: Pilot[Any]) -> None:
    log = pilot.app.query_one(EventLog)
    log.started_at = 0.0
    crash = Cascade(PIDS[1], "services", "one_for_one", "cache", PIDS[7], RuntimeError("cache miss storm"), 3.0,
                    3.0021, started=(CascadeStep("cache", PIDS[17], 3.002),), outcome="restarted")
    drill = (
        DrillStepNote(5.0, "one-for-one-isolation", "kill rate_limiter", 0.0032,
                      happened=("<0.6.0> exited with 'killed'; restarted as <0.15.0>",),
                      checks=(DrillCheck("only rate_limiter has a new pid", True, "['rate_limiter']",
                                         "['rate_limiter']"),
                              DrillCheck("services stopped no sibling, so the other services kept running all "
                                         "along", True, "[]", "[]"))),
        DrillVerdict(5.0, "one-for-one-isolation", True, 0.0041, steps=1),
    )
    log.snapshot = Snapshot(6.0, 6.0, 1, None, True, None, 1, 0, 1, (), (), 0,
                            (LogNote(1.0, "k: exit kill sent to cache <0.7.0>"), crash,
                             LogNote(4.0, "drill one-for-one-isolation: running live"), *drill), None, 0.0)
    log.focus()
    await pilot.pause()
    await pilot.press("down", "down")


def test_event_log_80x24(snap_compare: SnapCompare) -> None:
    """You should see the focused event log, newest first: the drill run as one entry (its step, what happened,
    two kept expectations with their values, the second wrapped under its own text, then PASS), the
    running-live note, then the cascade that began with cache's RuntimeError under the cursor, then the k note."""
    assert snap_compare(One(EventLog), terminal_size=SMALL, run_before=_log)


def test_help_80x24(snap_compare: SnapCompare) -> None:
    """You should see the help in 80 columns: the app's keys (k … q, with l, T, s, u, c, e), then the keys in the
    tree, in the event log (e not listed again), in the process list and anywhere, a scrollbar for the rest."""

    async def show(pilot: Pilot[Any]) -> None:
        await pilot.app.push_screen(HelpScreen(APP_KEYS))
        await pilot.pause()

    assert snap_compare(One(Widget), terminal_size=SMALL, run_before=show)


def test_traceback_screen_80x24(snap_compare: SnapCompare) -> None:
    """You should see "store <0.4.0> died (RuntimeError: boom)" over a scrollable traceback, the hint at the
    bottom (scroll keys, escape closes), all in 80 columns."""
    text = "Traceback (most recent call last):\n" + "".join(
        f'  File "/srv/app/handlers/module_{index}.py", line {10 + index}, in handle_{index}\n'
        f"    result = await self.step_{index}(request, timeout=self.timeout)\n" for index in range(12)
    ) + "RuntimeError: boom"

    async def show(pilot: Pilot[Any]) -> None:
        await pilot.app.push_screen(TracebackScreen("store <0.4.0> died (RuntimeError: boom)", text))
        await pilot.pause()

    assert snap_compare(One(Widget), terminal_size=SMALL, run_before=show)

