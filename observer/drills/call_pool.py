"""CallPool: calls to an attached service that are in flight together, each on a connection of its own.

The endpoint answers one request at a time per connection, so a load's calls (a hung server
keeps each one for its whole timeout) need one connection each to overlap as they would
in-process. The pool opens them as calls need them, up to `MAX_CONNECTIONS`, and reuses them; a
call that finds none free waits for one, its wait counted in its timeout (past it, the call is a
`CallTimeout`, as a call that could not reach the server in time would be).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from observer.remote import Connection, Unreachable
from observer.runtime import CallTimeout

MAX_CONNECTIONS: Final = 32
"""Connections one pool opens at most: calls in flight together beyond this many wait for one."""


class CallPool:
    """Connections to the service of `conn`, opened on demand (see the module docstring)."""

    def __init__(self, conn: Connection, limit: int = MAX_CONNECTIONS) -> None:
        """A pool opening connections like `conn` (none yet).

        Args:
            conn: The drill's connection (not used for the pool's calls, nor closed by it).
            limit: Connections open at most.
        """
        self._conn = conn
        self._limit = limit
        # Invariant: every connection the pool opened and has not closed is in `_open`; the free ones
        # are also in `_free`. A `None` in `_free` is a slot given back by a connection that closed.
        # `_opening` counts the connections being opened: their slots are taken before the first await,
        # so that callers arriving together never open more than `limit` between them.
        self._open: set[Connection] = set()
        self._opening = 0
        self._free: asyncio.Queue[Connection | None] = asyncio.Queue()
        self._closed = False

    @property
    def size(self) -> int:
        """Connections open now."""
        return len(self._open)

    async def call(self, dest: Any, request: Any, timeout: float) -> Any:
        """`Connection.call` on a free connection; waiting for one counts in `timeout`.

        Raises:
            CallTimeout: No reply within `timeout` (or no connection free before it).
            ObserverError: What the call raised (`CallExit`, `NoProc`, `Unreachable`, ...).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):
                conn = await self._take()
        except TimeoutError:
            raise CallTimeout(dest, request, timeout) from None
        try:
            return await conn.call(dest, request, timeout=max(deadline - loop.time(), 1e-3))
        finally:
            self._give(conn)

    async def close(self) -> None:
        """Close every connection, those of calls under way too (they end as `Unreachable`); idempotent."""
        self._closed = True
        connections, self._open = list(self._open), set()
        for conn in connections:
            await conn.close()

    async def _take(self) -> Connection:
        while True:
            if self._closed:
                raise Unreachable(f"{self._conn.where}: the drill's calls are closed (the drill has ended)")
            if self._free.empty() and self._slot_left():
                return await self._open_one()
            conn = await self._free.get()
            if conn is None:  # a slot given back: open a connection in it
                if self._slot_left():
                    return await self._open_one()
                continue
            if not conn.closed and conn in self._open:
                return conn
            self._open.discard(conn)

    def _slot_left(self) -> bool:
        return len(self._open) + self._opening < self._limit

    async def _open_one(self) -> Connection:
        self._opening += 1
        try:
            conn = await self._conn.open_another()
        except BaseException:
            self._free.put_nowait(None)  # the slot is free again: a caller waiting for one may open it
            raise
        finally:
            self._opening -= 1
        if self._closed:  # the pool closed while it opened this one
            await conn.close()
            raise Unreachable(f"{self._conn.where}: the drill's calls are closed (the drill has ended)")
        self._open.add(conn)
        return conn

    def _give(self, conn: Connection) -> None:
        if conn.closed or conn not in self._open:
            self._open.discard(conn)
            self._free.put_nowait(None)
        else:
            self._free.put_nowait(conn)
