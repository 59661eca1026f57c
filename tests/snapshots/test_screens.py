"""Snapshot tests of the observer's screens: a fixed terminal, clock, host figures and tree, so pids match.

Run with ``--snapshot-update`` to accept a changed screen after looking at the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from observer.journal import Cascade
from observer.runtime import Pid, Runtime
from observer.system import start_system
from tests.app.helpers import fixed_clock, make_app, started, until

SIZE = (160, 48)

SnapCompare = Callable[..., bool]


async def quiet_system(rt: Runtime) -> Pid:
    """The default system without its workload: nothing moves on its own."""
    return await start_system(rt, workload=False)


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
    rest_for_one: store died (killed), restarted; stopped scratch → watcher → agents [agent_1, agent_2, agent_3]
    → services [cache, router, rate_limiter]; started store → services [rate_limiter, router, cache] → agents
    [agent_1, agent_2, agent_3] → watcher; under it the k note. The process panel shows store with last exit killed."""
    app = make_app(clock=fixed_clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after_killing_store)


def test_help_screen(snap_compare: SnapCompare) -> None:
    """You should see the help over the main screen: every key (k, K, t, r, R, /, p, +, -, d, ?, q) with what it
    does (d: pick a built-in drill and run it live), the tree keys, ctrl+p for the palette, and the colour legend
    with a last line for "◆ drill" (touched by the drill running live)."""
    app = make_app(clock=fixed_clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["question_mark"])


def test_read_only_footer(snap_compare: SnapCompare) -> None:
    """You should see READ-ONLY in the header and, in the footer, Kill, Kill with…, Terminate, Restart child and
    Drills greyed out (disabled; drills kill processes); Filter, Pause, Faster, Slower, Help and Quit as usual."""
    app = make_app(clock=fixed_clock, read_only=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started)


def test_drill_picker(snap_compare: SnapCompare) -> None:
    """You should see, over the default system's tree, the drill picker: "Run a drill on this system", the nine
    built-in drills with their descriptions in two columns (rest-for-one-cascade first, highlighted), and the hint
    that enter runs the drill on this runtime and escape closes."""
    app = make_app(quiet_system, clock=fixed_clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["d"])


def test_drill_picker_on_a_user_tree(snap_compare: SnapCompare) -> None:
    """You should see, over the demo tree, the drill picker saying in warning colour that the built-in drills need
    the default system (root registered as 'system', this app hosts demo_tree; observer drill --file for your own
    tree), the nine drills greyed out, and "escape closes"."""
    app = make_app(clock=fixed_clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["d"])
