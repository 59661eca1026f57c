"""rt.exit: "kill" is untrappable, "normal" is ignored unless trapping, self-exit raises Exit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from observer.runtime import Exit, ExitMessage, Pid, Process, Runtime, Server

from .helpers import GUARD, dead_pid, down_of, exit_message_of, exit_reason, forward, idle, resolve


@pytest.mark.parametrize("trap_exits", [False, True], ids=["non-trapping", "trapping"])
async def test_kill_cannot_be_trapped_and_the_target_dies_with_killed(rt: Runtime, trap_exits: bool) -> None:
    async with rt.attached() as me:
        target = rt.spawn(idle, trap_exits=trap_exits)
        me.monitor(target)

        rt.exit(target, "kill")

        assert not rt.is_alive(target)
        assert (await down_of(me, target)).reason == "killed"


async def test_normal_is_ignored_by_a_process_that_does_not_trap_exits(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(forward, me.pid)

        rt.exit(target, "normal")
        rt.send(target, "still there")

        assert rt.is_alive(target)
        assert await me.receive(timeout=GUARD) == "still there"


async def test_normal_reaches_a_trapping_process_as_exit_message(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(forward, me.pid, trap_exits=True)

        rt.exit(target, "normal")

        assert await me.receive(timeout=GUARD) == ExitMessage(me.pid, "normal")
        assert rt.is_alive(target)


OTHER_REASONS = [
    pytest.param("shutdown", id="shutdown"),
    pytest.param(("shutdown", 7), id="shutdown-tuple"),
    pytest.param("boom", id="atom"),
    pytest.param(ValueError("crash"), id="exception"),
]


@pytest.mark.parametrize("reason", OTHER_REASONS)
async def test_any_other_reason_kills_a_non_trapping_target_with_that_reason(rt: Runtime, reason: Any) -> None:
    async with rt.attached() as me:
        target = rt.spawn(idle)
        me.monitor(target)

        rt.exit(target, reason)

        assert (await down_of(me, target)).reason is reason


@pytest.mark.parametrize("reason", OTHER_REASONS)
async def test_any_other_reason_reaches_a_trapping_target_as_exit_message(rt: Runtime, reason: Any) -> None:
    async with rt.attached() as me:
        target = rt.spawn(forward, me.pid, trap_exits=True)

        rt.exit(target, reason)

        message = await me.receive(timeout=GUARD)
        assert message == ExitMessage(me.pid, reason)
        assert message.reason is reason


async def test_an_exit_signal_sent_from_outside_any_process_has_no_sender(rt: Runtime) -> None:
    received: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    target = rt.spawn(resolve, received, trap_exits=True)

    rt.exit(target, "boom")

    assert await asyncio.wait_for(received, GUARD) == ExitMessage(None, "boom")


async def test_exit_to_a_dead_pid_is_ignored(rt: Runtime) -> None:
    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
        rt.exit(dead, "kill")
        rt.exit(dead, "boom")
        assert not rt.is_alive(dead)
        assert rt.is_alive(me.pid)


async def test_a_process_killed_before_its_first_step_never_runs(rt: Runtime) -> None:
    ran: list[Pid] = []

    async def record(proc: Process) -> None:
        ran.append(proc.pid)

    async with rt.attached() as me:
        target = rt.spawn(record)
        me.monitor(target)

        rt.exit(target, "kill")

        assert (await down_of(me, target)).reason == "killed"
        assert ran == []


async def test_a_killed_process_is_reported_as_killed_to_links_and_monitors(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        target = rt.spawn(idle, link=me.pid)
        me.monitor(target)

        rt.exit(target, "kill")

        assert (await down_of(me, target)).reason == "killed"
        assert await exit_message_of(me, target) == ExitMessage(target, "killed")


async def test_a_killed_server_does_not_run_terminate(rt: Runtime) -> None:
    terminated: list[Any] = []

    class Logged(Server):
        trap_exits = True

        async def terminate(self, reason: Any) -> None:
            terminated.append(reason)

    async with rt.attached() as me:
        server = await Logged.start_link(rt)
        assert server is not None
        me.unlink(server)
        me.monitor(server)

        rt.exit(server, "kill")

        assert (await down_of(me, server)).reason == "killed"
        assert terminated == []


# -- exit signals a process sends itself ----------------------------------------


async def self_exit(proc: Process, reason: Any, after: list[str]) -> None:
    proc.runtime.exit(proc.pid, reason)
    after.append("exit returned")
    await idle(proc)


@pytest.mark.parametrize("reason", ["boom", "normal", "kill"])
async def test_exit_to_itself_ends_a_non_trapping_process_at_once(rt: Runtime, reason: str) -> None:
    after: list[str] = []
    async with rt.attached() as me:
        target = rt.spawn(self_exit, reason, after)
        expected = "killed" if reason == "kill" else reason
        assert await exit_reason(me, target) == expected
        assert after == []


async def test_an_exit_that_comes_back_along_a_link_ends_the_sender_inside_exit(rt: Runtime) -> None:
    async def exit_linked(proc: Process, after: list[str]) -> None:
        other = proc.runtime.spawn(idle, link=proc.pid)
        proc.runtime.exit(other, "boom")
        after.append("exit returned")

    after: list[str] = []
    async with rt.attached() as me:
        sender = rt.spawn(exit_linked, after)
        assert await exit_reason(me, sender) == "boom"
        assert after == []


async def test_exit_to_itself_reaches_a_trapping_process_as_exit_message(rt: Runtime) -> None:
    async def exit_self_and_report(proc: Process, report_to: Pid) -> None:
        proc.runtime.exit(proc.pid, "boom")
        proc.runtime.send(report_to, await proc.receive())

    async with rt.attached() as me:
        target = rt.spawn(exit_self_and_report, me.pid, trap_exits=True)
        assert await me.receive(timeout=GUARD) == ExitMessage(target, "boom")


async def test_kill_to_itself_ends_even_a_trapping_process_with_killed(rt: Runtime) -> None:
    after: list[str] = []
    async with rt.attached() as me:
        target = rt.spawn(self_exit, "kill", after, trap_exits=True)
        assert await exit_reason(me, target) == "killed"
        assert after == []


async def test_exit_to_itself_raises_exit_out_of_an_attached_block(rt: Runtime) -> None:
    after: list[str] = []
    with pytest.raises(Exit) as raised:
        async with rt.attached() as me:
            rt.exit(me.pid, "boom")
            after.append("exit returned")
    assert raised.value.reason == "boom"
    assert after == []
    assert rt.processes() == []


async def test_an_attached_process_killed_by_another_raises_exit_killed_and_the_task_goes_on(rt: Runtime) -> None:
    async def kill(proc: Process, target: Pid) -> None:
        proc.runtime.exit(target, "kill")

    with pytest.raises(Exit) as raised:
        async with rt.attached(trap_exits=True) as me:
            rt.spawn(kill, me.pid)
            await me.receive(timeout=GUARD)
    assert raised.value.reason == "killed"

    async with rt.attached() as again:
        rt.send(again.pid, "the task is not left cancelled")
        assert await again.receive(timeout=GUARD) == "the task is not left cancelled"
