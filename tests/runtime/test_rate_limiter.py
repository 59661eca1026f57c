"""Tests for observer.runtime.rate_limiter: fixed windows, atomic checks, buckets, sweeping, bad input."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from observer.runtime import Pid, Process, Runtime
from observer.runtime.errors import InvalidArgument, InvalidLimiterConfig
from observer.runtime.rate_limiter import (
    Bucket,
    BucketTable,
    CheckCounts,
    Decision,
    RateLimiter,
    UnknownLimiter,
    _SweepDue,
)

GUARD = 5.0
"""Seconds a test waits for a message that must come; only a bug makes a wait this long."""


class FakeClock:
    """A runtime clock that moves only when a test moves it (values stay exact binary fractions)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def rt(clock: FakeClock) -> AsyncIterator[Runtime]:
    async with Runtime(clock=clock) as runtime:
        yield runtime


@pytest.fixture
async def limiter(rt: Runtime) -> Pid:
    pid = await RateLimiter.start_link(rt, name=None)
    assert pid is not None
    return pid


async def check_and_report(proc: Process, server: Pid, key: str, report_to: Pid) -> None:
    """One rate-limit check; the decision goes to `report_to`."""
    decision = await RateLimiter.check(proc.runtime, server, "api", key)
    proc.runtime.send(report_to, ("decision", decision))


# -- atomicity -------------------------------------------------------------------------


async def test_200_concurrent_checks_from_200_processes_allow_exactly_100(rt: Runtime, limiter: Pid) -> None:
    await RateLimiter.configure(rt, limiter, "api", scale_ms=60_000, limit=100)
    async with rt.attached() as me:
        for round_number in range(20):
            key = f"user-{round_number}"
            for _ in range(200):
                rt.spawn(check_and_report, limiter, key, me.pid)
            decisions: list[Decision] = []
            for _ in range(200):
                _, decision = await me.receive(match=lambda m: type(m) is tuple and m[0] == "decision", timeout=GUARD)
                decisions.append(decision)
            allowed = sorted(d.count for d in decisions if d.allowed)
            denied = [d.count for d in decisions if not d.allowed]
            assert allowed == list(range(1, 101)), f"round {round_number}"
            assert denied == [100] * 100, f"round {round_number}"
    buckets = await RateLimiter.buckets(rt, limiter)
    assert {(b.key, b.count, b.denied) for b in buckets} == {(f"user-{n}", 100, 100) for n in range(20)}


def test_bucket_table_from_8_threads_allows_exactly_100_of_200(clock: FakeClock) -> None:
    table = BucketTable(clock)
    table.configure("api", scale_ms=60_000, limit=100)
    threads = 8
    for round_number in range(20):
        key = f"user-{round_number}"
        start_together = threading.Barrier(threads)

        def hammer(key: str = key, start_together: threading.Barrier = start_together) -> list[Decision]:
            start_together.wait()
            return [table.check("api", key) for _ in range(25)]

        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = [d for future in [pool.submit(hammer) for _ in range(threads)] for d in future.result()]
        assert len(results) == 200
        assert sorted(d.count for d in results if d.allowed) == list(range(1, 101)), f"round {round_number}"
        assert [d.count for d in results if not d.allowed] == [100] * 100
    assert all((b.count, b.denied) == (100, 100) for b in table.buckets())


# -- windows ----------------------------------------------------------------------------


def test_windows_are_aligned_to_multiples_of_scale_on_the_runtime_clock(clock: FakeClock) -> None:
    clock.now = 10.75  # 10 750 ms: the window is [10 000, 11 000), not [10 750, 11 750)
    table = BucketTable(clock)
    table.configure("api", scale_ms=1000, limit=2)
    assert table.check("api", "k") == Decision(True, 1)
    assert table.check("api", "k") == Decision(True, 2)
    assert table.check("api", "k") == Decision(False, 2)
    assert [b.window_start_ms for b in table.buckets()] == [10_000]
    clock.now = 10.9990234375  # still 10 999 ms
    assert table.check("api", "k") == Decision(False, 2)
    clock.now = 11.0  # 250 ms after the first check, but a new window
    assert table.check("api", "k") == Decision(True, 1)
    assert table.buckets() == [Bucket("api", "k", 11_000, 1, 2, 0)]


def test_each_key_and_each_limiter_has_its_own_window(clock: FakeClock) -> None:
    table = BucketTable(clock)
    table.configure("api", scale_ms=1000, limit=1)
    table.configure("login", scale_ms=250, limit=1)
    assert table.check("api", "alice").allowed
    assert table.check("api", "bob").allowed
    assert not table.check("api", "alice").allowed
    assert table.check("login", "alice").allowed
    clock.advance(0.25)
    assert table.check("login", "alice").allowed  # its 250 ms window rolled over
    assert not table.check("api", "alice").allowed  # the 1 s window did not


def test_count_never_exceeds_the_limit_and_denied_checks_are_counted(clock: FakeClock) -> None:
    table = BucketTable(clock)
    limit = 2000  # past the table's cache of prebuilt decisions
    table.configure("api", scale_ms=1000, limit=limit)
    decisions = [table.check("api", "k") for _ in range(limit + 5)]
    assert [d.count for d in decisions[:limit]] == list(range(1, limit + 1))
    assert all(d.allowed for d in decisions[:limit])
    assert decisions[limit:] == [Decision(False, limit)] * 5
    assert table.buckets() == [Bucket("api", "k", 1_000_000, limit, limit, 5)]


def test_configure_again_keeps_windows_and_new_settings_start_afresh(clock: FakeClock) -> None:
    table = BucketTable(clock)
    table.configure("api", scale_ms=1000, limit=3)
    table.check("api", "k")
    table.configure("api", scale_ms=1000, limit=3)
    assert table.check("api", "k") == Decision(True, 2)
    table.configure("api", scale_ms=1000, limit=1)
    assert table.buckets() == []
    assert table.check("api", "k") == Decision(True, 1)
    assert table.check("api", "k") == Decision(False, 1)


async def test_buckets_report_count_limit_and_denied_per_window(rt: Runtime, limiter: Pid) -> None:
    await RateLimiter.configure(rt, limiter, "api", scale_ms=1000, limit=2)
    await RateLimiter.configure(rt, limiter, "login", scale_ms=500, limit=5)
    for _ in range(3):
        await RateLimiter.check(rt, limiter, "api", "alice")
    await RateLimiter.check(rt, limiter, "api", "bob")
    await RateLimiter.check(rt, limiter, "login", "alice")
    assert await RateLimiter.buckets(rt, limiter) == [
        Bucket("api", "alice", 1_000_000, 2, 2, 1),
        Bucket("api", "bob", 1_000_000, 1, 2, 0),
        Bucket("login", "alice", 1_000_000, 1, 5, 0),
    ]



# -- check counts (what metrics export) -----------------------------------------------------


def test_check_counts_count_every_allowed_and_denied_check_per_limiter(clock: FakeClock) -> None:
    table = BucketTable(clock)
    table.configure("api", scale_ms=1000, limit=2)
    table.configure("login", scale_ms=1000, limit=1)
    assert table.check_counts() == {"api": CheckCounts(0, 0), "login": CheckCounts(0, 0)}
    for _ in range(5):
        table.check("api", "alice")  # 2 allowed, 3 denied
    table.check("api", "bob")
    table.check("login", "alice")
    assert table.check_counts() == {"api": CheckCounts(allowed=3, denied=3), "login": CheckCounts(1, 0)}


def test_check_counts_survive_new_windows_sweeps_and_new_settings(clock: FakeClock) -> None:
    table = BucketTable(clock)
    table.configure("api", scale_ms=1000, limit=1)
    table.check("api", "k")
    table.check("api", "k")
    clock.advance(1.0)  # a new window: the old one's counts go, the totals stay
    table.check("api", "k")
    assert table.sweep() == 0  # the key's check already replaced its old window
    clock.advance(1.0)
    assert table.sweep() == 1
    table.configure("api", scale_ms=500, limit=5)  # new settings start the windows afresh, not the totals
    assert table.buckets() == []
    table.check("api", "k")
    assert table.check_counts() == {"api": CheckCounts(allowed=3, denied=1)}


def test_check_counts_are_exact_under_8_threads(clock: FakeClock) -> None:
    table = BucketTable(clock)
    table.configure("api", scale_ms=1000, limit=100)
    with ThreadPoolExecutor(max_workers=8) as pool:
        decisions = list(pool.map(lambda _: table.check("api", "k"), range(200)))
    assert sum(d.allowed for d in decisions) == 100
    assert table.check_counts() == {"api": CheckCounts(allowed=100, denied=100)}


async def test_rate_limiter_table_counts_checks_made_through_the_server(rt: Runtime, limiter: Pid) -> None:
    await RateLimiter.configure(rt, limiter, "api", scale_ms=1000, limit=2)
    for _ in range(3):
        await RateLimiter.check(rt, limiter, "api", "alice")
    with pytest.raises(UnknownLimiter):
        await RateLimiter.check(rt, limiter, "nope", "alice")  # an unknown limiter counts nowhere
    server = rt.server_of(limiter)
    assert isinstance(server, RateLimiter)
    assert server.table.check_counts() == {"api": CheckCounts(allowed=2, denied=1)}

# -- sweeping ---------------------------------------------------------------------------


async def test_expired_windows_are_listed_until_the_sweep_removes_them(
    rt: Runtime, limiter: Pid, clock: FakeClock
) -> None:
    await RateLimiter.configure(rt, limiter, "api", scale_ms=1000, limit=5)
    await RateLimiter.configure(rt, limiter, "daily", scale_ms=86_400_000, limit=5)
    for key in ("a", "b", "c"):
        await RateLimiter.check(rt, limiter, "api", key)
    await RateLimiter.check(rt, limiter, "daily", "a")
    clock.advance(1.5)
    await RateLimiter.check(rt, limiter, "api", "c")  # c moves to the new window
    listed = await RateLimiter.buckets(rt, limiter)
    assert [(b.limiter_id, b.key, b.window_start_ms) for b in listed] == [
        ("api", "a", 1_000_000), ("api", "b", 1_000_000), ("api", "c", 1_001_000), ("daily", "a", 0),
    ]
    assert await RateLimiter.sweep(rt, limiter) == 2
    listed = await RateLimiter.buckets(rt, limiter)
    assert [(b.limiter_id, b.key) for b in listed] == [("api", "c"), ("daily", "a")]
    assert await RateLimiter.sweep(rt, limiter) == 0


def test_table_sweep_of_one_limiter_leaves_the_others(clock: FakeClock) -> None:
    table = BucketTable(clock)
    table.configure("api", scale_ms=1000, limit=5)
    table.configure("login", scale_ms=1000, limit=5)
    table.check("api", "k")
    table.check("login", "k")
    clock.advance(1.0)
    assert table.sweep("api") == 1
    assert [b.limiter_id for b in table.buckets()] == ["login"]
    assert table.sweep("unknown") == 0
    assert table.sweep() == 1


async def test_each_limiter_has_a_sweep_timer_that_sweeps_and_rearms(
    rt: Runtime, limiter: Pid, clock: FakeClock
) -> None:
    await RateLimiter.configure(rt, limiter, "api", scale_ms=1000, limit=5, cleanup_interval_ms=30_000)
    server: Any = rt.server_of(limiter)
    timer = server._sweep_timers["api"]
    loop = asyncio.get_running_loop()
    assert not timer.handle.cancelled()
    assert timer.handle.when() - loop.time() == pytest.approx(30.0, abs=1.0)

    await RateLimiter.configure(rt, limiter, "api", scale_ms=1000, limit=5, cleanup_interval_ms=30_000)
    assert server._sweep_timers["api"] is timer  # same interval: the armed timer is kept

    await RateLimiter.check(rt, limiter, "api", "k")
    clock.advance(1.0)
    rt.send(limiter, _SweepDue("api", timer))  # what the timer sends when it fires
    assert await RateLimiter.buckets(rt, limiter) == []
    rearmed = server._sweep_timers["api"]
    assert rearmed is not timer and timer.handle.cancelled() and not rearmed.handle.cancelled()

    await RateLimiter.check(rt, limiter, "api", "k")
    clock.advance(1.0)
    rt.send(limiter, _SweepDue("api", timer))  # a stale message from a replaced timer does nothing
    assert len(await RateLimiter.buckets(rt, limiter)) == 1
    assert server._sweep_timers["api"] is rearmed

    await RateLimiter.configure(rt, limiter, "api", scale_ms=1000, limit=5, cleanup_interval_ms=10)
    shorter = server._sweep_timers["api"]
    assert rearmed.handle.cancelled() and shorter.handle.when() - loop.time() <= 0.011

    await rt.stop(limiter)
    assert shorter.handle.cancelled()  # terminate cancels every timer


# -- errors -----------------------------------------------------------------------------


async def test_an_unknown_limiter_raises_unknown_limiter_and_the_server_lives_on(rt: Runtime, limiter: Pid) -> None:
    with pytest.raises(UnknownLimiter) as caught:
        await RateLimiter.check(rt, limiter, "nope", "k")
    assert isinstance(caught.value, KeyError)
    assert caught.value.limiter_id == "nope"
    assert str(caught.value) == "unknown rate limiter 'nope': configure it first (RateLimiter.configure)"
    assert rt.is_alive(limiter)
    with pytest.raises(UnknownLimiter, match="'nope'"):
        BucketTable(lambda: 0.0).check("nope", "k")


@pytest.mark.parametrize(
    ("settings", "field", "value"),
    [
        ({"limit": 0}, "limit", "0"),
        ({"limit": -1}, "limit", "-1"),
        ({"limit": 2.5}, "limit", "2.5"),
        ({"limit": True}, "limit", "True"),
        ({"limit": "10"}, "limit", "'10'"),
        ({"scale_ms": 0}, "scale_ms", "0"),
        ({"scale_ms": -1000}, "scale_ms", "-1000"),
        ({"scale_ms": None}, "scale_ms", "None"),
        ({"cleanup_interval_ms": 0}, "cleanup_interval_ms", "0"),
        ({"cleanup_interval_ms": 1.0}, "cleanup_interval_ms", "1.0"),
    ],
)
async def test_bad_settings_name_the_field_and_the_value(
    rt: Runtime, limiter: Pid, settings: dict[str, Any], field: str, value: str
) -> None:
    arguments: dict[str, Any] = {"scale_ms": 1000, "limit": 10} | settings
    with pytest.raises(InvalidLimiterConfig) as caught:
        await RateLimiter.configure(rt, limiter, "api", **arguments)
    assert isinstance(caught.value, ValueError)
    assert field in str(caught.value) and value in str(caught.value)
    if field != "cleanup_interval_ms":
        with pytest.raises(InvalidLimiterConfig, match=field):
            BucketTable(lambda: 0.0).configure("api", **arguments)
    assert rt.is_alive(limiter)
    assert await RateLimiter.buckets(rt, limiter) == []


async def test_unhashable_ids_and_keys_are_rejected_before_reaching_the_server(rt: Runtime, limiter: Pid) -> None:
    with pytest.raises(InvalidLimiterConfig, match=r"limiter_id must be hashable, got \['api'\]"):
        await RateLimiter.configure(rt, limiter, ["api"], scale_ms=1000, limit=1)  # type: ignore[arg-type]
    await RateLimiter.configure(rt, limiter, "api", scale_ms=1000, limit=1)
    with pytest.raises(InvalidArgument, match=r"key must be hashable, got \(.user., \[\]\)"):
        await RateLimiter.check(rt, limiter, "api", ("user", []))
    with pytest.raises(InvalidArgument, match=r"limiter_id must be hashable, got \[\]"):
        await RateLimiter.check(rt, limiter, [], "k")  # type: ignore[arg-type]
    assert rt.is_alive(limiter)


async def test_start_link_registers_rate_limiter_by_default(rt: Runtime) -> None:
    pid = await RateLimiter.start_link(rt)
    assert pid is not None and rt.whereis("rate_limiter") is pid
    await RateLimiter.configure(rt, "rate_limiter", "api", scale_ms=1000, limit=1)
    assert await RateLimiter.check(rt, "rate_limiter", "api", "k") == Decision(True, 1)


async def test_limiters_given_at_start_are_configured_before_any_check() -> None:
    async with Runtime() as rt:
        server = await RateLimiter.start_link(rt, name="limits", limiters={"api": (60_000, 2)})
        assert server is not None
        decisions = [await RateLimiter.check(rt, server, "api", "user") for _ in range(3)]
        assert [decision.allowed for decision in decisions] == [True, True, False]


async def test_invalid_limiters_given_at_start_are_rejected_before_starting() -> None:
    async with Runtime() as rt:
        with pytest.raises(InvalidLimiterConfig, match="limit"):
            await RateLimiter.start_link(rt, name="limits", limiters={"api": (60_000, 0)})
        assert rt.processes() == []
