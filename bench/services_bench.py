"""Issue 4 figures: a rate-limiter check (the table, and through the server) and a synchronous signal."""

from __future__ import annotations

import gc
from time import perf_counter

from observer.runtime import Process, Runtime
from observer.runtime.rate_limiter import BucketTable, RateLimiter
from observer.runtime.signal_router import SignalRouter

from .baseline import queue_round_trip
from .core import Benchmark, Context, Figure, gc_paused, repeat


async def bucket_table_check(ctx: Context) -> Figure:
    """µs per `BucketTable.check` (the atomic check-and-increment itself), allowed and denied alike."""
    n = ctx.size(200_000, 50_000)
    repeats = ctx.size(9, 5)
    table = BucketTable(lambda: 1_000.0)
    table.configure("api", scale_ms=60_000, limit=n // 2)
    keys = [f"user-{index}" for index in range(100)]

    async def measure() -> float:
        with gc_paused():
            started = perf_counter()
            for index in range(n):
                table.check("api", keys[index % 100])
            return (perf_counter() - started) / n * 1e6

    sample = await repeat(measure, repeats=repeats)
    return Figure(
        "rate-limiter check (BucketTable)", sample.median, "µs", best=sample.best,
        target="≤ 2 µs", ok=sample.median <= 2,
        detail=f"{repeats} x {n:,} checks over 100 keys, half of them past the limit; gc off",
    )


async def rate_limiter_call(ctx: Context) -> Figure:
    """µs per `RateLimiter.check` through the server (a call), from a plain task."""
    n = ctx.size(4_000, 1_000)
    repeats = ctx.size(11, 5)
    async with Runtime() as rt:
        server = await RateLimiter.start_link(rt, name="rate_limiter")
        assert server is not None
        await RateLimiter.configure(rt, server, "api", scale_ms=60_000, limit=10**9)

        async def measure() -> float:
            with gc_paused():
                started = perf_counter()
                for _ in range(n):
                    await RateLimiter.check(rt, server, "api", "user")
                return (perf_counter() - started) / n * 1e6

        sample = await repeat(measure, repeats=repeats, against=queue_round_trip)
    return Figure(
        "RateLimiter.check through the server", sample.median, "µs", best=sample.best, ratio=sample.ratio,
        detail=f"{repeats} x {n:,} checks (a call each); gc off",
    )


async def _handler(proc: Process) -> None:
    while True:
        await proc.receive()


async def route_sync_ten(ctx: Context) -> Figure:
    """µs per `SignalRouter.route_sync` delivered to 10 subscribers (5 exact, 5 by wildcard)."""
    n = ctx.size(4_000, 1_000)
    repeats = ctx.size(11, 5)
    async with Runtime() as rt:
        router = await SignalRouter.start_link(rt, name="signal_router")
        assert router is not None
        for index in range(10):
            pid = rt.spawn(_handler)
            pattern = "agent.tick" if index < 5 else "agent.*"
            await SignalRouter.subscribe(rt, router, pattern, pid)
        gc.collect()

        async def measure() -> float:
            with gc_paused():
                started = perf_counter()
                for _ in range(n):
                    await SignalRouter.route_sync(rt, router, "agent.tick", None)
                return (perf_counter() - started) / n * 1e6

        sample = await repeat(measure, repeats=repeats, against=queue_round_trip)
    return Figure(
        "route_sync to 10 subscribers", sample.median, "µs", best=sample.best, ratio=sample.ratio,
        detail=f"{repeats} x {n:,} synchronous emissions, each delivered to 10 live handlers; gc off",
    )


BENCHMARKS = (
    Benchmark("bucket_table_check", bucket_table_check),
    Benchmark("rate_limiter_call", rate_limiter_call),
    Benchmark("route_sync_ten", route_sync_ten),
)
