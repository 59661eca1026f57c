"""Registry: unique keys for live processes, released with their monitors when holders unregister or die.

Ported from Elixir's registry/unique_test.exs (register, lookup, keys, count,
unregister, "removes key on process exit") against DESIGN.md section 2.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from observer.runtime import AlreadyRegistered, InvalidArgument, Pid, Registry, Runtime, Supervisor

from .registry_helpers import end_holder, start_holder
from .supervision_helpers import FakeClock, down_of, settle


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with Runtime(clock=FakeClock()) as runtime:
        yield runtime


async def test_register_lookup_keys_and_count(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt, "registry")

        await Registry.register(rt, registry, "hello", "world")
        await Registry.register(rt, "registry", ("agent", 7), None)

        assert await Registry.lookup(rt, registry, "hello") == (me.pid, "world")
        assert await Registry.lookup(rt, registry, ("agent", 7)) == (me.pid, None)
        assert await Registry.lookup(rt, registry, "missing") is None
        assert await Registry.keys(rt, registry, me.pid) == ["hello", ("agent", 7)]
        assert await Registry.count(rt, registry) == 2


async def test_a_key_held_by_a_live_process_cannot_be_registered_again(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt)
        await Registry.register(rt, registry, "hello", "mine")

        other, reports = await start_holder(rt, me, registry, ["hello", "free"])
        with pytest.raises(AlreadyRegistered) as caught:
            await Registry.register(rt, registry, "hello", "again")

        assert reports == [("taken", "hello", me.pid), ("registered", "free")]
        assert caught.value.pid is me.pid  # its own key too: unique means once
        assert await Registry.lookup(rt, registry, "hello") == (me.pid, "mine")
        assert await Registry.keys(rt, registry, other) == ["free"]


@pytest.mark.parametrize("how", ["normal", "crash", "kill"])
async def test_entries_and_monitors_go_when_the_holder_dies(rt: Runtime, how: str) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt)
        baseline = rt.monitor_count()
        pid, _ = await start_holder(rt, me, registry, ["a", "b"])
        assert rt.monitor_count() == baseline + 1  # one monitor per holder, not per key

        await end_holder(rt, me, pid, how)

        # the holder's Down reached the registry when it died, before this call
        assert await Registry.lookup(rt, registry, "a") is None
        assert await Registry.keys(rt, registry, pid) == []
        assert await Registry.count(rt, registry) == 0
        assert rt.monitor_count() == baseline
        await Registry.register(rt, registry, "a")  # the key is free again
        assert await Registry.lookup(rt, registry, "a") == (me.pid, None)


async def test_unregister_is_idempotent_and_releases_the_monitor_with_the_last_key(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True):
        registry = await Registry.start_link(rt)
        baseline = rt.monitor_count()

        await Registry.unregister(rt, registry, "never registered")
        await Registry.register(rt, registry, "a")
        await Registry.register(rt, registry, "b")
        assert rt.monitor_count() == baseline + 1

        await Registry.unregister(rt, registry, "a")
        assert rt.monitor_count() == baseline + 1
        await Registry.unregister(rt, registry, "a")
        await Registry.unregister(rt, registry, "b")

        assert rt.monitor_count() == baseline
        assert await Registry.count(rt, registry) == 0
        assert await Registry.lookup(rt, registry, "b") is None


async def test_unregister_removes_only_the_callers_own_key(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt)
        other, _ = await start_holder(rt, me, registry, ["theirs"])

        await Registry.unregister(rt, registry, "theirs")

        assert await Registry.lookup(rt, registry, "theirs") == (other, 0)


async def test_many_holders_dying_leave_no_monitor_behind(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt)
        baseline = rt.monitor_count()
        holders = [(await start_holder(rt, me, registry, [f"key{n}"]))[0] for n in range(20)]
        assert rt.monitor_count() == baseline + 20

        for number, pid in enumerate(holders):
            await end_holder(rt, me, pid, ("normal", "crash", "kill")[number % 3])

        assert await Registry.count(rt, registry) == 0
        assert rt.monitor_count() == baseline


async def test_a_key_whose_holder_died_but_is_not_yet_forgotten_can_be_taken(rt: Runtime) -> None:
    """The holder dies after the register call is queued but before the registry handles it.

    `call_soon` runs the kill before the registry's turn (the loop runs callbacks
    in order), so the registry sees the dead holder first and the holder's Down
    after the register call: it must take the key and flush that Down.
    """
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt)
        baseline = rt.monitor_count()
        old_holder, _ = await start_holder(rt, me, registry, ["hello"])
        me.monitor(old_holder)

        asyncio.get_running_loop().call_soon(rt.exit, old_holder, "kill")
        await Registry.register(rt, registry, "hello", "new")

        assert not rt.is_alive(old_holder)
        assert await Registry.lookup(rt, registry, "hello") == (me.pid, "new")
        assert rt.monitor_count() == baseline + 1  # the registry's on me; the old holder's is gone
        await down_of(me, old_holder)
        info = rt.process_info(registry)
        assert info is not None and info.mailbox_size == 0  # the old holder's Down was flushed
        await Registry.unregister(rt, registry, "hello")
        assert rt.monitor_count() == baseline


async def test_register_needs_a_process_and_keys_must_be_hashable(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True):
        registry = await Registry.start_link(rt, "registry")

        with pytest.raises(InvalidArgument):
            await Registry.register(rt, registry, ["not", "hashable"])  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            await Registry.lookup(rt, registry, {"not": "hashable"})  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            await Registry.unregister(rt, registry, {"not", "hashable"})  # type: ignore[arg-type]

    with pytest.raises(InvalidArgument, match="inside a process"):
        await Registry.register(rt, "registry", "key")


async def test_a_supervised_registry_restarts_empty_and_its_monitors_die_with_it(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        baseline = rt.monitor_count()
        sup = await Supervisor.start_link(rt, [Registry.child_spec(id="registry", name="registry")])
        first = rt.whereis("registry")
        assert first is not None
        await Registry.register(rt, "registry", "hello")
        assert rt.monitor_count() == baseline + 1

        me.monitor(first)
        rt.exit(first, "kill")
        await down_of(me, first)
        await settle(rt, sup)

        assert rt.whereis("registry") not in (None, first)
        assert await Registry.count(rt, "registry") == 0
        assert rt.monitor_count() == baseline


async def test_dispatch_calls_back_in_the_caller_with_a_list_of_the_one_entry(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt)
        other, _ = await start_holder(rt, me, registry, ["theirs"])
        calls: list[tuple[asyncio.Task[Any] | None, list[tuple[Pid, Any]]]] = []

        def record(entries: list[tuple[Pid, Any]]) -> None:
            calls.append((asyncio.current_task(), entries))

        await Registry.dispatch(rt, registry, "theirs", record)
        await Registry.dispatch(rt, registry, "nobody's", record)

        assert calls == [(asyncio.current_task(), [(other, 0)])]  # not called for a key nobody holds


async def test_a_lookup_does_not_return_a_holder_that_died_before_its_down_was_handled(rt: Runtime) -> None:
    async with rt.attached(trap_exits=True) as me:
        registry = await Registry.start_link(rt)
        baseline = rt.monitor_count()
        old_holder, _ = await start_holder(rt, me, registry, ["hello", "other"])

        asyncio.get_running_loop().call_soon(rt.exit, old_holder, "kill")
        assert await Registry.lookup(rt, registry, "hello") is None

        assert await Registry.keys(rt, registry, old_holder) == []  # all of its keys went
        assert await Registry.count(rt, registry) == 0
        assert rt.monitor_count() == baseline
        info = rt.process_info(registry)
        assert info is not None and info.mailbox_size == 0  # its Down was flushed


@pytest.mark.parametrize("keys", ["Unique", "duplicates", "", None, 1, ("unique",)])
async def test_a_bad_keys_value_is_an_invalid_argument_naming_it(rt: Runtime, keys: object) -> None:
    async with rt.attached(trap_exits=True):
        before = rt.processes()

        with pytest.raises(InvalidArgument, match=f"'unique' or 'duplicate', got {re.escape(repr(keys))}$"):
            await Registry.start_link(rt, "registry", keys=keys)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match=re.escape(repr(keys))):
            Registry.child_spec(id="registry", keys=keys)  # type: ignore[arg-type]

        assert rt.processes() == before  # nothing was started
