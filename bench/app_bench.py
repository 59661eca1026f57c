"""App figures: one tick (snapshot + diff + apply) with 10,000 processes, nothing changed and 100 changed.

Each in three views: the pool folded (the default), the pool opened (10,000 rows in the tree), and
the process list shown (every process with its rates). The idle app's CPU and terminal output is
`bench/app_idle.py` (a real app in a pseudo-terminal).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable, Coroutine
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


VIEWS = {
    "folded": "pool folded (the default view)",
    "opened": "pool opened: 10,000 rows in the tree",
    "list": "process list shown: 10,000 rows with rates",
}


async def _show(app: ObserverApp, view: str) -> None:
    """Bring the app to `view`: open the pool in the tree, or show the process list."""
    if view == "opened":
        tree = app.query_one(SupervisionTree)
        node = next(child for child in tree.root.children if child.data is not None and child.data.node.label == "pool")
        node.expand()
        while not node.children:
            await asyncio.sleep(0)
            app.tick()
    elif view == "list":
        app.action_process_list()
        app.tick()


def tick_unchanged(view: str) -> Callable[[Context], Coroutine[Any, Any, Figure]]:
    """A tick when nothing changed since the last one (the runtime's generation moved: nothing else)."""

    async def run(ctx: Context) -> Figure:
        repeats = ctx.size(200, 50)

        async def measure(app: ObserverApp, rt: Runtime) -> Figure:
            await _show(app, view)
            app.tick()
            times = []
            for _ in range(repeats):
                rt.generation += 1  # as after an unrelated change: the snapshot cannot take the quiet path
                times.append(_timed_tick(app))
            median = statistics.median(times)
            return Figure(
                f"app tick at {PROCESSES:,} processes, nothing changed{_suffix(view)}", median, "ms",
                best=min(times), target="≤ 10 ms", ok=median <= 10,
                detail=f"{repeats} ticks of the headless app (snapshot + diff + apply, gc on), each after the "
                       f"runtime's generation moved (so the snapshot is taken and diffed); {VIEWS[view]}",
            )

        return await _with_app(measure)

    return run


def tick_after_changes(view: str) -> Callable[[Context], Coroutine[Any, Any, Figure]]:
    """A tick after 100 children were killed and restarted since the last one."""

    async def run(ctx: Context) -> Figure:
        return await _with_app(lambda app, rt: _changed_ticks(ctx, app, rt, view))

    return run


def _suffix(view: str) -> str:
    return {"folded": "", "opened": ", big supervisor opened", "list": ", process list shown"}[view]


async def _changed_ticks(ctx: Context, app: ObserverApp, rt: Runtime, view: str) -> Figure:
    repeats = ctx.size(30, 8)
    pool = rt.whereis("pool")
    assert pool is not None
    server = rt.server_of(pool)
    assert isinstance(server, DynamicSupervisor)
    await _show(app, view)
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
    return Figure(
        f"app tick at {PROCESSES:,} processes, {CHANGES} changed{_suffix(view)}", median, "ms", best=min(times),
        target="≤ 30 ms", ok=median <= 30,
        detail=f"{repeats} ticks, each after {CHANGES} children were killed and restarted (gc on); {VIEWS[view]}",
    )


BENCHMARKS = (
    Benchmark("app_tick_idle", tick_unchanged("folded")),
    Benchmark("app_tick_100", tick_after_changes("folded")),
    Benchmark("app_tick_idle_opened", tick_unchanged("opened")),
    Benchmark("app_tick_100_opened", tick_after_changes("opened")),
    Benchmark("app_tick_idle_list", tick_unchanged("list")),
    Benchmark("app_tick_100_list", tick_after_changes("list")),
)
