"""`Stall`: a time the service's event loop stopped running, as the watchdog recorded it."""

from __future__ import annotations

from dataclasses import dataclass

from observer.runtime import Pid


@dataclass(frozen=True, slots=True)
class Stall:
    """The service's event loop did not run for a while.

    Attributes:
        began: When the loop stopped answering, in seconds since the epoch (`time.time()` of the service).
        seconds: How long it did not answer (so far, while `ongoing`).
        stack: The loop thread's frames when the watchdog noticed, innermost first, as
            ``file:line in function`` (the first one is where it was blocked).
        pid: The process whose task was running then, if one was.
        task: The name of the asyncio task that was running then (a process's is ``"<0.12.0> name"``).
        ongoing: The loop is still blocked.
    """

    began: float
    seconds: float
    stack: tuple[str, ...]
    pid: Pid | None
    task: str | None = None
    ongoing: bool = False
