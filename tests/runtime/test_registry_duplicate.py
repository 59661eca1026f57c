"""Registry with keys="duplicate": many entries per key, in registration order, gone with their holders.

Ported from Elixir's registry/duplicate_test.exs (register, lookup, keys,
count, unregister, dispatch, "removes key on process exit") against
DESIGN.md section 2. As in Elixir, `unregister` removes every entry the
caller has under the key, and `dispatch` does not call back for a key with
no entries.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from observer.runtime import Pid, Registry, Runtime, Supervisor

from .registry_helpers import end_holder, start_holder
from .supervision_helpers import GUARD, down_of


async def test_lookup_lists_every_entry_in_registration_order_across_holders(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt, "pubsub", keys="duplicate")

        assert await Registry.lookup(rt, registry, "topic") == []
        await Registry.register(rt, registry, "topic", "first")
        holders = [(await start_holder(rt, me, registry, ["topic"]))[0] for _ in range(10)]
        await Registry.register(rt, "pubsub", "topic", "last")  # a second entry of its own: allowed

        assert await Registry.lookup(rt, registry, "topic") == [
            (me.pid, "first"), *[(pid, 0) for pid in holders], (me.pid, "last"),
        ]
        assert await Registry.keys(rt, registry, me.pid) == ["topic", "topic"]
        assert await Registry.keys(rt, registry, holders[0]) == ["topic"]
        assert await Registry.count(rt, registry) == 12


async def test_register_never_raises_and_one_process_may_hold_a_key_many_times(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt, keys="duplicate")
        baseline = rt.monitor_count()
        await Registry.register(rt, registry, "key", "mine")

        other, reports = await start_holder(rt, me, registry, ["key", "key", "solo"])

        assert reports == [("registered", "key"), ("registered", "key"), ("registered", "solo")]
        assert await Registry.lookup(rt, registry, "key") == [(me.pid, "mine"), (other, 0), (other, 1)]
        assert await Registry.keys(rt, registry, other) == ["key", "key", "solo"]
        assert rt.monitor_count() == baseline + 2  # one monitor per holder, not per entry


@pytest.mark.parametrize("how", ["normal", "crash", "kill"])
async def test_a_holder_that_dies_takes_only_its_own_entries_and_monitor(rt: Runtime, how: str) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt, keys="duplicate")
        baseline = rt.monitor_count()
        await Registry.register(rt, registry, "shared", "mine")
        dying, _ = await start_holder(rt, me, registry, ["shared", "shared", "its own"])
        staying, _ = await start_holder(rt, me, registry, ["shared"])
        assert rt.monitor_count() == baseline + 3

        await end_holder(rt, me, dying, how)

        # the holder's Down reached the registry when it died, before these calls
        assert await Registry.lookup(rt, registry, "shared") == [(me.pid, "mine"), (staying, 0)]
        assert await Registry.lookup(rt, registry, "its own") == []
        assert await Registry.keys(rt, registry, dying) == []
        assert await Registry.keys(rt, registry, staying) == ["shared"]
        assert await Registry.count(rt, registry) == 2
        assert rt.monitor_count() == baseline + 2


async def test_unregister_removes_every_entry_the_caller_has_under_the_key_and_nothing_else(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt, keys="duplicate")
        baseline = rt.monitor_count()
        await Registry.register(rt, registry, "twice", 1)
        other, _ = await start_holder(rt, me, registry, ["twice"])
        await Registry.register(rt, registry, "twice", 2)
        await Registry.register(rt, registry, "kept")

        await Registry.unregister(rt, registry, "twice")

        assert await Registry.lookup(rt, registry, "twice") == [(other, 0)]
        assert await Registry.keys(rt, registry, me.pid) == ["kept"]
        assert await Registry.count(rt, registry) == 2
        assert rt.monitor_count() == baseline + 2  # "kept" still holds my monitor

        await Registry.unregister(rt, registry, "twice")  # idempotent
        await Registry.unregister(rt, registry, "kept")

        assert await Registry.keys(rt, registry, me.pid) == []
        assert rt.monitor_count() == baseline + 1
        info = rt.process_info(registry)
        assert info is not None and info.mailbox_size == 0


async def test_dispatch_calls_back_in_the_caller_with_exactly_the_live_entries(rt: Runtime) -> None:
    """One holder dies after the dispatch is queued but before the registry answers it.

    `call_soon` runs the kill before the registry's turn, so the registry sees
    the dead holder before its Down: the entries must leave it out anyway.
    """
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt, keys="duplicate")
        baseline = rt.monitor_count()
        first, second, third = [(await start_holder(rt, me, registry, ["workers"]))[0] for _ in range(3)]
        await end_holder(rt, me, first, "crash")
        calls: list[tuple[asyncio.Task[Any] | None, list[tuple[Pid, Any]]]] = []

        def deliver(entries: list[tuple[Pid, Any]]) -> None:
            calls.append((asyncio.current_task(), entries))
            for pid, _ in entries:
                rt.send(pid, ("end", "normal"))

        me.monitor(second)
        me.monitor(third)
        asyncio.get_running_loop().call_soon(rt.exit, second, "kill")
        await Registry.dispatch(rt, registry, "workers", deliver)

        assert calls == [(asyncio.current_task(), [(third, 0)])]
        assert (await down_of(me, third)).reason == "normal"  # ended by the message `deliver` sent it
        await down_of(me, second)
        await Registry.dispatch(rt, registry, "workers", deliver)
        assert len(calls) == 1  # not called when the key has no entries
        assert rt.monitor_count() == baseline
        info = rt.process_info(registry)
        assert info is not None and info.mailbox_size == 0  # the killed holder's Down was flushed


async def test_dispatch_awaits_an_async_callback(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt, keys="duplicate")
        await Registry.register(rt, registry, "topic", "value")
        seen: list[list[tuple[Pid, Any]]] = []

        async def collect(entries: list[tuple[Pid, Any]]) -> None:
            rt.send(me.pid, ("dispatched", entries))
            seen.append((await me.receive(match=lambda m: m[0] == "dispatched", timeout=GUARD))[1])

        await Registry.dispatch(rt, registry, "topic", collect)

        assert seen == [[(me.pid, "value")]]


async def test_a_thousand_holders_coming_and_going_leave_no_monitor_behind(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt, keys="duplicate")
        baseline = rt.monitor_count()
        holders = [
            (await start_holder(rt, me, registry, ["pool", f"own {number}"] + ["pool"] * (number % 2)))[0]
            for number in range(1000)
        ]
        assert rt.monitor_count() == baseline + 1000
        assert await Registry.count(rt, registry) == 2500
        pool = await Registry.lookup(rt, registry, "pool")
        assert isinstance(pool, list)
        assert [pid for pid, _ in pool][:4] == [
            holders[0], holders[1], holders[1], holders[2],
        ]

        for number, pid in enumerate(holders):
            await end_holder(rt, me, pid, ("normal", "crash", "kill")[number % 3])

        assert await Registry.lookup(rt, registry, "pool") == []
        assert await Registry.count(rt, registry) == 0
        assert rt.monitor_count() == baseline


async def test_a_supervised_duplicate_registry_restarts_empty_and_still_duplicate(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [Registry.child_spec(id="pubsub", name="pubsub", keys="duplicate")])
        first = rt.whereis("pubsub")
        assert first is not None
        await Registry.register(rt, "pubsub", "topic")

        me.monitor(first)
        rt.exit(first, "kill")
        await down_of(me, first)
        await Supervisor.count_children(rt, sup)  # answered once the restart is done

        assert await Registry.lookup(rt, "pubsub", "topic") == []
        await Registry.register(rt, "pubsub", "topic", 1)
        await Registry.register(rt, "pubsub", "topic", 2)
        assert await Registry.lookup(rt, "pubsub", "topic") == [(me.pid, 1), (me.pid, 2)]
