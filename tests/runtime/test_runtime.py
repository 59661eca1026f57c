"""Runtime: clean exit, spawn outcomes, processes, process_info, attached, and observation events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from observer.runtime import (
    Exit,
    ExitMessage,
    InvalidArgument,
    NotRunning,
    Pid,
    Process,
    Runtime,
    RuntimeEvent,
    Server,
    current_runtime,
)

from .helpers import GUARD, dead_pid, end_on_go, exit_reason, idle, resolve


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- leaving `async with Runtime()` -------------------------------------------------


class RecordsItsStop(Server):
    trap_exits = True

    async def init(self, label: str, stopped: list[tuple[str, Any]]) -> None:
        self.label = label
        self.stopped = stopped

    async def terminate(self, reason: Any) -> None:
        self.stopped.append((self.label, reason))


async def record_its_stop(proc: Process, label: str, stopped: list[tuple[str, Any]]) -> None:
    """A trapping plain process that records the exit signal that stops it, then exits with its reason."""
    message = await proc.receive(match=lambda m: type(m) is ExitMessage)
    stopped.append((label, message.reason))
    raise Exit(message.reason)


async def test_leaving_the_runtime_stops_every_root_process_newest_first_and_leaves_no_task() -> None:
    before = asyncio.all_tasks()
    stopped: list[tuple[str, Any]] = []

    async with Runtime() as rt:
        await RecordsItsStop.start_link(rt, "server 1", stopped)
        rt.spawn(record_its_stop, "process 2", stopped, trap_exits=True)
        await RecordsItsStop.start_link(rt, "server 3", stopped)
        rt.spawn(record_its_stop, "process 4", stopped, trap_exits=True)
        plain = [rt.spawn(idle) for _ in range(100)]

    assert stopped == [
        ("process 4", "shutdown"),
        ("server 3", "shutdown"),
        ("process 2", "shutdown"),
        ("server 1", "shutdown"),
    ]
    assert not any(rt.is_alive(pid) for pid in plain)
    assert rt.processes() == []
    assert asyncio.all_tasks() == before


async def test_leaving_the_runtime_waits_for_a_slow_terminate(rt: Runtime) -> None:
    class SlowStop(Server):
        trap_exits = True

        async def init(self, helper: Pid, stopped: list[str]) -> None:
            self.helper = helper
            self.stopped = stopped

        async def terminate(self, reason: Any) -> None:
            await self.runtime.call(self.helper, "still alive?")
            self.stopped.append("terminated")

    class Helper(Server):
        async def handle_call(self, request: Any, caller: Any) -> Any:
            return "yes"

    stopped: list[str] = []
    async with Runtime() as inner:
        helper = await Helper.start_link(inner)
        assert helper is not None
        await SlowStop.start_link(inner, helper, stopped)

    assert stopped == ["terminated"]


async def test_a_process_that_ignores_shutdown_is_killed_after_the_shutdown_timeout() -> None:
    before = asyncio.all_tasks()
    unwound: list[str] = []

    async def ignore_exits(proc: Process) -> None:
        try:
            await idle(proc)
        finally:
            unwound.append("cancelled")

    async with Runtime(shutdown_timeout=0.05) as rt:
        stubborn = rt.spawn(ignore_exits, trap_exits=True)

    assert unwound == ["cancelled"]
    assert not rt.is_alive(stubborn)
    assert asyncio.all_tasks() == before


async def test_spawn_after_the_runtime_has_stopped_raises_not_running() -> None:
    async with Runtime() as rt:
        pass
    with pytest.raises(NotRunning):
        rt.spawn(idle)


async def test_a_runtime_cannot_be_entered_while_running(rt: Runtime) -> None:
    with pytest.raises(NotRunning):
        await rt.__aenter__()


# -- spawn ------------------------------------------------------------------


async def test_a_body_that_returns_exits_normal(rt: Runtime) -> None:
    async def done(proc: Process) -> str:
        return "a return value is not a reason"

    async with rt.attached() as me:
        assert await exit_reason(me, rt.spawn(done)) == "normal"


async def test_a_body_that_raises_exit_exits_with_its_reason(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = rt.spawn(end_on_go, ("shutdown", "bye"))
        rt.send(pid, "go")
        assert await exit_reason(me, pid) == ("shutdown", "bye")


async def test_a_body_that_raises_exits_with_that_exception(rt: Runtime) -> None:
    crash = LookupError("gone")
    async with rt.attached() as me:
        pid = rt.spawn(end_on_go, crash)
        rt.send(pid, "go")
        assert await exit_reason(me, pid) is crash


async def test_spawn_passes_the_arguments_and_sets_the_current_runtime(rt: Runtime) -> None:
    async def report(proc: Process, a: int, b: str, to: Pid) -> None:
        proc.runtime.send(to, (a, b, proc.pid, current_runtime() is rt))

    async with rt.attached() as me:
        pid = rt.spawn(report, 1, "two", me.pid)
        assert await me.receive(timeout=GUARD) == (1, "two", pid, True)


async def test_processes_lists_the_live_pids_oldest_first(rt: Runtime) -> None:
    async with rt.attached() as me:
        first = rt.spawn(idle)
        dead = await dead_pid(rt, me)
        last = rt.spawn(idle)
        assert rt.processes() == [me.pid, first, last]
        assert not rt.is_alive(dead)
        assert rt.is_alive(first)


# -- process_info -------------------------------------------------------------


async def test_process_info_describes_a_process() -> None:
    clock = FakeClock(100.0)
    async with Runtime(clock=clock) as rt, rt.attached() as me:
        clock.now = 250.0
        pid = rt.spawn(end_on_go, "normal", link=me.pid, name="worker", trap_exits=True)
        me.monitor(pid)
        rt.send(pid, "first")
        rt.send(pid, "second")

        info = rt.process_info(pid)

        assert info is not None
        assert (info.pid, info.name, info.kind, info.trap_exits) == (pid, "worker", "process", True)
        assert (info.mailbox_size, info.links, info.monitors, info.monitored_by) == (2, (me.pid,), (), (me.pid,))
        assert (info.parent, info.started_at, info.restarts) == (me.pid, 250.0, 0)
        me_info = rt.process_info(me.pid)
        assert me_info is not None
        assert (me_info.parent, me_info.started_at, me_info.monitors) == (None, 100.0, (pid,))
        rt.send(pid, "go")


async def test_process_info_status_is_waiting_while_blocked_in_receive(rt: Runtime) -> None:
    async def block(proc: Process, to: Pid) -> None:
        proc.runtime.send(to, "about to block")
        await idle(proc)

    async with rt.attached() as me:
        pid = rt.spawn(block, me.pid)
        info = rt.process_info(pid)
        assert info is not None and info.status == "running"

        assert await me.receive(timeout=GUARD) == "about to block"

        info = rt.process_info(pid)
        assert info is not None and info.status == "waiting"


async def test_process_info_of_a_server_and_of_a_dead_pid(rt: Runtime) -> None:
    class Named(Server):
        pass

    server = await Named.start_link(rt, name="named")
    assert server is not None
    info = rt.process_info(server)
    assert info is not None and (info.kind, info.name) == ("server", "named")

    await rt.stop(server)
    assert rt.process_info(server) is None


# -- attached -----------------------------------------------------------------


async def test_leaving_an_attached_block_exits_normal(rt: Runtime) -> None:
    seen: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    async with rt.attached() as me:
        rt.spawn(resolve, seen, link=me.pid, trap_exits=True)

    assert await asyncio.wait_for(seen, GUARD) == ExitMessage(me.pid, "normal")
    assert not rt.is_alive(me.pid)


async def test_an_exception_escaping_an_attached_block_is_its_exit_reason(rt: Runtime) -> None:
    seen: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    crash = ValueError("test body failed")
    with pytest.raises(ValueError) as raised:
        async with rt.attached() as me:
            rt.spawn(resolve, seen, link=me.pid, trap_exits=True)
            raise crash

    assert raised.value is crash
    assert await asyncio.wait_for(seen, GUARD) == ExitMessage(me.pid, crash)


async def test_a_task_is_attached_as_one_process_at_a_time(rt: Runtime) -> None:
    async with rt.attached() as me:
        with pytest.raises(InvalidArgument, match=repr(me.pid)):
            async with rt.attached():
                pass


async def test_current_runtime_outside_any_process_raises_not_running(rt: Runtime) -> None:
    async with rt.attached():
        assert current_runtime() is rt
    with pytest.raises(NotRunning):
        current_runtime()


# -- subscribe ----------------------------------------------------------------


class EventLog:
    """A subscriber that records every event; `arrival(kind)` waits for the first event of that kind."""

    def __init__(self) -> None:
        self.events: list[RuntimeEvent] = []
        self._arrived: dict[str, asyncio.Event] = {}

    def __call__(self, event: RuntimeEvent) -> None:
        self.events.append(event)
        self._arrived.setdefault(event.kind, asyncio.Event()).set()

    async def arrival(self, kind: str) -> None:
        await asyncio.wait_for(self._arrived.setdefault(kind, asyncio.Event()).wait(), GUARD)


async def test_subscribers_see_events_in_order_until_they_unsubscribe() -> None:
    clock = FakeClock(7.0)
    async with Runtime(clock=clock) as rt:
        log = EventLog()
        unsubscribe = rt.subscribe(log)
        async with rt.attached(trap_exits=True) as me:
            worker = rt.spawn(end_on_go, "boom", link=me.pid, name="worker")
            me.monitor(worker)
            rt.send(worker, "go")
            await log.arrival("exited")

            assert [(e.kind, e.pid, e.other, e.reason, e.name) for e in log.events] == [
                ("spawned", me.pid, None, None, None),
                ("spawned", worker, me.pid, None, None),
                ("registered", worker, None, None, "worker"),
                ("linked", worker, me.pid, None, None),
                ("monitored", me.pid, worker, None, None),
                ("exited", worker, None, "boom", None),
            ]
            assert {event.at for event in log.events} == {7.0}

            unsubscribe()
            unsubscribe()
            later = EventLog()
            rt.subscribe(later)
            rt.spawn(idle)
            await later.arrival("spawned")

            assert [event.kind for event in later.events] == ["spawned"]
            assert len(log.events) == 6


async def test_a_subscriber_that_raises_cannot_break_the_runtime(rt: Runtime) -> None:
    """Callbacks run from the loop, not inside the runtime's bookkeeping: the error goes to the loop's handler."""
    loop = asyncio.get_running_loop()
    reported: list[BaseException] = []
    loop.set_exception_handler(lambda _, context: reported.append(context["exception"]))

    def broken_observer(event: RuntimeEvent) -> None:
        raise RuntimeError(f"observer bug on {event.kind}")

    try:
        rt.subscribe(broken_observer)
        async with rt.attached() as me:
            pid = rt.spawn(end_on_go, "normal")
            rt.send(pid, "go")
            assert await exit_reason(me, pid) == "normal"
    finally:
        loop.set_exception_handler(None)
    assert [str(error) for error in reported[:3]] == [
        "observer bug on spawned", "observer bug on spawned", "observer bug on monitored"
    ]


async def test_leaving_does_not_hang_on_a_body_that_swallows_its_own_kill() -> None:
    """The process dies at once; its task, which ignores the first cancellation, is cancelled again."""
    running = asyncio.Event()
    swallowed = asyncio.Event()

    async def stubborn(proc: Process) -> None:
        running.set()
        try:
            await proc.receive()
        except asyncio.CancelledError:
            swallowed.set()
            await asyncio.get_running_loop().create_future()  # never resolves: only a second cancel ends it

    async with Runtime(shutdown_timeout=0.05) as rt:
        pid = rt.spawn(stubborn)
        await running.wait()
        async with rt.attached() as me:
            me.monitor(pid)
            rt.exit(pid, "kill")
            assert (await me.receive()).reason == "killed"
        await swallowed.wait()
    assert not any(task.get_coro().__qualname__.startswith("Runtime._run") for task in asyncio.all_tasks())
