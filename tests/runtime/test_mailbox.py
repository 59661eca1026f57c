"""Mailbox: selective receive, timeouts, and delivery order."""

from __future__ import annotations

from typing import Any

import pytest

from observer.runtime import Down, ExitMessage, Pid, Process, Runtime

from .helpers import GUARD, down_of, end_on_go, idle, mailbox_size


def is_even(message: Any) -> bool:
    return isinstance(message, int) and message % 2 == 0


async def test_a_selective_receive_takes_the_oldest_match_and_keeps_the_rest_in_order(rt: Runtime) -> None:
    async with rt.attached() as me:
        for n in [1, 3, 4, 5, 6, 7]:
            rt.send(me.pid, n)

        assert await me.receive(match=is_even, timeout=0) == 4
        assert await me.receive(match=is_even, timeout=0) == 6
        assert [await me.receive(timeout=0) for _ in range(4)] == [1, 3, 5, 7]


async def test_a_selective_receive_that_waits_checks_only_new_messages_and_keeps_order(rt: Runtime) -> None:
    """The receiver scans "a", blocks, then takes "b" from among later messages; the others stay in order."""

    async def wait_for_b(proc: Process, report_to: Pid) -> None:
        rt = proc.runtime
        rt.send(proc.pid, "a")
        rt.send(report_to, "blocking")
        got = await proc.receive(match=lambda message: message == "b")
        rest = [await proc.receive(timeout=0) for _ in range(2)]
        rt.send(report_to, (got, rest))

    async with rt.attached() as me:
        receiver = rt.spawn(wait_for_b, me.pid)
        assert await me.receive(timeout=GUARD) == "blocking"
        info = rt.process_info(receiver)
        assert info is not None and info.status == "waiting"

        rt.send(receiver, "c")
        rt.send(receiver, "b")

        assert await me.receive(timeout=GUARD) == ("b", ["a", "c"])


async def test_receive_timeout_raises_the_builtin_timeout_error_and_keeps_the_messages(rt: Runtime) -> None:
    async with rt.attached() as me:
        rt.send(me.pid, 1)
        rt.send(me.pid, 3)

        with pytest.raises(TimeoutError) as raised:
            await me.receive(match=is_even, timeout=0.05)

        assert raised.type is TimeoutError
        assert [await me.receive(timeout=0) for _ in range(2)] == [1, 3]


async def test_receive_with_timeout_zero_returns_a_queued_message_or_raises_at_once(rt: Runtime) -> None:
    async with rt.attached() as me:
        with pytest.raises(TimeoutError):
            await me.receive(timeout=0)
        rt.send(me.pid, "here")
        assert await me.receive(timeout=0) == "here"
        rt.send(me.pid, 1)
        with pytest.raises(TimeoutError):
            await me.receive(match=is_even, timeout=0)
        assert mailbox_size(rt, me.pid) == 1


async def test_a_message_that_arrives_before_the_timeout_is_received(rt: Runtime) -> None:
    async def reply(proc: Process, to: Pid) -> None:
        proc.runtime.send(to, "pong")

    async with rt.attached() as me:
        rt.spawn(reply, me.pid)
        assert await me.receive(timeout=GUARD) == "pong"


async def test_messages_between_one_pair_arrive_in_the_order_sent(rt: Runtime) -> None:
    async def send_numbers(proc: Process, to: Pid, tag: str) -> None:
        for n in range(500):
            proc.runtime.send(to, (tag, n))

    async with rt.attached() as me:
        rt.spawn(send_numbers, me.pid, "x")
        rt.spawn(send_numbers, me.pid, "y")
        received = [await me.receive(timeout=GUARD) for _ in range(1_000)]

    assert [n for tag, n in received if tag == "x"] == list(range(500))
    assert [n for tag, n in received if tag == "y"] == list(range(500))


async def test_down_and_exit_messages_arrive_in_exit_order(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        pids = [rt.spawn(idle, link=me.pid) for _ in range(5)]
        refs = {pid: me.monitor(pid) for pid in pids}
        exit_order = [pids[3], pids[0], pids[4], pids[2], pids[1]]

        for n, pid in enumerate(exit_order):
            rt.exit(pid, "kill" if n % 2 else ("shutdown", n))

        received = [await me.receive(timeout=GUARD) for _ in range(10)]

    expected: list[Any] = []
    for n, pid in enumerate(exit_order):
        reason = "killed" if n % 2 else ("shutdown", n)
        expected += [Down(refs[pid], pid, reason), ExitMessage(pid, reason)]
    assert received == expected


async def test_down_messages_follow_the_order_of_a_causal_chain_of_exits(rt: Runtime) -> None:
    """Each process exits when it sees the previous one's Down: exit order is fixed by causality."""

    async def exit_after(proc: Process, previous: Pid | None) -> None:
        if previous is None:
            await proc.receive(match=lambda message: message == "go")
        else:
            proc.monitor(previous)
            await down_of(proc, previous)

    async with rt.attached() as me:
        chain: list[Pid] = []
        for _ in range(10):
            chain.append(rt.spawn(exit_after, chain[-1] if chain else None))
        for pid in reversed(chain):
            me.monitor(pid)

        rt.send(chain[0], "go")

        downs = [await me.receive(timeout=GUARD) for _ in chain]
        assert [down.pid for down in downs] == chain


async def test_downs_of_a_cascade_along_links_arrive_in_the_order_the_processes_died(rt: Runtime) -> None:
    async with rt.attached() as me:
        chain = [rt.spawn(end_on_go, "boom")]
        for _ in range(4):
            chain.append(rt.spawn(idle, link=chain[-1]))
        for pid in reversed(chain):
            me.monitor(pid)

        rt.send(chain[0], "go")

        downs = [await me.receive(timeout=GUARD) for _ in chain]
        assert [down.pid for down in downs] == chain
        assert {down.reason for down in downs} == {"boom"}


async def test_waiting_for_a_down_leaves_an_earlier_message_queued(rt: Runtime) -> None:
    async with rt.attached() as me:
        target = rt.spawn(end_on_go, "normal")
        me.monitor(target)
        rt.send(me.pid, "mine")
        rt.send(target, "go")

        await down_of(me, target)

        assert await me.receive(timeout=0) == "mine"
