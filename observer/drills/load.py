"""Background load for drills: calls to a server at a fixed rate for a window, counting what went wrong.

A load is a process of the drill's runtime (no raw task): it spawns one short
caller process per request at its due time (`start + k / rate`), linked to
itself, and ends when every caller has ended. Each caller makes one call and
counts its outcome in the shared `LoadResult`: a reply (checked against
`reply` when one is given), or the error the call raised (`CallTimeout` when
the server is hung, `CallExit` when it died mid-call, `NoProc` while it is not
registered). Killing the load kills its callers with it (they are linked).

How a call is made is the drill context's (`Call`): in-process, `Runtime.call`
on the runtime the load runs in; attached, a call over the service's endpoint
from a runtime of the drill's own (`observer.drills.remote_context`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from observer.runtime import ExitMessage, ObserverError, Pid, Process

from . import values


class _AnyReply:
    """The type of `ANY_REPLY`."""

    def __repr__(self) -> str:
        return "any reply"


ANY_REPLY: Any = _AnyReply()
"""The `reply` of a load (or a wait) that accepts whatever the server answers."""

MAX_RATE = 10_000
"""Calls per second a load may make (each is a process start and a call: ~20 µs of the loop's time)."""
MAX_CALLS = 1_000_000
"""Calls one load may make in all (rate times window)."""

Call = Callable[[Any, Any, float], Awaitable[Any]]
"""Makes one call of a load: ``await call(dest, request, timeout)`` returns the reply or raises an
`ObserverError` (`CallTimeout`, `CallExit`, `NoProc`, ...), which the load counts."""


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What a load does: `rate` calls per second to `dest` for `seconds`, each with `timeout`."""

    dest: Any
    request: Any
    rate: float
    seconds: float
    timeout: float = 1.0
    reply: Any = ANY_REPLY

    @property
    def calls(self) -> int:
        """How many calls the load makes in all (at least one)."""
        return max(1, round(self.rate * self.seconds))


@dataclass(slots=True)
class LoadResult:
    """What a load's calls got, counted as they end."""

    spec: LoadSpec
    sent: int = 0
    replies: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_errors: dict[str, str] = field(default_factory=dict)  # kind -> the first such error's text
    done: bool = False

    @property
    def error_count(self) -> int:
        """Calls that did not get the expected reply."""
        return sum(self.errors.values())

    @property
    def ended(self) -> int:
        """Calls that ended, with a reply or an error."""
        return self.replies + self.error_count

    def failed(self, kind: str, text: str) -> None:
        """Count one failed call."""
        self.errors[kind] += 1
        self.first_errors.setdefault(kind, text)

    def summary(self) -> str:
        """One line: what was sent, what came back."""
        spec = self.spec
        line = (f"load: {self.sent} calls to {spec.dest!r} at {spec.rate:g}/s over {spec.seconds * 1000:g} ms: "
                f"{self.replies} ok, {self.error_count} errors")
        if self.errors:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in self.errors.most_common())
            first = next(iter(self.first_errors.values()))
            line += f" ({kinds}; first: {first})"
        if not self.done:
            line += f"; {self.sent - self.ended} still pending"
        return line


async def run_load(proc: Process, spec: LoadSpec, result: LoadResult, call: Call) -> None:
    """The load process's body (spawned with `trap_exits=True`): send on schedule, then wait for every caller."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index in range(spec.calls):
        delay = start + index / spec.rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # the load's own schedule: this is its rate, not a guess
        proc.runtime.spawn(_one_call, spec, result, call, link=proc.pid)
        result.sent += 1
    ended = 0
    while ended < result.sent:
        message = await proc.receive(lambda m: type(m) is ExitMessage)
        ended += 1
        if message.reason != "normal":  # a caller that crashed counted nothing itself
            result.failed("crashed", f"a caller crashed: {message.reason!r}")
    result.done = True


async def _one_call(proc: Process, spec: LoadSpec, result: LoadResult, call: Call) -> None:
    try:
        reply = await call(spec.dest, spec.request, spec.timeout)
    except ObserverError as error:  # counted: what a load is for
        result.failed(type(error).__name__, f"{type(error).__name__}: {error}")
        return
    if spec.reply is not ANY_REPLY and not values.equal(spec.reply, reply):
        result.failed("wrong reply", f"the reply {reply!r}")
    else:
        result.replies += 1


@dataclass(frozen=True, slots=True)
class Load:
    """A running load: its process and its result so far."""

    pid: Pid
    result: LoadResult
