"""Supervisor: ordered start, reverse stop by shutdown spec, restart types, exit signals, trees and auto_shutdown.

Ported from OTP's supervisor_SUITE (sup_start_*, sup_stop_*, *_normal, *_shutdown,
*_abnormal, child_unlink, tree, sup_stop_race, significant_*) and Elixir's
supervisor tests, against the contract in DESIGN.md sections 2 and 3.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from observer.runtime import (
    Child,
    ChildCounts,
    ChildSpec,
    Down,
    Pid,
    Process,
    Runtime,
    StartError,
    Supervisor,
    current_runtime,
)

from .supervision_helpers import (
    GUARD,
    Boom,
    FakeClock,
    Ignoring,
    Journal,
    Lingering,
    PlainWorker,
    StartFaults,
    StartRefused,
    Worker,
    assert_no_message,
    down_of,
    end_child,
    exit_message_of,
    ids_of,
    inits,
    pid_of,
    pids_by_id,
    running_pid,
    terminates,
    worker,
    workers,
)


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    """A runtime whose clock stands still: restart intensity depends only on the restarts a test makes."""
    async with Runtime(clock=FakeClock()) as runtime:
        yield runtime


# -- starting ------------------------------------------------------------------------


async def test_children_start_in_list_order_before_start_link_returns(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, workers(["db", "cache", "api"], journal))

        assert journal == [("init", "db"), ("init", "cache"), ("init", "api")]
        children = await Supervisor.which_children(rt, sup)
        assert ids_of(children) == ["db", "cache", "api"]
        pids = [running_pid(children, child_id) for child_id in ("db", "cache", "api")]
        assert pids == sorted(pids)
        assert all(rt.process_info(pid).parent is sup for pid in pids)  # type: ignore[union-attr]
        assert all(sup in rt.process_info(pid).links for pid in pids)  # type: ignore[union-attr]
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=3, active=3, supervisors=0, workers=3)


async def test_an_empty_supervisor_starts_and_stops(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [])

        assert await Supervisor.which_children(rt, sup) == []
        rt.exit(sup, "shutdown")
        assert (await exit_message_of(me, sup)).reason == "shutdown"


async def test_a_child_failing_to_start_stops_the_started_ones_in_reverse_and_raises(rt: Runtime) -> None:
    journal: Journal = []
    faults = StartFaults()
    faults.refuse("api")
    async with rt.attached(trap_exits=True) as me:
        with pytest.raises(StartError) as caught:
            await Supervisor.start_link(rt, workers(["db", "cache", "api", "web"], journal, faults=faults))

        failed, child_id, reason = caught.value.reason
        assert (failed, child_id) == ("failed_to_start_child", "api")
        assert isinstance(reason, StartRefused)
        assert journal == [
            ("init", "db"),
            ("init", "cache"),
            ("refused", "api"),
            ("terminate", "cache", "shutdown"),
            ("terminate", "db", "shutdown"),
        ]
        assert rt.processes() == [me.pid]
        assert_no_message(me)  # a failed start is reported by start_link, never as an exit signal


async def test_a_child_start_that_raises_is_reported_with_the_exception(rt: Runtime) -> None:
    problem = RuntimeError("no database")

    async def broken_start() -> Pid:
        raise problem

    async with rt.attached(trap_exits=True) as me:
        with pytest.raises(StartError) as caught:
            await Supervisor.start_link(rt, [ChildSpec("db", broken_start)])

        assert caught.value.reason == ("failed_to_start_child", "db", problem)
        assert_no_message(me)


async def test_a_failing_grandchild_is_reported_through_each_supervisor(rt: Runtime) -> None:
    journal: Journal = []
    faults = StartFaults()
    faults.refuse("db")
    inner = Supervisor.child_spec("storage", workers(["disk", "db"], journal, faults=faults))
    async with rt.attached(trap_exits=True) as me:
        with pytest.raises(StartError) as caught:
            await Supervisor.start_link(rt, [worker("log", journal), inner])

        outer_failure, failed_id, inner_reason = caught.value.reason
        assert (outer_failure, failed_id) == ("failed_to_start_child", "storage")
        assert inner_reason[:2] == ("failed_to_start_child", "db")
        assert isinstance(inner_reason[2], StartRefused)
        assert terminates(journal) == ["disk", "log"]
        assert rt.processes() == [me.pid]


async def test_a_child_that_ignores_its_start_is_kept_not_running_unless_temporary(rt: Runtime) -> None:
    """OTP sup_start_ignore_child and sup_start_ignore_temporary_child."""
    journal: Journal = []
    specs = [
        Ignoring.child_spec(journal, "kept", id="kept"),
        Ignoring.child_spec(journal, "dropped", id="dropped", restart="temporary"),
        worker("api", journal),
    ]
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, specs)

        children = await Supervisor.which_children(rt, sup)
        assert ids_of(children) == ["kept", "api"]
        assert pid_of(children, "kept") is None
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=2, active=1, supervisors=0, workers=2)


async def test_start_returning_pid_and_info_is_supervised_like_a_plain_pid(rt: Runtime) -> None:
    journal: Journal = []

    async def start_with_info() -> tuple[Pid, str]:
        pid = await Worker.start_link(current_runtime(), "api", journal)
        assert pid is not None
        return pid, "listening on 8080"

    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [ChildSpec("api", start_with_info)])
        first = running_pid(await Supervisor.which_children(rt, sup), "api")

        await end_child(rt, me, first, "crash")

        restarted = running_pid(await Supervisor.which_children(rt, sup), "api")
        assert restarted is not first
        assert inits(journal) == ["api", "api"]


async def test_a_start_returning_something_else_than_a_pid_fails(rt: Runtime) -> None:
    async def confused_start() -> Any:
        return "not a pid"

    async with rt.attached(trap_exits=True):
        with pytest.raises(StartError) as caught:
            await Supervisor.start_link(rt, [ChildSpec("confused", confused_start)])

        assert caught.value.reason == ("failed_to_start_child", "confused", ("bad_return_value", "not a pid"))


# -- stopping ------------------------------------------------------------------------


async def test_stop_is_in_reverse_start_order(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["db", "cache", "api"], journal))
        journal.clear()

        await rt.stop(sup, "shutdown")

        assert journal == [
            ("terminate", "api", "shutdown"),
            ("terminate", "cache", "shutdown"),
            ("terminate", "db", "shutdown"),
        ]
        assert rt.processes() == [me.pid]


async def test_each_child_is_stopped_by_its_shutdown_spec(rt: Runtime) -> None:
    """OTP sup_stop_infinity, sup_stop_timeout and sup_stop_brutal_kill in one tree, stopped youngest first."""
    journal: Journal = []
    never = asyncio.Event()
    release_patient = asyncio.Event()
    async with rt.attached(trap_exits=True) as me:
        specs = [
            worker("graceful", journal, shutdown=1.0),
            worker("brutal", journal, shutdown="brutal_kill"),
            Lingering.child_spec("stubborn", journal, me.pid, never, id="stubborn", shutdown=0.05),
            Lingering.child_spec("patient", journal, me.pid, release_patient, id="patient", shutdown="infinity"),
        ]
        sup = await Supervisor.start_link(rt, specs)
        pids = await pids_by_id(rt, sup)
        for pid in pids.values():
            me.monitor(pid)

        rt.exit(sup, "shutdown")
        await me.receive(match=lambda m: m == ("terminating", "patient"), timeout=GUARD)
        release_patient.set()

        downs = [await me.receive(match=lambda m: type(m) is Down, timeout=GUARD) for _ in pids]
        assert [(down.pid, down.reason) for down in downs] == [
            (pids["patient"], "shutdown"),  # "infinity": waited for until its terminate returned
            (pids["stubborn"], "killed"),  # its terminate never returns: killed after 0.05 s
            (pids["brutal"], "killed"),
            (pids["graceful"], "shutdown"),
        ]
        assert terminates(journal) == ["patient", "stubborn", "graceful"]  # brutal_kill: no terminate
        assert (await exit_message_of(me, sup)).reason == "shutdown"


@pytest.mark.parametrize("cls", [PlainWorker, Worker], ids=["not-trapping", "trapping"])
async def test_a_child_that_unlinked_itself_cannot_hang_the_supervisor(rt: Runtime, cls: type[Worker]) -> None:
    """OTP child_unlink: the supervisor monitors the child it stops."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("naughty", journal, cls=cls, shutdown=1.0)])
        naughty = running_pid(await Supervisor.which_children(rt, sup), "naughty")
        await rt.call(naughty, "unlink_supervisor")
        assert sup not in rt.process_info(naughty).links  # type: ignore[union-attr]
        me.monitor(naughty)

        await Supervisor.terminate_child(rt, sup, "naughty")

        assert (await down_of(me, naughty)).reason == "shutdown"
        assert pid_of(await Supervisor.which_children(rt, sup), "naughty") is None


@pytest.mark.parametrize("how", ["kill", "crash", "normal"])
async def test_a_child_ending_on_its_own_during_shutdown_is_not_waited_for_nor_restarted(
    rt: Runtime, how: str
) -> None:
    """OTP sup_stop_race: while the youngest child is being stopped, the oldest one ends by itself."""
    journal: Journal = []
    release = asyncio.Event()
    async with rt.attached(trap_exits=True) as me:
        specs = [
            worker("early", journal),
            worker("middle", journal),
            Lingering.child_spec("late", journal, me.pid, release, id="late"),
        ]
        sup = await Supervisor.start_link(rt, specs)
        pids = await pids_by_id(rt, sup)

        rt.exit(sup, "shutdown")
        await me.receive(match=lambda m: m == ("terminating", "late"), timeout=GUARD)
        await end_child(rt, me, pids["early"], how)
        release.set()

        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert inits(journal) == ["early", "middle", "late"]  # "early" was not restarted
        # "early" journals its own terminate unless killed; the supervisor then skips it
        expected = ["late", "middle"] if how == "kill" else ["late", "early", "middle"]
        assert terminates(journal) == expected
        assert rt.processes() == [me.pid]


# -- restart types -------------------------------------------------------------------

HOW_A_CHILD_ENDS = [
    pytest.param("normal", id="normal"),
    pytest.param("shutdown", id="shutdown"),
    pytest.param(("shutdown", "maintenance"), id="shutdown-tuple"),
    pytest.param("crash", id="crash"),
    pytest.param("kill", id="killed"),
]
ABNORMAL = ("crash", "kill")


@pytest.mark.parametrize("how", HOW_A_CHILD_ENDS)
async def test_a_permanent_child_is_always_restarted(rt: Runtime, how: Any) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("child", journal, restart="permanent")])
        first = running_pid(await Supervisor.which_children(rt, sup), "child")

        await end_child(rt, me, first, how)

        children = await Supervisor.which_children(rt, sup)
        assert running_pid(children, "child") is not first
        assert inits(journal) == ["child", "child"]
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=1, active=1, supervisors=0, workers=1)


@pytest.mark.parametrize("how", HOW_A_CHILD_ENDS)
async def test_a_transient_child_is_restarted_only_after_an_abnormal_exit(rt: Runtime, how: Any) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("child", journal, restart="transient")])
        first = running_pid(await Supervisor.which_children(rt, sup), "child")

        await end_child(rt, me, first, how)

        children = await Supervisor.which_children(rt, sup)
        if how in ABNORMAL:
            assert running_pid(children, "child") is not first
            assert inits(journal) == ["child", "child"]
        else:
            assert children == [Child("child", None, "worker", "transient")]  # spec kept, not running
            assert inits(journal) == ["child"]
            assert await Supervisor.restart_child(rt, sup, "child") is not None


@pytest.mark.parametrize("how", HOW_A_CHILD_ENDS)
async def test_a_temporary_child_is_never_restarted_and_its_spec_is_deleted(rt: Runtime, how: Any) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("child", journal, restart="temporary")])
        first = running_pid(await Supervisor.which_children(rt, sup), "child")

        await end_child(rt, me, first, how)

        assert await Supervisor.which_children(rt, sup) == []
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=0, active=0, supervisors=0, workers=0)
        assert inits(journal) == ["child"]
        await Supervisor.start_child(rt, sup, worker("child", journal, restart="temporary"))  # its id is free


# -- exit signals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["shutdown", ("shutdown", "maintenance"), "normal", "operator says so"], ids=str
)
async def test_an_exit_signal_from_the_parent_stops_children_first_then_the_supervisor_with_its_reason(
    rt: Runtime, reason: Any
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["db", "cache", "api"], journal))
        journal.clear()

        rt.exit(sup, reason)

        assert (await exit_message_of(me, sup)).reason == reason
        assert journal == [
            ("terminate", "api", "shutdown"),
            ("terminate", "cache", "shutdown"),
            ("terminate", "db", "shutdown"),
        ]


async def send_exit_signal(proc: Process, target: Pid, reason: Any) -> None:
    proc.runtime.exit(target, reason)


async def link_then_crash(proc: Process, target: Pid) -> None:
    proc.link(target)
    raise Boom("a stranger crashes")


async def test_exit_signals_from_processes_that_are_not_children_are_ignored(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["db", "api"], journal))
        before = await pids_by_id(rt, sup)

        stranger = rt.spawn(send_exit_signal, sup, "stranger says die")
        me.monitor(stranger)
        assert (await down_of(me, stranger)).reason == "normal"
        linked_stranger = rt.spawn(link_then_crash, sup)
        me.monitor(linked_stranger)
        assert isinstance((await down_of(me, linked_stranger)).reason, Boom)

        assert await pids_by_id(rt, sup) == before  # each signal was queued before this call
        assert rt.is_alive(sup)
        assert inits(journal) == ["db", "api"]


async def test_a_named_child_is_restarted_under_its_name(rt: Runtime) -> None:
    """OTP simple_global_supervisor: the name is free again when the supervisor restarts the child."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [Worker.child_spec("db", journal, id="db", name="database")])
        first = rt.whereis("database")
        assert first is not None and first is running_pid(await Supervisor.which_children(rt, sup), "db")

        await end_child(rt, me, first, "kill")

        second = running_pid(await Supervisor.which_children(rt, sup), "db")
        assert second is not first
        assert rt.whereis("database") is second
        assert await rt.call("database", "ping") == "db"


async def test_leaving_the_runtime_stops_a_supervisor_started_outside_any_process() -> None:
    journal: Journal = []
    async with Runtime(clock=FakeClock()) as rt:
        sup = await Supervisor.start_link(rt, workers(["db", "cache", "api"], journal))
        assert rt.process_info(sup).parent is None  # type: ignore[union-attr]
        journal.clear()

    assert journal == [
        ("terminate", "api", "shutdown"),
        ("terminate", "cache", "shutdown"),
        ("terminate", "db", "shutdown"),
    ]


# -- supervision trees ----------------------------------------------------------------


async def test_a_tree_restarts_only_what_died_and_a_given_up_subtree_is_restarted_by_its_parent(
    rt: Runtime,
) -> None:
    """OTP tree: dynamic children added to a subtree are gone when the parent restarts that subtree."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        top = await Supervisor.start_link(
            rt,
            [
                Supervisor.child_spec("sub1", workers(["a", "b"], journal)),
                Supervisor.child_spec("sub2", [], max_restarts=1),
            ],
            strategy="one_for_all",
        )
        assert await Supervisor.count_children(rt, top) == ChildCounts(specs=2, active=2, supervisors=2, workers=0)
        sub1, sub2 = (await pids_by_id(rt, top)).values()
        await Supervisor.start_child(rt, sub2, worker("c", journal))
        await Supervisor.start_child(rt, sub2, worker("d", journal))
        c_before = running_pid(await Supervisor.which_children(rt, sub2), "c")
        d_before = running_pid(await Supervisor.which_children(rt, sub2), "d")

        await end_child(rt, me, d_before, "crash")

        assert running_pid(await Supervisor.which_children(rt, sub2), "c") is c_before
        d_after = running_pid(await Supervisor.which_children(rt, sub2), "d")
        assert d_after is not d_before
        assert await pids_by_id(rt, top) == {"sub1": sub1, "sub2": sub2}

        me.monitor(sub2)
        await end_child(rt, me, d_after, "crash")  # the second restart in sub2: more than max_restarts=1
        assert (await down_of(me, sub2)).reason == "shutdown"

        after = await pids_by_id(rt, top)
        assert after["sub1"] is not sub1 and after["sub2"] is not sub2
        assert ids_of(await Supervisor.which_children(rt, after["sub1"])) == ["a", "b"]
        assert await Supervisor.which_children(rt, after["sub2"]) == []
        assert journal[-4:] == [
            ("terminate", "b", "shutdown"),
            ("terminate", "a", "shutdown"),
            ("init", "a"),
            ("init", "b"),
        ]


async def test_a_child_supervisor_is_stopped_with_infinity_so_its_children_stop_first(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        top = await Supervisor.start_link(
            rt, [worker("log", journal), Supervisor.child_spec("inner", workers(["x", "y"], journal))]
        )
        assert (await Supervisor.get_childspec(rt, top, "inner")).shutdown == "infinity"
        journal.clear()

        await rt.stop(top, "shutdown")

        assert terminates(journal) == ["y", "x", "log"]


# -- auto_shutdown ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["normal", "crash", "kill"])
async def test_a_temporary_significant_child_ending_triggers_any_significant(rt: Runtime, how: str) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        specs = [
            worker("keeper", journal),
            worker("job", journal, restart="temporary", significant=True),
            worker("other", journal),
        ]
        sup = await Supervisor.start_link(rt, specs, auto_shutdown="any_significant")
        job = running_pid(await Supervisor.which_children(rt, sup), "job")

        await end_child(rt, me, job, how)

        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert [entry for entry in journal if entry[1] != "job"][-2:] == [
            ("terminate", "other", "shutdown"),
            ("terminate", "keeper", "shutdown"),
        ]


@pytest.mark.parametrize("how", ["normal", "shutdown", ("shutdown", "done")], ids=str)
async def test_a_transient_significant_child_exiting_normally_triggers_any_significant(
    rt: Runtime, how: Any
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        specs = [worker("keeper", journal), worker("job", journal, restart="transient", significant=True)]
        sup = await Supervisor.start_link(rt, specs, auto_shutdown="any_significant")

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "job"), how)

        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert terminates(journal)[-1] == "keeper"


async def test_an_exit_signal_from_outside_counts_as_the_significant_child_ending_by_itself(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        job_spec = worker("job", journal, restart="transient", significant=True, cls=PlainWorker)
        sup = await Supervisor.start_link(rt, [job_spec], auto_shutdown="any_significant")
        job = running_pid(await Supervisor.which_children(rt, sup), "job")
        me.monitor(job)

        rt.exit(job, ("shutdown", "operator"))

        assert (await down_of(me, job)).reason == ("shutdown", "operator")
        assert (await exit_message_of(me, sup)).reason == "shutdown"


@pytest.mark.parametrize("how", ["crash", "kill"])
async def test_a_restarted_significant_child_does_not_trigger_auto_shutdown(rt: Runtime, how: str) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        specs = [worker("job", journal, restart="transient", significant=True)]
        sup = await Supervisor.start_link(rt, specs, auto_shutdown="any_significant")
        first = running_pid(await Supervisor.which_children(rt, sup), "job")

        await end_child(rt, me, first, how)

        assert running_pid(await Supervisor.which_children(rt, sup), "job") is not first


@pytest.mark.parametrize("restart", ["transient", "temporary"])
async def test_terminate_child_of_a_significant_child_does_not_trigger_auto_shutdown(
    rt: Runtime, restart: str
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        specs = [worker("keeper", journal), worker("job", journal, restart=restart, significant=True)]
        sup = await Supervisor.start_link(rt, specs, auto_shutdown="any_significant")

        await Supervisor.terminate_child(rt, sup, "job")

        expected = ["keeper", "job"] if restart == "transient" else ["keeper"]
        assert ids_of(await Supervisor.which_children(rt, sup)) == expected
        assert rt.is_alive(sup)


@pytest.mark.parametrize("auto_shutdown", ["never", "any_significant", "all_significant"])
@pytest.mark.parametrize("restart", ["transient", "temporary"])
async def test_a_non_significant_child_ending_never_triggers_auto_shutdown(
    rt: Runtime, auto_shutdown: str, restart: str
) -> None:
    """OTP nonsignificant_temporary and nonsignificant_transient."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("job", journal, restart=restart)], auto_shutdown=auto_shutdown)

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "job"), "normal")

        assert len(await Supervisor.which_children(rt, sup)) == (1 if restart == "transient" else 0)


async def test_all_significant_waits_for_the_last_significant_child(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        specs = [
            worker("first", journal, restart="temporary", significant=True),
            worker("second", journal, restart="transient", significant=True),
            worker("bystander", journal, restart="temporary"),
        ]
        sup = await Supervisor.start_link(rt, specs, auto_shutdown="all_significant")
        pids = await pids_by_id(rt, sup)

        await end_child(rt, me, pids["first"], "normal")
        assert ids_of(await Supervisor.which_children(rt, sup)) == ["second", "bystander"]

        await end_child(rt, me, pids["second"], "normal")
        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert terminates(journal)[-1] == "bystander"


async def test_all_significant_counts_a_restarting_significant_child_as_not_ended(rt: Runtime) -> None:
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        specs = [
            worker("retrying", journal, restart="transient", significant=True, faults=faults),
            worker("done", journal, restart="transient", significant=True),
        ]
        sup = await Supervisor.start_link(rt, specs, auto_shutdown="all_significant", max_restarts=1000)
        pids = await pids_by_id(rt, sup)
        faults.refuse("retrying", times=float("inf"))

        await end_child(rt, me, pids["retrying"], "crash")
        await end_child(rt, me, pids["done"], "normal")

        assert await pids_by_id(rt, sup) == {"retrying": "restarting", "done": None}
        await Supervisor.terminate_child(rt, sup, "retrying")  # ends the retries; not an exit of its own
        assert await pids_by_id(rt, sup) == {"retrying": None, "done": None}


@pytest.mark.parametrize("strategy", ["one_for_one", "one_for_all", "rest_for_one"])
@pytest.mark.parametrize("auto_shutdown", ["any_significant", "all_significant"])
async def test_significant_children_stopped_by_a_sibling_cascade_do_not_trigger_auto_shutdown(
    rt: Runtime, strategy: str, auto_shutdown: str
) -> None:
    """OTP significant_bystander."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        specs = [
            worker("sig1", journal, restart="transient", significant=True),
            worker("plain", journal, restart="transient"),
            worker("sig2", journal, restart="transient", significant=True),
        ]
        sup = await Supervisor.start_link(rt, specs, strategy=strategy, auto_shutdown=auto_shutdown)
        before = await pids_by_id(rt, sup)

        await end_child(rt, me, before["plain"], "kill")

        after = await pids_by_id(rt, sup)
        restarted = {"one_for_one": {"plain"}, "one_for_all": {"sig1", "plain", "sig2"}}.get(
            strategy, {"plain", "sig2"}
        )
        assert {child_id for child_id in after if after[child_id] is not before[child_id]} == restarted
        assert all(isinstance(pid, Pid) for pid in after.values())


@pytest.mark.parametrize("significant", [True, False])
async def test_auto_shutdown_escalates_only_through_significant_child_supervisors(
    rt: Runtime, significant: bool
) -> None:
    """OTP significant_escalation."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        inner = Supervisor.child_spec(
            "session",
            [worker("job", journal, restart="transient", significant=True)],
            auto_shutdown="any_significant",
            restart="transient",
            significant=significant,
        )
        top = await Supervisor.start_link(rt, [worker("log", journal), inner], auto_shutdown="any_significant")
        session = running_pid(await Supervisor.which_children(rt, top), "session")
        me.monitor(session)
        job = running_pid(await Supervisor.which_children(rt, session), "job")

        await end_child(rt, me, job, "normal")
        assert (await down_of(me, session)).reason == "shutdown"

        if significant:
            assert (await exit_message_of(me, top)).reason == "shutdown"
        else:
            children = await Supervisor.which_children(rt, top)
            assert pid_of(children, "session") is None  # transient, exited "shutdown": kept, not restarted
            assert isinstance(pid_of(children, "log"), Pid)
