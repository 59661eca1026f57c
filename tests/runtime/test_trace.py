"""rt.trace: TraceEvents for what a process receives and handles, in order, capped, stoppable, harmless."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from observer.runtime import (
    NO_REPLY,
    Caller,
    InvalidArgument,
    NoProc,
    Pid,
    Runtime,
    Server,
    TraceEvent,
)

from .helpers import GUARD, dead_pid, forward, idle
from .supervision_helpers import FakeClock


class Events:
    """A trace callback that keeps every event; `await events.count(n)` waits until it has `n`."""

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []
        self._want = 0
        self._ready: asyncio.Future[None] | None = None

    def __call__(self, event: TraceEvent) -> None:
        self.events.append(event)
        if self._ready is not None and not self._ready.done() and len(self.events) >= self._want:
            self._ready.set_result(None)

    async def count(self, n: int) -> list[TraceEvent]:
        if len(self.events) < n:
            self._want = n
            self._ready = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self._ready, GUARD)
        return self.events

    def summary(self) -> list[tuple[float, str, Any]]:
        return [(event.at, event.kind, event.message) for event in self.events]


class Echo(Server):
    """Replies `("pong", request)`; a call moves the fake clock on by one second while it is handled."""

    async def init(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.seen: list[Any] = []

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        if self.clock is not None:
            self.clock.now += 1
        return ("pong", request)

    async def handle_cast(self, request: Any) -> None:
        self.seen.append(request)

    async def handle_info(self, message: Any) -> None:
        self.seen.append(message)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(10.0)


@pytest.fixture
async def timed_rt(clock: FakeClock) -> AsyncIterator[Runtime]:
    async with Runtime(clock=clock) as runtime:
        yield runtime


async def start_echo(rt: Runtime, clock: FakeClock | None = None) -> Pid:
    pid = await Echo.start_link(rt, clock)
    assert pid is not None
    return pid


def is_traced(rt: Runtime, pid: Pid) -> bool:
    proc = rt._procs[pid]
    assert (proc._tracers is None) == (proc._mailbox._trace is None)
    return proc._tracers is not None


# -- what a trace reports -------------------------------------------------------------


async def test_a_trace_reports_in_call_reply_cast_and_info_in_order_with_pid_and_clock_time(
    timed_rt: Runtime, clock: FakeClock
) -> None:
    rt = timed_rt
    pid = await start_echo(rt, clock)
    events = Events()
    rt.trace(pid, events)

    assert await rt.call(pid, "ping") == ("pong", "ping")  # handled at 10, replied at 11
    clock.now = 20.0
    rt.cast(pid, "c")
    await events.count(5)
    clock.now = 30.0
    rt.send(pid, "hello")
    await events.count(7)

    assert {event.pid for event in events.events} == {pid}
    kinds = [(at, kind) for at, kind, _ in events.summary()]
    assert kinds == [
        (10.0, "in"), (10.0, "call"), (11.0, "reply"), (20.0, "in"), (20.0, "cast"), (30.0, "in"), (30.0, "info"),
    ]
    messages = [event.message for event in events.events]
    assert repr(messages[0]) == "Call('ping', from=None)"  # "in" carries the envelope
    assert messages[1:3] == ["ping", ("pong", "ping")]
    assert repr(messages[3]) == "Cast('c')"
    assert messages[4:] == ["c", "hello", "hello"]


class Deferred(Server):
    """Keeps each call (NO_REPLY) and answers it on the cast "answer", from handle_cast."""

    async def init(self) -> None:
        self.waiting: list[Caller] = []

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        self.waiting.append(caller)
        return NO_REPLY

    async def handle_cast(self, request: Any) -> None:
        self.waiting.pop(0).reply(("late", request))


async def test_a_reply_after_no_reply_is_traced_when_it_is_sent(rt: Runtime) -> None:
    pid = await Deferred.start_link(rt)
    assert pid is not None
    events = Events()
    rt.trace(pid, events)
    async with asyncio.TaskGroup() as group:
        call = group.create_task(rt.call(pid, "q"))
        await events.count(2)  # in, call: it holds the call now
        rt.cast(pid, "answer")
        assert await call == ("late", "answer")
    await events.count(5)
    assert [kind for _, kind, _ in events.summary()] == ["in", "call", "in", "cast", "reply"]
    assert events.events[-1].message == ("late", "answer")


async def test_a_call_from_a_process_names_the_caller_in_its_envelope(rt: Runtime) -> None:
    pid = await start_echo(rt)
    events = Events()
    rt.trace(pid, events, limit=1)
    async with rt.attached() as me:
        await rt.call(pid, "x")
        assert repr((await events.count(1))[0].message) == f"Call('x', from={me.pid!r})"


async def test_callbacks_run_via_the_loop_not_inside_the_send(rt: Runtime) -> None:
    pid = rt.spawn(idle)
    events = Events()
    rt.trace(pid, events)

    rt.send(pid, "m")

    assert events.events == []  # not yet: the callback was scheduled, not called
    assert [event.kind for event in await events.count(2)] == ["in", "info"]


async def test_a_plain_process_reports_deliveries_and_receives(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = rt.spawn(forward, me.pid)
        events = Events()
        rt.trace(pid, events)
        rt.send(pid, "a")
        assert await me.receive(timeout=GUARD) == "a"
        assert [(event.kind, event.message) for event in await events.count(2)] == [("in", "a"), ("info", "a")]


# -- how a trace ends ------------------------------------------------------------------


async def test_a_trace_stops_by_itself_after_limit_events_and_costs_nothing_after(rt: Runtime) -> None:
    pid = await start_echo(rt)
    events = Events()
    rt.trace(pid, events, limit=3)

    await rt.call(pid, 1)
    assert not is_traced(rt, pid)  # the third event (the reply) ended it
    await rt.call(pid, 2)
    rt.cast(pid, 3)
    await rt.call(pid, 4)  # every callback of the events above would have run before this reply

    assert [(event.kind, event.message) for event in await events.count(3)][1:] == [("call", 1), ("reply", ("pong", 1))]
    assert len(events.events) == 3


async def test_the_returned_function_stops_the_trace_and_is_idempotent(rt: Runtime) -> None:
    pid = await start_echo(rt)
    events = Events()
    stop = rt.trace(pid, events)
    await rt.call(pid, 1)
    await events.count(3)

    stop()
    assert not is_traced(rt, pid)
    await rt.call(pid, 2)
    rt.send(pid, "x")
    await rt.call(pid, 3)
    stop()

    assert len(events.events) == 3


async def test_two_traces_at_once_each_have_their_own_limit(rt: Runtime) -> None:
    pid = await start_echo(rt)
    short, long = Events(), Events()
    rt.trace(pid, short, limit=2)
    stop_long = rt.trace(pid, long)

    await rt.call(pid, 1)
    await long.count(3)
    assert [event.kind for event in await short.count(2)] == ["in", "call"]
    assert [event.kind for event in long.events] == ["in", "call", "reply"]
    assert len(rt._procs[pid]._tracers or []) == 1

    await rt.call(pid, 2)
    await long.count(6)
    assert len(short.events) == 2
    stop_long()
    assert not is_traced(rt, pid)


async def test_a_trace_ends_when_the_process_exits(rt: Runtime) -> None:
    pid = await start_echo(rt, None)
    events = Events()
    stop = rt.trace(pid, events)

    await rt.stop(pid)
    rt.send(pid, "to the dead")  # dropped: nothing more to report

    assert [(event.kind, repr(event.message)) for event in await events.count(1)] == [("in", "StopRequest('normal')")]
    stop()  # harmless once the process is gone
    new = await start_echo(rt, None)
    await rt.call(new, "hello")
    assert not is_traced(rt, new)
    assert len(events.events) == 1


async def test_a_callback_that_raises_does_not_break_the_traced_server(rt: Runtime) -> None:
    loop = asyncio.get_running_loop()
    seen: list[BaseException] = []
    three = loop.create_future()

    def handler(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        seen.append(context["exception"])
        if len(seen) == 3 and not three.done():
            three.set_result(None)

    def broken(event: TraceEvent) -> None:
        raise RuntimeError(f"observer bug at {event.kind}")

    previous = loop.get_exception_handler()
    loop.set_exception_handler(handler)
    try:
        pid = await start_echo(rt)
        rt.trace(pid, broken)
        assert await rt.call(pid, "ping") == ("pong", "ping")
        await asyncio.wait_for(three, GUARD)
        assert await rt.call(pid, "again") == ("pong", "again")
    finally:
        loop.set_exception_handler(previous)

    assert [str(exc) for exc in seen[:3]] == ["observer bug at in", "observer bug at call", "observer bug at reply"]
    assert rt.is_alive(pid)


# -- bad input -------------------------------------------------------------------------


async def test_a_trace_of_a_dead_or_unknown_target_raises_noproc(rt: Runtime) -> None:
    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
    with pytest.raises(NoProc):
        rt.trace(dead, Events())
    with pytest.raises(NoProc):
        rt.trace("nobody", Events())


@pytest.mark.parametrize("limit", [0, -1, True, 1.5, "10", None])
async def test_a_limit_that_is_not_an_int_of_at_least_1_is_invalid_and_named(rt: Runtime, limit: Any) -> None:
    pid = rt.spawn(idle)

    with pytest.raises(ValueError) as raised:
        rt.trace(pid, Events(), limit=limit)

    assert isinstance(raised.value, InvalidArgument)
    assert repr(limit) in str(raised.value)
    assert not is_traced(rt, pid)


async def test_a_callback_that_is_not_callable_is_invalid(rt: Runtime) -> None:
    pid = rt.spawn(idle)
    with pytest.raises(InvalidArgument, match="callable"):
        rt.trace(pid, "print")  # type: ignore[arg-type]
    assert not is_traced(rt, pid)


async def test_bad_input_is_reported_before_the_target_is_looked_up(rt: Runtime) -> None:
    with pytest.raises(InvalidArgument):
        rt.trace("nobody", Events(), limit=0)

