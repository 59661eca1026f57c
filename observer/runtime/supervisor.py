"""Supervisor: ordered static children restarted one_for_one, one_for_all or rest_for_one (OTP's supervisor)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from . import reports
from .errors import (
    AlreadyPresent,
    AlreadyStarted,
    ChildNotFound,
    ChildRestarting,
    ChildRunning,
    InvalidChildSpec,
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
    SupervisorFlags,
    admin_call,
    check_spec,
    child_counts,
    child_report,
    emit_child_event,
    retry_after_a_loop_turn,
    start_child_process,
    stop_child_process,
)

__all__ = ["Child", "ChildCounts", "ChildSpec", "Supervisor", "SupervisorFlags"]

RESTARTING: Literal["restarting"] = "restarting"


@dataclass(slots=True)
class _Child:
    """A child as its supervisor keeps it."""

    spec: ChildSpec  # resolved: `shutdown` is never None
    pid: Pid | None | Literal["restarting"] = None  # None: not running
    restarts: int = 0  # times this supervisor restarted it


@dataclass(frozen=True, slots=True)
class _RetryRestart:
    """Message to itself: try again to restart the child that failed to restart."""

    id: Hashable


def _validate_children(children: Sequence[ChildSpec], flags: SupervisorFlags) -> list[ChildSpec]:
    if isinstance(children, (str, bytes)) or not isinstance(children, Sequence):
        raise InvalidChildSpec(f"children must be a list of ChildSpec, got {children!r}")
    specs = [check_spec(spec) for spec in children]
    seen: set[Hashable] = set()
    for spec in specs:
        if spec.id in seen:
            raise InvalidChildSpec(f"duplicate child id {spec.id!r}: ids must be unique within a supervisor")
        seen.add(spec.id)
        _check_significant(spec, flags)
    return specs


def _check_significant(spec: ChildSpec, flags: SupervisorFlags) -> None:
    if spec.significant and flags.auto_shutdown == "never":
        raise InvalidChildSpec(
            f"child spec {spec.id!r}: significant=True needs auto_shutdown 'any_significant' or "
            "'all_significant', but the supervisor's auto_shutdown is 'never'"
        )


class Supervisor(Server):
    """Starts children in order, restarts them by strategy, stops them in reverse order.

    All admin functions are class-level and take the runtime and the
    supervisor's pid or registered name, e.g.
    `await Supervisor.which_children(rt, "system")`.
    """

    trap_exits: ClassVar[bool] = True
    kind: ClassVar[str] = "supervisor"

    # Invariant: `_children` holds every kept child, in start order (oldest first);
    # `_by_pid` maps exactly the children whose `pid` is a Pid to their ids.
    _children: dict[Hashable, _Child]
    _by_pid: dict[Pid, Hashable]
    _flags: SupervisorFlags
    _intensity: RestartIntensity

    # -- starting --------------------------------------------------------------

    @classmethod
    async def start_link(  # type: ignore[override]
        cls,
        rt: Runtime,
        children: Sequence[ChildSpec],
        *,
        strategy: str = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: str = "never",
        name: str | None = None,
    ) -> Pid:
        """Start a supervisor linked to the current process; its children start in list order.

        Raises:
            InvalidSupervisorFlags: a flag is invalid.
            InvalidChildSpec: a spec is invalid, ids repeat, or a significant child with auto_shutdown "never".
            StartError: a child failed to start (`reason` is `("failed_to_start_child", id, reason)`);
                those already started were stopped in reverse order.
            AlreadyStarted: `name` is taken.
        """
        flags = SupervisorFlags(strategy, max_restarts, max_seconds, auto_shutdown)
        specs = _validate_children(children, flags)
        pid = await super().start_link(rt, specs, flags, name=name)
        assert pid is not None
        return pid

    @classmethod
    def child_spec(  # type: ignore[override]
        cls,
        id: Hashable,
        children: Sequence[ChildSpec],
        *,
        strategy: str = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: str = "never",
        restart: Literal["permanent", "transient", "temporary"] = "permanent",
        shutdown: Shutdown | None = None,
        significant: bool = False,
        name: str | None = None,
    ) -> ChildSpec:
        """A spec (type "supervisor") that starts this supervisor with these children and flags."""
        flags = SupervisorFlags(strategy, max_restarts, max_seconds, auto_shutdown)
        specs = _validate_children(children, flags)

        async def start() -> Pid:
            return await cls.start_link(
                current_runtime(), specs, strategy=flags.strategy, max_restarts=flags.max_restarts,
                max_seconds=flags.max_seconds, auto_shutdown=flags.auto_shutdown, name=name,
            )

        return ChildSpec(id, start, restart=restart, shutdown=shutdown, type="supervisor", significant=significant)

    async def init(self, specs: list[ChildSpec], flags: SupervisorFlags) -> None:
        self._flags = flags
        self._children = {}
        self._by_pid = {}
        self._intensity = RestartIntensity(flags.max_restarts, flags.max_seconds, self.runtime.clock)
        for spec in specs:
            child = _Child(spec)
            self._children[spec.id] = child
            try:
                await self._start(child)
            except StartFailed as failure:
                reports.start_error(self.pid, spec.id, failure.reason)
                emit_child_event(self.runtime, "start_failed", self.pid, self.pid, spec.id, failure.reason)
                del self._children[spec.id]
                await self._stop_all()
                raise Exit(("failed_to_start_child", spec.id, failure.reason)) from None
            if child.pid is None and spec.restart == "temporary":
                del self._children[spec.id]  # a temporary child that ignored its start is not kept

    # -- admin API (class-level, called from any task) ---------------------------

    @classmethod
    async def which_children(cls, rt: Runtime, sup: Pid | str) -> list[Child]:
        """Every child in start order (oldest first)."""
        result: list[Child] = await admin_call(rt, sup, cls.kind, ("which_children",))
        return result

    @classmethod
    async def count_children(cls, rt: Runtime, sup: Pid | str) -> ChildCounts:
        """Counts of specs, running children, supervisors and workers."""
        result: ChildCounts = await admin_call(rt, sup, cls.kind, ("count_children",))
        return result

    @classmethod
    async def start_child(cls, rt: Runtime, sup: Pid | str, spec: ChildSpec) -> StartResult:
        """Add a child at the end and start it; returns what its start returned.

        Raises:
            AlreadyStarted: the id is running, or the child's start hit a taken name (nothing is stored).
            AlreadyPresent: a spec with that id is kept but not running, or is being restarted
                (OTP's `{error, already_present}`).
            StartError: the child failed to start (nothing is stored).
            InvalidChildSpec: `spec` is not a valid ChildSpec.
        """
        result: StartResult = await admin_call(rt, sup, cls.kind, ("start_child", check_spec(spec)))
        return result

    @classmethod
    async def terminate_child(cls, rt: Runtime, sup: Pid | str, id: Hashable) -> None:
        """Stop a child by its shutdown spec; a kept spec stays (pid None), a temporary one is deleted.

        A child that is being restarted is not retried any more.
        """
        await admin_call(rt, sup, cls.kind, ("terminate_child", id))

    @classmethod
    async def restart_child(cls, rt: Runtime, sup: Pid | str, id: Hashable) -> StartResult:
        """Start a kept child that is not running.

        Raises:
            ChildRunning: The child is running.
            ChildRestarting: The child is being restarted by the supervisor (its restart loop).
            ChildNotFound: The supervisor has no child with that id.
            StartError: The child's start failed.
        """
        result: StartResult = await admin_call(rt, sup, cls.kind, ("restart_child", id))
        return result

    @classmethod
    async def delete_child(cls, rt: Runtime, sup: Pid | str, id: Hashable) -> None:
        """Delete the spec of a child that is not running.

        Raises:
            ChildRunning: The child is running.
            ChildRestarting: The child is being restarted by the supervisor (its restart loop).
            ChildNotFound: The supervisor has no child with that id.
        """
        await admin_call(rt, sup, cls.kind, ("delete_child", id))

    @classmethod
    async def get_childspec(cls, rt: Runtime, sup: Pid | str, id: Hashable) -> ChildSpec:
        """The child's spec, with `shutdown` resolved."""
        result: ChildSpec = await admin_call(rt, sup, cls.kind, ("get_childspec", id))
        return result

    # -- introspection for observers (synchronous, same loop) -------------------

    @property
    def strategy(self) -> str:
        """The restart strategy."""
        return self._flags.strategy

    def children(self) -> list[tuple[Child, int]]:
        """Every child in start order with how often it was restarted (for observers)."""
        return [(self._report(child), child.restarts) for child in self._children.values()]

    def restart_intensity_used(self) -> float:
        """Restarts in the current window over `max_restarts` (for observers: 1.0 means at the limit)."""
        return self._intensity.used()

    # -- callbacks ---------------------------------------------------------------

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("which_children",):
                return [self._report(child) for child in self._children.values()]
            case ("count_children",):
                return self._counts()
            case ("start_child", ChildSpec() as spec):
                return await self._add_child(spec)
            case ("terminate_child", child_id):
                return await self._terminate_child(child_id)
            case ("restart_child", child_id):
                return await self._restart_child(child_id)
            case ("delete_child", child_id):
                return self._delete_child(child_id)
            case ("get_childspec", child_id):
                child = self._children.get(child_id)
                return _not_found(child_id) if child is None else child.spec
        raise ValueError(f"unknown supervisor request {request!r}")

    async def handle_info(self, message: Any) -> None:
        if type(message) is ExitMessage and message.pid is not None:
            await self._child_exited(message.pid, message.reason)
        elif type(message) is _RetryRestart:
            child = self._children.get(message.id)
            if child is not None and child.pid == RESTARTING:
                await self._restart(child, None)

    async def terminate(self, reason: Any) -> None:
        await self._stop_all()

    # -- one method per decision -------------------------------------------------

    async def _child_exited(self, pid: Pid, reason: Any) -> None:
        child_id = self._by_pid.pop(pid, None)
        if child_id is None:
            return  # not a child (any more): OTP ignores exit signals from unknown pids
        child = self._children[child_id]
        child.pid = None
        reports.child_terminated(self.pid, child_id, pid, reason)
        restart = child.spec.restart
        if restart == "permanent" or (restart == "transient" and not is_normal_exit(reason)):
            emit_child_event(self.runtime, "restart_began", pid, self.pid, child_id, reason)
            await self._restart(child, pid)
            emit_child_event(self.runtime, "restart_ended", pid, self.pid, child_id)
            return
        if restart == "temporary":
            del self._children[child_id]
        if child.spec.significant:
            self._auto_shutdown()

    async def _restart(self, child: _Child, exited: Pid | None) -> None:
        """Count one restart, then restart by strategy; give up with "shutdown" past the intensity.

        `exited` is the pid that just exited, or None for a retry of a failed restart.
        """
        if not self._intensity.add():
            flags = self._flags
            reports.intensity_reached(self.pid, child.spec.id, exited, flags.max_restarts, flags.max_seconds)
            raise Exit(SHUTDOWN)
        strategy = self._flags.strategy
        if strategy == "one_for_one":
            group = [child]
        elif strategy == "one_for_all":
            group = list(self._children.values())
        else:
            ordered = list(self._children.values())
            group = ordered[ordered.index(child):]
        await self._restart_group(group)

    async def _restart_group(self, group: list[_Child]) -> None:
        """Stop the running members youngest first, drop temporary ones, start the rest in order."""
        for member in reversed(group):
            if isinstance(member.pid, Pid):
                await self._stop(member)
        for member in group:
            if member.spec.restart == "temporary":
                del self._children[member.spec.id]
        for member in group:
            if member.spec.restart == "temporary":
                continue
            try:
                await self._start(member)
            except StartFailed as failure:
                reports.start_error(self.pid, member.spec.id, failure.reason)
                emit_child_event(self.runtime, "start_failed", self.pid, self.pid, member.spec.id, failure.reason)
                member.pid = RESTARTING
                self.runtime.generation += 1
                retry_after_a_loop_turn(self._process, _RetryRestart(member.spec.id))
                return
            member.restarts += 1
            if isinstance(member.pid, Pid):
                self.runtime._note_restart(member.pid, self.pid, member.restarts)

    def _auto_shutdown(self) -> None:
        mode = self._flags.auto_shutdown
        if mode == "any_significant" or (
            mode == "all_significant"
            and not any(child.spec.significant and child.pid is not None for child in self._children.values())
        ):
            raise Exit(SHUTDOWN)

    async def _start(self, child: _Child) -> StartResult:
        pid, result = await start_child_process(self._process, child.spec)
        child.pid = pid
        if pid is not None:
            self._by_pid[pid] = child.spec.id
            emit_child_event(self.runtime, "child_started", pid, self.pid, child.spec.id)
            reports.progress(self.pid, child.spec.id, pid)
        return result

    async def _stop(self, child: _Child) -> None:
        pid = child.pid
        assert isinstance(pid, Pid)
        spec = child.spec
        reason = await stop_child_process(self._process, pid, spec.shutdown)
        del self._by_pid[pid]
        child.pid = None
        emit_child_event(self.runtime, "child_stopped", pid, self.pid, spec.id, reason)
        if not reports.stopped_as_expected(reason, spec.shutdown, spec.restart):
            reports.shutdown_error(self.pid, spec.id, pid, reason)

    async def _stop_all(self) -> None:
        for child in reversed(list(self._children.values())):
            if isinstance(child.pid, Pid):
                await self._stop(child)

    # -- admin requests ------------------------------------------------------------

    async def _add_child(self, spec: ChildSpec) -> Any:
        existing = self._children.get(spec.id)
        if existing is not None:
            if isinstance(existing.pid, Pid):
                return Failure(AlreadyStarted(existing.pid, f"child {spec.id!r}"))
            if existing.pid == RESTARTING:  # OTP: {error, already_present}, as for a kept spec
                return Failure(AlreadyPresent(f"child {spec.id!r} is already present and being restarted; "
                                              "terminate_child ends its restart loop"))
            return Failure(AlreadyPresent(f"child {spec.id!r} is already present (not running); "
                                          "use restart_child or delete_child"))
        try:
            _check_significant(spec, self._flags)
        except InvalidChildSpec as exc:
            return Failure(exc)
        child = self._children[spec.id] = _Child(spec)
        try:
            result = await self._start(child)
        except StartFailed as failure:
            del self._children[spec.id]
            if isinstance(failure.reason, AlreadyStarted):
                return Failure(failure.reason)
            return Failure(StartError(failure.reason))
        if child.pid is None and spec.restart == "temporary":
            del self._children[spec.id]
        return result

    async def _terminate_child(self, child_id: Hashable) -> Any:
        child = self._children.get(child_id)
        if child is None:
            return _not_found(child_id)
        if isinstance(child.pid, Pid):
            await self._stop(child)
        child.pid = None
        if child.spec.restart == "temporary":
            del self._children[child_id]
        return None

    async def _restart_child(self, child_id: Hashable) -> Any:
        child = self._children.get(child_id)
        if child is None:
            return _not_found(child_id)
        if isinstance(child.pid, Pid):
            return Failure(ChildRunning(f"child {child_id!r} is running as {child.pid!r}"))
        if child.pid == RESTARTING:
            return Failure(ChildRestarting(f"child {child_id!r} is being restarted by its supervisor"))
        try:
            return await self._start(child)
        except StartFailed as failure:
            return Failure(StartError(failure.reason))

    def _delete_child(self, child_id: Hashable) -> Any:
        child = self._children.get(child_id)
        if child is None:
            return _not_found(child_id)
        if isinstance(child.pid, Pid):
            return Failure(ChildRunning(f"child {child_id!r} is running as {child.pid!r}; terminate it first"))
        if child.pid == RESTARTING:
            return Failure(ChildRestarting(f"child {child_id!r} is being restarted by its supervisor"))
        del self._children[child_id]
        self.runtime.generation += 1
        return None

    def _report(self, child: _Child) -> Child:
        return child_report(child.spec, child.pid)

    def _counts(self) -> ChildCounts:
        return child_counts((child.spec, child.pid) for child in self._children.values())


def _not_found(child_id: Hashable) -> Failure:
    return Failure(ChildNotFound(f"no child with id {child_id!r}"))
