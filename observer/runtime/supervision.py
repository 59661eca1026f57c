"""What Supervisor and DynamicSupervisor share: flags, restart intensity, starting and stopping a child."""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import AlreadyStarted, InvalidChildSpec, InvalidSupervisorFlags, NotASupervisor, StartError
from .process import KILL, SHUTDOWN, Down, ExitMessage, Pid, Process, Ref
from .spec import Child, ChildCounts, ChildSpec, StartResult

if TYPE_CHECKING:
    from .runtime import Runtime

ChildPid = Pid | None | Literal["restarting"]
"""What a supervisor keeps as a child's pid: a Pid, None (not running) or "restarting"."""

STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
AUTO_SHUTDOWNS = ("never", "any_significant", "all_significant")


def check_intensity(max_restarts: Any, max_seconds: Any) -> None:
    """Raise InvalidSupervisorFlags unless max_restarts is an int >= 0 and max_seconds a number > 0."""
    if not isinstance(max_restarts, int) or isinstance(max_restarts, bool) or max_restarts < 0:
        raise InvalidSupervisorFlags(f"max_restarts must be an int >= 0, got {max_restarts!r}")
    if not isinstance(max_seconds, (int, float)) or isinstance(max_seconds, bool) or not max_seconds > 0:
        raise InvalidSupervisorFlags(f"max_seconds must be a number of seconds > 0, got {max_seconds!r}")


@dataclass(frozen=True, slots=True)
class SupervisorFlags:
    """How a supervisor restarts: strategy, intensity (max_restarts in max_seconds) and auto_shutdown."""

    strategy: str = "one_for_one"
    max_restarts: int = 3
    max_seconds: float = 5.0
    auto_shutdown: str = "never"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidSupervisorFlags(f"strategy must be one of {', '.join(STRATEGIES)}; got {self.strategy!r}")
        check_intensity(self.max_restarts, self.max_seconds)
        if self.auto_shutdown not in AUTO_SHUTDOWNS:
            raise InvalidSupervisorFlags(
                f"auto_shutdown must be one of {', '.join(AUTO_SHUTDOWNS)}; got {self.auto_shutdown!r}"
            )


class RestartIntensity:
    """Restart times in a sliding window of `max_seconds` on the runtime clock (OTP's `add_restart`)."""

    __slots__ = ("_clock", "_max_restarts", "_max_seconds", "_times")

    def __init__(self, max_restarts: int, max_seconds: float, clock: Callable[[], float]) -> None:
        self._max_restarts = max_restarts
        self._max_seconds = max_seconds
        self._clock = clock
        self._times: deque[float] = deque()

    @property
    def max_restarts(self) -> int:
        """More restarts than this within `max_seconds` make the supervisor give up."""
        return self._max_restarts

    @property
    def max_seconds(self) -> float:
        """The length of the sliding window, in seconds of the runtime clock."""
        return self._max_seconds

    def used(self) -> float:
        """Restarts within the window now over `max_restarts` (1.0 = one more gives up; 0.0 when none allowed).

        Read-only: the stored times are not pruned, so observers cannot change what `add` decides.
        """
        if self._max_restarts == 0:
            return 0.0
        threshold = self._clock() - self._max_seconds
        recent = sum(1 for when in self._times if when >= threshold)
        return recent / self._max_restarts

    def add(self) -> bool:
        """Count one restart now; False when that makes more than max_restarts within max_seconds."""
        now = self._clock()
        times = self._times
        threshold = now - self._max_seconds
        while times and times[0] < threshold:
            times.popleft()
        times.append(now)
        return len(times) <= self._max_restarts


class StartFailed(Exception):  # internal control flow: never escapes a supervisor
    """A child's start function failed; `reason` is what the supervisor reports."""

    def __init__(self, reason: Any) -> None:
        self.reason = reason
        super().__init__(reason)


async def start_child_process(process: Process, spec: ChildSpec) -> tuple[Pid | None, StartResult]:
    """Run `spec.start()` inside the supervisor process `process`.

    Returns:
        (pid or None when the child ignored its start, what `start` returned).

    Raises:
        StartFailed: the start raised or returned something that is not a start result.
    """
    try:
        result = await spec.start()
    except StartError as exc:
        raise StartFailed(exc.reason) from None
    except AlreadyStarted as exc:
        raise StartFailed(exc) from None
    except Exception as exc:  # noqa: BLE001 - not hidden: it is the start error's reason, reported or raised
        raise StartFailed(exc) from None
    if result is None:
        return None, None
    pid = result[0] if isinstance(result, tuple) and len(result) == 2 else result
    if not isinstance(pid, Pid):
        raise StartFailed(("bad_return_value", result))
    process.link(pid)  # idempotent; a child that is already gone sends us its exit as usual
    return pid, result


def retry_after_a_loop_turn(process: Process, message: Any) -> None:
    """Send `message` to the supervisor `process` itself, but only after the rest of the loop has run.

    A restart whose start fails before its first await (a name another process
    holds) would otherwise be retried back to back, because a server takes
    queued messages without yielding: a hanging restart loop would starve every
    other task. Sent from a `call_soon` callback, the retry reaches the mailbox
    after every callback that was ready already, so the supervisor waits for it
    and each attempt is at least one loop turn after the previous one; calls
    that arrive meanwhile are answered between attempts (OTP casts
    `try_again_restart` to itself for the same reason). To a supervisor that has
    died by then, the retry is dropped like any message to a dead pid.
    """
    asyncio.get_running_loop().call_soon(process.runtime.send, process.pid, message)


def _exit_from(pid: Pid) -> Callable[[Any], bool]:
    return lambda message: type(message) is ExitMessage and message.pid is pid


def _down_of(ref: Ref) -> Callable[[Any], bool]:
    return lambda message: type(message) is Down and message.ref is ref


async def stop_child_process(process: Process, pid: Pid, shutdown: Any) -> Any:
    """Stop one child by its shutdown spec (OTP's `shutdown/2`); return its exit reason.

    The supervisor monitors the child and unlinks it first, so a child that
    unlinked itself cannot hang it, and an exit the child made on its own
    just before is taken from the mailbox instead of being treated as a crash.
    """
    runtime = process.runtime
    ref = process.monitor(pid)
    process.unlink(pid)
    own_exit = process._mailbox.take_first(_exit_from(pid))
    if own_exit is not None:
        process.demonitor(ref, flush=True)
        return own_exit.reason
    is_down = _down_of(ref)
    if shutdown == "brutal_kill":
        runtime.exit(pid, KILL)
        return (await process.receive(is_down)).reason
    runtime.exit(pid, SHUTDOWN)
    try:
        down = await process.receive(is_down, timeout=None if shutdown == "infinity" else shutdown)
    except TimeoutError:
        runtime.exit(pid, KILL)
        down = await process.receive(is_down)
    return down.reason


async def stop_children_in_parallel(process: Process, children: Iterable[tuple[Pid, Any]]) -> dict[Pid, Any]:
    """Stop many children at once, each by its shutdown spec: total time ≈ the slowest, not the sum.

    Returns:
        Each child's exit reason, in the order they went.
    """
    runtime = process.runtime
    loop_time = runtime._loop.time  # type: ignore[union-attr]
    children = list(children)
    # A child that exited on its own just before is not stopped: its queued exit says why it went
    # (as `stop_child_process` does, one mailbox pass for all of them).
    stopping = {pid for pid, _ in children}
    reasons: dict[Pid, Any] = {
        message.pid: message.reason
        for message in process._mailbox.take_all(lambda m: type(m) is ExitMessage and m.pid in stopping)
    }
    pending: dict[Ref, Pid] = {}
    deadlines: list[tuple[float, int, Ref]] = []  # a heap: when to kill a child that has not stopped
    for pid, shutdown in children:
        if pid in reasons:
            continue
        ref = process.monitor(pid)
        process.unlink(pid)  # a child that had already exited gets an immediate Down("noproc")
        pending[ref] = pid
        if shutdown == "brutal_kill":
            runtime.exit(pid, KILL)
        else:
            runtime.exit(pid, SHUTDOWN)
            if shutdown != "infinity":
                heapq.heappush(deadlines, (loop_time() + shutdown, ref.id, ref))

    def is_pending_down(message: Any) -> bool:
        return type(message) is Down and message.ref in pending

    while pending:
        while deadlines and deadlines[0][2] not in pending:
            heapq.heappop(deadlines)
        timeout = max(0.0, deadlines[0][0] - loop_time()) if deadlines else None
        try:
            down = await process.receive(is_pending_down, timeout=timeout)
        except TimeoutError:
            now = loop_time()
            while deadlines and deadlines[0][0] <= now:
                ref = heapq.heappop(deadlines)[2]
                if ref in pending:
                    runtime.exit(pending[ref], KILL)
            continue
        reasons[pending.pop(down.ref)] = down.reason
    return reasons


class Failure:
    """An admin request's error, carried back through the call and raised in the caller."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


async def admin_call(rt: Runtime, sup: Pid | str, kind: str, request: tuple[Any, ...]) -> Any:
    """Call supervisor `sup` of `kind`; raise the error it reports, or a clear one if it is not one."""
    proc = rt._live(sup)
    if proc._kind != kind:
        raise NotASupervisor(f"{sup!r} is a {proc._kind}, not a {kind}; {request[0]} needs a {kind}")
    result = await rt.call(sup, request, timeout=None)
    if isinstance(result, Failure):
        raise result.error
    return result


def child_report(spec: ChildSpec, pid: ChildPid) -> Child:
    """A child as `which_children` reports it."""
    return Child(spec.id, pid, spec.type, spec.restart)


def child_counts(children: Iterable[tuple[ChildSpec, ChildPid]]) -> ChildCounts:
    """`count_children` over (spec, pid) pairs: a child is active when its pid is a Pid."""
    specs = active = supervisors = 0
    for spec, pid in children:
        specs += 1
        active += isinstance(pid, Pid)
        supervisors += spec.type == "supervisor"
    return ChildCounts(specs=specs, active=active, supervisors=supervisors, workers=specs - supervisors)


def emit_child_event(
    runtime: Runtime, kind: str, pid: Pid, supervisor: Pid, child_id: Hashable, reason: Any = None
) -> None:
    """An observation event about a supervisor's child; its label is made only when someone subscribes."""
    if runtime._subscribers:
        runtime._emit(kind, pid, other=supervisor, reason=reason, name=child_label(child_id))


def child_label(child_id: Hashable) -> str:
    """A child id as observation events name it: the id itself when it is a str, else its repr."""
    return child_id if isinstance(child_id, str) else repr(child_id)


def check_spec(spec: Any) -> ChildSpec:
    """The spec, or InvalidChildSpec if it is not a ChildSpec."""
    if not isinstance(spec, ChildSpec):
        raise InvalidChildSpec(f"a child spec must be a ChildSpec, got {spec!r}")
    return spec
