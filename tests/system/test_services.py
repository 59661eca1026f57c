"""Tests for the system's services: every monitor they take is released, and their state is visible by calls."""

from __future__ import annotations

import pytest

from observer.runtime import Pid, Registry, Runtime
from observer.runtime.rate_limiter import RateLimiter
from observer.runtime.signal_router import SignalRouter
from observer.system import AgentRegistry, Coordination, CoordinationManager
from observer.system.tree import AGENT_ACTIONS_PER_SECOND
from observer.system.workload import AGENT_ACTIONS

from . import AGENTS, Idle, KeyHolder, Rejoined, Subscriber, agent_pids, child_pids, start_unlinked, whereis

CROWD = 1000
"""How many short-lived processes a leak test puts through a service."""


async def test_the_system_at_rest_holds_five_monitors_per_agent(rt: Runtime, system: Pid) -> None:
    # Each agent is watched by the signal router, agent_registry and state_registry, and watches
    # the first two (to join them again when they restart).
    assert rt.monitor_count() == 5 * len(AGENTS)


# -- signal_router ------------------------------------------------------------------------


async def test_1000_dead_subscribers_leave_no_monitor_and_no_subscription(rt: Runtime, system: Pid) -> None:
    baseline = rt.monitor_count()
    agents_only = await SignalRouter.subscriptions(rt, "signal_router")
    patterns = ["agent.agent_1.**", "agent.*.ping", "crowd.exact", "crowd.**"]  # shared with an agent, too
    crowd = [await start_unlinked(rt, Subscriber, patterns[n % len(patterns)]) for n in range(CROWD)]
    assert rt.monitor_count() == baseline + CROWD
    assert len(await SignalRouter.subscriptions(rt, "signal_router")) == len(agents_only) + CROWD

    for number, pid in enumerate(crowd):
        if number % 2:
            rt.exit(pid, "kill")
        else:
            await rt.stop(pid)

    # A call is queued behind every Down the crowd's deaths queued at the router.
    assert await SignalRouter.subscriptions(rt, "signal_router") == agents_only
    assert rt.monitor_count() == baseline
    assert await SignalRouter.route_sync(rt, "signal_router", "agent.agent_1.ping", None) == 1
    assert await SignalRouter.route_sync(rt, "signal_router", "crowd.exact", None) == 0


async def test_unsubscribing_releases_the_monitor(rt: Runtime, system: Pid) -> None:
    baseline = rt.monitor_count()
    pid = await start_unlinked(rt, Idle)
    await SignalRouter.subscribe(rt, "signal_router", "a.b", pid)
    await SignalRouter.subscribe(rt, "signal_router", "a.*", pid)
    assert rt.monitor_count() == baseline + 1

    await SignalRouter.unsubscribe(rt, "signal_router", "a.b", pid)
    assert rt.monitor_count() == baseline + 1
    await SignalRouter.unsubscribe(rt, "signal_router", "a.*", pid)

    assert rt.monitor_count() == baseline
    assert rt.is_alive(pid)


# -- agent_registry ---------------------------------------------------------------------------


async def test_1000_short_lived_fake_agents_leave_only_the_real_ones(rt: Runtime, system: Pid) -> None:
    baseline = rt.monitor_count()
    real = await AgentRegistry.agents(rt, "agent_registry")
    assert real == {agent_id: whereis(rt, agent_id) for agent_id in AGENTS}
    fakes = [await start_unlinked(rt, Idle) for _ in range(CROWD)]
    for number, pid in enumerate(fakes):
        await AgentRegistry.register(rt, "agent_registry", f"fake_{number}", pid)
    assert len(await AgentRegistry.agents(rt, "agent_registry")) == len(AGENTS) + CROWD
    assert rt.monitor_count() == baseline + CROWD

    for pid in fakes:
        rt.exit(pid, "kill")

    assert await AgentRegistry.agents(rt, "agent_registry") == real
    assert rt.monitor_count() == baseline


async def test_registering_an_agent_again_replaces_its_monitor(rt: Runtime, system: Pid) -> None:
    baseline = rt.monitor_count()
    first, second = await start_unlinked(rt, Idle), await start_unlinked(rt, Idle)

    await AgentRegistry.register(rt, "agent_registry", "fake", first)
    await AgentRegistry.register(rt, "agent_registry", "fake", second)
    assert rt.monitor_count() == baseline + 1
    rt.exit(first, "kill")  # no longer its pid: the entry stays

    assert (await AgentRegistry.agents(rt, "agent_registry"))["fake"] is second
    rt.exit(second, "kill")
    assert "fake" not in await AgentRegistry.agents(rt, "agent_registry")
    assert rt.monitor_count() == baseline


async def test_a_restarted_agent_is_registered_under_its_new_pid(rt: Runtime, system: Pid) -> None:
    baseline = rt.monitor_count()
    old = whereis(rt, "agent_2")

    rt.exit(old, "kill")
    new = (await agent_pids(rt))["agent_2"]
    agents = await AgentRegistry.agents(rt, "agent_registry")

    assert isinstance(new, Pid) and new is not old
    assert agents["agent_2"] is new
    assert rt.monitor_count() == baseline


async def test_agents_register_again_after_agent_registry_restarts(rt: Runtime, system: Pid) -> None:
    agents = await AgentRegistry.agents(rt, "agent_registry")
    old_registry = whereis(rt, "agent_registry")
    baseline = rt.monitor_count()
    rejoined = Rejoined(rt, "agent_registry", old_registry, agents.values())

    rt.exit(old_registry, "kill")
    new_registry = (await child_pids(rt, "services"))["agent_registry"]
    await rejoined.wait()

    assert isinstance(new_registry, Pid) and new_registry is not old_registry
    assert await AgentRegistry.agents(rt, new_registry) == agents
    assert rt.monitor_count() == baseline


# -- coordination_manager ---------------------------------------------------------------------


async def test_tasks_of_1000_dead_holders_are_orphaned_and_no_monitor_is_left(rt: Runtime, system: Pid) -> None:
    baseline = rt.monitor_count()
    holders = [await start_unlinked(rt, Idle) for _ in range(CROWD)]
    for number, pid in enumerate(holders):
        await CoordinationManager.assign(rt, "coordination_manager", f"task_{number}", pid)
        await CoordinationManager.assign(rt, "coordination_manager", f"extra_{number}", pid)
    state = await CoordinationManager.state(rt, "coordination_manager")
    assert (len(state.assignments), state.monitors) == (2 * CROWD, CROWD)
    assert rt.monitor_count() == baseline + CROWD
    for number in range(0, CROWD, 2):  # half of them finish a task: each still holds one
        assert await CoordinationManager.complete(rt, "coordination_manager", f"extra_{number}")

    for pid in holders:
        rt.exit(pid, "kill")

    state = await CoordinationManager.state(rt, "coordination_manager")
    assert state.assignments == {}
    assert state.monitors == 0
    assert rt.monitor_count() == baseline
    # In the order their holders died; the latest hundred are kept.
    held = [sorted([f"task_{n}", f"extra_{n}"] if n % 2 else [f"task_{n}"]) for n in range(CROWD)]
    assert state.orphaned == tuple(task for tasks in held for task in tasks)[-100:]


async def test_completing_the_last_task_releases_the_monitor(rt: Runtime, system: Pid) -> None:
    baseline = rt.monitor_count()
    first, second = await start_unlinked(rt, Idle), await start_unlinked(rt, Idle)

    await CoordinationManager.assign(rt, "coordination_manager", "t1", first)
    await CoordinationManager.assign(rt, "coordination_manager", "t2", first)
    await CoordinationManager.assign(rt, "coordination_manager", "t1", second)  # moved
    assert await CoordinationManager.state(rt, "coordination_manager") == Coordination(
        {"t1": second, "t2": first}, (), 2
    )
    assert await CoordinationManager.complete(rt, "coordination_manager", "t2")
    assert not await CoordinationManager.complete(rt, "coordination_manager", "t2")
    assert await CoordinationManager.complete(rt, "coordination_manager", "t1")

    assert await CoordinationManager.state(rt, "coordination_manager") == Coordination({}, (), 0)
    assert rt.monitor_count() == baseline
    rt.exit(first, "kill")
    assert (await CoordinationManager.state(rt, "coordination_manager")).orphaned == ()


# -- state_registry ---------------------------------------------------------------------------


async def test_1000_dead_key_holders_leave_only_the_agents(rt: Runtime, system: Pid) -> None:
    baseline = rt.monitor_count()
    assert await Registry.count(rt, "state_registry") == len(AGENTS)
    holders = [await start_unlinked(rt, KeyHolder, f"fake_{number}") for number in range(CROWD)]
    assert await Registry.count(rt, "state_registry") == len(AGENTS) + CROWD
    assert rt.monitor_count() == baseline + CROWD

    for pid in holders:
        rt.exit(pid, "kill")

    assert await Registry.count(rt, "state_registry") == len(AGENTS)
    assert rt.monitor_count() == baseline
    for agent_id in AGENTS:
        assert await Registry.lookup(rt, "state_registry", agent_id) == (whereis(rt, agent_id), "agent")
    assert await Registry.lookup(rt, "state_registry", "fake_0") is None


# -- rate_limiter ---------------------------------------------------------------------------


async def test_the_rate_limiter_is_configured_for_agent_actions(rt: Runtime, now: list[float], system: Pid) -> None:
    now[0] = 2000.0  # the start of a one-second window
    decisions = [await RateLimiter.check(rt, "rate_limiter", AGENT_ACTIONS, "agent_1") for _ in range(6)]

    assert [decision.allowed for decision in decisions] == [True] * AGENT_ACTIONS_PER_SECOND + [False] * 2
    assert (await RateLimiter.check(rt, "rate_limiter", AGENT_ACTIONS, "agent_2")).allowed
    now[0] += 1.0
    assert (await RateLimiter.check(rt, "rate_limiter", AGENT_ACTIONS, "agent_1")).allowed


@pytest.mark.parametrize("service", ["rate_limiter", "signal_router", "coordination_manager", "agent_registry"])
async def test_a_killed_service_is_back_and_working_after_services_restarts_it(
    rt: Runtime, system: Pid, service: str
) -> None:
    siblings = await child_pids(rt, "services")

    rt.exit(siblings[service], "kill")
    after = await child_pids(rt, "services")

    assert after[service] is not siblings[service] and rt.whereis(service) is after[service]
    assert {child_id: pid for child_id, pid in after.items() if child_id != service} == {
        child_id: pid for child_id, pid in siblings.items() if child_id != service
    }
    assert (await RateLimiter.check(rt, "rate_limiter", AGENT_ACTIONS, "anyone")).allowed
    assert await CoordinationManager.state(rt, "coordination_manager") == Coordination({}, (), 0)
