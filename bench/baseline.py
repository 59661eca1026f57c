"""The physical limit: two asyncio tasks ping-ponging through two asyncio.Queue objects."""

from __future__ import annotations

import asyncio
from time import perf_counter

from .core import Benchmark, Context, Figure, gc_paused, repeat

PAIRED_ROUND_TRIPS = 1_000  # per baseline batch paired with a figure's repeat (about 10 ms)


async def _pong(requests: asyncio.Queue[int | None], replies: asyncio.Queue[int]) -> None:
    while (message := await requests.get()) is not None:
        replies.put_nowait(message)


async def queue_round_trip(n: int = PAIRED_ROUND_TRIPS) -> float:
    """µs per round trip over `n`: this task puts into one queue, another task answers through a second.

    Both sides use `put_nowait` and `await get()`; the garbage collector is off
    while timing (steady state).
    """
    requests: asyncio.Queue[int | None] = asyncio.Queue()
    replies: asyncio.Queue[int] = asyncio.Queue()
    pong = asyncio.create_task(_pong(requests, replies))
    with gc_paused():
        started = perf_counter()
        for i in range(n):
            requests.put_nowait(i)
            await replies.get()
        elapsed = perf_counter() - started
    requests.put_nowait(None)
    await pong
    return elapsed / n * 1e6


async def round_trip(ctx: Context) -> Figure:
    """The baseline figure: µs per asyncio.Queue round trip."""
    n = ctx.size(4_000, 2_000)
    repeats = ctx.size(25, 11)
    sample = await repeat(lambda: queue_round_trip(n), repeats=repeats)
    return Figure(
        "asyncio.Queue round trip (baseline)", sample.median, "µs", best=sample.best, ratio=1.0,
        detail=f"{repeats} x {n:,} round trips; put_nowait + await get on both sides; gc off (steady state)",
    )


BASELINE = Benchmark("baseline", round_trip)
