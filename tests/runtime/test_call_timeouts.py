"""Call deadlines: a call pending on a silent server must not hold the calls answered after it."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest

from observer.runtime import NO_REPLY, Caller, CallTimeout, Pid, Process, Runtime, Server

from .helpers import GUARD


class Request:
    """A call's request that can be watched with a weakref."""

    __slots__ = ("__weakref__", "n")

    def __init__(self, n: int) -> None:
        self.n = n


class Answers(Server):
    """Answers every call with "ok" (never with the request: the reply must not keep it alive)."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return "ok"


class Silent(Server):
    """Never answers; tells `notify` (the request) that it has the call."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        self.runtime.send(request, "held")
        return NO_REPLY


async def call_silent(proc: Process, silent: Pid, timeout: float, to: Pid) -> None:
    """Call the silent server with `timeout`; send `to` the exception the call ends with."""
    try:
        await proc.runtime.call(silent, to, timeout=timeout)
    except CallTimeout as exc:
        proc.runtime.send(to, ("timed out", proc.runtime._loop.time(), exc))  # type: ignore[union-attr]
    else:
        proc.runtime.send(to, ("answered", None, None))
    await proc.receive()


async def start(rt: Runtime, server: type[Server]) -> Pid:
    pid = await server.start_link(rt)
    assert pid is not None
    return pid


async def hold_one_call(rt: Runtime, me: Process, timeout: float) -> Pid:
    """A call pending on a silent server with `timeout`; returns the caller's pid once the call is held."""
    silent = await start(rt, Silent)
    caller = rt.spawn(call_silent, silent, timeout, me.pid)
    assert await me.receive(lambda message: message == "held", timeout=GUARD) == "held"
    return caller


async def test_answered_calls_are_not_held_by_a_call_still_pending_with_the_same_timeout(rt: Runtime) -> None:
    answers = await start(rt, Answers)
    async with rt.attached() as me:
        await hold_one_call(rt, me, 5.0)

        watched: list[weakref.ref[Request]] = []
        for n in range(10_000):
            request = Request(n)
            if n % 1_000 == 0:
                watched.append(weakref.ref(request))
            assert await rt.call(answers, request, timeout=5.0) == "ok"
        del request
        gc.collect()

        alive = [ref().n for ref in watched if ref() is not None]  # type: ignore[union-attr]
        assert alive == [], f"answered calls still referenced: {alive}"
        assert rt.process_info(me.pid).mailbox_size == 0  # type: ignore[union-attr]  # the held call still pending


@pytest.mark.parametrize("answered", [0, 1, 63, 64, 65, 1_000])
async def test_a_pending_call_still_times_out_at_its_deadline_among_answered_calls(rt: Runtime, answered: int) -> None:
    timeout = 0.05
    loop = asyncio.get_running_loop()
    answers = await start(rt, Answers)
    async with rt.attached() as me:
        started = loop.time()
        await hold_one_call(rt, me, timeout)
        for n in range(answered):
            assert await rt.call(answers, n, timeout=timeout) == "ok"

        outcome, at, exc = await me.receive(timeout=GUARD)

    assert outcome == "timed out"
    assert isinstance(exc, CallTimeout) and exc.timeout == timeout
    assert at - started >= timeout * 0.9


async def test_several_pending_calls_each_time_out_in_turn_among_answered_ones(rt: Runtime) -> None:
    timeout = 0.05
    answers = await start(rt, Answers)
    async with rt.attached() as me:
        callers = []
        for _ in range(3):
            callers.append(await hold_one_call(rt, me, timeout))
            for n in range(100):  # enough answered calls between them to compact the queue
                await rt.call(answers, n, timeout=timeout)

        outcomes = [await me.receive(timeout=GUARD) for _ in callers]

    assert [outcome for outcome, _, _ in outcomes] == ["timed out"] * 3
    times = [at for _, at, _ in outcomes]
    assert times == sorted(times)
