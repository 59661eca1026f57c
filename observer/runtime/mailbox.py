"""Mailbox: a FIFO of messages with Erlang-style selective receive."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("receive timed out"))


class Mailbox:
    """Messages of one process, oldest first.

    `get()` without a match is O(1). A selective `get(match)` takes the oldest
    message the match accepts and leaves every other message queued in order.
    The match runs only in the receiving process, never in a sender: `put`
    merely wakes the receiver, which then tests the messages it has not seen.
    """

    __slots__ = ("_messages", "_trace", "_waiter", "messages_in")

    def __init__(self) -> None:
        self._messages: deque[Any] = deque()
        # Invariant: `_waiter` is set only while the owner is suspended in `get`.
        self._waiter: asyncio.Future[None] | None = None
        self.messages_in = 0  # messages put since the mailbox was made
        self._trace: Callable[[Any], None] | None = None  # told of every message put, while a trace is on

    def __len__(self) -> int:
        return len(self._messages)

    @property
    def waiting(self) -> bool:
        """True while the owner is blocked in `get`."""
        return self._waiter is not None

    def put(self, message: Any) -> None:
        """Queue `message` and wake the owner if it is waiting."""
        self._messages.append(message)
        self.messages_in += 1
        if self._trace is not None:
            self._trace(message)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def remove_first(self, match: Callable[[Any], bool]) -> bool:
        """Remove the oldest message `match` accepts; return whether one was removed."""
        return self.take_first(match) is not None

    def take_first(self, match: Callable[[Any], bool]) -> Any:
        """Remove and return the oldest message `match` accepts, or None (without waiting).

        For matches that never accept None itself.
        """
        for index, message in enumerate(self._messages):
            if match(message):
                del self._messages[index]
                return message
        return None

    def take_all(self, match: Callable[[Any], bool]) -> list[Any]:
        """Remove and return every message `match` accepts, oldest first, in one pass (without waiting).

        The others stay queued in order, in the same deque (a server's loop holds it).
        """
        messages = self._messages
        taken = [message for message in messages if match(message)]
        if taken:
            kept = [message for message in messages if not match(message)]
            messages.clear()
            messages.extend(kept)
        return taken

    async def get(self, match: Callable[[Any], bool] | None = None, timeout: float | None = None) -> Any:
        """Take the oldest message (that `match` accepts), waiting up to `timeout` seconds.

        Raises:
            TimeoutError: no acceptable message arrived in time.
        """
        messages = self._messages
        if match is None and messages:
            return messages.popleft()
        scanned = 0
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if match is None:
                if messages:
                    return messages.popleft()
            else:
                for index in range(scanned, len(messages)):
                    message = messages[index]
                    if match(message):
                        del messages[index]
                        return message
                scanned = len(messages)
            if deadline is not None and loop.time() >= deadline:
                raise TimeoutError(f"no matching message within {timeout}s")
            waiter = loop.create_future()
            timer = None if deadline is None else loop.call_at(deadline, _expire, waiter)
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
