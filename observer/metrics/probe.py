"""`LoopProbe`: a cheap heartbeat on the runtime's loop that tells a scrape the loop's lag and its stalls.

Every `interval` seconds a beat (one `call_later` callback) notes that the loop ran. A beat that
runs at least `threshold` seconds late ends a stall: the loop did not run for that long. Another
thread (the scrape's) reads the latest state at any time, also while the loop is blocked, and
learns how long the loop has not been seen running.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

INTERVAL = 0.05
"""Seconds between beats; a beat is one timer callback on the loop's own thread (no other thread wakes it)."""
THRESHOLD = 0.25
"""Seconds a beat may be late before it counts as a stall (`serve`'s default `stall_threshold`)."""


@dataclass(frozen=True, slots=True)
class ProbeState:
    """The probe's latest state, written whole by the loop's thread so another thread reads it consistently.

    Attributes:
        stalls: Stalls that have ended since the probe started.
        last_seen: When the loop last ran a beat or a read (the probe's clock).
        lag: How late the latest beat ran, in seconds.
    """

    stalls: int
    last_seen: float
    lag: float


class LoopProbe:
    """Beats on the runtime's loop; `state()` and `blocked_for()` may be called from any thread.

    Invariant: `_state` is only ever replaced (one attribute write, atomic), never changed in
    place, and only by the loop's thread: a reader in another thread sees one whole state.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        interval: float = INTERVAL,
        threshold: float = THRESHOLD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a probe for `loop` (it beats once `start` is called).

        Args:
            loop: The runtime's event loop.
            interval: Seconds between beats.
            threshold: Seconds late a beat must be to count as a stall.
            clock: A monotonic clock that every thread may call.
        """
        self._loop = loop
        self._loop_thread: int | None = None
        self.interval = interval
        self.threshold = threshold
        self._clock = clock
        self._state = ProbeState(0, clock(), 0.0)
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop this probe beats on."""
        return self._loop

    @property
    def beating(self) -> bool:
        """Whether a beat is armed (between `start` and `close`)."""
        return self._timer is not None and not self._closed

    def on_loop_thread(self) -> bool:
        """Whether the caller runs in the loop's thread (where waiting for the loop would deadlock)."""
        return threading.get_ident() == self._loop_thread

    def start(self) -> None:
        """Start beating; call it on the loop's thread."""
        self._loop_thread = threading.get_ident()
        self.seen()
        self._timer = self._loop.call_later(self.interval, self._beat)

    def close(self) -> None:
        """Stop beating (idempotent); from the loop's thread, or from another while the loop runs."""
        self._closed = True
        if self.on_loop_thread():
            self._cancel()
        else:
            try:
                self._loop.call_soon_threadsafe(self._cancel)
            except RuntimeError:  # the loop is closed: its timers are gone with it
                pass

    def seen(self) -> ProbeState:
        """Note that the loop is running now (on the loop's thread); an unseen gap past the threshold is a stall.

        Returns:
            The new state.
        """
        now = self._clock()
        previous = self._state
        late = now - previous.last_seen - self.interval
        stalls = previous.stalls + 1 if late >= self.threshold else previous.stalls
        state = ProbeState(stalls, now, max(0.0, late))
        self._state = state
        return state

    def state(self) -> ProbeState:
        """The latest state (any thread)."""
        return self._state

    def blocked_for(self, state: ProbeState) -> float:
        """Seconds since the loop was last seen in `state` (any thread)."""
        return max(0.0, self._clock() - state.last_seen)

    def ongoing_stall(self, state: ProbeState) -> bool:
        """Whether the loop is in a stall that `seen` will count once it runs again (any thread).

        The condition is the one `seen` applies, so a counter of `stalls + ongoing` never goes back.
        """
        return self.blocked_for(state) - self.interval >= self.threshold

    def _beat(self) -> None:
        if self._closed:
            return
        self.seen()
        self._timer = self._loop.call_later(self.interval, self._beat)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
