"""Looking inside a live process: its task's stack, what it awaits, and a server's state as text."""

from __future__ import annotations

import asyncio
import pprint
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .process import Process
    from .runtime import ProcessInfo

STATE_CAP = 2_000
"""Characters of a server's state text kept by `Runtime.inspect` (the rest is cut, and says so)."""
STACK_CAP = 64
"""Frames kept of a stack (the innermost ones, where a process is stuck)."""


@dataclass(frozen=True, slots=True)
class Inspection:
    """A live process looked at from outside (see `Runtime.inspect`).

    Attributes:
        info: Its `ProcessInfo` (counters included).
        state: A server's `format_status()` as text, secrets redacted, capped at 2,000 characters;
            None for a plain process.
        stack: Its task's frames, outermost first, as `file:line in function`.
        awaiting: What it waits on: `"receive"`, `"call <0.7.0>"`, `"sleep"`, the innermost awaited
            coroutine's name, or None while it runs (or has not started).
    """

    info: ProcessInfo
    state: str | None
    stack: tuple[str, ...]
    awaiting: str | None


def capped(text: str, cap: int = STATE_CAP) -> str:
    """`text`, cut to `cap` characters with a marker saying how much was left out."""
    if len(text) <= cap:
        return text
    keep = cap
    for _ in range(3):  # the marker's length depends on the count it states: settle it
        marker = f"… [{len(text) - keep:,} more characters]"
        keep = max(0, cap - len(marker))
    return text[:keep] + f"… [{len(text) - keep:,} more characters]"


def state_text(status: object) -> str:
    """A `format_status()` result as readable text, capped."""
    return capped(status if isinstance(status, str) else pprint.pformat(status, width=100, compact=True))


def _frames(task: asyncio.Task[Any]) -> list[FrameType]:
    """The suspended frames of `task`'s coroutine chain, outermost first."""
    frames: list[FrameType] = []
    awaitable: Any = task.get_coro()
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None:
            frame = getattr(awaitable, "ag_frame", None)
        if frame is None:
            break
        frames.append(frame)
        awaitable = (
            getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
            or getattr(awaitable, "ag_await", None)
        )
    return frames


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_qualname}"


def stack_and_awaiting(
    proc: Process, call_code: Any, receive_codes: frozenset[Any]
) -> tuple[tuple[str, ...], str | None]:
    """`proc`'s stack (outermost first, the innermost `STACK_CAP` frames) and what it awaits.

    Args:
        proc: A live process.
        call_code: The code object of `Runtime.call`, to name the server a process is calling.
        receive_codes: Code objects whose frame, innermost, waits for a message (`Mailbox.get`, the
            server loop).
    """
    task = proc._task
    if task is None or task.done():
        return (), None
    frames = _frames(task)
    stack = tuple(_where(frame) for frame in frames[-STACK_CAP:])
    return stack, _awaiting(proc, task, frames, call_code, receive_codes)


def awaiting_of(proc: Process, call_code: Any, receive_codes: frozenset[Any]) -> str | None:
    """What `proc` awaits (as `stack_and_awaiting` says), without formatting its stack.

    A process waiting in its mailbox, the common case, costs one attribute test.
    """
    task = proc._task
    if task is None or task.done() or not proc._started:
        return None
    if proc._mailbox.waiting:
        return "receive"
    return _awaiting(proc, task, _frames(task), call_code, receive_codes)


def _awaiting(proc: Process, task: asyncio.Task[Any], frames: list[FrameType], call_code: Any,
              receive_codes: frozenset[Any]) -> str | None:
    if not frames or not proc._started or task is asyncio.current_task():
        return None
    # Waiting in its mailbox, or woken by a message it has not looked at yet (the waiter is cleared
    # by the delivery, before the process runs again): either way, in receive.
    if proc._mailbox.waiting or frames[-1].f_code in receive_codes:
        return "receive"
    for frame in reversed(frames):
        if frame.f_code is call_code:
            target = frame.f_locals.get("proc")
            pid = getattr(target, "pid", None)
            return f"call {pid!r}" if pid is not None else "call"
    if any(frame.f_code is _SLEEP_CODE for frame in frames[-2:]):  # sleep(0) yields in a helper below it
        return "sleep"
    return frames[-1].f_code.co_qualname


_SLEEP_CODE = asyncio.sleep.__code__
