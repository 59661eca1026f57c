"""A killed owner of resources is announced dead, with "killed", within `KILL_CLOSE_TIMEOUT` (1 s).

DESIGN 2 (`rt.exit`: "kill" cannot be trapped) and Server (owned resources: closed within 1 s of a
kill). Whatever the owner does meanwhile, swallow its cancel, swallow the `Exit` of its own
signal, or hang in a close twice, the Down comes. Each wait here is for a Down, an `ExitMessage`,
a start's result or an event the server sets itself; the slow tests last the bound itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import pytest

from observer.runtime import Down, Exit, ExitMessage, Pid, Process, Runtime, Server, StartError
from observer.runtime.runtime import KILL_CLOSE_TIMEOUT

from .helpers import GUARD, dead_pid, down_of

Log = list[tuple[str, str]]

TIMED_OUT = "owned resources not closed within"
"""The warning the kill timer logs when it has to cut a close short (runtime.py `_kill_timed_out`)."""

SLACK = 1.0
"""Seconds past the bound a loaded machine may add before the Down is handled."""


class Owned:
    """An owned resource that closes at once."""

    def __init__(self, log: Log) -> None:
        self.log = log

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        self.log.append(("closed", "owned"))


class Hangs:
    """An owned resource whose close hangs until cancelled; with `hang_again`, hangs once more after that."""

    def __init__(self, label: str, log: Log, *, hang_again: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.label = label
        self.log = log
        self.hang_again = hang_again
        self.done: asyncio.Future[None] = loop.create_future()  # set when its close has ended (cut off)

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            self.log.append(("closing", self.label))
            await self._hang("cut off")
            if self.hang_again:  # a cleanup that hangs again after its cancel
                await self._hang("cut off again")
        finally:
            self.done.set_result(None)

    async def _hang(self, then: str) -> None:
        """Wait forever; when cancelled, log `then` and swallow the cancel only if it must hang again."""
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.log.append((then, self.label))
            if not (self.hang_again and then == "cut off"):
                raise


class Blocks(Server):
    """Owns a resource; `handle_cast` blocks and swallows one cancel (as a buggy library may).

    The cast "block" returns once it has swallowed; "block on" then blocks again, until a cancel.
    """

    async def init(self, log: Log) -> None:
        await self.enter_async_context(Owned(log))
        self.blocked = asyncio.Event()
        self.swallowed = asyncio.Event()

    async def handle_cast(self, request: object) -> None:
        self.blocked.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        self.swallowed.set()
        if request == "block on":
            await asyncio.Event().wait()


class SwallowsItsSelfExit(Server):
    """Owns a resource; a broad `except` in a callback swallows the `Exit` of the kill it caused."""

    async def init(self, log: Log) -> None:
        await self.enter_async_context(Owned(log))
        self.swallowed = asyncio.Event()

    async def handle_cast(self, dead: Pid) -> None:
        try:
            self.link(dead)  # "noproc": the server is killed while it runs, Exit is raised here
        except Exit:
            self.swallowed.set()


class OwnsAll(Server):
    """Owns the contexts it is given, entered in order (so closed newest first)."""

    async def init(self, *contexts: Hangs) -> None:
        for context in contexts:
            await self.enter_async_context(context)


def server(rt: Runtime, pid: Pid) -> Server:
    found = rt.server_of(pid)
    assert found is not None
    return found


async def start(cls: type[Server], me: Process, *args: object) -> Pid:
    """Start `cls` from `me`, unlinked and monitored: `me` hears of its exit by the Down only."""
    pid = await cls.start_link(me.runtime, *args)
    assert pid is not None
    me.unlink(pid)
    me.monitor(pid)
    return pid


async def kill_and_time(rt: Runtime, me: Process, pid: Pid) -> tuple[Down, float]:
    """Kill `pid` (monitored by `me`); its Down and the seconds it took."""
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    rt.exit(pid, "kill")
    down = await down_of(me, pid)
    return down, loop.time() - killed_at


def timed_out(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if TIMED_OUT in record.getMessage()]


async def test_a_kill_ends_at_once_an_owner_that_swallowed_the_cancel_of_its_earlier_exit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """"shutdown" defers its exit to the close and cancels the task; the cancel is swallowed and it
    serves on, closing in name only. A kill then cancels it again: dead at once, not at the bound."""
    caplog.set_level(logging.WARNING, logger="observer.runtime")
    log: Log = []
    async with Runtime(shutdown_timeout=0.5) as rt, rt.attached() as me:
        pid = await start(Blocks, me, log)
        state = server(rt, pid)
        assert isinstance(state, Blocks)
        rt.cast(pid, "block")
        await asyncio.wait_for(state.blocked.wait(), GUARD)
        rt.exit(pid, "shutdown")
        await asyncio.wait_for(state.swallowed.wait(), GUARD)
        assert rt.is_alive(pid) and log == []

        down, took = await kill_and_time(rt, me, pid)

    assert down.reason == "killed"
    assert log == [("closed", "owned")]
    assert timed_out(caplog) == [], "the kill waited for its timer instead of cutting in at once"
    assert took < KILL_CLOSE_TIMEOUT


async def test_a_kill_ends_at_once_an_owner_that_swallowed_the_exit_of_its_own_signal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="observer.runtime")
    log: Log = []
    async with Runtime(shutdown_timeout=0.5) as rt, rt.attached() as me:
        dead = await dead_pid(rt, me)
        pid = await start(SwallowsItsSelfExit, me, log)
        state = server(rt, pid)
        assert isinstance(state, SwallowsItsSelfExit)
        rt.cast(pid, dead)
        await asyncio.wait_for(state.swallowed.wait(), GUARD)
        assert rt.is_alive(pid) and log == []  # exiting, in name only: it serves on

        down, took = await kill_and_time(rt, me, pid)

    assert down.reason == "killed"
    assert log == [("closed", "owned")]
    assert timed_out(caplog) == []
    assert took < KILL_CLOSE_TIMEOUT


async def test_an_owner_that_swallows_the_kills_cancel_is_dead_at_the_bound(caplog: pytest.LogCaptureFixture) -> None:
    """Slow (the bound): the kill's cancel is swallowed; the kill timer cancels again, and that one ends it."""
    caplog.set_level(logging.WARNING, logger="observer.runtime")
    log: Log = []
    async with Runtime(shutdown_timeout=0.5) as rt, rt.attached() as me:
        pid = await start(Blocks, me, log)
        state = server(rt, pid)
        assert isinstance(state, Blocks)
        rt.cast(pid, "block on")
        await asyncio.wait_for(state.blocked.wait(), GUARD)

        down, took = await kill_and_time(rt, me, pid)

    assert state.swallowed.is_set()
    assert down.reason == "killed"
    assert log == [("closed", "owned")]  # the timer's cancel still lets the owner close what it owns
    assert len(timed_out(caplog)) == 1
    assert took < KILL_CLOSE_TIMEOUT + SLACK


async def test_a_kill_bounds_the_close_of_two_hanging_contexts(caplog: pytest.LogCaptureFixture) -> None:
    """Slow (the bound): the timer cuts the newest close short; the older one hangs too, and the
    owner is declared dead anyway, then its task is cancelled once more and finishes."""
    caplog.set_level(logging.WARNING, logger="observer.runtime")
    log: Log = []
    async with Runtime(shutdown_timeout=0.5) as rt, rt.attached() as me:
        older, newer = Hangs("older", log), Hangs("newer", log)
        pid = await start(OwnsAll, me, older, newer)

        down, took = await kill_and_time(rt, me, pid)
        assert log == [("closing", "newer"), ("cut off", "newer"), ("closing", "older")]
        await asyncio.wait_for(older.done, GUARD)

    assert down.reason == "killed"
    assert took < KILL_CLOSE_TIMEOUT + SLACK
    assert log[3:] == [("cut off", "older")]
    assert newer.done.done()
    assert len(timed_out(caplog)) == 1


async def test_a_kill_bounds_a_close_that_hangs_again_after_its_cancel() -> None:
    """Slow (the bound)."""
    log: Log = []
    async with Runtime(shutdown_timeout=0.5) as rt, rt.attached() as me:
        stubborn = Hangs("stubborn", log, hang_again=True)
        pid = await start(OwnsAll, me, stubborn)

        down, took = await kill_and_time(rt, me, pid)
        assert log == [("closing", "stubborn"), ("cut off", "stubborn")]  # and hanging again
        await asyncio.wait_for(stubborn.done, GUARD)

    assert down.reason == "killed"
    assert took < KILL_CLOSE_TIMEOUT + SLACK
    assert log[2:] == [("cut off again", "stubborn")]


class OwnsThenBlocksInInit(Server):
    async def init(self, log: Log, ready: asyncio.Future[Pid]) -> None:
        await self.enter_async_context(Owned(log))
        ready.set_result(self.pid)
        await asyncio.Event().wait()  # killed here, before init returns


def is_exit_of(pid: Pid) -> Callable[[object], bool]:
    return lambda message: type(message) is ExitMessage and message.pid is pid


async def kill_when_ready(proc: Process, ready: asyncio.Future[Pid]) -> None:
    proc.runtime.exit(await ready, "kill")


async def test_an_owner_killed_in_init_fails_its_start_with_killed_and_stays_linked_to_its_parent() -> None:
    log: Log = []
    async with Runtime() as rt, rt.attached(trap_exits=True) as parent:
        ready: asyncio.Future[Pid] = asyncio.get_running_loop().create_future()
        rt.spawn(kill_when_ready, ready)
        with pytest.raises(StartError) as failed:
            await OwnsThenBlocksInInit.start_link(rt, log, ready)
        assert failed.value.reason == "killed"  # not the CancelledError the kill raised in init
        assert log == [("closed", "owned")]
        # The link was not taken down: the exit that failed the start was queued to the parent with it.
        pid = ready.result()
        assert not rt.is_alive(pid)
        assert await parent.receive(is_exit_of(pid), timeout=0) == ExitMessage(pid, "killed")
