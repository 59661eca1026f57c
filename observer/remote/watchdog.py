"""The loop-stall watchdog: notices, from another thread, when the runtime's event loop stops running.

It lives in the endpoint's thread. Every `HEARTBEAT` seconds it schedules a ping onto the runtime's
loop (`call_soon_threadsafe`) unless one is still unanswered; a ping that stays unanswered for
`threshold` seconds means the loop is blocked. At that moment the watchdog takes the loop thread's
stack (`sys._current_frames()`) and the task that was running (`asyncio.current_task(loop)`, a
dictionary read that is safe from another thread); when the ping is answered it records the stall
with its duration. The watchdog never reads the runtime itself: a process's task is named
``"<0.12.0> label"`` by the runtime, which is how a stall knows its pid.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import deque
from collections.abc import Callable

from .wire import StallRecord

HEARTBEAT = 0.1
"""Seconds between pings onto the runtime's loop (each one costs the loop a GIL hand-over; see `serve`)."""
KEEP = 100
"""Finished stalls kept (the oldest are dropped)."""
FRAMES = 32
"""Innermost frames kept of the loop thread's stack."""

_PROCESS_TASK = re.compile(r"<0\.(\d+)\.0>")


class Watchdog:
    """Pings the runtime's loop from the endpoint's thread and records when it stopped answering.

    Every method but `_pong`, `blocked_for`, `lag` and `stalls_begun` runs in the endpoint's thread;
    `_pong` runs on the runtime's loop and only stores one tuple (an atomic attribute write), which
    the endpoint's thread reads. `blocked_for`, `lag` and `stalls_begun` may be read from any thread
    (a metrics scrape's): each reads attributes that are replaced whole, never changed in place.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        loop_thread: int,
        *,
        threshold: float,
        interval: float = HEARTBEAT,
        keep: int = KEEP,
        frames: int = FRAMES,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_stall: Callable[[StallRecord], None] | None = None,
    ) -> None:
        """Create a watchdog for one loop.

        Args:
            loop: The runtime's event loop.
            loop_thread: The id (`threading.get_ident()`) of the thread that runs it.
            threshold: Seconds without an answer that make a stall.
            interval: Seconds between pings.
            keep: Finished stalls kept.
            frames: Innermost frames kept of a stall's stack.
            clock: A monotonic clock that both threads may call.
            wall: The wall clock, for when a stall began.
            on_stall: Called (in the endpoint's thread) with each stall once it has ended.
        """
        self._loop = loop
        self._loop_thread = loop_thread
        self.threshold = threshold
        self._interval = interval
        self._frames = frames
        self._clock = clock
        self._wall = wall
        self._on_stall = on_stall
        self._stalls: deque[StallRecord] = deque(maxlen=keep)
        self._seq = 0
        # Invariant: `_out` is (`_seq`, when it was sent) exactly while ping number `_seq` has not been
        # taken in as answered, else None; it is replaced whole, so another thread reads one ping's pair.
        self._out: tuple[int, float] | None = None
        self._answer: tuple[int, float] = (0, clock())  # (seq, when) of the latest pong: written by the loop
        self._last_seen = clock()
        self._lag = 0.0
        self._ongoing: StallRecord | None = None  # the stall being recorded (its stack is taken)
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.count = 0
        """Stalls recorded since the watchdog started (finished ones)."""
        self.stalls_begun = 0
        """Stalls since the watchdog started, counted when each begins (an ongoing one included)."""

    # -- the endpoint's thread ---------------------------------------------------------------

    def start(self, own_loop: asyncio.AbstractEventLoop) -> None:
        """Start pinging, ticking on `own_loop` (the endpoint's loop)."""
        self.poll()
        self._timer = own_loop.call_later(self._interval, self._tick, own_loop)

    def stop(self) -> None:
        """Stop pinging (idempotent)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def poll(self) -> None:
        """Take in the latest answer, record or finish a stall, and ping when no ping is unanswered."""
        now = self._clock()
        out = self._out
        if out is not None:
            seq, answered_at = self._answer
            if seq == out[0]:
                self._answered(out[1], answered_at)
            elif now - out[1] >= self.threshold and self._ongoing is None:
                self._ongoing = self._capture(out[1], now)
                self.stalls_begun += 1
        if self._out is None and not self._closed:
            self._ping(now)

    def seen(self, at: float) -> None:
        """Note that the loop ran at `at` (a read the endpoint scheduled was answered)."""
        self._last_seen = max(self._last_seen, at)

    def blocked_for(self) -> float:
        """Seconds the current ping has gone unanswered (0.0 when none is outstanding); any thread."""
        out = self._out  # read before the answer: an answer read later is at least as new
        if out is None or self._answer[0] >= out[0]:
            return 0.0
        return max(0.0, self._clock() - out[1])

    def unseen_for(self) -> float:
        """Seconds since the loop was last seen running."""
        last = max(self._last_seen, self._answer[1])
        return max(0.0, self._clock() - last)

    @property
    def lag(self) -> float:
        """How long the latest answered ping took: the loop's lag while it is healthy."""
        return self._lag

    def stalls(self) -> list[StallRecord]:
        """The stalls recorded, oldest first, then the ongoing one (if any) with its duration so far."""
        found = list(self._stalls)
        ongoing, out = self._ongoing, self._out
        if ongoing is not None and out is not None:
            found.append(StallRecord(ongoing.began, self._clock() - out[1], ongoing.stack, ongoing.pid, ongoing.task,
                                     ongoing=True))
        return found

    def _tick(self, own_loop: asyncio.AbstractEventLoop) -> None:
        if self._closed:
            return
        self.poll()
        self._timer = own_loop.call_later(self._interval, self._tick, own_loop)

    def _ping(self, now: float) -> None:
        self._seq += 1
        self._out = (self._seq, now)
        try:
            self._loop.call_soon_threadsafe(self._pong, self._seq)
        except RuntimeError:  # the runtime's loop is closed: nothing left to watch
            self._closed = True
            self._out = None

    def _answered(self, sent_at: float, answered_at: float) -> None:
        self._out = None
        self._lag = max(0.0, answered_at - sent_at)
        self._last_seen = max(self._last_seen, answered_at)
        ongoing, self._ongoing = self._ongoing, None
        if ongoing is None:
            return
        stall = StallRecord(ongoing.began, self._lag, ongoing.stack, ongoing.pid, ongoing.task)
        self._stalls.append(stall)
        self.count += 1
        if self._on_stall is not None:
            self._on_stall(stall)

    def _capture(self, sent_at: float, now: float) -> StallRecord:
        """The loop thread's stack and running task, now that the loop is blocked."""
        frame = sys._current_frames().get(self._loop_thread)
        stack: list[str] = []
        while frame is not None and len(stack) < self._frames:
            code = frame.f_code
            stack.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_qualname}")
            frame = frame.f_back
        task = asyncio.current_task(self._loop)
        task_name = None if task is None else task.get_name()
        match = None if task_name is None else _PROCESS_TASK.match(task_name)
        pid = None if match is None else int(match.group(1))
        began = self._wall() - (now - sent_at)
        return StallRecord(began, now - sent_at, tuple(stack), pid, task_name, ongoing=True)

    # -- the runtime's loop ----------------------------------------------------------------

    def _pong(self, seq: int) -> None:
        self._answer = (seq, self._clock())
