"""DrillContext: what a drill does to a running system (kill, call, suspend, load, wait) and checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
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
from observer.runtime.rate_limiter import RateLimiter
from observer.runtime.signal_router import SignalRouter

from . import probes, values, waits
from .causes import CauseCatcher
from .errors import DrillError
from .load import ANY_REPLY, Load, LoadResult, LoadSpec, run_load
from .report import DrillReport
from .stepping import StepRecorder, describe

__all__ = ["WAIT_TIMEOUT", "Dest", "DrillContext", "DrillError", "KillOutcome", "describe"]

KILL_TIMEOUT = 10.0
"""Seconds a drill waits for a process it signalled to exit before failing the step (never a hang)."""
WAIT_TIMEOUT = 5.0
"""Seconds a wait (`wait_for_reply`, `wait_for_http`, `wait_root_exit`) gives its condition by default."""
LOAD_GRACE = 1.0
"""Seconds past a load's window plus its call timeout before waiting for its end fails."""

Dest = Pid | str
"""A process a drill talks to: a pid, a registered name, or a path such as "app/cache"."""


@dataclass(frozen=True, slots=True)
class KillOutcome:
    """What one kill led to, once the runtime settled."""

    path: str
    pid: Pid
    reason: Any  # the killed process's exit reason, from its Down
    events: tuple[RuntimeEvent, ...]  # every observation event from the kill until settled
    seconds: float
    supervisor: Pid | None  # the killed process's supervisor (its parent) when it was killed
    signalled_at: float = 0.0  # when the exit signal went out, on the runtime clock (as events are)

    @property
    def restart_seconds(self) -> float | None:
        """Seconds from the exit signal until its supervisor had restarted it (its whole cascade), or None.

        None when its supervisor did not start it again before the runtime settled
        (a restart whose start failed, a temporary child, a supervisor that gave up).
        """
        began = next((e for e in self.events if e.kind == "restart_began" and e.pid is self.pid
                      and e.other is self.supervisor), None)
        if began is None:
            return None
        child = began.name
        started = next((e for e in self.events if e.kind == "child_started" and e.other is self.supervisor
                        and e.name == child), None)
        if started is None:
            return None
        ended = next((e for e in self.events if e.kind == "restart_ended" and e.other is self.supervisor
                      and e.name == child), None)
        done = started.at if ended is None else max(ended.at, started.at)
        return done - self.signalled_at

    def stopped(self, supervisor: Pid) -> list[str]:
        """Child ids `supervisor` stopped, in the order it stopped them."""
        return [e.name or "?" for e in self.events if e.kind == "child_stopped" and e.other is supervisor]

    def started(self, supervisor: Pid) -> list[str]:
        """Child ids `supervisor` started, in the order it started them."""
        return [e.name or "?" for e in self.events if e.kind == "child_started" and e.other is supervisor]


class DrillContext(StepRecorder):
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
        super().__init__(report, root)
        self.rt = rt
        self.me = me
        self.live = live  # running inside the app, next to the workload: global counts are not exact
        self._on_affected = on_affected
        self.root_pid = rt.whereis(root)  # the root when the drill began, watched by `wait_root_exit`
        self._events: list[RuntimeEvent] = []
        self._unsubscribe = rt.subscribe(self._events.append)
        self._causes = CauseCatcher().install()
        self._suspended: set[Pid] = set()  # servers this drill suspended and has not resumed
        self._loads: list[Load] = []

    def close(self) -> None:
        """Stop recording events and supervisor reports."""
        self._unsubscribe()
        self._causes.uninstall()

    def causes_since(self, mark: int) -> list[str]:
        """The supervisors' start errors and give-ups caught since `cause_mark()` returned `mark`."""
        return self._causes.causes[mark:]

    def cause_mark(self) -> int:
        """A mark for `causes_since`."""
        return len(self._causes.causes)

    async def cleanup(self) -> None:
        """Leave the runtime as a drill found it: stop its loads, resume what it suspended (idempotent)."""
        for load in self._loads:
            if self.rt.is_alive(load.pid):
                self.rt.exit(load.pid, "kill")  # its callers are linked to it and die with it
        self._loads.clear()
        for pid in list(self._suspended):
            self._suspended.discard(pid)
            if self.rt.is_alive(pid):
                try:
                    await self.rt.resume(pid)
                except ObserverError:
                    continue  # it died meanwhile or is stuck: nothing left to resume

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

    async def target(self, dest: Dest) -> Dest:
        """What the runtime's calls take for `dest`: a path ("a/b") is resolved now, a pid or a name stays."""
        if isinstance(dest, str) and "/" in dest:
            return await self.resolve(dest)
        return dest

    async def pid_of(self, dest: Dest) -> Pid:
        """The live pid `dest` names now.

        Raises:
            DrillError: nothing is registered under that name (or at that path).
        """
        found = await self.target(dest)
        pid = self.rt.whereis(found) if isinstance(found, str) else found
        if pid is None or not self.rt.is_alive(pid):
            raise DrillError(f"{dest!r}: no live process has that name")
        return pid

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
        signalled_at = self.rt.clock()
        self.rt.exit(pid, reason)
        try:
            down = await self.me.receive(lambda m: type(m) is Down and m.ref is ref, timeout=KILL_TIMEOUT)
        except TimeoutError:
            self.me.demonitor(ref, flush=True)
            raise DrillError(f"{path}: still running {KILL_TIMEOUT:.0f} s after exit signal {reason!r}") from None
        await self.settle(chain)
        outcome = KillOutcome(
            path, pid, down.reason, tuple(self._events[first_event:]), time.perf_counter() - started,
            chain[0] if chain else None, signalled_at,
        )
        self.highlight([e.pid for e in outcome.events if e.kind == "child_started"])
        return outcome

    def monitor_count(self) -> int:
        """Monitors in the whole runtime now."""
        return self.rt.monitor_count()

    async def monitor_total(self) -> int:
        """`monitor_count`, awaitable as the attached context's is (there it is read from a snapshot)."""
        return self.rt.monitor_count()

    def root_alive(self) -> bool:
        """Whether the root the drill began with is still alive."""
        return self.root_pid is not None and self.rt.is_alive(self.root_pid)

    async def root_running(self) -> bool:
        """`root_alive`, awaitable as the attached context's is."""
        return self.root_alive()

    # -- the default system's services ---------------------------------------------------

    async def flood(self, limiter: str, key: str, checks: int) -> int:
        """Make `checks` rate-limit checks of `key` at the `rate_limiter`; returns how many were allowed."""
        allowed = 0
        for _ in range(checks):
            decision = await RateLimiter.check(self.rt, "rate_limiter", limiter, key)
            allowed += decision.allowed
        return allowed

    async def churn(self, pattern: str, subscribers: int) -> int:
        """Start `subscribers` processes subscribed to `pattern` at the `signal_router`, kill them all, and
        wait until the router has handled their exits; returns how many there were."""
        pids = await self.start_probes(probes.subscriber, [(pattern,)] * subscribers)
        await self.kill_all(pids)
        await SignalRouter.subscriptions(self.rt, "signal_router")  # answered after its Downs
        return len(pids)

    # -- talking to servers --------------------------------------------------------------

    async def call(self, dest: Dest, request: Any, *, timeout: float = 5.0) -> Any:
        """`rt.call(dest, request)`; `dest` may be a path.

        Raises:
            NoProc, CallTimeout, CallExit: as `Runtime.call` does (a step records them as its error).
        """
        return await self.rt.call(await self.target(dest), request, timeout=timeout)

    async def get_state(self, dest: Dest, *, timeout: float = 5.0) -> Any:
        """A server's state (`format_status()`, a dict of its public attributes by default)."""
        return await self.rt.get_state(await self.target(dest), timeout=timeout)

    async def suspend(self, dest: Dest) -> Pid:
        """Suspend a server (a hung dependency: calls to it queue and time out); returns its pid.

        The drill resumes it when it ends, if `resume` did not.
        """
        pid = await self.pid_of(dest)
        await self.rt.suspend(pid)
        self._suspended.add(pid)
        self.highlight([pid])
        return pid

    async def resume(self, dest: Dest) -> Pid:
        """Resume a server `suspend` hung; returns its pid."""
        pid = await self.pid_of(dest)
        await self.rt.resume(pid)
        self._suspended.discard(pid)
        return pid

    # -- waiting for conditions (each with a deadline, each failure naming what it last saw) ------------

    async def wait_for_reply(
        self, dest: Dest, request: Any, reply: Any = ANY_REPLY, *, timeout: float = WAIT_TIMEOUT
    ) -> Any:
        """Call `dest` until it answers (with `reply`, in TOML shapes, when one is given); returns the reply.

        Raises:
            DrillError: no such reply within `timeout`; the message says what the last try got.
        """

        async def attempt(remaining: float) -> tuple[bool, Any, str]:
            got = await self.rt.call(await self.target(dest), request, timeout=remaining)
            return reply is ANY_REPLY or values.equal(reply, got), got, f"the reply {got!r}"

        wanted = "a reply" if reply is ANY_REPLY else f"the reply {reply!r}"
        return await waits.until(attempt, timeout, f"wait_for call {dest!r} {request!r}: no {wanted}")

    async def wait_for_http(self, url: str, status: int = 200, *, timeout: float = WAIT_TIMEOUT) -> int:
        """GET `url` (loopback only) until it answers `status`; returns it.

        Raises:
            DrillError: not a loopback http:// URL, or no such status within `timeout` (the message
                says what the last try got: a status, a refused connection, ...).
        """
        return await waits.http_status(url, status, timeout)

    async def wait_root_exit(self, *, timeout: float = WAIT_TIMEOUT) -> Any:
        """Wait until the drill's root process has exited; returns its exit reason.

        Raises:
            DrillError: it still runs after `timeout`.
        """
        pid = self.root_pid
        if pid is None:
            raise DrillError(f"no root process {self.root!r} to watch")
        ref = self.me.monitor(pid)
        try:
            down = await self.me.receive(lambda m: type(m) is Down and m.ref is ref, timeout=timeout)
        except TimeoutError:
            self.me.demonitor(ref, flush=True)
            raise DrillError(f"the root {self.root!r} ({pid!r}) still runs {timeout * 1000:g} ms later") from None
        if down.reason == "noproc":  # it had exited already: its real reason is in the events
            await asyncio.sleep(0)  # events reach subscribers via the loop: let those already queued arrive
            exited = next((e for e in reversed(self._events) if e.kind == "exited" and e.pid is pid), None)
            if exited is not None:
                return exited.reason
        return down.reason

    async def pause(self, seconds: float) -> None:
        """Wait `seconds` (a load window: the one sleep a drill may ask for, and it says so)."""
        await asyncio.sleep(seconds)

    # -- load ---------------------------------------------------------------------------

    def start_load(
        self, dest: Dest, request: Any, *, rate: float, seconds: float, timeout: float = 1.0,
        reply: Any = ANY_REPLY,
    ) -> Load:
        """Start calling `dest` `rate` times a second for `seconds` in the background; returns the load.

        `await ctx.wait_load(load)` waits for its end. The drill stops loads still running when it ends.
        """
        spec = LoadSpec(dest, request, float(rate), float(seconds), float(timeout), reply)
        result = LoadResult(spec)
        pid = self.rt.spawn(run_load, spec, result, self._load_call, trap_exits=True)
        load = Load(pid, result)
        self._loads.append(load)
        return load

    async def _load_call(self, dest: Dest, request: Any, timeout: float) -> Any:
        """One call of a load (in its caller process): a path is resolved to the pid there now."""
        return await self.rt.call(await self.target(dest), request, timeout=timeout)

    @property
    def last_load(self) -> Load | None:
        """The load started last, if any."""
        return self._loads[-1] if self._loads else None

    async def wait_load(self, load: Load) -> LoadResult:
        """Wait until `load` has sent its last call and every call has ended; returns its result.

        Raises:
            DrillError: it did not end within its window, its call timeout and `LOAD_GRACE`.
        """
        spec = load.result.spec
        budget = spec.seconds + spec.timeout + LOAD_GRACE
        if self.rt.is_alive(load.pid):
            try:
                await self.wait_down([load.pid], timeout=budget)
            except TimeoutError:
                raise DrillError(f"the load on {spec.dest!r} did not end within {budget:g} s: "
                                 f"{load.result.summary()}") from None
        return load.result

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

    async def wait_down(self, pids: Sequence[Pid], *, timeout: float | None = None) -> dict[Pid, Any]:
        """Monitor each pid and wait for all their `Down`s; returns pid -> exit reason.

        Raises:
            TimeoutError: they were not all gone within `timeout` seconds (the monitors are released).
        """
        refs = {self.me.monitor(pid): pid for pid in pids}
        reasons: dict[Pid, Any] = {}
        try:
            async with asyncio.timeout(timeout):
                while refs:
                    down = await self.me.receive(lambda m: type(m) is Down and m.ref in refs)
                    reasons[refs.pop(down.ref)] = down.reason
        finally:
            for ref in refs:
                self.me.demonitor(ref, flush=True)
        return reasons
