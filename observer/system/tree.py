"""start_system: the embedded default system, the supervision tree the app shows by default."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Hashable

from observer.runtime import (
    AlreadyStarted,
    ChildSpec,
    DynamicSupervisor,
    InvalidArgument,
    Pid,
    Registry,
    Runtime,
    StartError,
    Supervisor,
    current_runtime,
)
from observer.runtime.rate_limiter import RateLimiter
from observer.runtime.signal_router import SignalRouter

from .agent_registry import AgentRegistry
from .agents import Agent
from .coordination import CoordinationManager
from .state_store import StateStore, StoreLocation
from .workload import AGENT_ACTIONS, Workload

AGENT_ACTIONS_PER_SECOND = 4
"""How many actions per second the rate limiter allows each agent."""


async def start_system(
    rt: Runtime,
    *,
    agents: int = 3,
    store_path: str | os.PathLike[str] | None = None,
    workload: bool = True,
    workload_interval: float = 0.2,
) -> Pid:
    """Start the default system and return its root, registered as "system".

    ```
    system            Supervisor rest_for_one, 3 restarts in 5 s
      state_supervisor  Supervisor one_for_one -> state_store
      state_registry    Registry
      services          Supervisor one_for_one -> rate_limiter, signal_router,
                                                  coordination_manager, agent_registry
      agent_supervisor  DynamicSupervisor -> agent_1 .. agent_N
      workload          Server (absent with workload=False)
    ```

    Every process is registered under its id.

    Args:
        rt: the runtime to start it in.
        agents: how many agents (agent_1 .. agent_N).
        store_path: the SQLite file for agent state; None (or ":memory:") keeps it
            in memory (it survives restarts of the store for as long as the system runs).
        workload: start the workload that keeps the services busy.
        workload_interval: seconds between the workload's rounds.

    Raises:
        InvalidArgument: `agents` is not an int >= 0 or `workload_interval` not > 0.
        StorageError: the store cannot be opened or written at `store_path`.
        StartError: a child failed to start.
    """
    if not isinstance(agents, int) or isinstance(agents, bool) or agents < 0:
        raise InvalidArgument(f"agents must be an int >= 0, got {agents!r}")
    if (
        not isinstance(workload_interval, (int, float))
        or isinstance(workload_interval, bool)
        or not workload_interval > 0
    ):
        raise InvalidArgument(f"workload_interval must be a number of seconds > 0, got {workload_interval!r}")
    location = StoreLocation(store_path)
    agent_ids = [f"agent_{number}" for number in range(1, agents + 1)]
    children = [
        Supervisor.child_spec(
            "state_supervisor",
            [StateStore.child_spec(location, id="state_store", name="state_store")],
            strategy="one_for_one",
            name="state_supervisor",
        ),
        Registry.child_spec(id="state_registry", name="state_registry"),
        Supervisor.child_spec(
            "services",
            [
                ChildSpec("rate_limiter", _start_rate_limiter),
                SignalRouter.child_spec(id="signal_router", name="signal_router"),
                CoordinationManager.child_spec(id="coordination_manager", name="coordination_manager"),
                AgentRegistry.child_spec(id="agent_registry", name="agent_registry"),
            ],
            strategy="one_for_one",
            name="services",
        ),
        ChildSpec("agent_supervisor", _agent_supervisor_starter(agent_ids), type="supervisor"),
    ]
    if workload:
        children.append(Workload.child_spec(agent_ids, float(workload_interval), id="workload", name="workload"))
    return await Supervisor.start_link(
        rt, children, strategy="rest_for_one", max_restarts=3, max_seconds=5.0, name="system"
    )


async def _start_rate_limiter() -> Pid | None:
    """The rate limiter, configured in its init: no check can ever meet an unknown limiter."""
    limits: dict[Hashable, tuple[int, int]] = {AGENT_ACTIONS: (1000, AGENT_ACTIONS_PER_SECOND)}
    return await RateLimiter.start_link(current_runtime(), name="rate_limiter", limiters=limits)


def _agent_supervisor_starter(agent_ids: list[str]) -> Callable[[], Awaitable[Pid]]:
    """The start of agent_supervisor: the dynamic supervisor, then its agents, every time it (re)starts."""

    async def start() -> Pid:
        rt = current_runtime()
        sup = await DynamicSupervisor.start_link(rt, name="agent_supervisor")
        try:
            for agent_id in agent_ids:
                await DynamicSupervisor.start_child(rt, sup, Agent.child_spec(agent_id, id=agent_id, name=agent_id))
        except (StartError, AlreadyStarted):
            await rt.stop(sup, "shutdown")
            raise
        return sup

    return start
