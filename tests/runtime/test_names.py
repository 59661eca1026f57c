"""Registered names: register, whereis, unregister, and release before DOWN/EXIT."""

from __future__ import annotations

import pytest

from observer.runtime import AlreadyRegistered, ExitMessage, InvalidArgument, NoProc, Pid, Process, Runtime

from .helpers import GUARD, dead_pid, down_of, exit_message_of, forward, idle


def name_of(rt: Runtime, pid: Pid) -> str | None:
    info = rt.process_info(pid)
    assert info is not None
    return info.name


async def test_register_whereis_and_unregister(rt: Runtime) -> None:
    pid = rt.spawn(idle)

    rt.register("worker", pid)
    assert rt.whereis("worker") is pid
    assert name_of(rt, pid) == "worker"

    rt.unregister("worker")
    assert rt.whereis("worker") is None
    assert name_of(rt, pid) is None
    assert rt.is_alive(pid)


async def test_a_name_is_a_destination_for_send(rt: Runtime) -> None:
    async with rt.attached() as me:
        rt.spawn(forward, me.pid, name="relay")
        rt.send("relay", "via the name")
        assert await me.receive(timeout=GUARD) == "via the name"


async def test_a_taken_name_raises_already_registered_with_the_holder(rt: Runtime) -> None:
    holder = rt.spawn(idle, name="taken")
    newcomer = rt.spawn(idle)

    with pytest.raises(AlreadyRegistered, match="'taken'") as by_register:
        rt.register("taken", newcomer)
    with pytest.raises(AlreadyRegistered) as by_spawn:
        rt.spawn(idle, name="taken")

    assert by_register.value.pid is holder
    assert by_spawn.value.pid is holder
    assert rt.whereis("taken") is holder
    assert rt.processes() == [holder, newcomer]


async def test_a_process_has_at_most_one_name(rt: Runtime) -> None:
    pid = rt.spawn(idle, name="first")
    with pytest.raises(InvalidArgument, match="'first'"):
        rt.register("second", pid)
    assert rt.whereis("second") is None


async def test_only_a_live_process_can_be_registered(rt: Runtime) -> None:
    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
        with pytest.raises(NoProc) as raised:
            rt.register("ghost", dead)
        assert raised.value.dest is dead
        assert rt.whereis("ghost") is None


async def test_unregister_of_an_unknown_name_is_a_no_op_and_frees_the_name_for_another(rt: Runtime) -> None:
    rt.unregister("nobody")
    first = rt.spawn(idle, name="slot")
    rt.unregister("slot")
    second = rt.spawn(idle, name="slot")
    assert rt.whereis("slot") is second
    assert name_of(rt, first) is None


async def test_the_name_is_released_before_the_down_is_delivered(rt: Runtime) -> None:
    async def check_on_down(proc: Process, holder: Pid, report_to: Pid) -> None:
        proc.monitor(holder)
        proc.runtime.send(report_to, "watching")
        await down_of(proc, holder)
        proc.runtime.send(report_to, proc.runtime.whereis("service"))

    async with rt.attached() as me:
        holder = rt.spawn(idle, name="service")
        rt.spawn(check_on_down, holder, me.pid)
        assert await me.receive(timeout=GUARD) == "watching"

        rt.exit(holder, "kill")

        assert await me.receive(timeout=GUARD) is None
        successor = rt.spawn(idle, name="service")
        assert rt.whereis("service") is successor


async def test_the_name_is_released_before_the_exit_message_is_delivered(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        holder = rt.spawn(idle, name="service", link=me.pid)

        rt.exit(holder, "boom")

        assert await exit_message_of(me, holder) == ExitMessage(holder, "boom")
        assert rt.whereis("service") is None
        rt.register("service", me.pid)
        assert rt.whereis("service") is me.pid


async def test_a_dead_holders_name_is_unknown_to_send(rt: Runtime) -> None:
    async with rt.attached() as me:
        holder = rt.spawn(idle, name="gone")
        me.monitor(holder)
        rt.exit(holder, "kill")
        await down_of(me, holder)
        with pytest.raises(NoProc, match="'gone'"):
            rt.send("gone", "hello?")
