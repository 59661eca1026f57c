"""Issue 5 figures: one app tick (snapshot + diff + apply) with 10,000 processes, nothing changed and 100 changed."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from observer.app import ObserverApp
from observer.runtime import Caller, DynamicSupervisor, Pid, Runtime, RuntimeEvent, Server, Supervisor
from observer.snapshot import HostStats
from observer.widgets.supervision_tree import SupervisionTree

from .core import Benchmark, Context, Figure

PROCESSES = 10_000
CHANGES = 100
SIZE = (160, 48)
HOST = HostStats(cpu_percent=0.0, rss_bytes=0, threads=1, open_fds=0)


class Idle(Server):
    """A worker that only answers calls."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


async def pool_tree(rt: Runtime) -> Pid:
    """A root supervisor over a DynamicSupervisor "pool" of `PROCESSES - 2` idle servers: 10,000 processes."""
    root = await Supervisor.start_link(
        rt, [DynamicSupervisor.child_spec("pool", name="pool", max_restarts=10**9)], name="root",
        max_restarts=10**9,
    )
    pool = rt.whereis("pool")
    assert pool is not None
    for number in range(PROCESSES - 2):
        await DynamicSupervisor.start_child(rt, pool, Idle.child_spec(id=f"worker_{number}"))
    return root


async def _with_app(measure: Callable[[ObserverApp, Runtime], Awaitable[Figure]]) -> Figure:
    """Run the app headless on `pool_tree` (its timer idle: ticks are taken by the benchmark) and measure."""
    app = ObserverApp(factory=pool_tree, host_stats=lambda: HOST, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        while app.snapshot is None or app.snapshot.process_count < PROCESSES:
            await pilot.pause()
            app.tick()
        await pilot.pause()
        rt = app.runtime
        assert rt is not None
        figure = await measure(app, rt)
        await pilot.press("q")
    return figure


def _timed_tick(app: ObserverApp) -> float:
    began = perf_counter()
    app.tick()
    return (perf_counter() - began) * 1e3


async def tick_unchanged(ctx: Context) -> Figure:
    """A tick when nothing changed since the last one."""
    repeats = ctx.size(200, 50)

    async def measure(app: ObserverApp, rt: Runtime) -> Figure:
        app.tick()
        times = [_timed_tick(app) for _ in range(repeats)]
        median = statistics.median(times)
        return Figure(
            f"app tick at {PROCESSES:,} processes, nothing changed", median, "ms", best=min(times),
            target="≤ 10 ms", ok=median <= 10,
            detail=f"{repeats} ticks of the headless app (snapshot + diff + apply, gc on), pool of {PROCESSES - 2:,} "
                   "children folded (the default view)",
        )

    return await _with_app(measure)


async def tick_after_changes(ctx: Context) -> Figure:
    """A tick after 100 children were killed and restarted since the last one."""
    return await _with_app(lambda app, rt: _changed_ticks(ctx, app, rt, opened=False))


async def tick_after_changes_opened(ctx: Context) -> Figure:
    """The same, with the pool opened: all 10,000 rows listed in the tree (no target: the user asked for it)."""
    return await _with_app(lambda app, rt: _changed_ticks(ctx, app, rt, opened=True))


async def _changed_ticks(ctx: Context, app: ObserverApp, rt: Runtime, *, opened: bool) -> Figure:
    repeats = ctx.size(30, 8)
    pool = rt.whereis("pool")
    assert pool is not None
    server = rt.server_of(pool)
    assert isinstance(server, DynamicSupervisor)
    if opened:
        tree = app.query_one(SupervisionTree)
        node = next(child for child in tree.root.children if child.data is not None and child.data.node.label == "pool")
        node.expand()
        while not node.children:
            await asyncio.sleep(0)
            app.tick()
    loop = asyncio.get_running_loop()
    pending: list[int] = [0]
    done: list[asyncio.Future[None]] = []

    def on_event(event: RuntimeEvent) -> None:
        if event.kind == "restarted" and done and not done[-1].done():
            pending[0] -= 1
            if pending[0] == 0:
                done[-1].set_result(None)

    unsubscribe = rt.subscribe(on_event)
    times: list[float] = []
    try:
        for repeat in range(repeats):
            app.tick()
            children = server.children()
            start = repeat * CHANGES % len(children)
            victims = [child.pid for child, _ in children[start:start + CHANGES]]
            pending[0] = len(victims)
            done.append(loop.create_future())
            for pid in victims:
                if isinstance(pid, Pid):
                    rt.exit(pid, "kill")
            await asyncio.wait_for(done[-1], 30)
            times.append(_timed_tick(app))
    finally:
        unsubscribe()
    median = statistics.median(times)
    view = "pool opened: 10,000 rows in the tree" if opened else "pool folded (the default view)"
    if opened:
        return Figure(
            f"app tick at {PROCESSES:,} processes, {CHANGES} changed, big supervisor opened", median, "ms",
            best=min(times), detail=f"{repeats} ticks, each after {CHANGES} children were killed and restarted; {view}",
        )
    return Figure(
        f"app tick at {PROCESSES:,} processes, {CHANGES} changed", median, "ms", best=min(times),
        target="≤ 30 ms", ok=median <= 30,
        detail=f"{repeats} ticks, each after {CHANGES} children were killed and restarted (gc on); {view}",
    )


BENCHMARKS = (
    Benchmark("app_tick_idle", tick_unchanged),
    Benchmark("app_tick_100", tick_after_changes),
    Benchmark("app_tick_100_opened", tick_after_changes_opened),
)
