"""Message tracing (`Runtime.trace`): the next N messages a process receives and handles, then off by itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .process import Pid, Process

TraceKind = Literal["in", "call", "cast", "info", "reply"]


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One traced message.

    Attributes:
        at: When, on the runtime clock.
        pid: The traced process.
        kind: `"in"` (put in its mailbox: the envelope, e.g. `Call(...)`), `"call"` / `"cast"` /
            `"info"` (handled: the request or message), `"reply"` (the reply a call returned).
        message: The message itself (not a copy: observers must not change it).
    """

    at: float
    pid: Pid
    kind: TraceKind
    message: Any


class Tracer:
    """One trace on one process: forwards at most `left` events to its callback, then stops itself.

    The callback runs via the loop (`call_soon`), never inside the runtime's bookkeeping, so a
    callback that raises or is slow cannot break or stall the traced process.
    """

    __slots__ = ("_callback", "_clock", "_loop", "_proc", "left")

    def __init__(
        self,
        proc: Process,
        callback: Callable[[TraceEvent], object],
        limit: int,
        loop: asyncio.AbstractEventLoop,
        clock: Callable[[], float],
    ) -> None:
        self._proc = proc
        self._callback = callback
        self._loop = loop
        self._clock = clock
        self.left = limit

    def start(self) -> None:
        """Hook into the process: its mailbox reports deliveries, its handlers report handling."""
        proc = self._proc
        if proc._tracers is None:
            proc._tracers = []
            proc._mailbox._trace = self._delivered_to_all
        proc._tracers.append(self)

    def stop(self) -> None:
        """Stop tracing (idempotent); the process pays nothing once its last trace stops."""
        proc = self._proc
        tracers = proc._tracers
        if tracers is None or self not in tracers:
            return
        tracers.remove(self)
        if not tracers:
            proc._tracers = None
            proc._mailbox._trace = None

    def emit(self, kind: TraceKind, message: Any) -> None:
        """Forward one event (the callers check `_tracers` first, so untraced processes never get here)."""
        if self.left <= 0:
            return
        self.left -= 1
        self._loop.call_soon(self._callback, TraceEvent(self._clock(), self._proc.pid, kind, message))
        if self.left == 0:
            self.stop()

    def _delivered_to_all(self, message: Any) -> None:
        # Installed once per process (by its first tracer): tells every tracer of that process.
        tracers = self._proc._tracers
        if tracers is not None:
            for tracer in tuple(tracers):
                tracer.emit("in", message)


def trace_handled(proc: Process, kind: TraceKind, message: Any) -> None:
    """Tell every tracer of `proc` that it handled `message` (call only when `proc._tracers` is set)."""
    tracers = proc._tracers
    if tracers is not None:
        for tracer in tuple(tracers):
            tracer.emit(kind, message)
