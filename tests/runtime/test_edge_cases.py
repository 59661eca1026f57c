"""Edge cases found in review: code running after death, exit order through links, deep shutdowns, given-up starts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from observer.runtime import (
    NO_REPLY,
    Caller,
    CallExit,
    CallTimeout,
    Down,
    ExitMessage,
    Pid,
    Process,
    Runtime,
    Server,
    Supervisor,
)

from .helpers import GUARD, down_of, idle


async def test_a_killed_body_cannot_monitor_or_link_from_its_finally(rt: Runtime) -> None:
    """After death nothing may enter the tables, so the other process's own death stays clean."""
    other = rt.spawn(idle)
    running = asyncio.Event()
    finally_ran = asyncio.Event()

    async def body(proc: Process) -> None:
        running.set()
        try:
            await proc.receive()
        finally:
            proc.monitor(other)
            proc.link(other)
            finally_ran.set()

    async with rt.attached() as me:
        pid = rt.spawn(body)
        await running.wait()
        me.monitor(pid)
        me.monitor(other)
        baseline = rt.monitor_count()
        rt.exit(pid, "kill")
        await down_of(me, pid)
        await finally_ran.wait()
        assert rt.monitor_count() == baseline - 1  # me's monitor on pid fired; the dead body added none
        info = rt.process_info(other)
        assert info is not None and info.links == ()
        rt.exit(other, "kill")
        assert (await down_of(me, other)).reason == "killed"


class Journaled(Server):
    """Records ("terminate", id) when terminate runs; kills itself on request."""

    trap_exits = True

    async def init(self, name: str, journal: list[Any]) -> None:
        self.name = name
        self.journal = journal

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        if request == "kill yourself":
            self.runtime.exit(self.pid, "kill")
        return self.name

    async def terminate(self, reason: Any) -> None:
        self.journal.append(("terminate", self.name, reason))


async def test_a_server_that_kills_itself_does_not_run_terminate(rt: Runtime) -> None:
    journal: list[Any] = []
    async with rt.attached(trap_exits=True) as me:
        pid = await Journaled.start_link(rt, "self-killer", journal)
        assert pid is not None
        me.monitor(pid)
        with pytest.raises(CallExit) as ended:
            await rt.call(pid, "kill yourself")
        assert ended.value.reason == "killed"
        assert (await down_of(me, pid)).reason == "killed"
    assert journal == []


async def test_exit_messages_and_downs_arrive_in_exit_order(rt: Runtime) -> None:
    """A dies first and takes B with it through their link; a watcher linked to A and monitoring B
    gets A's ExitMessage before B's Down, whatever order the link sets iterate in."""
    for _ in range(50):
        async with rt.attached(trap_exits=True) as watcher:
            a = rt.spawn(idle)
            b = rt.spawn(idle, link=a)
            watcher.link(a)
            watcher.monitor(b)
            rt.exit(a, "boom")
            first = await watcher.receive(timeout=GUARD)
            second = await watcher.receive(timeout=GUARD)
            assert type(first) is ExitMessage and first.pid is a
            assert type(second) is Down and second.pid is b


async def test_leaving_shuts_down_in_order_a_supervisor_started_by_a_plain_process() -> None:
    """The plain process goes first; the supervisor it started is then a root and stops its children in order."""
    journal: list[Any] = []
    started = asyncio.Event()

    async def plain_root(proc: Process) -> None:
        specs = [Journaled.child_spec(name, journal, id=name) for name in ("first", "second")]
        await Supervisor.start_link(proc.runtime, specs)
        started.set()
        await proc.receive(lambda message: False)

    async with Runtime() as rt:
        rt.spawn(plain_root)
        await asyncio.wait_for(started.wait(), GUARD)
    assert journal == [("terminate", "second", "shutdown"), ("terminate", "first", "shutdown")]


async def test_a_start_link_whose_caller_gives_up_kills_the_half_started_child(rt: Runtime) -> None:
    release = asyncio.Event()
    started: list[Pid] = []

    class SlowInit(Server):
        async def init(self) -> None:
            started.append(self.pid)
            await release.wait()

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(SlowInit.start_link(rt), 0.01)
    release.set()
    assert len(started) == 1 and not rt.is_alive(started[0])


async def test_one_off_call_timeouts_leave_no_timeout_queue_behind(rt: Runtime) -> None:
    class Silent(Server):
        async def handle_call(self, request: Any, caller: Caller) -> Any:
            return NO_REPLY

    pid = await Silent.start_link(rt)
    assert pid is not None
    for timeout in (0.001, 0.002, 0.003):
        with pytest.raises(CallTimeout):
            await rt.call(pid, "hello", timeout=timeout)
    assert rt._call_timeouts is not None and rt._call_timeouts._queues == {}
