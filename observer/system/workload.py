"""Workload: keeps rate-limit checks, agent updates, signals and coordination flowing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from observer.runtime import Caller, Runtime, Server
from observer.runtime.errors import UnknownLimiter
from observer.runtime.rate_limiter import RateLimiter

from .agents import Agent
from .coordination import CoordinationManager
from .errors import UNAVAILABLE, ServiceUnavailable, StorageError

AGENT_ACTIONS = "agent_actions"
"""The rate limiter the workload checks before each agent action."""

_EXPECTED = (*UNAVAILABLE, ServiceUnavailable, StorageError, UnknownLimiter)


@dataclass(frozen=True, slots=True)
class WorkloadStats:
    """What the workload has done so far."""

    rounds: int
    allowed: int
    denied: int
    signals_delivered: int
    skipped: int  # actions dropped because a service was restarting


class Workload(Server):
    """Every `interval` seconds, for each agent: a rate-limit check, then (if allowed) an agent
    update, a synchronous signal and a coordinated task.

    Calls to services that are restarting fail with named errors; the action
    is skipped and counted, the round goes on. Anything else crashes it.
    It traps exits so that a shutdown runs `terminate`, which cancels its timer.
    """

    trap_exits = True

    _agents: list[str]
    _interval: float
    _timer: asyncio.TimerHandle | None
    _rounds: int
    _allowed: int
    _denied: int
    _delivered: int
    _skipped: int

    @classmethod
    async def stats(cls, rt: Runtime, workload: Any = "workload") -> WorkloadStats:
        """Counters since this workload started."""
        result: WorkloadStats = await rt.call(workload, ("stats",))
        return result

    async def init(self, agents: list[str], interval: float) -> None:
        self._agents = agents
        self._interval = interval
        self._rounds = self._allowed = self._denied = self._delivered = self._skipped = 0
        self._timer = None
        self._arm()

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        if request == ("stats",):
            return WorkloadStats(self._rounds, self._allowed, self._denied, self._delivered, self._skipped)
        raise ValueError(f"unknown workload request {request!r}")

    async def handle_cast(self, request: Any) -> None:
        if request == "round":
            self._timer = None
            self._rounds += 1
            for agent_id in self._agents:
                try:
                    await self._act(agent_id)
                except _EXPECTED:
                    self._skipped += 1
            self._arm()

    async def terminate(self, reason: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _arm(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._interval, self.runtime.cast, self.pid, "round")

    async def _act(self, agent_id: str) -> None:
        rt = self.runtime
        decision = await RateLimiter.check(rt, "rate_limiter", AGENT_ACTIONS, agent_id)
        if not decision.allowed:
            self._denied += 1
            return
        self._allowed += 1
        await Agent.put(rt, agent_id, "actions", self._allowed)
        self._delivered += await Agent.emit(rt, agent_id, "action", {"round": self._rounds})
        agent = rt.whereis(agent_id)
        if agent is not None:
            task_id = f"{agent_id}/task"
            await CoordinationManager.complete(rt, "coordination_manager", task_id)
            await CoordinationManager.assign(rt, "coordination_manager", task_id, agent)
