"""Issue 2 figures: call round trip, cast throughput, spawn and start rates, memory and shutdown of idle servers."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from time import perf_counter
from typing import Any

from observer.runtime import Caller, Pid, Process, Runtime, Server

from .baseline import queue_round_trip
from .core import Benchmark, Context, Figure, gc_paused, repeat

CALL_TARGET = "≤ 1.25× (stage 2)"


class Echo(Server):
    """Answers every call with its request; otherwise idle (the 'idle Server' of the memory figure)."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


class Counter(Server):
    """Counts casts; a call returns the count since the previous call."""

    async def init(self) -> None:
        self.count = 0

    async def handle_cast(self, request: Any) -> None:
        self.count += 1

    async def handle_call(self, request: Any, caller: Caller) -> int:
        count, self.count = self.count, 0
        return count


async def _call_loop(ctx: Context, rt: Runtime, pid: Pid, label: str) -> Figure:
    n = ctx.size(4_000, 2_000)
    repeats = ctx.size(25, 11)
    call = rt.call

    async def measure() -> float:
        with gc_paused():
            started = perf_counter()
            for i in range(n):
                await call(pid, i)
            return (perf_counter() - started) / n * 1e6

    sample = await repeat(measure, repeats=repeats, against=queue_round_trip)
    assert sample.ratio is not None
    return Figure(
        f"rt.call round trip, {label}", sample.median, "µs", best=sample.best, ratio=sample.ratio,
        target=CALL_TARGET, ok=sample.ratio <= 1.25,
        detail=f"{repeats} x {n:,} calls to an echo Server (default 5 s timeout), gc off (steady state)",
    )


async def call_from_task(ctx: Context) -> Figure:
    """µs per `rt.call` from a task that is not a process."""
    async with Runtime() as rt:
        pid = await Echo.start_link(rt)
        assert pid is not None
        return await _call_loop(ctx, rt, pid, "from a plain task")


async def call_from_process(ctx: Context) -> Figure:
    """µs per `rt.call` from an attached process."""
    async with Runtime() as rt, rt.attached():  # the calling task is a process, the server's parent
        pid = await Echo.start_link(rt)
        assert pid is not None
        figure = await _call_loop(ctx, rt, pid, "from a process")
    return figure


async def cast_throughput(ctx: Context) -> Figure:
    """Casts per second, end to end: N casts, timed until a final call confirms the server handled them all."""
    n = ctx.size(200_000, 50_000)
    repeats = ctx.size(9, 5)
    async with Runtime() as rt:
        pid = await Counter.start_link(rt)
        assert pid is not None
        cast = rt.cast

        async def measure() -> float:
            with gc_paused():
                started = perf_counter()
                for i in range(n):
                    cast(pid, i)
                handled = await rt.call(pid, "count")
                elapsed = perf_counter() - started
            if handled != n:
                raise RuntimeError(f"the counter handled {handled} casts of {n}")
            return elapsed / n * 1e6

        sample = await repeat(measure, repeats=repeats, against=queue_round_trip)
    rate = 1e6 / sample.median
    return Figure(
        "cast throughput, end to end", rate, "msg/s", best=1e6 / sample.best, ratio=sample.ratio,
        target="≥ 1,000,000 msg/s", ok=rate >= 1_000_000,
        detail=f"{repeats} x {n:,} casts from a plain task, then one call; ratio is µs per cast; gc off (steady state)",
    )


class _Countdown:
    """Resolves `done` when `tick` has been called `left` times."""

    __slots__ = ("done", "left")

    def __init__(self, left: int) -> None:
        self.left = left
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def tick(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.done.set_result(None)


async def _wait_in_receive(proc: Process, started: _Countdown) -> None:
    started.tick()
    await proc.receive()


async def spawn_rate(ctx: Context) -> Figure:
    """µs per `rt.spawn` of a process that waits in receive, timed until every one has started."""
    n = ctx.size(10_000, 2_000)
    repeats = ctx.size(7, 3)

    async def measure() -> float:
        async with Runtime() as rt:
            started = _Countdown(n)
            gc.collect()
            began = perf_counter()
            for _ in range(n):
                rt.spawn(_wait_in_receive, started)
            await started.done
            return (perf_counter() - began) / n * 1e6

    sample = await repeat(measure, repeats=repeats, against=queue_round_trip)
    return Figure(
        "rt.spawn, until started", sample.median, "µs/process", best=sample.best, ratio=sample.ratio,
        detail=f"{repeats} x {n:,} processes in a fresh runtime each, gc on (Erlang start: 3.8 µs)",
    )


async def start_link_rate(ctx: Context) -> Figure:
    """µs per `Server.start_link` (synchronous: it returns after `init`), one after the other."""
    n = ctx.size(5_000, 1_000)
    repeats = ctx.size(7, 3)

    async def measure() -> float:
        async with Runtime() as rt:
            gc.collect()
            began = perf_counter()
            for _ in range(n):
                await Echo.start_link(rt)
            return (perf_counter() - began) / n * 1e6

    sample = await repeat(measure, repeats=repeats, against=queue_round_trip)
    return Figure(
        "Server.start_link", sample.median, "µs/server", best=sample.best, ratio=sample.ratio,
        detail=f"{repeats} x {n:,} servers in a fresh runtime each, gc on (pykka actor start: 111 µs)",
    )


async def idle_server_memory(ctx: Context) -> Figure:
    """Bytes traced per idle Server: everything `start_link` allocates, the runtime's tables included."""
    n = ctx.size(10_000, 10_000)
    repeats = ctx.size(3, 1)

    async def measure() -> float:
        async with Runtime() as rt:
            await Echo.start_link(rt)  # first-use allocations (caches, code paths) are not per-process
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                for _ in range(n):
                    await Echo.start_link(rt)
                gc.collect()
                after = tracemalloc.get_traced_memory()[0]
            finally:
                tracemalloc.stop()
            return (after - before) / n

    sample = await repeat(measure, repeats=repeats, warmup=0)
    kib = sample.median / 1024
    return Figure(
        "memory per idle Server", kib, "KiB", best=sample.best / 1024,
        target="≤ 3 KiB", ok=kib <= 3,
        detail=f"{sample.median:,.0f} bytes; tracemalloc over {n:,} idle servers, {repeats} repeat(s)",
    )


async def runtime_shutdown(ctx: Context) -> Figure:
    """Seconds to leave `async with Runtime()` holding 10,000 idle servers."""
    n = 10_000
    repeats = ctx.size(5, 1)

    async def measure() -> float:
        async with Runtime() as rt:
            for _ in range(n):
                await Echo.start_link(rt)
            gc.collect()
            began = perf_counter()
        elapsed = perf_counter() - began
        if rt.processes():
            raise RuntimeError(f"{len(rt.processes())} processes outlived the runtime")
        return elapsed

    sample = await repeat(measure, repeats=repeats, warmup=0)
    return Figure(
        "runtime shutdown, 10k idle servers", sample.median, "s", best=sample.best,
        target="≤ 0.2 s (as for 10k children)", ok=sample.median <= 0.2,
        detail=f"{repeats} repeat(s), gc on; root servers stopped newest first with 'shutdown'",
    )


BENCHMARKS = (
    Benchmark("call_task", call_from_task),
    Benchmark("call_process", call_from_process),
    Benchmark("cast", cast_throughput),
    Benchmark("spawn", spawn_rate),
    Benchmark("start_link", start_link_rate),
    Benchmark("memory", idle_server_memory),
    Benchmark("shutdown", runtime_shutdown),
)
