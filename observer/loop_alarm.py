"""An alarm for code that may block the event loop: SIGALRM interrupts it, since no asyncio timeout can.

A factory that calls `time.sleep` (or any blocking call) from async code holds
the loop, so `asyncio.timeout` never gets to run. A real-time interval timer
(`signal.setitimer`) still fires: its handler runs in the main thread between
two bytecodes of whatever is blocking and raises `LoopBlocked` there, which
ends the blocking call (and the task it runs in) so that the loop turns again.
When the alarm finds the loop idle instead (waiting in its selector: the block
outlived its deadline without holding the loop, e.g. a task that ignores its
cancellation), it stops the timer and raises `LoopBlocked` out of the loop,
which ends `asyncio.run`.

Given a `task`, the alarm interrupts only that task (the app's factory), never the code
around it (drawing, a key): at any other instant it lets the timer fire again later.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

REPEAT = 1.0
"""Seconds between alarms once the first has fired, for code that blocks again after being interrupted."""


class LoopBlocked(BaseException):
    """Raised by the alarm into the code that held the loop past the deadline.

    A BaseException, like KeyboardInterrupt, so that a factory's `except Exception`
    cannot swallow it.
    """


class DrillBlocked(LoopBlocked):
    """The loop was held past a drill's deadline while the drill ran (not while its tree started)."""


class FactoryBlocked(LoopBlocked):
    """The app's tree factory held the loop past its start timeout."""


class LoopAlarm:
    """`with LoopAlarm(seconds):` raises `LoopBlocked` into the main thread if the block lasts past `seconds`.

    The alarm is armed only where it can work and harms nothing: in the main thread,
    on a platform with `setitimer`, and when no one else's real-time timer is pending
    (pytest-timeout's, a user's `signal.alarm`): then `armed` is False and the block
    runs unguarded. On leaving, the timer is stopped and the previous handler restored.
    """

    def __init__(
        self,
        seconds: float,
        error: type[LoopBlocked] = LoopBlocked,
        *,
        task: asyncio.Task[Any] | None = None,
        repeat: float = REPEAT,
    ) -> None:
        """Prepare an alarm `seconds` after entering.

        Args:
            seconds: How long the block may run before the alarm fires (then again every `repeat` seconds).
            error: What the alarm raises (`LoopBlocked` or a subclass that says which phase was held).
            task: Interrupt only this task (None: whatever holds the loop, and the loop itself when idle).
            repeat: Seconds between alarms once the first has fired.
        """
        self.seconds = seconds
        self.error = error
        self._task = task
        self._repeat = repeat
        self.armed = False
        self.fired = False  # the alarm went off at least once: something held the loop past the deadline
        self._previous: Callable[[int, FrameType | None], Any] | int | None = signal.SIG_DFL

    def __enter__(self) -> LoopAlarm:
        if (
            threading.current_thread() is threading.main_thread()
            and hasattr(signal, "setitimer")
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0
        ):
            self._previous = signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds, self._repeat)
            self.armed = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self.armed = False

    def _alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._task is not None:
            try:
                running = asyncio.current_task()
            except RuntimeError:  # no loop runs at this instant: nothing of the task's to interrupt
                return
            if running is not self._task:
                return
            self.fired = True
            raise self.error(f"the event loop was held for over {self.seconds:g} s")
        self.fired = True
        if frame is not None and frame.f_globals.get("__name__") == "selectors":  # the loop waits for I/O
            signal.setitimer(signal.ITIMER_REAL, 0)  # once: the loop itself is to stop now
            raise self.error(f"the block outlived its {self.seconds:g} s with the event loop idle")
        raise self.error(f"the event loop was held for over {self.seconds:g} s")
