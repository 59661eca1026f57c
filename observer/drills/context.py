"""DrillContext: what a drill does to a running system (kill by path, settle, record events) and checks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from observer.runtime import (
    CallExit,
    Child,
    Down,
    DynamicSupervisor,
    NoProc,
    ObserverError,
    Pid,
    Process,
    Runtime,
    RuntimeEvent,
    Supervisor,
)

from .report import DrillReport, Expectation, StepReport

KILL_TIMEOUT = 10.0
"""Seconds a drill waits for a process it signalled to exit before failing the step (never a hang)."""


class DrillError(ObserverError):
    """A drill could not do what it meant to (e.g. a path that names no process)."""


@dataclass(frozen=True, slots=True)
class KillOutcome:
    """What one kill led to, once the runtime settled."""

    path: str
    pid: Pid
    reason: Any  # the killed process's exit reason, from its Down
    events: tuple[RuntimeEvent, ...]  # every observation event from the kill until settled
    seconds: float
    supervisor: Pid | None  # the killed process's supervisor (its parent) when it was killed

    def stopped(self, supervisor: Pid) -> list[str]:
        """Child ids `supervisor` stopped, in the order it stopped them."""
        return [e.name or "?" for e in self.events if e.kind == "child_stopped" and e.other is supervisor]

    def started(self, supervisor: Pid) -> list[str]:
        """Child ids `supervisor` started, in the order it started them."""
        return [e.name or "?" for e in self.events if e.kind == "child_started" and e.other is supervisor]


class DrillContext:
    """The drill's hands and eyes on a runtime whose default system (or a user's tree) is running.

    The drill runs as an attached process (`me`), so it can monitor, link and
    receive. Waiting is always on something that happens — a `Down`, a reply
    from a supervisor that has handled the exit — never on a fixed sleep.
    """

    def __init__(
        self,
        rt: Runtime,
        me: Process,
        report: DrillReport,
        *,
        root: str = "system",
        live: bool = False,
        on_affected: Callable[[Sequence[Pid]], None] | None = None,
    ) -> None:
        self.rt = rt
        self.me = me
        self.report = report
        self.root = root
        self.live = live  # running inside the app, next to the workload: global counts are not exact
        self._on_affected = on_affected
        self._events: list[RuntimeEvent] = []
        self._unsubscribe = rt.subscribe(self._events.append)

    def close(self) -> None:
        """Stop recording events."""
        self._unsubscribe()

    # -- steps and expectations --------------------------------------------------

    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[StepReport]:
        """A named step; named runtime errors inside it fail the step instead of the runner."""
        step = StepReport(name)
        self.report.steps.append(step)
        started = time.perf_counter()
        try:
            yield step
        except (ObserverError, TimeoutError) as error:
            step.error = f"{type(error).__name__}: {error}"
        finally:
            step.seconds = time.perf_counter() - started

    def expect(self, step: StepReport, description: str, passed: bool, expected: Any, actual: Any) -> bool:
        """Record one expectation; returns whether it held."""
        step.expectations.append(Expectation(description, bool(passed), _show(expected), _show(actual)))
        return bool(passed)

    def expect_equal(self, step: StepReport, description: str, expected: Any, actual: Any) -> bool:
        """Record that `actual` should equal `expected`."""
        return self.expect(step, description, expected == actual, expected, actual)

    def highlight(self, pids: Sequence[Pid]) -> None:
        """Tell a live observer which processes this step affects."""
        if self._on_affected is not None:
            self._on_affected(pids)

    # -- finding processes ----------------------------------------------------------

    async def children(self, supervisor: Pid | str) -> list[Child]:
        """`which_children` of a Supervisor or DynamicSupervisor."""
        pid = supervisor if isinstance(supervisor, Pid) else self.rt.whereis(supervisor)
        info = None if pid is None else self.rt.process_info(pid)
        if info is None or info.kind not in ("supervisor", "dynamic_supervisor"):
            raise DrillError(f"{supervisor!r} is not a running supervisor")
        if info.kind == "supervisor":
            return await Supervisor.which_children(self.rt, info.pid)
        return await DynamicSupervisor.which_children(self.rt, info.pid)

    async def resolve(self, path: str) -> Pid:
        """The pid at `path`, e.g. "system/services/signal_router" (root name, then child ids).

        Raises:
            DrillError: a segment names no running child.
        """
        segments = path.split("/")
        pid = self.rt.whereis(segments[0])
        if pid is None:
            raise DrillError(f"{path!r}: no process is registered as {segments[0]!r}")
        for depth, segment in enumerate(segments[1:], start=1):
            children = {str(child.id): child.pid for child in await self.children(pid)}
            child_pid = children.get(segment)
            if not isinstance(child_pid, Pid):
                where = "/".join(segments[:depth])
                raise DrillError(
                    f"{path!r}: {where} has no running child {segment!r} (children: {', '.join(children) or 'none'})"
                )
            pid = child_pid
        return pid

    async def pids(self, paths: Sequence[str]) -> dict[str, Pid]:
        """The pid at each path."""
        return {path: await self.resolve(path) for path in paths}

    def supervisors_above(self, pid: Pid) -> list[Pid]:
        """The live supervisors from `pid`'s parent up to its root."""
        chain = []
        info = self.rt.process_info(pid)
        while info is not None and info.parent is not None:
            chain.append(info.parent)
            info = self.rt.process_info(info.parent)
        return chain

    # -- faults -------------------------------------------------------------------

    async def kill(self, path: str, reason: Any = "kill") -> KillOutcome:
        """Send the process at `path` an exit signal and wait until its supervisors have acted on it."""
        pid = await self.resolve(path)
        info = self.rt.process_info(pid)
        if reason == "normal" or (info is not None and info.trap_exits and reason != "kill"):
            raise DrillError(
                f"{path}: exit reason {reason!r} would not end it (it "
                f"{'traps exits' if info is not None and info.trap_exits else 'ignores normal'}); use 'kill'"
            )
        chain = self.supervisors_above(pid)
        self.highlight([pid])
        first_event = len(self._events)
        started = time.perf_counter()
        ref = self.me.monitor(pid)
        self.rt.exit(pid, reason)
        try:
            down = await self.me.receive(lambda m: type(m) is Down and m.ref is ref, timeout=KILL_TIMEOUT)
        except TimeoutError:
            self.me.demonitor(ref, flush=True)
            raise DrillError(f"{path}: still running {KILL_TIMEOUT:.0f} s after exit signal {reason!r}") from None
        await self.settle(chain)
        outcome = KillOutcome(
            path, pid, down.reason, tuple(self._events[first_event:]), time.perf_counter() - started,
            chain[0] if chain else None,
        )
        self.highlight([e.pid for e in outcome.events if e.kind == "child_started"])
        return outcome

    async def settle(self, supervisors: Sequence[Pid]) -> None:
        """Wait until each supervisor (innermost first) has handled every exit queued before now.

        A call is queued behind the exit messages a supervisor already has, so
        its reply means they were handled; a supervisor that gave up instead
        answers with `CallExit`/`NoProc`, and by then its own exit is queued at
        the next one up.
        """
        for supervisor in supervisors:
            try:
                await self.children(supervisor)
            except (CallExit, NoProc, DrillError):
                continue

    async def start_probes(self, body: Callable[..., Awaitable[None]], args: Sequence[tuple[Any, ...]]) -> list[Pid]:
        """Spawn one probe per args tuple (`body(proc, *args, drill_pid)`); wait until each reported ready.

        Raises:
            DrillError: a probe died before it was ready (e.g. no signal router to subscribe to);
                the other probes are killed.
        """
        pids = [self.rt.spawn(body, *probe_args, self.me.pid) for probe_args in args]
        refs = {self.me.monitor(pid): pid for pid in pids}
        pending = set(pids)
        try:
            while pending:
                message = await self.me.receive(
                    lambda m: (isinstance(m, tuple) and m[:1] == ("ready",)) or (type(m) is Down and m.ref in refs),
                    timeout=10.0,
                )
                if type(message) is Down:
                    for pid in pids:
                        self.rt.exit(pid, "kill")
                    raise DrillError(f"probe {message.pid!r} died before it was ready, with {message.reason!r}")
                pending.discard(message[1])
        finally:
            for ref in refs:  # the drill's own monitors must not show in the counts it checks
                self.me.demonitor(ref, flush=True)
        return pids

    async def kill_all(self, pids: Sequence[Pid]) -> None:
        """Kill every pid and wait for all of them to be gone."""
        for pid in pids:
            self.rt.exit(pid, "kill")
        await self.wait_down(pids)

    async def wait_down(self, pids: Sequence[Pid]) -> dict[Pid, Any]:
        """Monitor each pid and wait for all their `Down`s; returns pid -> exit reason."""
        refs = {self.me.monitor(pid): pid for pid in pids}
        reasons: dict[Pid, Any] = {}
        while refs:
            down = await self.me.receive(lambda m: type(m) is Down and m.ref in refs)
            reasons[refs.pop(down.ref)] = down.reason
        return reasons


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return "[" + ", ".join(value) + "]"
    return repr(value)
