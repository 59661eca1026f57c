"""Links: the link/trap matrix, bidirectionality, one link per pair, noproc, unlink."""

from __future__ import annotations

from typing import Any

import pytest

from observer.runtime import Exit, ExitMessage, Pid, Process, Runtime

from .helpers import GUARD, dead_pid, down_of, end_on_go, exit_message_of, exit_reason, idle


def links_of(rt: Runtime, pid: Pid) -> tuple[Pid, ...]:
    info = rt.process_info(pid)
    assert info is not None
    return info.links


def end(rt: Runtime, pid: Pid, how: Any) -> Any:
    """End a process spawned with `end_on_go(how)` (or kill it for "kill"); return its expected exit reason."""
    if how == "kill":
        rt.exit(pid, "kill")
        return "killed"
    rt.send(pid, "go")
    return how


HOW_IT_ENDS = [
    pytest.param("normal", id="normal"),
    pytest.param("shutdown", id="shutdown"),
    pytest.param(("shutdown", "maintenance"), id="shutdown-tuple"),
    pytest.param(ValueError("crash"), id="crash"),
    pytest.param("kill", id="killed"),
]


@pytest.mark.parametrize("how", HOW_IT_ENDS)
async def test_exit_of_a_linked_process_kills_a_non_trapping_one_unless_normal(rt: Runtime, how: Any) -> None:
    async with rt.attached() as me:
        dying = rt.spawn(end_on_go, how)
        linked = rt.spawn(idle, link=dying)
        me.monitor(dying)
        me.monitor(linked)

        reason = end(rt, dying, how)

        assert (await down_of(me, dying)).reason is reason
        if reason == "normal":
            assert rt.is_alive(linked)
            assert links_of(rt, linked) == ()
        else:
            assert (await down_of(me, linked)).reason is reason


@pytest.mark.parametrize("how", HOW_IT_ENDS)
async def test_exit_of_a_linked_process_reaches_a_trapping_one_as_exit_message(rt: Runtime, how: Any) -> None:
    async with rt.attached(trap_exits=True) as me:
        dying = rt.spawn(end_on_go, how)
        me.link(dying)

        reason = end(rt, dying, how)

        message = await exit_message_of(me, dying)
        assert message == ExitMessage(dying, reason)
        assert message.reason is reason
        assert rt.is_alive(me.pid)
        assert links_of(rt, me.pid) == ()


async def test_kill_as_a_reason_carried_by_a_link_is_an_ordinary_trappable_reason(rt: Runtime) -> None:
    """Only `exit(pid, "kill")` is untrappable; a process that ends with reason "kill" propagates plain "kill"."""
    async with rt.attached(trap_exits=True) as me:
        dying = rt.spawn(end_on_go, "kill")
        me.link(dying)
        non_trapping = rt.spawn(idle, link=dying)
        me.monitor(non_trapping)

        rt.send(dying, "go")

        assert await exit_message_of(me, dying) == ExitMessage(dying, "kill")
        assert (await down_of(me, non_trapping)).reason == "kill"


async def test_links_are_bidirectional(rt: Runtime) -> None:
    async with rt.attached() as me:
        older = rt.spawn(idle)
        crashing = rt.spawn(end_on_go, RuntimeError("crash"), link=older)
        assert links_of(rt, older) == (crashing,)
        assert links_of(rt, crashing) == (older,)
        me.monitor(older)

        rt.send(crashing, "go")

        reason = (await down_of(me, older)).reason
        assert isinstance(reason, RuntimeError)
        assert str(reason) == "crash"


async def test_a_pair_has_one_link_however_often_and_from_whichever_side_it_is_made(rt: Runtime) -> None:
    async with rt.attached() as me:
        other = rt.spawn(idle, link=me.pid)
        me.link(other)
        me.link(other)
        assert links_of(rt, me.pid) == (other,)
        assert links_of(rt, other) == (me.pid,)

        me.unlink(other)

        assert links_of(rt, me.pid) == ()
        assert links_of(rt, other) == ()
        me.monitor(other)
        rt.exit(other, "boom")
        assert (await down_of(me, other)).reason == "boom"
        assert rt.is_alive(me.pid)


async def test_linking_to_itself_does_nothing(rt: Runtime) -> None:
    async with rt.attached() as me:
        me.link(me.pid)
        assert links_of(rt, me.pid) == ()


async def test_linking_to_a_dead_pid_while_trapping_gives_exit_message_noproc(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        dead = await dead_pid(rt, me)

        me.link(dead)

        assert await exit_message_of(me, dead) == ExitMessage(dead, "noproc")
        assert links_of(rt, me.pid) == ()


async def test_linking_to_a_dead_pid_kills_a_non_trapping_process_with_noproc(rt: Runtime) -> None:
    async def link_to(proc: Process, pid: Pid) -> None:
        proc.link(pid)
        raise AssertionError("a process linking to a dead pid must die in link()")

    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
        linker = rt.spawn(link_to, dead)
        assert await exit_reason(me, linker) == "noproc"


async def test_an_attached_non_trapping_process_linking_to_a_dead_pid_raises_exit_noproc(rt: Runtime) -> None:
    async with rt.attached() as helper:
        dead = await dead_pid(rt, helper)

    with pytest.raises(Exit) as raised:
        async with rt.attached() as me:
            me.link(dead)
    assert raised.value.reason == "noproc"


async def test_spawn_linked_to_a_dead_pid_dies_with_noproc(rt: Runtime) -> None:
    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
        orphan = rt.spawn(idle, link=dead)
        assert await exit_reason(me, orphan) == "noproc"


async def test_after_unlink_an_exit_no_longer_propagates(rt: Runtime) -> None:
    async with rt.attached() as me:
        crash = ValueError("crash")
        crashing = rt.spawn(end_on_go, crash)
        me.monitor(crashing)
        me.link(crashing)
        me.unlink(crashing)

        rt.send(crashing, "go")

        assert (await down_of(me, crashing)).reason is crash
        assert rt.is_alive(me.pid)


async def test_unlink_from_the_other_side_removes_the_link_for_both(rt: Runtime) -> None:
    async def unlink_on_request(proc: Process) -> None:
        linked_to = await proc.receive()
        proc.unlink(linked_to)
        proc.runtime.send(linked_to, "unlinked")
        await idle(proc)

    async with rt.attached() as me:
        other = rt.spawn(unlink_on_request)
        me.link(other)
        assert links_of(rt, other) == (me.pid,)

        rt.send(other, me.pid)

        assert await me.receive(timeout=GUARD) == "unlinked"
        assert links_of(rt, me.pid) == ()
        assert links_of(rt, other) == ()


async def test_unlinking_a_dead_or_unlinked_pid_is_a_no_op(rt: Runtime) -> None:
    async with rt.attached() as me:
        stranger = rt.spawn(idle)
        me.unlink(stranger)
        me.unlink(await dead_pid(rt, me))
        assert links_of(rt, me.pid) == ()
        assert rt.is_alive(stranger)


async def test_an_abnormal_exit_cascades_along_a_long_chain_of_links(rt: Runtime) -> None:
    async with rt.attached() as me:
        head = rt.spawn(end_on_go, "boom")
        chain = [head]
        for _ in range(2_000):
            chain.append(rt.spawn(idle, link=chain[-1]))
        tail = chain[-1]
        me.monitor(tail)

        rt.send(head, "go")

        assert (await down_of(me, tail)).reason == "boom"
        assert not any(rt.is_alive(pid) for pid in chain)
