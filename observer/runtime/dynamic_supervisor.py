"""DynamicSupervisor: children started on demand, restarted one_for_one, stopped in parallel."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from . import reports
from .errors import (
    AlreadyStarted,
    ChildNotFound,
    InvalidArgument,
    InvalidChildSpec,
    InvalidSupervisorFlags,
    MaxChildren,
    StartError,
)
from .process import SHUTDOWN, Caller, Exit, ExitMessage, Pid, is_normal_exit
from .runtime import Runtime, current_runtime
from .server import Server
from .spec import Child, ChildCounts, ChildSpec, Shutdown, StartResult
from .supervision import (
    Failure,
    RestartIntensity,
    StartFailed,
    admin_call,
    check_intensity,
    check_spec,
    child_counts,
    child_report,
    emit_child_event,
    retry_after_a_loop_turn,
    start_child_process,
    stop_children_in_parallel,
)

RESTARTING: Literal["restarting"] = "restarting"


@dataclass(slots=True)
class _Child:
    spec: ChildSpec  # resolved
    pid: Pid | Literal["restarting"]
    restarts: int = 0
    # What `children()` last reported for it, made on the first look and reused while its pid and
    # restart count stay (an observer of 10,000 children rebuilds only the ones that restarted).
    seen: tuple[Child, int] | None = None


@dataclass(frozen=True, slots=True)
class _RetryRestart:
    key: int
    last_pid: Pid


def _check_max_children(max_children: Any) -> None:
    if max_children is not None and (
        not isinstance(max_children, int) or isinstance(max_children, bool) or max_children < 0
    ):
        raise InvalidSupervisorFlags(f"max_children must be an int >= 0 or None, got {max_children!r}")


class DynamicSupervisor(Server):
    """Supervises any number of children added with `start_child`, each restarted on its own.

    A transient child that exits normally and any temporary child are removed.
    """

    trap_exits: ClassVar[bool] = True
    kind: ClassVar[str] = "dynamic_supervisor"

    # Invariant: `_children` maps a key (start order) to every child, running or
    # restarting; `_by_pid` maps each running child's pid to its key, and
    # `_restarting` each restarting child's last pid (so it can still be terminated).
    _children: dict[int, _Child]
    _by_pid: dict[Pid, int]
    _restarting: dict[Pid, int]
    _keys: itertools.count[int]
    _max_children: int | None
    _intensity: RestartIntensity

    @classmethod
    async def start_link(  # type: ignore[override]
        cls,
        rt: Runtime,
        *,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        max_children: int | None = None,
        name: str | None = None,
    ) -> Pid:
        """Start an empty dynamic supervisor linked to the current process.

        Raises:
            InvalidSupervisorFlags: bad max_restarts or max_seconds.
            InvalidSupervisorFlags: max_children is negative or not an int.
        """
        check_intensity(max_restarts, max_seconds)
        _check_max_children(max_children)
        pid = await super().start_link(rt, max_restarts, max_seconds, max_children, name=name)
        assert pid is not None
        return pid

    @classmethod
    def child_spec(  # type: ignore[override]
        cls,
        id: Any,
        *,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        max_children: int | None = None,
        restart: Literal["permanent", "transient", "temporary"] = "permanent",
        shutdown: Shutdown | None = None,
        name: str | None = None,
    ) -> ChildSpec:
        """A spec (type "supervisor") that starts an empty dynamic supervisor."""
        check_intensity(max_restarts, max_seconds)
        _check_max_children(max_children)

        async def start() -> Pid:
            return await cls.start_link(
                current_runtime(), max_restarts=max_restarts, max_seconds=max_seconds,
                max_children=max_children, name=name,
            )

        return ChildSpec(id, start, restart=restart, shutdown=shutdown, type="supervisor")

    async def init(self, max_restarts: int, max_seconds: float, max_children: int | None) -> None:
        self._children = {}
        self._by_pid = {}
        self._restarting = {}
        self._keys = itertools.count()
        self._max_children = max_children
        self._intensity = RestartIntensity(max_restarts, max_seconds, self.runtime.clock)

    # -- admin API ------------------------------------------------------------------

    @classmethod
    async def start_child(cls, rt: Runtime, sup: Pid | str, spec: ChildSpec) -> StartResult:
        """Start a child; returns what its start returned (None: it ignored the start and is not kept).

        Raises:
            MaxChildren: the supervisor has max_children children.
            StartError: the child failed to start.
            InvalidChildSpec: not a ChildSpec, or significant=True.
        """
        spec = check_spec(spec)
        if spec.significant:
            raise InvalidChildSpec(f"child spec {spec.id!r}: a DynamicSupervisor has no significant children")
        result: StartResult = await admin_call(rt, sup, cls.kind, ("start_child", spec))
        return result

    @classmethod
    async def terminate_child(cls, rt: Runtime, sup: Pid | str, pid: Pid) -> None:
        """Stop the child `pid` and remove it (a restarting child by the pid it last had).

        Raises:
            ChildNotFound: `pid` is not a child of this supervisor.
        """
        if not isinstance(pid, Pid):
            raise InvalidArgument(f"DynamicSupervisor.terminate_child needs the child's Pid, got {pid!r}")
        await admin_call(rt, sup, cls.kind, ("terminate_child", pid))

    @classmethod
    async def which_children(cls, rt: Runtime, sup: Pid | str) -> list[Child]:
        """Every child in start order; `Child.id` is its spec's id."""
        result: list[Child] = await admin_call(rt, sup, cls.kind, ("which_children",))
        return result

    @classmethod
    async def count_children(cls, rt: Runtime, sup: Pid | str) -> ChildCounts:
        """`specs` is the number of children; restarting ones are counted but not `active`."""
        result: ChildCounts = await admin_call(rt, sup, cls.kind, ("count_children",))
        return result

    # -- introspection for observers ----------------------------------------------------

    @property
    def strategy(self) -> str:
        """Always one_for_one."""
        return "one_for_one"

    def children(self) -> list[tuple[Child, int]]:
        """Every child in start order with how often it was restarted (for observers).

        An unchanged child's entry is the same object as in the previous call.
        """
        entries = []
        for child in self._children.values():
            seen = child.seen
            if seen is None or seen[0].pid is not child.pid or seen[1] != child.restarts:
                seen = child.seen = (self._report(child), child.restarts)
            entries.append(seen)
        return entries

    def restart_intensity_used(self) -> float:
        """Restarts in the current window over `max_restarts` (for observers: 1.0 means at the limit)."""
        return self._intensity.used()

    # -- callbacks ----------------------------------------------------------------------

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("start_child", ChildSpec() as spec):
                return await self._add_child(spec)
            case ("terminate_child", Pid() as pid):
                return await self._terminate_child(pid)
            case ("which_children",):
                return [self._report(child) for child in self._children.values()]
            case ("count_children",):
                return self._counts()
        raise ValueError(f"unknown dynamic supervisor request {request!r}")

    async def handle_info(self, message: Any) -> None:
        if type(message) is ExitMessage and message.pid is not None:
            await self._child_exited(message.pid, message.reason)
        elif type(message) is _RetryRestart:
            child = self._children.get(message.key)
            if child is not None and child.pid == RESTARTING:
                await self._restart(message.key, child, message.last_pid)

    async def terminate(self, reason: Any) -> None:
        specs = {child.pid: child.spec for child in self._children.values() if isinstance(child.pid, Pid)}
        running = [(pid, spec.shutdown) for pid, spec in specs.items()]
        for pid, exit_reason in (await stop_children_in_parallel(self._process, running)).items():
            self._stopped(pid, specs[pid], exit_reason)
        self._children.clear()
        self._by_pid.clear()
        self._restarting.clear()

    # -- decisions ------------------------------------------------------------------------

    async def _add_child(self, spec: ChildSpec) -> Any:
        if self._max_children is not None and len(self._children) >= self._max_children:
            return Failure(MaxChildren(f"the dynamic supervisor has max_children={self._max_children} children"))
        try:
            pid, result = await start_child_process(self._process, spec)
        except StartFailed as failure:
            if isinstance(failure.reason, AlreadyStarted):
                return Failure(failure.reason)  # the child's own start hit a taken name
            return Failure(StartError(failure.reason))
        if pid is not None:
            key = next(self._keys)
            self._children[key] = _Child(spec, pid)
            self._by_pid[pid] = key
            emit_child_event(self.runtime, "child_started", pid, self.pid, spec.id)
            reports.progress(self.pid, spec.id, pid)
        return result

    async def _terminate_child(self, pid: Pid) -> Any:
        restarting = self._restarting.pop(pid, None)
        if restarting is not None:  # nothing runs: just stop retrying
            del self._children[restarting]
            self.runtime.generation += 1
            return None
        key = self._by_pid.pop(pid, None)
        if key is None:
            return Failure(ChildNotFound(f"{pid!r} is not a child of this dynamic supervisor"))
        child = self._children.pop(key)
        reasons = await stop_children_in_parallel(self._process, [(pid, child.spec.shutdown)])
        self._stopped(pid, child.spec, reasons[pid])
        return None

    def _stopped(self, pid: Pid, spec: ChildSpec, reason: Any) -> None:
        """Announce a child this supervisor stopped; report it if it did not end as its shutdown spec asked."""
        emit_child_event(self.runtime, "child_stopped", pid, self.pid, spec.id, reason)
        if not reports.stopped_as_expected(reason, spec.shutdown, spec.restart):
            reports.shutdown_error(self.pid, spec.id, pid, reason)

    async def _child_exited(self, pid: Pid, reason: Any) -> None:
        key = self._by_pid.pop(pid, None)
        if key is None:
            return
        child = self._children[key]
        reports.child_terminated(self.pid, child.spec.id, pid, reason)
        restart = child.spec.restart
        if restart == "permanent" or (restart == "transient" and not is_normal_exit(reason)):
            emit_child_event(self.runtime, "restart_began", pid, self.pid, child.spec.id, reason)
            await self._restart(key, child, pid)
            emit_child_event(self.runtime, "restart_ended", pid, self.pid, child.spec.id)
        else:
            del self._children[key]

    async def _restart(self, key: int, child: _Child, last_pid: Pid) -> None:
        if not self._intensity.add():
            intensity = self._intensity
            reports.intensity_reached(
                self.pid, child.spec.id, last_pid, intensity.max_restarts, intensity.max_seconds
            )
            del self._children[key]
            self._restarting.pop(last_pid, None)
            raise Exit(SHUTDOWN)
        try:
            pid, _ = await start_child_process(self._process, child.spec)
        except StartFailed as failure:
            reports.start_error(self.pid, child.spec.id, failure.reason)
            emit_child_event(self.runtime, "start_failed", self.pid, self.pid, child.spec.id, failure.reason)
            child.pid = RESTARTING
            self._restarting[last_pid] = key
            self.runtime.generation += 1
            retry_after_a_loop_turn(self._process, _RetryRestart(key, last_pid))
            return
        self._restarting.pop(last_pid, None)
        if pid is None:
            del self._children[key]
            return
        child.pid = pid
        child.restarts += 1
        self._by_pid[pid] = key
        emit_child_event(self.runtime, "child_started", pid, self.pid, child.spec.id)
        reports.progress(self.pid, child.spec.id, pid)
        self.runtime._note_restart(pid, self.pid, child.restarts)

    def _report(self, child: _Child) -> Child:
        return child_report(child.spec, child.pid)

    def _counts(self) -> ChildCounts:
        return child_counts((child.spec, child.pid) for child in self._children.values())
