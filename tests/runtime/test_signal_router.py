"""Tests for observer.runtime.signal_router: patterns, delivery counts, and one released monitor per subscriber."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observer.runtime import Down, Pid, Process, Runtime
from observer.runtime.errors import InvalidArgument, InvalidPattern
from observer.runtime.signal_router import RoutedSignal, SignalRouter, _matches

GUARD = 5.0
"""Seconds a test waits for a message that must come; only a bug makes a wait this long."""


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with Runtime() as runtime:
        yield runtime


@pytest.fixture
async def router(rt: Runtime) -> Pid:
    pid = await SignalRouter.start_link(rt, name=None)
    assert pid is not None
    return pid


async def parked(proc: Process) -> None:
    """Keep every routed signal queued (so a test can count them) until "stop", then end normally."""
    await proc.receive(match=lambda message: message == "stop")


def mailbox_size(rt: Runtime, pid: Pid) -> int:
    info = rt.process_info(pid)
    assert info is not None
    return info.mailbox_size


async def until_processed(rt: Runtime, router: Pid) -> list[tuple[str, Pid]]:
    """A call queued behind everything sent to the router so far: when it returns, those are handled."""
    return await SignalRouter.subscriptions(rt, router)


# -- patterns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "signal_type", "expected"),
    [
        ("a.b.c", "a.b.c", True),
        ("a.b.c", "a.b", False),
        ("a.b", "a.b.c", False),
        ("a.b.c", "a.b.d", False),
        ("a", "a", True),
        ("*", "a", True),
        ("*", "a.b", False),
        ("a.*", "a", False),
        ("a.*.c", "a.b.c", True),
        ("a.*.c", "a.c", False),
        ("a.*.c", "a.b.b.c", False),
        ("*.*", "a.b", True),
        ("**", "a", True),
        ("**", "a.b.c", True),
        ("a.**", "a", True),
        ("a.**", "a.b.c", True),
        ("a.**", "b.a", False),
        ("**.c", "c", True),
        ("**.c", "a.b.c", True),
        ("**.c", "a.c.d", False),
        ("a.**.c", "a.c", True),
        ("a.**.c", "a.b.c", True),
        ("a.**.c", "a.b.x.c", True),
        ("a.**.c", "a.b.c.d", False),
        ("a.**.c", "b.c", False),
        ("**.b.**", "b", True),
        ("**.b.**", "a.b.c", True),
        ("**.b.**", "a.c", False),
        ("a.**.b.**.c", "a.x.b.y.z.c", True),
        ("a.**.b.**.c", "a.c.b", False),
        ("**.a.b", "a.a.b", True),
        ("a.**.a.b", "a.a.a.b", True),
        ("a.**.*.c", "a.c", False),
        ("a.**.*.c", "a.x.c", True),
        ("*.**", "a", True),
        ("**.*", "a.b", True),
        ("agent.*.state", "agent.7.state", True),
        ("agent.*.state", "agent.7.health", False),
    ],
)
def test_pattern_matching(pattern: str, signal_type: str, expected: bool) -> None:
    assert _matches(tuple(pattern.split(".")), signal_type.split(".")) is expected


def _reference_match(pattern: list[str], parts: list[str]) -> bool:
    """The definition, by recursion: `*` takes one segment, `**` none or more."""
    if not pattern:
        return not parts
    head = pattern[0]
    if head == "**":
        return _reference_match(pattern[1:], parts) or (bool(parts) and _reference_match(pattern, parts[1:]))
    return bool(parts) and head in ("*", parts[0]) and _reference_match(pattern[1:], parts[1:])


@given(
    st.lists(st.sampled_from(["a", "b", "*", "**"]), min_size=1, max_size=6),
    st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=7),
)
def test_pattern_matching_agrees_with_the_definition(pattern: list[str], parts: list[str]) -> None:
    assert _matches(tuple(pattern), parts) is _reference_match(pattern, parts)


async def test_route_sync_delivers_to_every_matching_pattern_kind(rt: Runtime, router: Pid) -> None:
    subscribers = {pattern: rt.spawn(parked) for pattern in ("agent.1.state", "agent.*.state", "agent.**", "task.**")}
    for pattern, pid in subscribers.items():
        await SignalRouter.subscribe(rt, router, pattern, pid)
    assert await SignalRouter.route_sync(rt, router, "agent.1.state", {"n": 1}) == 3
    assert await SignalRouter.route_sync(rt, router, "agent.2.state", {"n": 2}) == 2
    assert await SignalRouter.route_sync(rt, router, "agent", None) == 1
    assert await SignalRouter.route_sync(rt, router, "task.done", None) == 1
    assert await SignalRouter.route_sync(rt, router, "other", None) == 0
    assert {p: mailbox_size(rt, pid) for p, pid in subscribers.items()} == {
        "agent.1.state": 1, "agent.*.state": 2, "agent.**": 3, "task.**": 1,
    }


async def test_handlers_receive_routed_signal_in_order_cast_and_call_alike(rt: Runtime, router: Pid) -> None:
    async with rt.attached() as me:
        await SignalRouter.subscribe(rt, router, "agent.**", me.pid)
        SignalRouter.route(rt, router, "agent.1.started", {"id": 1})
        assert await SignalRouter.route_sync(rt, router, "agent.1.state", {"n": 5}) == 1
        assert await me.receive(timeout=GUARD) == RoutedSignal("agent.1.started", {"id": 1})
        assert await me.receive(timeout=GUARD) == RoutedSignal("agent.1.state", {"n": 5})


async def test_a_pid_matching_several_patterns_gets_the_signal_once_and_counts_once(
    rt: Runtime, router: Pid
) -> None:
    pid = rt.spawn(parked)
    other = rt.spawn(parked)
    for pattern in ("a.b", "a.*", "**", "a.**.b"):
        await SignalRouter.subscribe(rt, router, pattern, pid)
    await SignalRouter.subscribe(rt, router, "a.b", other)
    assert await SignalRouter.route_sync(rt, router, "a.b", "x") == 2
    assert mailbox_size(rt, pid) == 1 and mailbox_size(rt, other) == 1


async def test_subscribing_twice_to_a_pattern_is_idempotent(rt: Runtime, router: Pid) -> None:
    baseline = rt.monitor_count()
    pid = rt.spawn(parked)
    await SignalRouter.subscribe(rt, router, "a.*", pid)
    await SignalRouter.subscribe(rt, router, "a.*", pid)
    assert await SignalRouter.subscriptions(rt, router) == [("a.*", pid)]
    assert rt.monitor_count() == baseline + 1
    assert await SignalRouter.route_sync(rt, router, "a.b", None) == 1
    await SignalRouter.unsubscribe(rt, router, "a.*", pid)
    assert rt.monitor_count() == baseline and await SignalRouter.subscriptions(rt, router) == []


async def test_subscriptions_are_listed_by_pattern_then_pid(rt: Runtime, router: Pid) -> None:
    first, second = rt.spawn(parked), rt.spawn(parked)
    await SignalRouter.subscribe(rt, router, "b", second)
    await SignalRouter.subscribe(rt, router, "a.**", second)
    await SignalRouter.subscribe(rt, router, "b", first)
    assert await SignalRouter.subscriptions(rt, router) == [("a.**", second), ("b", first), ("b", second)]


# -- dead handlers and monitors ---------------------------------------------------------


async def test_a_dead_handler_is_not_counted(rt: Runtime, router: Pid) -> None:
    alive, doomed = rt.spawn(parked), rt.spawn(parked)
    await SignalRouter.subscribe(rt, router, "a", alive)
    await SignalRouter.subscribe(rt, router, "a", doomed)
    rt.exit(doomed, "kill")
    assert await SignalRouter.route_sync(rt, router, "a", None) == 1
    assert await SignalRouter.subscriptions(rt, router) == [("a", alive)]


async def test_a_handler_that_dies_before_its_down_is_handled_is_not_counted(rt: Runtime, router: Pid) -> None:
    alive, doomed = rt.spawn(parked), rt.spawn(parked)
    await SignalRouter.subscribe(rt, router, "a", alive)
    await SignalRouter.subscribe(rt, router, "a", doomed)

    async def kill_doomed() -> None:
        rt.exit(doomed, "kill")  # its Down is queued behind the route_sync call, which runs first

    delivered, _ = await asyncio.gather(SignalRouter.route_sync(rt, router, "a", None), kill_doomed())
    assert delivered == 1
    assert await SignalRouter.subscriptions(rt, router) == [("a", alive)]


async def test_one_monitor_per_pid_released_with_its_last_pattern(rt: Runtime, router: Pid) -> None:
    baseline = rt.monitor_count()
    pid = rt.spawn(parked)
    await SignalRouter.subscribe(rt, router, "a", pid)
    await SignalRouter.subscribe(rt, router, "b.*", pid)
    assert rt.monitor_count() == baseline + 1
    await SignalRouter.unsubscribe(rt, router, "a", pid)
    assert rt.monitor_count() == baseline + 1
    await SignalRouter.unsubscribe(rt, router, "b.*", pid)
    assert rt.monitor_count() == baseline
    await SignalRouter.unsubscribe(rt, router, "b.*", pid)  # idempotent
    await SignalRouter.unsubscribe(rt, router, "never", pid)
    assert await SignalRouter.subscriptions(rt, router) == []
    assert await SignalRouter.route_sync(rt, router, "a", None) == 0


async def test_unsubscribe_flushes_a_down_that_is_already_queued(rt: Runtime, router: Pid) -> None:
    baseline = rt.monitor_count()
    pid = rt.spawn(parked)
    await SignalRouter.subscribe(rt, router, "a", pid)

    async def kill_subscriber() -> None:
        rt.exit(pid, "kill")  # its Down is queued behind the unsubscribe call

    await asyncio.gather(SignalRouter.unsubscribe(rt, router, "a", pid), kill_subscriber())
    assert mailbox_size(rt, router) == 0  # the Down was flushed, not left for handle_info
    assert rt.monitor_count() == baseline
    assert await SignalRouter.subscriptions(rt, router) == []


async def test_subscribing_a_dead_pid_leaves_nothing_behind(rt: Runtime, router: Pid) -> None:
    baseline = rt.monitor_count()
    async with rt.attached() as me:
        pid = rt.spawn(parked)
        me.monitor(pid)
        rt.send(pid, "stop")
        await me.receive(match=lambda m: type(m) is Down and m.pid is pid, timeout=GUARD)
    await SignalRouter.subscribe(rt, router, "a", pid)
    assert await until_processed(rt, router) == []
    assert rt.monitor_count() == baseline


async def test_1000_subscribers_die_and_monitors_return_to_baseline(rt: Runtime, router: Pid) -> None:
    baseline = rt.monitor_count()
    pids = [rt.spawn(parked) for _ in range(1000)]
    for index, pid in enumerate(pids):
        await SignalRouter.subscribe(rt, router, f"agent.{index}.state", pid)
        if index % 2:
            await SignalRouter.subscribe(rt, router, "agent.**", pid)
    assert rt.monitor_count() == baseline + 1000
    # the 500 odd ones have "agent.**"; number 7 also has "agent.7.state" and still counts once
    assert await SignalRouter.route_sync(rt, router, "agent.7.state", None) == 500
    for pid in pids:
        rt.exit(pid, "kill")
    assert await until_processed(rt, router) == []
    assert rt.monitor_count() == baseline
    assert await SignalRouter.route_sync(rt, router, "agent.7.state", None) == 0


async def test_100_rounds_of_subscriber_churn_leak_no_monitor(rt: Runtime, router: Pid) -> None:
    rng = random.Random(20_240_601)
    patterns = ("agent.*.state", "agent.**", "task.done", "**.error", "a.b.c")
    baseline = rt.monitor_count()
    for round_number in range(100):
        subscribed = {rt.spawn(parked): rng.sample(patterns, rng.randint(1, 3)) for _ in range(rng.randint(10, 100))}
        for pid, chosen in subscribed.items():
            for pattern in chosen:
                await SignalRouter.subscribe(rt, router, pattern, pid)
        assert rt.monitor_count() == baseline + len(subscribed), f"round {round_number}"
        for pid, chosen in subscribed.items():
            match rng.randrange(3):
                case 0:
                    rt.exit(pid, "kill")
                case 1:
                    rt.send(pid, "stop")  # exits "normal" when it next runs
                case _:
                    for pattern in chosen:
                        await SignalRouter.unsubscribe(rt, router, pattern, pid)
                    rt.exit(pid, "kill")
        async with rt.attached() as me:  # wait until the "stop"ped ones are gone: their Downs are then queued
            refs = {me.monitor(pid) for pid in subscribed}
            while refs:
                refs.discard((await me.receive(timeout=GUARD)).ref)
        assert await until_processed(rt, router) == [], f"round {round_number}"
        assert rt.monitor_count() == baseline, f"round {round_number}"


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("", "must not be empty"),
        ("a..b", "empty segment"),
        (".a", "empty segment"),
        ("a.", "empty segment"),
        ("a*", "mixes '*'"),
        ("a.**b", "mixes '*'"),
        ("***", "mixes '*'"),
        (5, "must be a str, got 5"),
        (None, "must be a str, got None"),
        (b"a.b", "must be a str, got b'a.b'"),
    ],
)
async def test_malformed_patterns_raise_invalid_pattern(rt: Runtime, router: Pid, pattern: Any, says: str) -> None:
    pid = rt.spawn(parked)
    with pytest.raises(InvalidPattern) as caught:
        await SignalRouter.subscribe(rt, router, pattern, pid)
    assert isinstance(caught.value, ValueError) and says in str(caught.value)
    with pytest.raises(InvalidPattern):
        await SignalRouter.unsubscribe(rt, router, pattern, pid)
    assert rt.is_alive(router) and await SignalRouter.subscriptions(rt, router) == []


@pytest.mark.parametrize("signal_type", ["", "a..b", "a.", "a.*", "**", 7, None])
async def test_malformed_signal_types_are_rejected_by_route_and_route_sync(
    rt: Runtime, router: Pid, signal_type: Any
) -> None:
    with pytest.raises(InvalidPattern, match="signal type"):
        SignalRouter.route(rt, router, signal_type, None)
    with pytest.raises(InvalidPattern, match="signal type"):
        await SignalRouter.route_sync(rt, router, signal_type, None)
    assert rt.is_alive(router)


async def test_a_subscriber_must_be_a_pid(rt: Runtime, router: Pid) -> None:
    with pytest.raises(InvalidArgument, match="subscriber must be a Pid, got 'worker'"):
        await SignalRouter.subscribe(rt, router, "a", "worker")  # type: ignore[arg-type]
    assert rt.is_alive(router)


async def test_start_link_registers_signal_router_by_default(rt: Runtime) -> None:
    pid = await SignalRouter.start_link(rt)
    assert pid is not None and rt.whereis("signal_router") is pid
    async with rt.attached() as me:
        await SignalRouter.subscribe(rt, "signal_router", "x", me.pid)
        assert await SignalRouter.route_sync(rt, "signal_router", "x", 1) == 1


async def test_a_request_the_router_does_not_know_crashes_it(rt: Runtime, router: Pid) -> None:
    async with rt.attached() as me:
        me.monitor(router)
        rt.cast(router, "gibberish")
        down = await me.receive(timeout=GUARD)
        assert isinstance(down.reason, NotImplementedError)
