"""The in-process source behind the app: starting the tree (timeouts, a blocking factory), the log it keeps
(loop stalls, crash tracebacks), processes outside the tree, tracing, and the title."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot

from observer.app import ObserverApp
from observer.journal import Cascade, LogNote
from observer.runtime import NO_REPLY, Caller, Pid, Process, Runtime, Server, Supervisor
from observer.snapshot import GROUP_KIND, OUTSIDE_SLOT
from observer.source import InProcessSource, View

from .helpers import lines, make_app, started, until
from .trees import demo_tree


async def start_finished(app: ObserverApp, pilot: Pilot[Any]) -> None:
    """Wait until the tree's factory has ended (however it ended): its worker, while it runs, then the state."""
    for _ in range(400):
        await pilot.pause()
        for worker in [worker for worker in app.workers if worker.name == "factory"]:
            await worker.wait()
        if app.source.state.phase in ("up", "failed"):
            await pilot.pause()
            return
    raise AssertionError("the factory never ended")


async def test_a_factory_that_never_returns_times_out_and_r_tries_again() -> None:
    attempts: list[int] = []

    async def hangs_once(rt: Runtime) -> Pid:
        attempts.append(1)
        if len(attempts) == 1:
            await asyncio.Event().wait()
        return await demo_tree(rt)

    app = make_app(hangs_once, start_timeout=1.0)  # the second start, of the demo tree, must fit in it too
    async with app.run_test(size=(100, 30)) as pilot:
        await start_finished(app, pilot)
        assert lines(app) == ["did not start: the factory did not return the root within 1 s (R tries again)"]
        assert app.check_action("restart_system", ()) is True
        await pilot.press("R")
        await started(app, pilot)
        assert lines(app)[0].startswith("● demo")


@pytest.mark.timeout(60, method="thread")  # the signal method's timer would keep the start alarm from arming
async def test_a_factory_that_blocks_the_loop_is_interrupted_at_its_start_timeout() -> None:
    async def blocks(rt: Runtime) -> Pid:
        time.sleep(30)  # the point: a blocking call in async code
        raise AssertionError("not interrupted")

    app = make_app(blocks, start_timeout=0.3)
    async with app.run_test(size=(100, 30)) as pilot:
        began = time.monotonic()
        await start_finished(app, pilot)
        assert time.monotonic() - began < 10
        assert lines(app) == ["did not start: the factory held the event loop for over 0.3 s (a blocking call in async "
                              "code?) (R tries again)"]
        assert app.is_running


async def test_a_factory_raising_system_exit_is_a_failed_start_not_a_dead_app() -> None:
    async def exits(rt: Runtime) -> Pid:
        raise SystemExit(3)

    app = make_app(exits)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_finished(app, pilot)
        assert lines(app) == ["did not start: SystemExit: 3 (R tries again)"]
        assert app.is_running


async def test_a_late_timer_is_logged_with_its_length_and_the_worst_so_far() -> None:
    now = [1000.0]
    app = make_app(clock=lambda: now[0], refresh_interval=0.25)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        app._on_timer()  # the timer ran on time
        now[0] += 0.25 + 3.87  # the next one 3.87 s late: the loop was held that long
        app._on_timer()
        now[0] += 0.25 + 0.5
        app._on_timer()
        snapshot = await until(app, pilot, lambda s: True)
        notes = [entry.text for entry in snapshot.log if isinstance(entry, LogNote) and "blocked" in entry.text]
        assert len(notes) == 2
        assert notes[0].startswith("event loop blocked 3.87 s (the app's timer ran that late), until ")
        assert notes[0].endswith("; the worst so far")
        assert notes[1].startswith("event loop blocked 500.0 ms") and "the worst so far: 3.87 s until" in notes[1]


async def helper(proc: Any) -> None:
    await proc.receive()


async def with_a_helper(rt: Runtime) -> Pid:
    """The demo tree, and a plain process that no supervisor holds (spawned from outside any process)."""
    root = await demo_tree(rt)
    rt.spawn(helper, name="helper")
    return root


async def test_a_process_outside_the_tree_is_shown_in_its_own_group() -> None:
    app = make_app(with_a_helper)
    async with app.run_test(size=(160, 48)) as pilot:
        snapshot = await until(app, pilot, lambda s: s.root is not None and s.root.children[-1].kind == GROUP_KIND)
        assert snapshot.root is not None
        group = snapshot.root.children[-1]
        assert group.slot == OUTSIDE_SLOT and [node.label for node in group.children] == ["helper"]
        shown = lines(app)
        assert shown[-2].startswith("  ◇ outside the tree · 1 process")
        assert shown[-1].startswith("    ● helper <0.")
        rt = app.runtime
        assert rt is not None
        pid = rt.whereis("helper")
        assert pid is not None
        rt.exit(pid, "kill")
        after = await until(app, pilot, lambda s: s.root is not None and s.root.children[-1].kind != GROUP_KIND)
        assert after.process_count == 12 and len(lines(app)) == 12


class Crasher(Server):
    """Crashes on the cast "crash", from a function of its own (the traceback must name it)."""

    async def handle_cast(self, request: Any) -> None:
        explode(request)

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


def explode(request: Any) -> None:
    raise RuntimeError(f"asked to {request}")


async def crashing_tree(rt: Runtime) -> Pid:
    return await Supervisor.start_link(rt, [Crasher.child_spec(id="crasher", name="crasher")], name="crashing")


async def test_a_crash_keeps_its_traceback_as_text_in_its_log_entry() -> None:
    app = make_app(crashing_tree)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        rt.cast("crasher", "crash")
        snapshot = await until(app, pilot, lambda s: any(isinstance(e, Cascade) and e.outcome == "restarted"
                                                         for e in s.log))
        [cascade] = [entry for entry in snapshot.log if isinstance(entry, Cascade)]
        assert cascade.traceback is not None
        assert cascade.traceback.startswith("Traceback (most recent call last):")
        assert "in explode" in cascade.traceback and cascade.traceback.endswith("RuntimeError: asked to crash")


async def test_the_title_of_an_app_tree_is_its_roots_registered_name() -> None:
    app = make_app(crashing_tree)
    assert app.source.title.endswith("test_seam")  # before it started: the factory's module
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        assert app.source.title == "crashing"


@asynccontextmanager
async def hosted(factory: Any) -> AsyncIterator[InProcessSource]:
    """An `InProcessSource` running (as the app's worker would run it) with its tree started."""
    source = InProcessSource(factory, clock=lambda: 1000.0)
    entered = asyncio.get_running_loop().create_future()

    def changed() -> None:
        if not entered.done():
            entered.set_result(None)

    async with asyncio.TaskGroup() as group:
        group.create_task(source.run(changed))
        await entered
        await source.start_root()
        try:
            yield source
        finally:
            await source.close()
    assert source.runtime is None, "run() left the runtime's block"


async def test_the_in_process_source_traces_a_process_and_stops_by_itself() -> None:
    async with hosted(crashing_tree) as source:
        rt = source.runtime
        assert rt is not None and source.state.phase == "up"
        crasher = rt.whereis("crasher")
        assert crasher is not None
        events = source.trace(crasher, 2)
        seen = []
        await rt.call(crasher, "one")
        async for event in events:
            seen.append((event.kind, event.message))
        assert [kind for kind, _ in seen] == ["in", "call"]
        source.refresh(View(selected=crasher, table=True))
        snapshot = source.latest
        assert snapshot is not None and [row.name for row in snapshot.processes] == ["crashing", "crasher"]
        inspection = source.inspection(crasher)
        assert inspection is not None and inspection.awaiting == "receive"


async def test_the_process_table_reuses_rows_that_did_not_move_and_rereads_a_busy_one() -> None:
    async with hosted(demo_tree) as source:
        rt = source.runtime
        assert rt is not None
        source.refresh(View(table=True))
        first = source.latest
        assert first is not None and len(first.processes) == 12
        source.refresh(View(table=True))
        again = source.latest
        assert again is not None and again.processes is first.processes, "nothing moved: the same rows"
        await rt.call("store", "ping")
        source.refresh(View(table=True))
        after = source.latest
        assert after is not None
        moved = [row for row, old in zip(after.processes, first.processes, strict=True) if row is not old]
        assert [(row.name, row.messages_in, row.reductions) for row in moved] == [("store", 1, 1)]


class Silent(Server):
    """Never answers a call: it tells the pid in the request that the call arrived, then returns NO_REPLY."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        self.runtime.send(request, "hanging")
        return NO_REPLY


class Relay(Server):
    """On a cast, calls "silent" (and hangs there with it)."""

    async def handle_cast(self, request: Any) -> None:
        await self.runtime.call("silent", request, timeout=3600)


async def relay_tree(rt: Runtime) -> Pid:
    return await Supervisor.start_link(rt, [Silent.child_spec(id="silent", name="silent"),
                                            Relay.child_spec(id="relay", name="relay")], name="relaying")


async def test_the_process_table_says_what_every_process_awaits_and_sees_a_caller_get_stuck() -> None:
    async with hosted(relay_tree) as source:
        rt = source.runtime
        assert rt is not None
        silent, relay = rt.whereis("silent"), rt.whereis("relay")
        source.refresh(View(table=True))
        first = source.latest
        assert first is not None
        assert {row.name: row.awaiting for row in first.processes} == {
            "relaying": "receive", "silent": "receive", "relay": "receive"}
        async with rt.attached() as me:
            rt.cast(relay, me.pid)
            source.refresh(View(table=True))  # the cast is in relay's mailbox: it has not run yet
            cast_in = source.latest
            assert cast_in is not None
            [row] = [row for row in cast_in.processes if row.pid is relay]
            assert (row.messages_in, row.awaiting) == (1, "receive")
            assert await me.receive(timeout=5) == "hanging"
        source.refresh(View(table=True))  # relay's counters have not moved since: only what it awaits did
        stuck = source.latest
        assert stuck is not None
        [row] = [row for row in stuck.processes if row.pid is relay]
        assert (row.messages_in, row.awaiting) == (1, f"call {silent!r}")


async def test_a_table_row_follows_what_a_process_awaits_when_no_counter_moves() -> None:
    async with hosted(relay_tree) as source:
        rt = source.runtime
        assert rt is not None
        silent = rt.whereis("silent")
        go = asyncio.Event()

        async def wait_then_call(proc: Process, to: Pid) -> None:
            proc.runtime.send(to, "waiting")
            await go.wait()
            await proc.runtime.call("silent", to, timeout=3600)

        async with rt.attached() as me:
            pid = rt.spawn(wait_then_call, me.pid)
            assert await me.receive(timeout=5) == "waiting"
            source.refresh(View(table=True))
            before = source.latest
            assert before is not None
            [row] = [row for row in before.processes if row.pid is pid]
            assert row.awaiting == "Event.wait"
            go.set()
            assert await me.receive(timeout=5) == "hanging"
        source.refresh(View(table=True))
        after = source.latest
        assert after is not None
        [moved] = [row for row in after.processes if row.pid is pid]
        assert (moved.messages_in, moved.reductions) == (row.messages_in, row.reductions)
        assert moved.awaiting == f"call {silent!r}"
        rt.exit(pid, "kill")
