"""Snapshot tests of the observer's screens: a fixed terminal, clock, host figures and tree, so pids match.

Run with ``--snapshot-update`` to accept a changed screen after looking at the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from textual.pilot import Pilot

from observer.app import ObserverApp
from observer.journal import Cascade
from observer.runtime import Inspection, Pid, Runtime
from observer.source import InProcessSource
from observer.system import start_system
from observer.widgets.trace_pane import TracePane
from tests.app.helpers import FIXED_HOST, fixed_clock, select, started, until
from tests.app.trees import demo_tree

SIZE = (160, 48)

SnapCompare = Callable[..., bool]


async def quiet_system(rt: Runtime) -> Pid:
    """The default system without its workload: nothing moves on its own."""
    return await start_system(rt, workload=False)


SMALL = (80, 24)

STACK = (
    "observer/runtime/runtime.py:400 in Runtime._run",
    "observer/runtime/server.py:250 in Server._serve",
    "observer/runtime/mailbox.py:90 in Mailbox.receive",
)
"""A fixed stack for the detail panel: the real one names this checkout's paths and line numbers."""


class FixedStack(InProcessSource):
    """The in-process source, with every inspection's stack replaced by `STACK`."""

    def inspection(self, pid: Pid) -> Inspection | None:
        found = super().inspection(pid)
        return None if found is None else replace(found, stack=STACK)


def snapshot_app(factory: Any = demo_tree, *, read_only: bool = False) -> ObserverApp:
    """The app as `make_app` makes it (fixed clock and host figures, no timer), with `FixedStack` as its source."""
    source = FixedStack(factory, clock=fixed_clock, host_stats=lambda: FIXED_HOST, read_only=read_only)
    return ObserverApp(source=source, read_only=read_only, ticking=False)


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
    its details on the right (worker (server), idle, 1 link to services, monitored by 1, messages in and reductions
    0 at 0/s, awaiting receive, state {}, the fixed three-frame stack), the monitors panel (total 2: watcher holds
    2, store and router monitored by 1), the api limiter's bars on a scale of 10 (carol 10/10 with 3 denied, bob
    10/10, alice 4/10, 1.0 s left each), an empty event log in a 7-row bottom row, fixed host figures, and the
    footer: enter Open/close, q Quit, ? Help first, then the other keys (K, +, -, c are in ? help)."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["down"] * 4)


def test_rest_for_one_cascade_in_the_log(snap_compare: SnapCompare) -> None:
    """You should see the tree after store was killed: store, services, agents and watcher restarted (new pids,
    ↻1, highlighted as just restarted), scratch gone (temporary), and one log entry for the whole cascade: demo
    rest_for_one: store died (killed), restarted; stopped scratch → watcher → agents [agent_1, agent_2, agent_3]
    → services [cache, router, rate_limiter]; started store → services [rate_limiter, router, cache] → agents
    [agent_1, agent_2, agent_3] → watcher; under it the k note (the bottom row grown to hold them). The process
    panel shows store with last exit killed."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_after_killing_store)


def test_help_screen(snap_compare: SnapCompare) -> None:
    """You should see the help (80 columns wide) over the main screen: every key of the app (q, ?, k, t, r, R, l, T,
    s, u, d, /, p, K, +, -, c, ] [) with what it does, then the keys in the tree, in the event log, in the process
    list and anywhere (tab, ctrl+p), scrollable, with the colour legend below."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["question_mark"])


def test_read_only_footer(snap_compare: SnapCompare) -> None:
    """You should see READ-ONLY in the header and, in the footer, Kill, Terminate, Restart, Trace, Suspend, Resume
    and Drills greyed out (disabled: drills kill processes, tracing is control); Quit, Help, Processes, Filter and
    Pause as usual; the empty event log does not suggest k."""
    app = snapshot_app(read_only=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started)


def test_drill_picker(snap_compare: SnapCompare) -> None:
    """You should see, over the default system's tree, the drill picker: "Run a drill on this system", the nine
    built-in drills with their descriptions in two columns (rest-for-one-cascade first, highlighted), and the hint
    that enter runs the drill on this runtime and escape closes."""
    app = snapshot_app(quiet_system)
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["d"])


def test_drill_picker_on_a_user_tree(snap_compare: SnapCompare) -> None:
    """You should see, over the demo tree, the drill picker saying in warning colour that the built-in drills need
    the default system (root registered as 'system', this app hosts demo, the root's name; --drills my.toml runs
    your own here, observer drill --file headless), the nine drills greyed out, and "escape closes"."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["d"])


def test_drill_picker_with_a_drill_file(snap_compare: SnapCompare) -> None:
    """You should see, over the demo tree, "Your drills, from my-drills.toml" and its two drills first
    (router-restarts-alone highlighted, cache-restarts-alone), a line, then the nine built-in drills greyed out
    under the warning that they need the default system, and the hint that enter runs the drill."""
    from observer.drills.toml_drill import parse_drill

    drills = [parse_drill({"drill": {"name": f"{name}-restarts-alone", "description": f"kill the {name}: only it "
                                     "restarts"}, "step": [{"kill": f"demo/services/{name}"}]})
              for name in ("router", "cache")]
    source = FixedStack(demo_tree, clock=fixed_clock, host_stats=lambda: FIXED_HOST)
    app = ObserverApp(source=source, ticking=False, drills=drills, drills_from="my-drills.toml")
    assert snap_compare(app, terminal_size=SIZE, run_before=_started, press=["d"])


def _to(label: str, *then: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def prepare(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await started(app, pilot)  # type: ignore[arg-type]
        await select(app, pilot, label)  # type: ignore[arg-type]
        for key in then:
            await pilot.press(key)
            await until(app, pilot, lambda s: True)  # type: ignore[arg-type]

    return prepare


async def _tracing_store(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, ObserverApp)
    await _to("store", "T")(pilot)
    rt = app.runtime
    assert rt is not None
    for request in ("ping", "status"):
        await rt.call("store", request)
    await until(app, pilot, lambda s: app.query_one(TracePane).seen >= 6)


def test_main_screen_80x24(snap_compare: SnapCompare) -> None:
    """You should see, in 80x24, the header, the whole demo tree (12 lines) on the left with router selected,
    its detail on the right (scrollable), the event log and host figures in a 7-row bottom row, and a footer that
    starts with the tree's enter, then q Quit and ? Help."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SMALL, run_before=_to("router"))


def test_process_list(snap_compare: SnapCompare) -> None:
    """You should see the process list instead of the tree: every one of the 12 processes with pid, name, kind,
    status (waiting), mailbox 0, zero rates, restarts, sorted by reductions/s, the cursor on router (awaiting
    receive); the detail panel on the right shows router."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_to("router", "l"))


def test_process_list_80x24(snap_compare: SnapCompare) -> None:
    """You should see the process list at 80x24 alone, the whole width (the panels on the right come back with the
    tree): pid, name, kind, status, mailbox, rates, ↻, awaiting; the cursor on router (awaiting receive)."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SMALL, run_before=_to("router", "l"))


def test_detail_with_state_and_stack(snap_compare: SnapCompare) -> None:
    """You should see the default system (no workload) with agent_registry selected: its detail shows the state
    (format_status, secrets redacted), what it awaits (receive), messages in and reductions with rates, and the
    stack, innermost last: Runtime._run, Server._serve, Mailbox.receive."""
    assert snap_compare(snapshot_app(quiet_system), terminal_size=SIZE, run_before=_to("agent_registry"))


def test_detail_with_state_and_stack_80x24(snap_compare: SnapCompare) -> None:
    """You should see the same detail at 80x24, in the narrower right column (scrolling)."""
    assert snap_compare(snapshot_app(quiet_system), terminal_size=SMALL, run_before=_to("agent_registry"))


def test_trace_pane(snap_compare: SnapCompare) -> None:
    """You should see store traced: the trace pane at the top of the right column, above its detail, with six
    lines (in Call('ping', from=None), call 'ping', reply 'ping', then the same for 'status'), "6 of the next
    100", and the T: tracing note in the event log."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_tracing_store)


def test_trace_pane_80x24(snap_compare: SnapCompare) -> None:
    """You should see the same trace at 80x24."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SMALL, run_before=_tracing_store)


def test_help_screen_80x24(snap_compare: SnapCompare) -> None:
    """You should see the help at 80x24: every key of the app (q, ?, k, t, r, R, l, T, s, u, d, /, p, K, +, -, c,
    ], [), then the tree's, the log's and the process list's keys, scrollable, within 80 columns."""
    app = snapshot_app()
    assert snap_compare(app, terminal_size=SMALL, run_before=_started, press=["question_mark"])
