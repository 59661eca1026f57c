"""Issue 3 figures: crash to restarted-and-answering, dynamic start and shutdown at 10k, a 1,000-child cascade."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from observer.runtime import Caller, Down, DynamicSupervisor, Pid, Runtime, Server, Supervisor

from .baseline import queue_round_trip
from .core import Benchmark, Context, Figure, reference_ratio, repeat


class Worker(Server):
    """A child that answers every call with its request."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


async def crash_to_answer(ctx: Context) -> Figure:
    """µs from killing a one_for_one child to its restarted incarnation answering a call (median)."""
    kills = ctx.size(2_000, 300)
    async with Runtime() as rt:
        await Supervisor.start_link(rt, [Worker.child_spec(id="worker", name="worker")], max_restarts=kills * 2)
        times: list[float] = []
        for _ in range(kills):
            pid = rt.whereis("worker")
            assert pid is not None
            started = perf_counter()
            rt.exit(pid, "kill")
            # The supervisor restarts the worker on its next step; its name is registered as it spawns,
            # before its init has run, so a call to it is answered right after the restart completes.
            while (restarted := rt.whereis("worker")) is None:
                await asyncio.sleep(0)
            await rt.call(restarted, None)
            times.append((perf_counter() - started) * 1e6)
        baseline = await queue_round_trip()
    median = statistics.median(times)
    return Figure(
        "crash → restarted child answers a call", median, "µs", best=min(times), ratio=median / baseline,
        target=f"≤ 25 µs on the reference (≤ {reference_ratio(25):.1f}×)", ok=median / baseline <= reference_ratio(25),
        detail=f"{kills:,} kills of a one_for_one Worker, each timed until a call to its new pid returned "
        "(triotp 178 µs, Erlang 14 µs)",
    )


async def _dynamic_start(ctx: Context, full: int, quick: int) -> Figure:
    """µs per DynamicSupervisor.start_child up to `full` children; also the first and last thousand."""
    n = ctx.size(full, quick)
    async with Runtime() as rt:
        sup = await DynamicSupervisor.start_link(rt)
        spec = Worker.child_spec(id="worker")
        per_thousand: list[float] = []
        ratios: list[float] = []
        for _ in range(n // 1000):
            baseline = await queue_round_trip()  # paired with each batch: contention comes and goes
            started = perf_counter()
            for _ in range(1000):
                await DynamicSupervisor.start_child(rt, sup, spec)
            per_thousand.append((perf_counter() - started) / 1000 * 1e6)
            ratios.append(per_thousand[-1] / baseline)
    first, last = per_thousand[0], per_thousand[-1]
    # Flatness on ratios too: the last batch's time over its own paired baseline, against the first's.
    flat = ratios[-1] <= 1.2 * ratios[0]
    median = statistics.median(per_thousand)
    ratio = statistics.median(ratios)
    return Figure(
        f"DynamicSupervisor.start_child, {n:,} children", median, "µs/child", best=min(per_thousand), ratio=ratio,
        target=f"≤ 15 µs on the reference (≤ {reference_ratio(15):.2f}×), last 1k ≤ 1.2× first",
        ok=ratio <= reference_ratio(15) and flat,
        detail=f"batches of 1,000, each paired with a baseline; first thousand {first:.1f} µs "
        f"({ratios[0]:.2f}×), last {last:.1f} µs ({ratios[-1]:.2f}×), slowest {max(per_thousand):.1f} µs per child "
        "(gc on; triotp 390 µs)",
    )


async def dynamic_start(ctx: Context) -> Figure:
    """µs per DynamicSupervisor.start_child over 10,000 children."""
    return await _dynamic_start(ctx, 10_000, 3_000)


async def dynamic_start_100k(ctx: Context) -> Figure:
    """µs per DynamicSupervisor.start_child over 100,000 children (where cyclic GC passes show)."""
    return await _dynamic_start(ctx, 100_000, 10_000)


async def dynamic_shutdown(ctx: Context) -> Figure:
    """Seconds for a DynamicSupervisor holding 10,000 children to stop (they stop in parallel)."""
    n = ctx.size(10_000, 3_000)
    repeats = ctx.size(3, 1)

    async def measure() -> float:
        async with Runtime() as rt, rt.attached(trap_exits=True) as me:
            sup = await DynamicSupervisor.start_link(rt)
            spec = Worker.child_spec(id="worker")
            for _ in range(n):
                await DynamicSupervisor.start_child(rt, sup, spec)
            ref = me.monitor(sup)
            started = perf_counter()
            rt.exit(sup, "shutdown")  # from its parent
            await me.receive(lambda m: type(m) is Down and m.ref is ref)
            return perf_counter() - started

    sample = await repeat(measure, repeats=repeats, warmup=0)
    return Figure(
        f"shutdown of {n:,} dynamic children", sample.median, "s", best=sample.best,
        target="≤ 0.2 s", ok=sample.median <= 0.2,
        detail=f"{repeats} repeat(s): exit 'shutdown' from the parent until the supervisor's Down",
    )


async def rest_for_one_cascade(ctx: Context) -> Figure:
    """ms for a rest_for_one supervisor of 1,000 children to restart all of them after its first one dies."""
    n = 1_000
    repeats = ctx.size(7, 3)
    async with Runtime() as rt:
        specs = [Worker.child_spec(id=index) for index in range(n)]
        sup = await Supervisor.start_link(rt, specs, strategy="rest_for_one", max_restarts=1000)

        async def measure() -> float:
            first = (await Supervisor.which_children(rt, sup))[0].pid
            assert isinstance(first, Pid)
            started = perf_counter()
            rt.exit(first, "kill")
            await Supervisor.count_children(rt, sup)  # answered once the cascade is done
            return (perf_counter() - started) * 1e3

        sample = await repeat(measure, repeats=repeats, against=_round_trips_per_child(n))
    assert sample.ratio is not None
    per_child_ratio = sample.ratio  # the cascade over n round trips: what one child costs, in round trips
    return Figure(
        f"rest_for_one cascade over {n:,} children", sample.median, "ms", best=sample.best, ratio=per_child_ratio,
        target=f"≤ 20 ms on the reference (≤ {reference_ratio(20):.2f}× per child)",
        ok=per_child_ratio <= reference_ratio(20),
        detail=f"{repeats} repeats: kill the oldest child, stop 999 youngest first, start 1,000 in order",
    )


def _round_trips_per_child(children: int) -> Callable[[], Awaitable[float]]:
    """A baseline in the cascade's unit (ms for `children` round trips), so the ratio is per child."""

    async def baseline() -> float:
        return await queue_round_trip() * children / 1000

    return baseline


BENCHMARKS = (
    Benchmark("crash_to_answer", crash_to_answer),
    Benchmark("dynamic_start", dynamic_start),
    Benchmark("dynamic_start_100k", dynamic_start_100k),
    Benchmark("dynamic_shutdown", dynamic_shutdown),
    Benchmark("rest_for_one_cascade", rest_for_one_cascade),
)
