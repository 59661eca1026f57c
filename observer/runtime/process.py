"""Pids, refs, the Process handle, and the messages and exceptions processes exchange."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, final

from .mailbox import Mailbox
from .tracing import trace_handled

if TYPE_CHECKING:
    from .runtime import Runtime
    from .server import Server
    from .tracing import Tracer

NORMAL: Final = "normal"
SHUTDOWN: Final = "shutdown"
KILL: Final = "kill"
KILLED: Final = "killed"
NOPROC: Final = "noproc"


@final
class _Open:
    __slots__ = ()

    def __repr__(self) -> str:
        return "OPEN"


OPEN: Final = _Open()
"""`Process._closing` of a process that is not on its way out."""


@final
class Pid:
    """A process identifier.

    The runtime creates exactly one `Pid` object per process, so pids compare
    (and hash) by identity: cheap, and never equal to the pid of another process.
    """

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id

    def __repr__(self) -> str:
        return f"<0.{self.id}.0>"

    def __lt__(self, other: Pid) -> bool:
        return self.id < other.id

    def __copy__(self) -> Pid:
        return self

    def __deepcopy__(self, memo: object) -> Pid:
        return self


@final
class Ref:
    """A unique reference, as returned by `Process.monitor`; compares by identity."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id

    def __repr__(self) -> str:
        return f"#Ref<{self.id}>"

    def __copy__(self) -> Ref:
        return self

    def __deepcopy__(self, memo: object) -> Ref:
        return self


@dataclass(frozen=True, slots=True)
class Down:
    """A monitored process exited (or was not alive when the monitor was taken)."""

    ref: Ref
    pid: Pid
    reason: Any


@dataclass(frozen=True, slots=True)
class ExitMessage:
    """An exit signal received by a process that traps exits; `pid` is the sender."""

    pid: Pid | None
    reason: Any


class Exit(Exception):  # named after Erlang's exit/1
    """Raise `Exit(reason)` to end the current process (or server) with `reason`."""

    def __init__(self, reason: Any = NORMAL) -> None:
        self.reason = reason
        super().__init__(reason)


class Caller:
    """Who made a call; `reply(value)` answers it (for `handle_call` returning `NO_REPLY`)."""

    __slots__ = ("_future", "_traced", "pid")

    def __init__(self, future: asyncio.Future[Any], pid: Pid | None) -> None:
        self._future = future
        self.pid = pid
        self._traced: Process | None = None  # the traced server that took the call: it traces the reply

    def reply(self, value: Any) -> None:
        """Send the reply; a reply to a caller that already gave up is dropped."""
        if self._traced is not None:
            trace_handled(self._traced, "reply", value)
        if not self._future.done():
            self._future.set_result(value)

    def __repr__(self) -> str:
        return f"Caller({self.pid!r})"


class Call:
    """Envelope of a call in a server's mailbox."""

    __slots__ = ("caller", "request")

    def __init__(self, request: Any, caller: Caller) -> None:
        self.request = request
        self.caller = caller

    def __repr__(self) -> str:
        return f"Call({self.request!r}, from={self.caller.pid!r})"


class Cast:
    """Envelope of a cast in a server's mailbox."""

    __slots__ = ("request",)

    def __init__(self, request: Any) -> None:
        self.request = request

    def __repr__(self) -> str:
        return f"Cast({self.request!r})"


class StopRequest:
    """Envelope of `Runtime.stop` in a server's mailbox."""

    __slots__ = ("reason",)

    def __init__(self, reason: Any) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"StopRequest({self.reason!r})"


SystemOp = Literal["suspend", "resume", "get_state"]


class SystemMessage:
    """Envelope of a system request (`Runtime.suspend`, `resume`, `get_state`), as OTP's `sys` sends.

    A server handles it between callbacks, suspended or not; `reply` is answered like a call's.
    """

    __slots__ = ("op", "reply")

    def __init__(self, op: SystemOp, reply: asyncio.Future[Any]) -> None:
        self.op = op
        self.reply = reply

    def __repr__(self) -> str:
        return f"SystemMessage({self.op!r})"


def is_normal_exit(reason: Any) -> bool:
    """True for `"normal"`, `"shutdown"` and `("shutdown", info)`: exits that are not crashes."""
    if isinstance(reason, str):
        return reason == NORMAL or reason == SHUTDOWN
    return isinstance(reason, tuple) and len(reason) == 2 and reason[0] == SHUTDOWN


class Process:
    """A process: the handle its body gets, and the runtime's record of it.

    Public: `pid`, `runtime`, `trap_exits` (read/write), `receive`, `link`,
    `unlink`, `monitor`, `demonitor`. Everything with a leading underscore is
    owned by the `Runtime` and changed only by it.
    """

    __slots__ = (
        "_calls",
        "_kill_timer",
        "_closing",
        "_dead",
        "_exit_reason",
        "_exit_stack",
        "_exit_waiters",
        "_kind",
        "_links",
        "_mailbox",
        "_monitored_by",
        "_monitors",
        "_name",
        "_parent",
        "_reductions",
        "_restarts",
        "_server",
        "_started",
        "_started_at",
        "_task",
        "_tracers",
        "pid",
        "runtime",
        "trap_exits",
    )

    def __init__(
        self, runtime: Runtime, pid: Pid, *, trap_exits: bool, kind: str, parent: Pid | None, started_at: float
    ) -> None:
        self.pid = pid
        self.runtime = runtime
        self.trap_exits = trap_exits
        self._mailbox = Mailbox()
        self._task: asyncio.Task[Any] | None = None
        self._started = False  # its task has taken its first step
        self._dead = False  # Invariant: once True, the pid is in no table of the runtime
        self._exit_reason: Any = None
        self._name: str | None = None
        self._kind = kind
        self._parent = parent
        self._started_at = started_at
        self._restarts = 0
        self._server: Server | None = None
        # The containers below are created on first use: most processes never need them.
        self._links: set[Pid] | None = None
        self._monitors: dict[Ref, Pid] | None = None  # monitors this process holds: ref -> target
        self._monitored_by: dict[Ref, Pid] | None = None  # monitors on this process: ref -> watcher
        self._calls: set[asyncio.Future[Any]] | None = None  # pending calls to it; fail on its exit
        self._exit_waiters: list[asyncio.Future[Any]] | None = None  # resolved with its exit reason
        self._reductions = 0  # callbacks or receive rounds handled (ProcessInfo.reductions)
        # Owned resources (Server.enter_context): exited, newest first, before the exit is announced.
        self._exit_stack: AsyncExitStack | None = None
        # Invariant: OPEN until the process starts closing its owned resources on the way out; then the
        # reason it will die with. A closing process is still in the tables but takes no exit signals.
        self._closing: Any = OPEN
        # Armed when an owner is killed: declares it dead after KILL_CLOSE_TIMEOUT, closed or not.
        self._kill_timer: asyncio.TimerHandle | None = None
        self._tracers: list[Tracer] | None = None  # active traces (Runtime.trace); None when untraced

    def __repr__(self) -> str:
        return f"Process({self.pid!r}{', ' + repr(self._name) if self._name else ''})"

    async def receive(self, match: Callable[[Any], bool] | None = None, timeout: float | None = None) -> Any:
        """Return the oldest message `match` accepts (any message when `match` is None).

        Raises:
            TimeoutError: nothing acceptable arrived within `timeout` seconds.
            InvalidArgument: `timeout` is negative or not a number.
        """
        if timeout is not None:
            self.runtime._check_timeout(timeout)
        message = await self._mailbox.get(match, timeout)
        self._reductions += 1
        if self._tracers is not None:
            trace_handled(self, "info", message)
        return message

    def link(self, pid: Pid) -> None:
        """Link to `pid` (idempotent). A dead pid sends this process exit signal `"noproc"`."""
        self.runtime._link(self, pid)

    def unlink(self, pid: Pid) -> None:
        """Remove the link to `pid`, if any."""
        self.runtime._unlink(self, pid)

    def monitor(self, pid: Pid) -> Ref:
        """Monitor `pid`: one `Down(ref, pid, reason)` arrives when it exits (at once if it is dead)."""
        return self.runtime._monitor(self, pid)

    def demonitor(self, ref: Ref, flush: bool = False) -> bool:
        """Remove the monitor `ref`; no `Down` for it arrives afterwards.

        Args:
            ref: the monitor's reference.
            flush: also remove a `Down` for `ref` that is already queued.

        Returns:
            True if the monitor was active, False if it had fired or was unknown.
        """
        return self.runtime._demonitor(self, ref, flush)
