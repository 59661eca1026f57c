"""Supervisor admin API and bad input: every error exactly as DESIGN.md section 2 names it.

Ported from OTP's supervisor_SUITE (child_adm, extra_return, child_specs,
sup_flags, sup_start_map, sup_start_child_returns_error,
sup_start_restart_child_returns_error, already_started_outside_supervisor,
count_children) and Elixir's "child life-cycle".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from observer.runtime import (
    AlreadyPresent,
    AlreadyStarted,
    Child,
    ChildCounts,
    ChildNotFound,
    ChildRunning,
    ChildSpec,
    DynamicSupervisor,
    InvalidChildSpec,
    InvalidSupervisorFlags,
    NoProc,
    NotASupervisor,
    Pid,
    Process,
    Runtime,
    StartError,
    Supervisor,
    current_runtime,
)

from .supervision_helpers import (
    FakeClock,
    Ignoring,
    Journal,
    StartFaults,
    StartRefused,
    Worker,
    down_of,
    exit_message_of,
    ids_of,
    pid_of,
    running_pid,
    worker,
    workers,
)


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with Runtime(clock=FakeClock()) as runtime:
        yield runtime


async def idle(proc: Process) -> None:
    while True:
        await proc.receive()


def mailbox_size(rt: Runtime, pid: Pid) -> int:
    info = rt.process_info(pid)
    assert info is not None
    return info.mailbox_size


# -- the child life-cycle ---------------------------------------------------------------


async def test_child_administration_life_cycle(rt: Runtime) -> None:
    """OTP child_adm, step by step."""
    journal: Journal = []
    spec = worker("child1", journal)
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [spec])
        first = running_pid(await Supervisor.which_children(rt, sup), "child1")

        with pytest.raises(AlreadyStarted) as already:
            await Supervisor.start_child(rt, sup, spec)
        assert already.value.pid is first

        with pytest.raises(ChildNotFound):
            await Supervisor.terminate_child(rt, sup, "hej")
        me.monitor(first)
        await Supervisor.terminate_child(rt, sup, "child1")
        assert (await down_of(me, first)).reason == "shutdown"
        assert await Supervisor.which_children(rt, sup) == [Child("child1", None, "worker", "permanent")]
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=1, active=0, supervisors=0, workers=1)
        await Supervisor.terminate_child(rt, sup, "child1")  # idempotent for a kept spec

        with pytest.raises(AlreadyPresent):
            await Supervisor.start_child(rt, sup, spec)

        second = await Supervisor.restart_child(rt, sup, "child1")
        assert isinstance(second, Pid) and second is not first
        assert await Supervisor.which_children(rt, sup) == [Child("child1", second, "worker", "permanent")]
        with pytest.raises(ChildRunning):
            await Supervisor.restart_child(rt, sup, "child1")
        with pytest.raises(ChildNotFound):
            await Supervisor.restart_child(rt, sup, "child2")

        with pytest.raises(ChildRunning):
            await Supervisor.delete_child(rt, sup, "child1")
        with pytest.raises(ChildNotFound):
            await Supervisor.delete_child(rt, sup, "hej")
        await Supervisor.terminate_child(rt, sup, "child1")
        await Supervisor.delete_child(rt, sup, "child1")
        with pytest.raises(ChildNotFound):
            await Supervisor.restart_child(rt, sup, "child1")
        assert await Supervisor.which_children(rt, sup) == []
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=0, active=0, supervisors=0, workers=0)

        third = await Supervisor.start_child(rt, sup, spec)
        assert isinstance(third, Pid)
        assert await Supervisor.which_children(rt, sup) == [Child("child1", third, "worker", "permanent")]

        with pytest.raises(ChildNotFound):  # children are named by id, not by pid
            await Supervisor.terminate_child(rt, sup, third)
        assert rt.is_alive(third)


async def test_start_child_adds_the_child_after_the_others(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, workers(["a", "b"], journal))
        await Supervisor.terminate_child(rt, sup, "a")

        await Supervisor.start_child(rt, sup, worker("c", journal))
        await Supervisor.restart_child(rt, sup, "a")

        assert ids_of(await Supervisor.which_children(rt, sup)) == ["a", "b", "c"]  # a restart keeps the place


async def test_start_and_restart_return_what_the_start_function_returned(rt: Runtime) -> None:
    """OTP extra_return."""
    journal: Journal = []

    async def start_with_info() -> tuple[Pid, str]:
        pid = await Worker.start_link(current_runtime(), "api", journal)
        assert pid is not None
        return pid, "extra"

    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [])

        pid, info = await Supervisor.start_child(rt, sup, ChildSpec("api", start_with_info))  # type: ignore[misc]
        assert info == "extra"
        assert await Supervisor.which_children(rt, sup) == [Child("api", pid, "worker", "permanent")]

        await Supervisor.terminate_child(rt, sup, "api")
        again, info = await Supervisor.restart_child(rt, sup, "api")  # type: ignore[misc]
        assert info == "extra" and again is not pid
        assert running_pid(await Supervisor.which_children(rt, sup), "api") is again


async def test_start_child_that_fails_raises_start_error_and_stores_nothing(rt: Runtime) -> None:
    journal: Journal = []
    faults = StartFaults()
    faults.refuse("api")
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [])

        with pytest.raises(StartError) as caught:
            await Supervisor.start_child(rt, sup, worker("api", journal, faults=faults))

        assert isinstance(caught.value.reason, StartRefused)
        assert await Supervisor.which_children(rt, sup) == []
        await Supervisor.start_child(rt, sup, worker("api", journal, faults=faults))  # the id is free


async def test_restart_child_that_fails_raises_start_error_and_keeps_the_spec(rt: Runtime) -> None:
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [worker("api", journal, faults=faults)])
        await Supervisor.terminate_child(rt, sup, "api")
        faults.refuse("api")

        with pytest.raises(StartError) as caught:
            await Supervisor.restart_child(rt, sup, "api")

        assert isinstance(caught.value.reason, StartRefused)
        assert await Supervisor.which_children(rt, sup) == [Child("api", None, "worker", "permanent")]


async def test_start_child_whose_process_name_is_taken_raises_already_started_with_the_holder(
    rt: Runtime,
) -> None:
    """OTP already_started_outside_supervisor."""
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        holder = rt.spawn(idle, name="registered_name")
        sup = await Supervisor.start_link(rt, [])
        spec = Worker.child_spec("api", journal, id="api", name="registered_name")

        with pytest.raises(AlreadyStarted) as caught:
            await Supervisor.start_child(rt, sup, spec)

        assert caught.value.pid is holder
        assert await Supervisor.which_children(rt, sup) == []


async def test_a_temporary_child_terminated_is_deleted(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [worker("job", journal, restart="temporary")])

        await Supervisor.terminate_child(rt, sup, "job")

        assert await Supervisor.which_children(rt, sup) == []
        with pytest.raises(ChildNotFound):
            await Supervisor.terminate_child(rt, sup, "job")


@pytest.mark.parametrize(("restart", "kept"), [("permanent", True), ("transient", True), ("temporary", False)])
async def test_start_child_that_ignores_returns_none_and_keeps_only_non_temporary_specs(
    rt: Runtime, restart: Any, kept: bool
) -> None:
    """OTP sup_start_ignore_child and sup_start_ignore_temporary_child_start_child."""
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [])

        result = await Supervisor.start_child(rt, sup, Ignoring.child_spec(journal, "lazy", id="lazy", restart=restart))

        assert result is None
        expected = [Child("lazy", None, "worker", restart)] if kept else []
        assert await Supervisor.which_children(rt, sup) == expected


async def test_get_childspec_returns_the_spec_with_shutdown_resolved(rt: Runtime) -> None:
    """OTP sup_start_map: the defaults are 5 s for a worker and infinity for a supervisor."""
    journal: Journal = []
    specs = [
        worker("default", journal),
        worker("brutal", journal, shutdown="brutal_kill"),
        worker("quick", journal, shutdown=0.5),
        Supervisor.child_spec("inner", []),
    ]
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, specs)

        default = await Supervisor.get_childspec(rt, sup, "default")
        assert (default.id, default.restart, default.shutdown, default.type) == ("default", "permanent", 5.0, "worker")
        assert default.start is specs[0].start
        assert (await Supervisor.get_childspec(rt, sup, "brutal")).shutdown == "brutal_kill"
        assert (await Supervisor.get_childspec(rt, sup, "quick")).shutdown == 0.5
        inner = await Supervisor.get_childspec(rt, sup, "inner")
        assert (inner.shutdown, inner.type) == ("infinity", "supervisor")
        with pytest.raises(ChildNotFound):
            await Supervisor.get_childspec(rt, sup, "child4")


async def test_count_children_counts_specs_running_supervisors_and_workers(rt: Runtime) -> None:
    journal: Journal = []
    specs = [
        worker("a", journal),
        worker("b", journal, restart="transient"),
        Supervisor.child_spec("inner", []),
        DynamicSupervisor.child_spec("pool"),
    ]
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, specs)
        await Supervisor.terminate_child(rt, sup, "b")
        await Supervisor.terminate_child(rt, sup, "pool")

        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=4, active=2, supervisors=2, workers=2)
        assert [child.type for child in await Supervisor.which_children(rt, sup)] == [
            "worker", "worker", "supervisor", "supervisor",
        ]


async def test_admin_calls_by_registered_name(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [worker("a", journal)], name="system")

        assert ids_of(await Supervisor.which_children(rt, "system")) == ["a"]
        await Supervisor.terminate_child(rt, "system", "a")
        assert pid_of(await Supervisor.which_children(rt, sup), "a") is None

        with pytest.raises(AlreadyStarted) as caught:
            await Supervisor.start_link(rt, [], name="system")
        assert caught.value.pid is sup


# -- not a supervisor --------------------------------------------------------------------


async def test_admin_calls_to_a_process_that_is_not_a_supervisor_fail_at_once(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        server = await Worker.start_link(rt, "plain", journal)
        assert server is not None
        process = rt.spawn(idle, name="just_a_process")

        for target in (server, process, "just_a_process"):
            with pytest.raises(NotASupervisor):
                await Supervisor.which_children(rt, target)
            with pytest.raises(NotASupervisor):
                await Supervisor.terminate_child(rt, target, "a")
            with pytest.raises(NotASupervisor):
                await DynamicSupervisor.count_children(rt, target)
        assert mailbox_size(rt, server) == 0  # nothing was sent
        assert mailbox_size(rt, process) == 0


async def test_supervisor_and_dynamic_supervisor_admin_calls_do_not_mix(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [])
        dyn = await DynamicSupervisor.start_link(rt)

        with pytest.raises(NotASupervisor, match="dynamic_supervisor"):
            await DynamicSupervisor.which_children(rt, sup)
        with pytest.raises(NotASupervisor, match="supervisor"):
            await Supervisor.which_children(rt, dyn)


async def test_admin_calls_to_a_dead_or_unknown_supervisor_raise_noproc(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [])
        await rt.stop(sup, "shutdown")
        await exit_message_of(me, sup)

        with pytest.raises(NoProc):
            await Supervisor.which_children(rt, sup)
        with pytest.raises(NoProc):
            await Supervisor.count_children(rt, "foo")
        with pytest.raises(NoProc):
            await Supervisor.start_child(rt, "foo", ChildSpec("a", idle_start))


async def idle_start() -> Pid:
    return current_runtime().spawn(idle)


# -- invalid child specs ---------------------------------------------------------------------

BAD_SPEC_FIELDS = [
    pytest.param({"restart": "sometimes"}, "restart", "'sometimes'", id="restart"),
    pytest.param({"shutdown": -1}, "shutdown", "-1", id="negative-shutdown"),
    pytest.param({"shutdown": "forever"}, "shutdown", "'forever'", id="unknown-shutdown"),
    pytest.param({"shutdown": True}, "shutdown", "True", id="bool-shutdown"),
    pytest.param({"type": "manager"}, "type", "'manager'", id="type"),
    pytest.param({"start": "not callable"}, "start", "'not callable'", id="start"),
    pytest.param({"id": ["not", "hashable"]}, "id", "['not', 'hashable']", id="id"),
    pytest.param({"significant": "yes"}, "significant", "'yes'", id="significant"),
    pytest.param({"significant": True}, "significant", "'permanent'", id="significant-permanent"),
]


@pytest.mark.parametrize(("fields", "field", "value"), BAD_SPEC_FIELDS)
def test_an_invalid_child_spec_names_the_field_and_the_value(fields: dict[str, Any], field: str, value: str) -> None:
    arguments: dict[str, Any] = {"id": "child", "start": idle_start, **fields}

    with pytest.raises(InvalidChildSpec) as caught:
        ChildSpec(**arguments)

    assert isinstance(caught.value, ValueError)
    assert field in str(caught.value)
    assert value in str(caught.value)


def test_valid_shutdowns_are_accepted() -> None:
    for shutdown in (0, 0.5, 5, "brutal_kill", "infinity"):
        assert ChildSpec("child", idle_start, shutdown=shutdown).shutdown == shutdown
    assert ChildSpec("child", idle_start).shutdown == 5.0
    assert ChildSpec("child", idle_start, type="supervisor").shutdown == "infinity"


async def test_bad_children_lists_are_rejected_before_anything_starts(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        with pytest.raises(InvalidChildSpec, match="duplicate child id 'a'"):
            await Supervisor.start_link(rt, [worker("a", journal), worker("b", journal), worker("a", journal)])
        with pytest.raises(InvalidChildSpec, match="'not a spec'"):
            await Supervisor.start_link(rt, [worker("a", journal), "not a spec"])  # type: ignore[list-item]
        with pytest.raises(InvalidChildSpec, match="list"):
            await Supervisor.start_link(rt, worker("a", journal))  # type: ignore[arg-type]
        with pytest.raises(InvalidChildSpec, match="duplicate"):
            Supervisor.child_spec("inner", [worker("x", journal), worker("x", journal)])

        assert journal == []
        assert rt.processes() == [me.pid]


async def test_a_significant_child_needs_auto_shutdown(rt: Runtime) -> None:
    journal: Journal = []
    significant = worker("job", journal, restart="transient", significant=True)
    async with rt.attached(trap_exits=True):
        with pytest.raises(InvalidChildSpec, match="auto_shutdown"):
            await Supervisor.start_link(rt, [significant])
        sup = await Supervisor.start_link(rt, [])
        with pytest.raises(InvalidChildSpec, match="auto_shutdown"):
            await Supervisor.start_child(rt, sup, significant)
        with pytest.raises(InvalidChildSpec, match="'not a spec'"):
            await Supervisor.start_child(rt, sup, "not a spec")  # type: ignore[arg-type]

        assert await Supervisor.which_children(rt, sup) == []
        assert journal == []


# -- invalid flags ---------------------------------------------------------------------------

BAD_FLAGS = [
    pytest.param({"strategy": "none_for_one"}, "strategy", "'none_for_one'", id="strategy"),
    pytest.param({"strategy": "simple_one_for_one"}, "strategy", "'simple_one_for_one'", id="simple"),
    pytest.param({"max_restarts": -1}, "max_restarts", "-1", id="negative-max-restarts"),
    pytest.param({"max_restarts": 1.5}, "max_restarts", "1.5", id="float-max-restarts"),
    pytest.param({"max_restarts": True}, "max_restarts", "True", id="bool-max-restarts"),
    pytest.param({"max_seconds": 0}, "max_seconds", "0", id="zero-max-seconds"),
    pytest.param({"max_seconds": "5"}, "max_seconds", "'5'", id="str-max-seconds"),
    pytest.param({"auto_shutdown": "sometimes"}, "auto_shutdown", "'sometimes'", id="auto-shutdown"),
]


@pytest.mark.parametrize(("flags", "field", "value"), BAD_FLAGS)
async def test_invalid_flags_name_the_flag_and_the_value(
    rt: Runtime, flags: dict[str, Any], field: str, value: str
) -> None:
    """OTP sup_flags."""
    async with rt.attached(trap_exits=True) as me:
        with pytest.raises(InvalidSupervisorFlags) as caught:
            await Supervisor.start_link(rt, [], **flags)
        assert isinstance(caught.value, ValueError)
        assert field in str(caught.value) and value in str(caught.value)

        with pytest.raises(InvalidSupervisorFlags):
            Supervisor.child_spec("inner", [], **flags)
        assert rt.processes() == [me.pid]


def test_supervisor_child_spec_describes_a_supervisor() -> None:
    spec = Supervisor.child_spec("inner", [], strategy="rest_for_one", restart="transient")

    assert (spec.id, spec.type, spec.restart, spec.shutdown, spec.significant) == (
        "inner", "supervisor", "transient", "infinity", False,
    )
