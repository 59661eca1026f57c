"""`StartAlarm`: interrupts a tree factory that holds the app's event loop past its start timeout.

A factory that calls `time.sleep` (or any blocking call) from async code holds the loop, so no
asyncio timeout can end it and the app is deaf to every key. A real-time interval timer still
fires: its handler runs in the main thread between two bytecodes of whatever runs, and raises
`FactoryBlocked` there — but only when the task running is the factory's own, so that the app's
own code (drawing, a key) is never interrupted; otherwise it lets the timer fire again later.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

REPEAT = 0.5
"""Seconds between alarms once the first has fired (the factory may block again after being interrupted)."""


class FactoryBlocked(BaseException):
    """Raised into the factory's blocking call: a BaseException, so that its `except Exception` cannot swallow it."""


class StartAlarm:
    """``with StartAlarm(seconds, task):`` raises `FactoryBlocked` into `task` if it holds the loop past `seconds`.

    Armed only where it can work and harms nothing: in the main thread, on a platform with
    `setitimer`, and when no one else's real-time timer is pending (pytest-timeout's, a user's
    `signal.alarm`); otherwise `armed` is False and the factory runs unguarded. On leaving, the
    timer is stopped and the previous handler restored.
    """

    def __init__(self, seconds: float, task: asyncio.Task[Any] | None) -> None:
        """Prepare the alarm.

        Args:
            seconds: How long the factory may hold the loop.
            task: The task the factory runs in (the only one the alarm interrupts).
        """
        self.seconds = seconds
        self.armed = False
        self.fired = False  # it interrupted the factory at least once
        self._task = task
        self._previous: Callable[[int, FrameType | None], Any] | int | None = signal.SIG_DFL

    def __enter__(self) -> StartAlarm:
        if (
            self._task is not None
            and threading.current_thread() is threading.main_thread()
            and hasattr(signal, "setitimer")
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0
        ):
            self._previous = signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds, REPEAT)
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
        try:
            running = asyncio.current_task()
        except RuntimeError:  # no loop runs at this instant: nothing of the factory's to interrupt
            return
        if running is not None and running is self._task:
            self.fired = True
            raise FactoryBlocked(f"the factory held the event loop for over {self.seconds:g} s")
