"""Tests for observer.system.workload: it keeps the services busy and survives their restarts.

The workload acts on its own real timer (`workload_interval`). The tests do
not sleep for it: each subscribes to the signals the workload routes for
every allowed action (`agent.<id>.action`, carrying the round) and waits for
one, bounded by GUARD. The fake clock stands still, so the rate limiter
allows 4 actions per agent until a test moves it into the next window.
"""

from __future__ import annotations

from typing import Any

import pytest

from observer.runtime import Pid, Process, Runtime
from observer.runtime.signal_router import RoutedSignal, SignalRouter
from observer.system import Agent, CoordinationManager, Workload, start_system
from observer.system.tree import AGENT_ACTIONS_PER_SECOND

from . import AGENTS, GUARD, ROOT_CHILDREN, agent_pids, child_pids, down_of, whereis

INTERVAL = 0.01
"""Seconds between the workload's rounds in these tests."""


async def watch_actions(rt: Runtime, me: Process) -> None:
    """Have the signal router send `me` the signal of every allowed workload action."""
    await SignalRouter.subscribe(rt, "signal_router", "agent.*.action", me.pid)


async def action_after(me: Process, round_number: int) -> RoutedSignal:
    """The first action signal from a round after `round_number` (earlier ones are dropped)."""
    while True:
        message = await me.receive(match=lambda m: type(m) is RoutedSignal, timeout=GUARD)
        assert isinstance(message, RoutedSignal)
        if message.signal["round"] > round_number:
            return message


async def test_the_workload_makes_progress(rt: Runtime, now: list[float]) -> None:
    await start_system(rt, workload=True, workload_interval=INTERVAL)
    window = AGENT_ACTIONS_PER_SECOND  # rounds in which every agent is allowed to act

    async with rt.attached() as me:
        await watch_actions(rt, me)
        signal = await action_after(me, window - 1)  # the last round with allowed actions
        stats = await Workload.stats(rt)  # answered between rounds: that round is complete

        assert signal.signal == {"round": window}
        assert stats.rounds >= window
        assert stats.allowed == len(AGENTS) * AGENT_ACTIONS_PER_SECOND  # all this window allows
        assert stats.denied == len(AGENTS) * (stats.rounds - window)
        assert stats.signals_delivered >= stats.allowed
        assert stats.skipped == 0
        for agent_id in AGENTS:
            assert isinstance((await Agent.state(rt, agent_id))["actions"], int)
        assignments = (await CoordinationManager.state(rt, "coordination_manager")).assignments
        assert assignments == {f"{agent_id}/task": whereis(rt, agent_id) for agent_id in AGENTS}

        now[0] += 1.0  # the next window: actions are allowed again
        later = await action_after(me, stats.rounds)

    assert (await Workload.stats(rt)).rounds >= later.signal["round"] > stats.rounds
    assert (await Workload.stats(rt)).allowed > stats.allowed


@pytest.mark.parametrize(
    "killed", ["rate_limiter", "signal_router", "coordination_manager", "agent_registry", "state_store", "agent_1"]
)
async def test_the_workload_survives_a_restart_of_what_it_uses(rt: Runtime, now: list[float], killed: str) -> None:
    root = await start_system(rt, workload=True, workload_interval=INTERVAL)
    workload = whereis(rt, "workload")
    siblings = await child_pids(rt, root)

    async with rt.attached() as me:
        await watch_actions(rt, me)
        await action_after(me, 0)
        before = await Workload.stats(rt)

        rt.exit(whereis(rt, killed), "kill")
        await child_pids(rt, "services")  # settled, whichever of them was killed
        await child_pids(rt, "state_supervisor")
        await agent_pids(rt)
        if killed == "signal_router":
            await watch_actions(rt, me)  # it came back empty
        now[0] += 1.0
        await action_after(me, before.rounds)

    after = await Workload.stats(rt)
    assert rt.whereis("workload") is workload
    assert await child_pids(rt, root) == siblings
    assert after.rounds > before.rounds
    assert after.allowed > before.allowed
    assert after.skipped >= before.skipped  # actions that met the service while it restarted


async def test_an_unexpected_error_crashes_the_workload_into_its_supervisor(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    bug = RuntimeError("a bug in a workload action")
    complete = CoordinationManager.complete
    failures: list[str] = []

    async def complete_with_a_bug(rt: Runtime, manager: Pid | str, task_id: str) -> Any:
        if not failures:  # only the first time: the restarted workload works
            failures.append(task_id)
            raise bug
        return await complete(rt, manager, task_id)

    monkeypatch.setattr(CoordinationManager, "complete", complete_with_a_bug)
    root = await start_system(rt, workload=True, workload_interval=INTERVAL)
    siblings = await child_pids(rt, root)

    async with rt.attached() as me:
        me.monitor(siblings["workload"])
        down = await down_of(me, siblings["workload"])
        after = await child_pids(rt, root)  # queued behind the workload's exit: restarted

    assert down.reason is bug  # not swallowed, not counted as skipped: it crashed
    assert failures == ["agent_1/task"]
    assert isinstance(after["workload"], Pid) and after["workload"] is not siblings["workload"]
    assert rt.whereis("workload") is after["workload"]
    assert {child: after[child] for child in ROOT_CHILDREN} == {child: siblings[child] for child in ROOT_CHILDREN}
