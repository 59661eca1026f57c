"""CallTimeouts: call deadlines with one loop timer per distinct timeout, not one per call."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from .errors import CallTimeout

_COMPACT_FLOOR = 64
"""Entries a queue may hold before it first compacts (answered calls included)."""


class _TimeoutQueue:
    """Pending deadlines of calls that share one timeout value.

    Invariant: deadlines are appended in non-decreasing order (same timeout,
    monotonic loop time), so the head is always the next to expire and one
    timer armed for it suffices. Answered calls are dropped lazily: from the
    head on each `add` and when the timer fires, and by a compaction whenever
    the queue has doubled since the last one — so one call pending on a silent
    server cannot keep every later answered call (its future, destination and
    request) alive until its deadline. Each compaction costs O(n) after at
    least n/2 adds: O(1) per call, amortized.
    """

    __slots__ = ("_compact_at", "_entries", "_loop", "_on_empty", "_timeout", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float, on_empty: Callable[[float], None]) -> None:
        self._loop = loop
        self._timeout = timeout
        self._on_empty = on_empty  # told when the queue has nothing left, so one-off timeouts do not pile up
        self._entries: deque[tuple[float, asyncio.Future[Any], Any, Any]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._compact_at = _COMPACT_FLOOR  # compact when the queue grows to this length

    def add(self, future: asyncio.Future[Any], dest: Any, request: Any) -> None:
        entries = self._entries
        while entries and entries[0][1].done():
            entries.popleft()
        if len(entries) >= self._compact_at:
            entries = self._compact()
        entries.append((self._loop.time() + self._timeout, future, dest, request))
        if self._timer is None:
            self._timer = self._loop.call_at(entries[0][0], self._expire)

    def _compact(self) -> deque[tuple[float, asyncio.Future[Any], Any, Any]]:
        """Drop every answered call's entry (keeping the order); the next compaction waits for twice as many."""
        entries = self._entries = deque(entry for entry in self._entries if not entry[1].done())
        self._compact_at = max(_COMPACT_FLOOR, 2 * len(entries))
        return entries

    def _expire(self) -> None:
        self._timer = None
        now = self._loop.time()
        entries = self._entries
        while entries:
            deadline, future, dest, request = entries[0]
            if not future.done():
                if deadline > now:
                    break
                future.set_exception(CallTimeout(dest, request, self._timeout))
            entries.popleft()
        if entries:
            self._timer = self._loop.call_at(entries[0][0], self._expire)
        else:
            self._on_empty(self._timeout)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._entries.clear()


class CallTimeouts:
    """Fails pending call futures with `CallTimeout` when their timeout passes.

    A loop timer per call (`call_later` + `cancel`) cost ~5 µs per call here,
    more than the rest of a call; this costs one deque append.
    """

    __slots__ = ("_loop", "_queues")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: dict[float, _TimeoutQueue] = {}

    def add(self, future: asyncio.Future[Any], timeout: float, dest: Any, request: Any) -> None:
        """Fail `future` with CallTimeout after `timeout` seconds unless it is done by then."""
        queue = self._queues.get(timeout)
        if queue is None:
            queue = self._queues[timeout] = _TimeoutQueue(self._loop, timeout, self._drop)
        queue.add(future, dest, request)

    def _drop(self, timeout: float) -> None:
        del self._queues[timeout]

    def cancel(self) -> None:
        """Drop every deadline and timer (the runtime is stopping)."""
        for queue in self._queues.values():
            queue.cancel()
        self._queues.clear()
