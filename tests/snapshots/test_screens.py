"""Snapshot tests of the observer's screens: a fixed terminal, clock, host figures and tree, so pids match.

Run with ``--snapshot-update`` to accept a changed screen after looking at the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from observer.journal import Cascade
from tests.app.helpers import fixed_clock, make_app, started, until

SIZE = (160, 48)

SnapCompare = Callable[..., bool]


async def _started(pilot: Pilot[Any]) -> None:
    await started(pilot.app, pilot)  # type: ignore[arg-type]


async def _after_killing_store(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await started(app, pilot)  # type: ignore[arg-type]
    await pilot.press("down", "k")
    await until(app, pilot, lambda s: any(isinstance(e, Cascade) and e.outcome == "restarted" for e in s.log))  # type: ignore[arg-type]


def test_main_screen(snap_compare: SnapCompare) -> None:
    """You should see the demo tree (demo rest_for_one; store; services one_for_one with rate_limiter, router and
    cache; agents dynamic with agent_1..3; watcher; scratch temporary), all green, with the cursor on router and
    its details on the right (server, idle, 1 link to services, monitored by 1), the monitors panel (total 2:
    watcher holds 2, store and router watched by 1), the api limiter's bars on a scale of 10 (carol 10/10 with 3
    denied, bob 10/10, alice 4/10, 1.0 s left each), an empty event log, fixed host figures, and every key in the
    footer."""
    app = make_app(clock=fixed_clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["down"] * 4)


def test_rest_for_one_cascade_in_the_log(snap_compare: SnapCompare) -> None:
    """You should see the tree after store was killed: store, services, agents and watcher restarted (new pids,
    ↻1, highlighted as just restarted), scratch gone (temporary), and one log entry for the whole cascade: demo
    rest_for_one: store died (killed), restarted; stopped scratch → watcher → agents → services
    [cache, router, rate_limiter]; started store → services [rate_limiter, router, cache] → agents → watcher;
    under it the k note. The process panel shows store with last exit killed."""
    app = make_app(clock=fixed_clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after_killing_store)


def test_help_screen(snap_compare: SnapCompare) -> None:
    """You should see the help over the main screen: every key (k, K, t, r, R, /, p, +, -, d, ?, q) with what it
    does, the tree keys, ctrl+p for the palette, and the colour legend."""
    app = make_app(clock=fixed_clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["question_mark"])


def test_read_only_footer(snap_compare: SnapCompare) -> None:
    """You should see READ-ONLY in the header and, in the footer, Kill, Kill with…, Terminate and Restart child
    greyed out (disabled); Filter, Pause, Faster, Slower, Drills, Help and Quit as usual."""
    app = make_app(clock=fixed_clock, read_only=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started)
