"""Supervisor strategies, restart intensity and failed restarts.

Ported from OTP's supervisor_SUITE (one_for_one, one_for_all, rest_for_one and
their *_escalation cases, temporary_bystander, multiple_restarts,
*_other_child_fails_restart, hanging_restart_loop*, order_of_children) against
DESIGN.md section 3, items 5 to 7. Every restart is observed through the
journal the workers write: who stopped, in which order, and who started.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from observer.runtime import AlreadyPresent, ChildCounts, ChildRestarting, Pid, Runtime, Supervisor

from .supervision_helpers import (
    GUARD,
    FakeClock,
    Journal,
    Lingering,
    StartFaults,
    down_of,
    end_child,
    exit_message_of,
    ids_of,
    inits,
    pid_of,
    pids_by_id,
    running_pid,
    settle,
    worker,
    workers,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def rt(clock: FakeClock) -> AsyncIterator[Runtime]:
    async with Runtime(clock=clock) as runtime:
        yield runtime


def changed(before: dict[Any, Any], after: dict[Any, Any]) -> set[Any]:
    """Ids whose pid is not the same as before."""
    return {child_id for child_id, pid in after.items() if before.get(child_id) is not pid}


# -- strategies: who is stopped, in which order, and who is started ------------------


async def test_one_for_one_restarts_only_the_child_that_died(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["a", "b", "c"], journal), strategy="one_for_one")
        before = await pids_by_id(rt, sup)
        journal.clear()

        await end_child(rt, me, before["b"], "crash")

        after = await pids_by_id(rt, sup)
        assert changed(before, after) == {"b"}
        assert journal == [("terminate", "b", "Boom"), ("init", "b")]


async def test_one_for_all_stops_the_others_youngest_first_then_starts_all_in_order(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["a", "b", "c", "d"], journal), strategy="one_for_all")
        before = await pids_by_id(rt, sup)
        journal.clear()

        await end_child(rt, me, before["b"], "crash")

        after = await pids_by_id(rt, sup)
        assert changed(before, after) == {"a", "b", "c", "d"}
        assert journal == [
            ("terminate", "b", "Boom"),
            ("terminate", "d", "shutdown"),
            ("terminate", "c", "shutdown"),
            ("terminate", "a", "shutdown"),
            ("init", "a"),
            ("init", "b"),
            ("init", "c"),
            ("init", "d"),
        ]
        assert all(not rt.is_alive(pid) for pid in before.values())


async def test_rest_for_one_restarts_the_child_and_the_younger_ones_and_older_ones_keep_their_pids(
    rt: Runtime,
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["a", "b", "c", "d"], journal), strategy="rest_for_one")
        before = await pids_by_id(rt, sup)
        journal.clear()

        await end_child(rt, me, before["b"], "kill")

        after = await pids_by_id(rt, sup)
        assert changed(before, after) == {"b", "c", "d"}
        assert after["a"] is before["a"]
        assert journal == [  # "b" was killed: its terminate did not run
            ("terminate", "d", "shutdown"),
            ("terminate", "c", "shutdown"),
            ("init", "b"),
            ("init", "c"),
            ("init", "d"),
        ]


async def test_rest_for_one_of_the_youngest_child_restarts_only_it(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["a", "b", "c"], journal), strategy="rest_for_one")
        before = await pids_by_id(rt, sup)

        await end_child(rt, me, before["c"], "crash")

        assert changed(before, await pids_by_id(rt, sup)) == {"c"}


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
async def test_temporary_bystanders_of_a_cascade_are_stopped_and_their_specs_deleted(
    rt: Runtime, strategy: str
) -> None:
    """OTP temporary_bystander: the supervisor must not try to restart them."""
    journal: Journal = []
    specs = [worker("a", journal), worker("temp", journal, restart="temporary"), worker("c", journal)]
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, specs, strategy=strategy, max_restarts=1)
        before = await pids_by_id(rt, sup)
        journal.clear()

        await end_child(rt, me, before["a"], "crash")

        assert ids_of(await Supervisor.which_children(rt, sup)) == ["a", "c"]
        assert journal == [
            ("terminate", "a", "Boom"),
            ("terminate", "c", "shutdown"),
            ("terminate", "temp", "shutdown"),
            ("init", "a"),
            ("init", "c"),
        ]
        assert not rt.is_alive(before["temp"])


async def test_a_temporary_child_that_dies_causes_no_cascade(rt: Runtime) -> None:
    journal: Journal = []
    specs = [worker("temp", journal, restart="temporary"), worker("b", journal)]
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, specs, strategy="one_for_all")
        before = await pids_by_id(rt, sup)

        await end_child(rt, me, before["temp"], "crash")

        assert await pids_by_id(rt, sup) == {"b": before["b"]}


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
async def test_a_group_restart_starts_kept_children_that_were_not_running(rt: Runtime, strategy: str) -> None:
    journal: Journal = []
    specs = [worker("a", journal), worker("done", journal, restart="transient"), worker("c", journal)]
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, specs, strategy=strategy)
        before = await pids_by_id(rt, sup)
        await end_child(rt, me, before["done"], "normal")
        assert pid_of(await Supervisor.which_children(rt, sup), "done") is None
        journal.clear()

        await end_child(rt, me, before["a"], "crash")

        after = await pids_by_id(rt, sup)
        assert all(isinstance(pid, Pid) for pid in after.values())
        assert journal == [
            ("terminate", "a", "Boom"),
            ("terminate", "c", "shutdown"),
            ("init", "a"),
            ("init", "done"),
            ("init", "c"),
        ]


async def test_rest_for_one_leaves_an_older_kept_child_not_running(rt: Runtime) -> None:
    journal: Journal = []
    specs = [worker("done", journal, restart="transient"), worker("b", journal), worker("c", journal)]
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, specs, strategy="rest_for_one")
        before = await pids_by_id(rt, sup)
        await Supervisor.terminate_child(rt, sup, "done")

        await end_child(rt, me, before["b"], "crash")

        after = await pids_by_id(rt, sup)
        assert after["done"] is None
        assert changed(before, after) == {"done", "b", "c"}


async def test_children_start_in_order_and_stop_in_reverse_whatever_their_ids(rt: Runtime) -> None:
    """OTP order_of_children: ids that do not sort like their start order."""
    journal: Journal = []
    names = ["ch7", "ch3", "ch10", "ch2", "ch5"]
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(names, journal), strategy="rest_for_one")
        before = await pids_by_id(rt, sup)
        assert list(before) == names
        assert sorted(before.values()) == list(before.values())  # pids grow in start order
        journal.clear()

        await end_child(rt, me, before["ch10"], "kill")
        await settle(rt, sup)

        assert journal == [
            ("terminate", "ch5", "shutdown"),
            ("terminate", "ch2", "shutdown"),
            ("init", "ch10"),
            ("init", "ch2"),
            ("init", "ch5"),
        ]


# -- restart intensity ---------------------------------------------------------------


async def test_more_restarts_than_max_restarts_stops_all_children_in_reverse_and_exits_shutdown(
    rt: Runtime,
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["a", "b", "c"], journal), max_restarts=2, max_seconds=5)
        for _ in range(2):
            await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "b"), "crash")
        await settle(rt, sup)
        assert inits(journal) == ["a", "b", "c", "b", "b"]
        journal.clear()

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "b"), "crash")

        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert journal == [  # counted before restarting: "b" is not started a third time
            ("terminate", "b", "Boom"),
            ("terminate", "c", "shutdown"),
            ("terminate", "a", "shutdown"),
        ]
        assert rt.processes() == [me.pid]


async def test_max_restarts_zero_gives_up_at_the_first_restart(rt: Runtime) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("a", journal)], max_restarts=0)

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "kill")

        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert inits(journal) == ["a"]


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
async def test_a_whole_cascade_counts_as_one_restart(rt: Runtime, strategy: str) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["a", "b", "c"], journal), strategy=strategy, max_restarts=1)

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")
        await settle(rt, sup)

        assert inits(journal) == ["a", "b", "c", "a", "b", "c"]  # three children started: one restart
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=3, active=3, supervisors=0, workers=3)

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "c"), "crash")
        assert (await exit_message_of(me, sup)).reason == "shutdown"


async def test_a_group_member_crashing_during_the_cascade_is_part_of_the_same_restart(rt: Runtime) -> None:
    """While the cascade waits for the youngest child, another member crashes: no second restart is counted."""
    journal: Journal = []
    release = asyncio.Event()
    async with rt.attached(trap_exits=True) as me:
        specs = [
            worker("a", journal),
            worker("b", journal),
            Lingering.child_spec("c", journal, me.pid, release, id="c"),
        ]
        sup = await Supervisor.start_link(rt, specs, strategy="rest_for_one", max_restarts=1)
        before = await pids_by_id(rt, sup)
        journal.clear()

        await end_child(rt, me, before["a"], "crash")
        await me.receive(match=lambda m: m == ("terminating", "c"), timeout=GUARD)
        await end_child(rt, me, before["b"], "crash")
        release.set()

        after = await pids_by_id(rt, sup)
        assert changed(before, after) == {"a", "b", "c"}
        assert journal == [
            ("terminate", "a", "Boom"),
            ("terminate", "c", "shutdown"),
            ("terminate", "b", "Boom"),
            ("init", "a"),
            ("init", "b"),
            ("init", "c"),
        ]
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=3, active=3, supervisors=0, workers=3)


async def test_restarts_older_than_max_seconds_are_forgotten(rt: Runtime, clock: FakeClock) -> None:
    """OTP multiple_restarts: the window slides on the runtime clock."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("a", journal)], max_restarts=1, max_seconds=5)

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")  # at 0
        await settle(rt, sup)  # restarted at 0, before the clock moves on
        clock.advance(5.5)
        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")  # at 5.5
        await settle(rt, sup)  # restarted at 5.5
        assert inits(journal) == ["a", "a", "a"]

        clock.advance(1.0)
        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")  # at 6.5

        assert (await exit_message_of(me, sup)).reason == "shutdown"
        assert inits(journal) == ["a", "a", "a"]


async def test_a_restart_exactly_max_seconds_old_still_counts(rt: Runtime, clock: FakeClock) -> None:
    """As OTP's add_restart: restarts at or after now - max_seconds are in the window."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("a", journal)], max_restarts=1, max_seconds=5)

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")
        await settle(rt, sup)
        clock.advance(5.0)
        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")

        assert (await exit_message_of(me, sup)).reason == "shutdown"


@pytest.mark.parametrize(
    ("restart", "expected"),
    [("permanent", "restarted"), ("transient", "kept"), ("temporary", "deleted")],
)
async def test_a_supervisor_giving_up_is_handled_by_its_parent_like_any_shutdown_exit(
    rt: Runtime, restart: Any, expected: str
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        inner = Supervisor.child_spec("inner", [worker("w", journal)], max_restarts=0, restart=restart)
        top = await Supervisor.start_link(rt, [worker("log", journal), inner])
        first_inner = running_pid(await Supervisor.which_children(rt, top), "inner")
        me.monitor(first_inner)

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, first_inner), "w"), "crash")

        assert (await down_of(me, first_inner)).reason == "shutdown"
        children = await pids_by_id(rt, top)
        if expected == "restarted":
            assert isinstance(children["inner"], Pid) and children["inner"] is not first_inner
            assert inits(journal) == ["log", "w", "w"]
        elif expected == "kept":
            assert children["inner"] is None
        else:
            assert "inner" not in children
        assert isinstance(children["log"], Pid)


# -- restarts that fail ----------------------------------------------------------------


async def test_a_failed_restart_shows_restarting_and_is_retried_between_calls(rt: Runtime) -> None:
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["a", "b"], journal, faults=faults), max_restarts=5)
        a = running_pid(await Supervisor.which_children(rt, sup), "a")
        faults.refuse("b", times=2)
        journal.clear()

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "b"), "crash")

        # each call is answered between two attempts: the retry is a message the supervisor sends itself
        assert pid_of(await Supervisor.which_children(rt, sup), "b") == "restarting"
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=2, active=1, supervisors=0, workers=2)
        assert isinstance(pid_of(await Supervisor.which_children(rt, sup), "b"), Pid)
        assert journal == [("terminate", "b", "Boom"), ("refused", "b"), ("refused", "b"), ("init", "b")]
        assert running_pid(await Supervisor.which_children(rt, sup), "a") is a


@pytest.mark.parametrize(("max_restarts", "gives_up"), [(3, True), (4, False)])
async def test_each_restart_attempt_counts_toward_intensity(rt: Runtime, max_restarts: int, gives_up: bool) -> None:
    """Three refused attempts and a fourth that would succeed: it is only made if intensity allows four."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        specs = workers(["a", "b"], journal, faults=faults)
        sup = await Supervisor.start_link(rt, specs, max_restarts=max_restarts)
        faults.refuse("a", times=3)

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")

        if gives_up:  # OTP one_for_one_escalation: the other child is stopped too
            assert (await exit_message_of(me, sup)).reason == "shutdown"
            assert journal[-4:] == [("refused", "a")] * 3 + [("terminate", "b", "shutdown")]
        else:  # each call is answered after one more attempt
            states = [pid_of(await Supervisor.which_children(rt, sup), "a") for _ in range(4)]
            assert states[:3] == ["restarting"] * 3
            assert isinstance(states[3], Pid)
            assert journal[-4:] == [("refused", "a")] * 3 + [("init", "a")]


async def test_admin_calls_on_a_restarting_child(rt: Runtime) -> None:
    """OTP hanging_restart_loop: errors while restarting, and terminate_child ends the retries."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        spec = worker("a", journal, faults=faults)
        sup = await Supervisor.start_link(rt, [spec], max_restarts=100)
        faults.refuse("a", times=float("inf"))
        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")

        with pytest.raises(AlreadyPresent):  # OTP hanging_restart_loop: {error, already_present}
            await Supervisor.start_child(rt, sup, spec)
        with pytest.raises(ChildRestarting):
            await Supervisor.restart_child(rt, sup, "a")
        with pytest.raises(ChildRestarting):
            await Supervisor.delete_child(rt, sup, "a")
        assert pid_of(await Supervisor.which_children(rt, sup), "a") == "restarting"

        await Supervisor.terminate_child(rt, sup, "a")

        attempts = journal.count(("refused", "a"))
        assert pid_of(await Supervisor.which_children(rt, sup), "a") is None
        assert pid_of(await Supervisor.which_children(rt, sup), "a") is None
        assert journal.count(("refused", "a")) == attempts  # the retry still queued was dropped
        faults.refuse("a", times=0)
        assert isinstance(await Supervisor.restart_child(rt, sup, "a"), Pid)


async def test_a_supervisor_in_a_restart_loop_can_be_stopped(rt: Runtime) -> None:
    """OTP-9549: stopping does not wait for the restart loop."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, workers(["a", "b"], journal, faults=faults), max_restarts=1000)
        faults.refuse("b", times=float("inf"))
        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "b"), "crash")

        await rt.stop(sup, "shutdown")

        assert journal[-1] == ("terminate", "a", "shutdown")
        assert rt.processes() == [me.pid]


async def test_one_for_all_retry_stops_the_restarted_siblings_again_and_starts_all(rt: Runtime) -> None:
    """OTP one_for_all_other_child_fails_restart."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(
            rt, workers(["a", "b", "c"], journal, faults=faults), strategy="one_for_all", max_restarts=5
        )
        faults.refuse("b")
        journal.clear()

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")

        midway = await pids_by_id(rt, sup)
        assert isinstance(midway["a"], Pid)
        assert (midway["b"], midway["c"]) == ("restarting", None)
        done = await pids_by_id(rt, sup)
        assert all(isinstance(pid, Pid) for pid in done.values())
        assert done["a"] is not midway["a"]
        assert journal == [
            ("terminate", "a", "Boom"),
            ("terminate", "c", "shutdown"),
            ("terminate", "b", "shutdown"),
            ("init", "a"),
            ("refused", "b"),
            ("terminate", "a", "shutdown"),
            ("init", "a"),
            ("init", "b"),
            ("init", "c"),
        ]


async def test_rest_for_one_retry_starts_from_the_child_that_failed(rt: Runtime) -> None:
    """OTP rest_for_one_other_child_fails_restart."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(
            rt, workers(["a", "b", "c"], journal, faults=faults), strategy="rest_for_one", max_restarts=5
        )
        faults.refuse("b")
        journal.clear()

        await end_child(rt, me, running_pid(await Supervisor.which_children(rt, sup), "a"), "crash")

        midway = await pids_by_id(rt, sup)
        assert (midway["b"], midway["c"]) == ("restarting", None)
        done = await pids_by_id(rt, sup)
        assert done["a"] is midway["a"]
        assert isinstance(done["b"], Pid) and isinstance(done["c"], Pid)
        assert journal == [
            ("terminate", "a", "Boom"),
            ("terminate", "c", "shutdown"),
            ("terminate", "b", "shutdown"),
            ("init", "a"),
            ("refused", "b"),
            ("init", "b"),
            ("init", "c"),
        ]
