"""Small, deterministic trees for the app's tests: pids, names and buckets are the same every run."""

from __future__ import annotations

from typing import Any

from observer.runtime import (
    Caller,
    ChildSpec,
    DynamicSupervisor,
    Pid,
    Runtime,
    Server,
    Supervisor,
    current_runtime,
)
from observer.runtime.rate_limiter import RateLimiter


class Worker(Server):
    """An idle server that answers every call with its request."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


class Watcher(Server):
    """A server that monitors the process registered under each given name (for the monitors panel)."""

    async def init(self, *names: str) -> None:
        for name in names:
            pid = self.runtime.whereis(name)
            if pid is not None:
                self.monitor(pid)


async def _start_limiter() -> Pid:
    rt = current_runtime()
    pid = await RateLimiter.start_link(rt, name="rate_limiter")
    assert pid is not None
    await RateLimiter.configure(rt, pid, "api", scale_ms=1000, limit=10)
    for key, hits in (("alice", 4), ("bob", 10), ("carol", 13)):
        for _ in range(hits):
            await RateLimiter.check(rt, pid, "api", key)
    return pid


def _agents(count: int) -> ChildSpec:
    async def start() -> Pid:
        rt = current_runtime()
        sup = await DynamicSupervisor.start_link(rt, name="agents")
        for number in range(1, count + 1):
            name = f"agent_{number}"
            await DynamicSupervisor.start_child(rt, sup, Worker.child_spec(id=name, name=name))
        return sup

    return ChildSpec("agents", start, type="supervisor")


async def demo_tree(rt: Runtime) -> Pid:
    """A rest_for_one root: store, services (one_for_one), agents (dynamic), a temporary and a watcher.

    ```
    demo  rest_for_one
      store                 Worker
      services  one_for_one -> rate_limiter, router, cache
      agents    dynamic     -> agent_1 .. agent_3
      watcher               monitors store and router
      scratch               Worker, temporary
    ```
    """
    children = [
        Worker.child_spec(id="store", name="store"),
        Supervisor.child_spec(
            "services",
            [
                ChildSpec("rate_limiter", _start_limiter),
                Worker.child_spec(id="router", name="router"),
                Worker.child_spec(id="cache", name="cache"),
            ],
            strategy="one_for_one",
            name="services",
        ),
        _agents(3),
        Watcher.child_spec("store", "router", id="watcher", name="watcher"),
        Worker.child_spec(id="scratch", name="scratch", restart="temporary"),
    ]
    return await Supervisor.start_link(rt, children, strategy="rest_for_one", max_restarts=100, max_seconds=5.0,
                                       name="demo")


async def big_tree(rt: Runtime, workers: int = 200) -> Pid:
    """A root with one dynamic supervisor of `workers` servers (folded by the app until opened)."""
    root = await Supervisor.start_link(
        rt, [DynamicSupervisor.child_spec("pool", name="pool", max_restarts=1_000_000)], name="big",
        max_restarts=1_000_000,
    )
    pool = rt.whereis("pool")
    assert pool is not None
    for number in range(workers):
        await DynamicSupervisor.start_child(rt, pool, Worker.child_spec(id=f"w{number}"))
    return root
