"""CallPool: an attached load's calls in flight together, one connection each, at most `limit` of them.

The service is served in this process (the endpoint has its own thread either way);
`test_attach.py` runs loads against real services in their own processes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from observer.drills.call_pool import CallPool
from observer.remote import Connection, Unreachable, connect, serve
from observer.runtime import NO_REPLY, Caller, CallTimeout, NoProc, Runtime, Server

GUARD = 20.0


class Gate(Server):
    """Holds every "wait" call until a "open" call answers them all; answers "ping" at once."""

    async def init(self) -> None:
        self.waiting: list[Caller] = []

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        if request == "wait":
            self.waiting.append(caller)
            return NO_REPLY
        if request == "open":
            for held in self.waiting:
                held.reply("opened")
            count, self.waiting = len(self.waiting), []
            return count
        if request == "held":
            return len(self.waiting)
        return request


@asynccontextmanager
async def gate_service() -> AsyncIterator[tuple[Runtime, Connection]]:
    async with asyncio.timeout(GUARD), Runtime() as rt:
        await Gate.start_link(rt, name="gate")
        async with serve(rt, control=True), connect(os.getpid()) as conn:
            yield rt, conn


async def held(conn: Connection, count: int) -> None:
    """Until `count` calls are held in the gate (each look is a round trip: no sleeping on a guess)."""
    while await conn.call("gate", "held") < count:
        pass


async def test_calls_in_flight_together_each_have_a_connection_and_are_reused(xdg: Path) -> None:
    async with gate_service() as (_, conn):
        pool = CallPool(conn, limit=4)

        async def open_when_all_are_held() -> int:
            await held(conn, 3)  # each of the three is in the gate: all are in flight together
            size = pool.size
            assert await conn.call("gate", "open") == 3
            return size

        try:
            *replies, size = await asyncio.gather(*(pool.call("gate", "wait", 5.0) for _ in range(3)),
                                                  open_when_all_are_held())
            assert replies == ["opened"] * 3 and size == 3
            assert await pool.call("gate", "ping", 1.0) == "ping"
            assert pool.size == 3  # a free connection was reused
        finally:
            await pool.close()


async def test_past_the_limit_a_call_waits_for_a_connection_within_its_timeout(xdg: Path) -> None:
    async with gate_service() as (_, conn):
        pool = CallPool(conn, limit=1)

        async def while_one_is_held() -> None:
            await held(conn, 1)
            with pytest.raises(CallTimeout, match=r"timed out after 0\.05s"):
                await pool.call("gate", "ping", 0.05)  # no connection free before its timeout
            assert pool.size == 1
            await conn.call("gate", "open")

        try:
            reply, _ = await asyncio.gather(pool.call("gate", "wait", 5.0), while_one_is_held())
            assert reply == "opened"
            assert await pool.call("gate", "ping", 1.0) == "ping"
            with pytest.raises(NoProc):
                await pool.call("nobody", "ping", 1.0)
        finally:
            await pool.close()
        with pytest.raises(Unreachable, match="the drill's calls are closed"):
            await pool.call("gate", "ping", 1.0)


async def test_callers_arriving_together_never_open_more_than_the_limit(xdg: Path) -> None:
    async with gate_service() as (_, conn):
        pool = CallPool(conn, limit=2)
        try:
            replies = await asyncio.gather(*(pool.call("gate", f"ping {n}", 5.0) for n in range(10)))
            assert replies == [f"ping {n}" for n in range(10)]
            assert pool.size == 2
        finally:
            await pool.close()
