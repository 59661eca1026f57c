"""Monitors: noproc, one-shot, demonitor and flush, and an exact monitor_count."""

from __future__ import annotations

import pytest

from observer.runtime import Down, Pid, Process, Runtime

from .helpers import GUARD, dead_pid, down_of, end_on_go, idle, mailbox_size


def monitors_of(rt: Runtime, pid: Pid) -> tuple[tuple[Pid, ...], tuple[Pid, ...]]:
    """(the pids `pid` monitors, the pids monitoring `pid`)."""
    info = rt.process_info(pid)
    assert info is not None
    return info.monitors, info.monitored_by


async def test_monitoring_a_dead_pid_gives_an_immediate_down_noproc(rt: Runtime) -> None:
    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
        baseline = rt.monitor_count()

        ref = me.monitor(dead)

        assert await me.receive(timeout=0) == Down(ref, dead, "noproc")
        assert rt.monitor_count() == baseline


async def test_a_monitor_fires_once_with_the_exit_reason_and_is_gone(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(end_on_go, "boom")
        ref = me.monitor(target)
        assert rt.monitor_count() == 1
        assert monitors_of(rt, me.pid) == ((target,), ())
        assert monitors_of(rt, target) == ((), (me.pid,))

        rt.send(target, "go")

        assert await down_of(me, target) == Down(ref, target, "boom")
        assert rt.monitor_count() == 0
        assert monitors_of(rt, me.pid) == ((), ())
        assert me.demonitor(ref) is False
        assert mailbox_size(rt, me.pid) == 0


async def test_monitors_are_one_way(rt: Runtime) -> None:
    async def watch(proc: Process, target: Pid) -> None:
        proc.monitor(target)
        raise ValueError("the watcher crashes")

    async with rt.attached() as me:
        target = rt.spawn(idle)
        watcher = rt.spawn(watch, target)
        me.monitor(watcher)

        assert isinstance((await down_of(me, watcher)).reason, ValueError)
        assert rt.is_alive(target)
        assert monitors_of(rt, target) == ((), ())
        assert rt.monitor_count() == 0


async def test_each_monitor_of_the_same_target_is_its_own_ref_and_down(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(end_on_go, "boom")
        first, second = me.monitor(target), me.monitor(target)
        assert first is not second
        assert rt.monitor_count() == 2

        rt.send(target, "go")

        assert await me.receive(timeout=GUARD) == Down(first, target, "boom")
        assert await me.receive(timeout=GUARD) == Down(second, target, "boom")


async def test_demonitor_returns_whether_the_monitor_was_active(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(idle)
        ref = me.monitor(target)

        assert me.demonitor(ref) is True
        assert me.demonitor(ref) is False
        assert rt.monitor_count() == 0
        assert monitors_of(rt, target) == ((), ())


async def test_after_demonitor_no_down_arrives_for_that_ref(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(idle)
        dropped = me.monitor(target)
        kept = me.monitor(target)
        me.demonitor(dropped)

        rt.exit(target, "boom")

        assert await me.receive(timeout=GUARD) == Down(kept, target, "boom")
        assert mailbox_size(rt, me.pid) == 0  # every Down of one exit is queued at once


async def test_demonitor_with_flush_removes_a_down_already_queued_and_nothing_else(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(idle)
        ref = me.monitor(target)
        rt.send(me.pid, "before")
        rt.exit(target, "boom")
        rt.send(me.pid, "after")
        assert mailbox_size(rt, me.pid) == 3

        assert me.demonitor(ref, flush=True) is False

        assert await me.receive(timeout=0) == "before"
        assert await me.receive(timeout=0) == "after"
        assert mailbox_size(rt, me.pid) == 0


async def test_demonitor_without_flush_leaves_a_queued_down(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(idle)
        ref = me.monitor(target)
        rt.exit(target, "boom")

        assert me.demonitor(ref) is False

        assert await me.receive(timeout=0) == Down(ref, target, "boom")


async def test_demonitor_with_flush_of_an_active_monitor_keeps_other_downs(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(idle)
        other = rt.spawn(idle)
        ref = me.monitor(target)
        other_ref = me.monitor(other)
        rt.exit(other, "boom")

        assert me.demonitor(ref, flush=True) is True

        assert await me.receive(timeout=0) == Down(other_ref, other, "boom")


async def test_monitoring_itself_is_harmless(rt: Runtime) -> None:
    async def monitor_self(proc: Process) -> None:
        proc.monitor(proc.pid)
        raise ValueError("crash while monitoring itself")

    async with rt.attached() as me:
        baseline = rt.monitor_count()
        target = rt.spawn(monitor_self)
        me.monitor(target)

        assert isinstance((await down_of(me, target)).reason, ValueError)
        assert rt.monitor_count() == baseline
        assert rt.processes() == [me.pid]


# -- monitor_count ------------------------------------------------------------


async def test_monitor_count_is_exact_through_ten_thousand_monitor_demonitor_pairs(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(idle)
        baseline = rt.monitor_count()
        for _ in range(10_000):
            ref = me.monitor(target)
            assert rt.monitor_count() == baseline + 1
            assert me.demonitor(ref, flush=True) is True
            assert rt.monitor_count() == baseline
        assert monitors_of(rt, target) == ((), ())


async def test_monitor_count_is_back_at_baseline_after_a_thousand_monitored_processes_die(rt: Runtime) -> None:
    async with rt.attached() as me:
        baseline = rt.monitor_count()
        targets = [rt.spawn(end_on_go, "normal") for _ in range(1_000)]
        for target in targets:
            me.monitor(target)
        assert rt.monitor_count() == baseline + 1_000

        for target in targets:
            rt.send(target, "go")
        downs = [await me.receive(timeout=GUARD) for _ in targets]

        assert [down.pid for down in downs] == targets
        assert {down.reason for down in downs} == {"normal"}
        assert rt.monitor_count() == baseline
        assert monitors_of(rt, me.pid) == ((), ())


async def test_monitor_count_drops_the_monitors_of_a_watcher_that_dies(rt: Runtime) -> None:
    async def watch_all(proc: Process, targets: list[Pid], report_to: Pid) -> None:
        for target in targets:
            proc.monitor(target)
        proc.runtime.send(report_to, proc.runtime.monitor_count())
        await idle(proc)

    async with rt.attached() as me:
        targets = [rt.spawn(idle) for _ in range(1_000)]
        watcher = rt.spawn(watch_all, targets, me.pid)
        assert await me.receive(timeout=GUARD) == 1_000
        me.monitor(watcher)

        rt.exit(watcher, "kill")

        assert (await down_of(me, watcher)).reason == "killed"
        assert rt.monitor_count() == 0
        assert all(monitors_of(rt, target) == ((), ()) for target in targets)


@pytest.mark.parametrize("flush", [False, True])
async def test_demonitor_of_a_ref_from_another_process_is_false(rt: Runtime, flush: bool) -> None:
    async def monitor_and_report(proc: Process, target: Pid, report_to: Pid) -> None:
        proc.runtime.send(report_to, proc.monitor(target))
        await idle(proc)

    async with rt.attached() as me:
        target = rt.spawn(idle)
        rt.spawn(monitor_and_report, target, me.pid)
        foreign_ref = await me.receive(timeout=GUARD)

        assert me.demonitor(foreign_ref, flush=flush) is False
        assert rt.monitor_count() == 1
