"""DynamicSupervisor: children on demand, one_for_one restarts, max_children, parallel shutdown.

Ported from Elixir's dynamic_supervisor_test.exs (start_child/2, terminate/2,
terminate_child/2) and OTP's simple_one_for_one cases of supervisor_SUITE.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from observer.runtime import (
    Child,
    ChildCounts,
    ChildNotFound,
    ChildSpec,
    Down,
    DynamicSupervisor,
    Exit,
    ExitMessage,
    InvalidArgument,
    InvalidChildSpec,
    InvalidSupervisorFlags,
    MaxChildren,
    Pid,
    Process,
    Runtime,
    StartError,
    Supervisor,
    current_runtime,
)

from .supervision_helpers import (
    GUARD,
    FakeClock,
    Ignoring,
    Journal,
    Lingering,
    StartFaults,
    StartRefused,
    Worker,
    down_of,
    end_child,
    exit_message_of,
    inits,
    settle,
    worker,
)


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with Runtime(clock=FakeClock()) as runtime:
        yield runtime


async def children_of(rt: Runtime, sup: Pid) -> list[Any]:
    """The pid field of every child, in start order."""
    return [child.pid for child in await DynamicSupervisor.which_children(rt, sup)]


async def start(rt: Runtime, sup: Pid | str, spec: ChildSpec) -> Pid:
    """Start a child that must run; its pid."""
    pid = await DynamicSupervisor.start_child(rt, sup, spec)
    assert isinstance(pid, Pid)
    return pid


async def idle(proc: Process) -> None:
    while True:
        await proc.receive()


# -- starting children ----------------------------------------------------------------------


async def test_children_are_listed_and_counted_in_start_order(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        sup = await DynamicSupervisor.start_link(rt)
        assert await DynamicSupervisor.which_children(rt, sup) == []
        assert await DynamicSupervisor.count_children(rt, sup) == ChildCounts(0, 0, 0, 0)

        spec = worker("conn", journal)
        started = [await start(rt, sup, spec) for _ in range(3)]  # ids need not differ
        inner = await start(rt, sup, Supervisor.child_spec("inner", []))

        assert await DynamicSupervisor.which_children(rt, sup) == [
            *(Child("conn", pid, "worker", "permanent") for pid in started),
            Child("inner", inner, "supervisor", "permanent"),
        ]
        assert await DynamicSupervisor.count_children(rt, sup) == ChildCounts(
            specs=4, active=4, supervisors=1, workers=3
        )
        assert all(sup in rt.process_info(pid).links for pid in started)  # type: ignore[union-attr]


async def test_start_child_returns_what_start_returned_and_an_ignored_start_is_not_kept(rt: Runtime) -> None:
    journal: Journal = []

    async def start_with_info() -> tuple[Pid, str]:
        pid = await Worker.start_link(current_runtime(), "api", journal)
        assert pid is not None
        return pid, "extra"

    async with rt.attached(trap_exits=True):
        sup = await DynamicSupervisor.start_link(rt)

        pid, info = await DynamicSupervisor.start_child(rt, sup, ChildSpec("api", start_with_info))  # type: ignore[misc]
        ignored = await DynamicSupervisor.start_child(rt, sup, Ignoring.child_spec(journal, "lazy", id="lazy"))

        assert info == "extra"
        assert ignored is None
        assert await children_of(rt, sup) == [pid]


async def test_a_child_that_fails_to_start_raises_start_error_and_is_not_kept(rt: Runtime) -> None:
    journal: Journal = []
    faults = StartFaults()
    faults.refuse("api")
    async with rt.attached(trap_exits=True):
        sup = await DynamicSupervisor.start_link(rt)

        with pytest.raises(StartError) as caught:
            await DynamicSupervisor.start_child(rt, sup, worker("api", journal, faults=faults))

        assert isinstance(caught.value.reason, StartRefused)
        assert await DynamicSupervisor.which_children(rt, sup) == []


# -- terminate_child ------------------------------------------------------------------------


@pytest.mark.parametrize(("shutdown", "reason"), [(1.0, "shutdown"), ("brutal_kill", "killed")])
async def test_terminate_child_stops_and_removes_the_child(rt: Runtime, shutdown: Any, reason: str) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt)
        keep = await start(rt, sup, worker("keep", journal))
        child = await start(rt, sup, worker("conn", journal, shutdown=shutdown))
        assert isinstance(child, Pid)
        me.monitor(child)

        await DynamicSupervisor.terminate_child(rt, sup, child)

        assert (await down_of(me, child)).reason == reason
        assert await children_of(rt, sup) == [keep]
        with pytest.raises(ChildNotFound):
            await DynamicSupervisor.terminate_child(rt, sup, child)


async def test_terminate_child_of_a_pid_that_is_not_a_child_raises_and_leaves_it_alone(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True):
        sup = await DynamicSupervisor.start_link(rt)
        stranger = rt.spawn(idle)

        with pytest.raises(ChildNotFound):
            await DynamicSupervisor.terminate_child(rt, sup, stranger)
        with pytest.raises(InvalidArgument):
            await DynamicSupervisor.terminate_child(rt, sup, "conn")  # type: ignore[arg-type]

        assert rt.is_alive(stranger)


# -- max_children -------------------------------------------------------------------------------


async def test_max_children_limits_start_child(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        none_allowed = await DynamicSupervisor.start_link(rt, max_children=0)
        with pytest.raises(MaxChildren):
            await DynamicSupervisor.start_child(rt, none_allowed, worker("conn", journal))

        sup = await DynamicSupervisor.start_link(rt, max_children=2)
        first = await start(rt, sup, worker("conn", journal))
        await DynamicSupervisor.start_child(rt, sup, worker("conn", journal))
        with pytest.raises(MaxChildren):
            await DynamicSupervisor.start_child(rt, sup, worker("conn", journal))

        await DynamicSupervisor.terminate_child(rt, sup, first)
        await DynamicSupervisor.start_child(rt, sup, worker("conn", journal))
        assert inits(journal) == ["conn"] * 3


async def test_a_restarting_child_counts_toward_max_children_but_not_as_active(rt: Runtime) -> None:
    """Elixir: "restarting on init children counted in max_children"."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt, max_children=1, max_restarts=100)
        child = await start(rt, sup, worker("conn", journal, faults=faults))
        faults.refuse("conn", times=float("inf"))

        await end_child(rt, me, child, "crash")

        assert await DynamicSupervisor.which_children(rt, sup) == [Child("conn", "restarting", "worker", "permanent")]
        assert await DynamicSupervisor.count_children(rt, sup) == ChildCounts(
            specs=1, active=0, supervisors=0, workers=1
        )
        with pytest.raises(MaxChildren):
            await DynamicSupervisor.start_child(rt, sup, worker("other", journal))


# -- restarts ---------------------------------------------------------------------------------

HOW_A_CHILD_ENDS = ["normal", "shutdown", ("shutdown", "signal"), "crash", "kill"]


@pytest.mark.parametrize("how", HOW_A_CHILD_ENDS, ids=str)
@pytest.mark.parametrize("restart", ["permanent", "transient", "temporary"])
async def test_restart_types(rt: Runtime, restart: str, how: Any) -> None:
    """Elixir: temporary never, transient unless normal/shutdown/{shutdown, _}, permanent always."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=100)
        keep = await start(rt, sup, worker("keep", journal))
        child = await start(rt, sup, worker("conn", journal, restart=restart))

        await end_child(rt, me, child, how)

        pids = await children_of(rt, sup)
        restarted = restart == "permanent" or (restart == "transient" and how in ("crash", "kill"))
        if restarted:
            assert pids[0] is keep and isinstance(pids[1], Pid) and pids[1] is not child
            assert await DynamicSupervisor.count_children(rt, sup) == ChildCounts(2, 2, 0, 2)
        else:
            assert pids == [keep]  # removed, whatever its restart type


async def test_a_restart_that_ignores_its_start_removes_the_child(rt: Runtime) -> None:
    journal: Journal = []
    ignore_next = [False]

    async def start_unless_told_to_ignore() -> Pid | None:
        if ignore_next[0]:
            return None
        return await Worker.start_link(current_runtime(), "conn", journal)

    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt)
        child = await start(rt, sup, ChildSpec("conn", start_unless_told_to_ignore))
        ignore_next[0] = True

        await end_child(rt, me, child, "crash")

        assert await DynamicSupervisor.which_children(rt, sup) == []


async def test_a_failed_restart_is_retried_and_shows_restarting_in_between(rt: Runtime) -> None:
    """Elixir: "child is restarted when trying again"."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=5)
        child = await start(rt, sup, worker("conn", journal, faults=faults))
        faults.refuse("conn", times=2)

        await end_child(rt, me, child, "crash")

        assert await children_of(rt, sup) == ["restarting"]
        assert await children_of(rt, sup) == ["restarting"]
        [restarted] = await children_of(rt, sup)
        assert isinstance(restarted, Pid) and restarted is not child
        assert journal[-3:] == [("refused", "conn"), ("refused", "conn"), ("init", "conn")]


@pytest.mark.parametrize(("max_restarts", "gives_up"), [(2, True), (3, False)])
async def test_each_restart_attempt_counts_toward_intensity(rt: Runtime, max_restarts: int, gives_up: bool) -> None:
    """Elixir: "child triggers maximum intensity when trying again"."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=max_restarts)
        child = await start(rt, sup, worker("conn", journal, faults=faults))
        faults.refuse("conn", times=2)

        await end_child(rt, me, child, "crash")

        if gives_up:
            assert (await exit_message_of(me, sup)).reason == "shutdown"
            assert journal[-2:] == [("refused", "conn")] * 2
        else:
            states = [await children_of(rt, sup) for _ in range(3)]
            assert states[:2] == [["restarting"], ["restarting"]]
            assert isinstance(states[2][0], Pid)


async def test_more_restarts_than_max_restarts_stops_the_children_and_exits_shutdown(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=1)
        other = await start(rt, sup, worker("other", journal))
        child = await start(rt, sup, worker("conn", journal))
        await end_child(rt, me, child, "crash")
        [_, restarted] = await children_of(rt, sup)
        me.monitor(other)

        await end_child(rt, me, restarted, "crash")

        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert (await down_of(me, other)).reason == "shutdown"
        assert inits(journal) == ["other", "conn", "conn"]


# -- stopping ------------------------------------------------------------------------------------


async def test_children_are_shut_down_in_parallel(rt: Runtime) -> None:
    """Every child is in its terminate at the same time: each waits for an event set only once all are."""
    journal: Journal = []
    release = asyncio.Event()
    count = 5
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt)
        for number in range(count):
            spec = Lingering.child_spec(number, journal, me.pid, release, id=number, shutdown="infinity")
            await DynamicSupervisor.start_child(rt, sup, spec)

        rt.exit(sup, "shutdown")
        entered = [
            await me.receive(match=lambda m: isinstance(m, tuple) and m[0] == "terminating", timeout=GUARD)
            for _ in range(count)
        ]
        assert sorted(number for _, number in entered) == list(range(count))
        release.set()

        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert rt.processes() == [me.pid]


async def exit_with_own_reason_when_told_to_stop(proc: Process) -> None:
    await proc.receive(match=lambda m: type(m) is ExitMessage)
    raise Exit(("shutdown", "oops"))


async def start_own_reason_child() -> Pid:
    return current_runtime().spawn(exit_with_own_reason_when_told_to_stop, trap_exits=True)


async def test_shutdown_kills_by_spec_and_children_may_exit_with_their_own_reason(rt: Runtime) -> None:
    """Elixir: brutal kill, infinity, expired integer shutdown and abnormal reasons, mixed."""
    journal: Journal = []
    never = asyncio.Event()
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt)
        specs = [
            worker("graceful", journal, shutdown=1.0),
            worker("patient", journal, shutdown="infinity"),
            worker("brutal", journal, shutdown="brutal_kill"),
            Lingering.child_spec("stubborn", journal, me.pid, never, id="stubborn", shutdown=0.05),
            ChildSpec("own_reason", start_own_reason_child, shutdown="infinity"),
        ]
        pids = {spec.id: await start(rt, sup, spec) for spec in specs}
        for pid in pids.values():
            me.monitor(pid)

        rt.exit(sup, "shutdown")

        reasons = {}
        for _ in pids:
            down = await me.receive(match=lambda m: type(m) is Down, timeout=GUARD)
            reasons[down.pid] = down.reason
        assert {child_id: reasons[pid] for child_id, pid in pids.items()} == {
            "graceful": "shutdown",
            "patient": "shutdown",
            "brutal": "killed",
            "stubborn": "killed",
            "own_reason": ("shutdown", "oops"),
        }
        assert (await exit_message_of(me, sup)).reason == "shutdown"


@pytest.mark.parametrize("reason", ["shutdown", ("shutdown", "maintenance"), "operator says so"], ids=str)
async def test_an_exit_signal_from_the_parent_stops_the_children_then_it_with_that_reason(
    rt: Runtime, reason: Any
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt)
        for name in ("a", "b"):
            await DynamicSupervisor.start_child(rt, sup, worker(name, journal))

        rt.exit(sup, reason)

        assert (await exit_message_of(me, sup)).reason == reason
        assert sorted(entry[1] for entry in journal if entry[0] == "terminate") == ["a", "b"]


async def send_exit_signal(proc: Process, target: Pid, reason: Any) -> None:
    proc.runtime.exit(target, reason)


async def test_exit_signals_from_processes_that_are_not_children_are_ignored(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt)
        child = await start(rt, sup, worker("a", journal))

        stranger = rt.spawn(send_exit_signal, sup, "stranger says die")
        me.monitor(stranger)
        await down_of(me, stranger)

        assert await children_of(rt, sup) == [child]


async def test_a_restarting_child_does_not_delay_shutdown(rt: Runtime) -> None:
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=1000)
        child = await start(rt, sup, worker("conn", journal, faults=faults))
        faults.refuse("conn", times=float("inf"))
        await end_child(rt, me, child, "crash")
        await settle(rt, sup)

        await rt.stop(sup, "shutdown")

        assert rt.processes() == [me.pid]


# -- under a supervisor, and bad input ------------------------------------------------------------


async def test_a_dynamic_supervisor_under_a_supervisor_is_named_and_restarted_empty(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        top = await Supervisor.start_link(rt, [DynamicSupervisor.child_spec("pool", name="pool", max_children=5)])
        first_pool = rt.whereis("pool")
        assert first_pool is not None
        assert (await Supervisor.get_childspec(rt, top, "pool")).type == "supervisor"
        await DynamicSupervisor.start_child(rt, "pool", worker("conn", journal))

        rt.exit(first_pool, "kill")
        me.monitor(first_pool)
        await down_of(me, first_pool)
        await settle(rt, top)

        assert rt.whereis("pool") not in (None, first_pool)
        assert await DynamicSupervisor.which_children(rt, "pool") == []


async def test_significant_children_are_rejected(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        sup = await DynamicSupervisor.start_link(rt)

        with pytest.raises(InvalidChildSpec, match="significant"):
            await DynamicSupervisor.start_child(rt, sup, worker("job", journal, restart="transient", significant=True))
        with pytest.raises(InvalidChildSpec, match="'not a spec'"):
            await DynamicSupervisor.start_child(rt, sup, "not a spec")  # type: ignore[arg-type]
        assert journal == []


BAD_FLAGS = [
    pytest.param({"max_children": -1}, "max_children", "-1", id="negative-max-children"),
    pytest.param({"max_children": "2"}, "max_children", "'2'", id="str-max-children"),
    pytest.param({"max_children": True}, "max_children", "True", id="bool-max-children"),
    pytest.param({"max_restarts": -1}, "max_restarts", "-1", id="negative-max-restarts"),
    pytest.param({"max_seconds": 0}, "max_seconds", "0", id="zero-max-seconds"),
]


@pytest.mark.parametrize(("flags", "field", "value"), BAD_FLAGS)
async def test_invalid_flags_name_the_flag_and_the_value(
    rt: Runtime, flags: dict[str, Any], field: str, value: str
) -> None:
    async with rt.attached(trap_exits=True) as me:
        with pytest.raises(InvalidSupervisorFlags) as caught:
            await DynamicSupervisor.start_link(rt, **flags)
        assert field in str(caught.value) and value in str(caught.value)
        with pytest.raises(InvalidSupervisorFlags):
            DynamicSupervisor.child_spec("pool", **flags)
        assert rt.processes() == [me.pid]


async def test_a_restarting_child_is_terminated_by_the_pid_it_last_had() -> None:
    """Elixir's `terminates restarting child`: terminate_child with the old pid stops the retries."""
    from observer.runtime import ChildSpec, DynamicSupervisor, Runtime, Server

    starts: list[int] = []

    class FailsAfterFirstStart(Server):
        async def init(self) -> None:
            starts.append(1)
            if len(starts) > 1:
                raise RuntimeError("refuses to restart")

    async with Runtime() as rt:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=1000)
        spec = ChildSpec("flaky", lambda: FailsAfterFirstStart.start_link(rt))
        first = await DynamicSupervisor.start_child(rt, sup, spec)
        assert first is not None and not isinstance(first, tuple)
        rt.exit(first, "kill")
        assert [child.pid for child in await DynamicSupervisor.which_children(rt, sup)] == ["restarting"]
        await DynamicSupervisor.terminate_child(rt, sup, first)
        assert await DynamicSupervisor.which_children(rt, sup) == []


async def test_children_started_and_stopped_are_observation_events() -> None:
    """The app's cascade log shows what a dynamic supervisor started and stopped, like a static one."""
    from observer.runtime import DynamicSupervisor, Runtime, RuntimeEvent, Server

    class Idle(Server):
        pass

    events: list[RuntimeEvent] = []
    async with Runtime() as rt:
        rt.subscribe(events.append)
        sup = await DynamicSupervisor.start_link(rt)
        child = await DynamicSupervisor.start_child(rt, sup, Idle.child_spec(id="idle"))
        assert child is not None and not isinstance(child, tuple)
        await DynamicSupervisor.terminate_child(rt, sup, child)
        await DynamicSupervisor.count_children(rt, sup)  # the events were queued before this reply
    seen = [(e.kind, e.pid, e.name, e.reason) for e in events if e.kind in ("child_started", "child_stopped")]
    assert seen == [("child_started", child, "idle", None), ("child_stopped", child, "idle", "shutdown")]
