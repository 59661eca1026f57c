"""Tests for observer.system.agents: write-through state, its errors, and synchronous signals."""

from __future__ import annotations

from typing import Any

import pytest

from observer.runtime import InvalidArgument, Pid, Runtime, Supervisor
from observer.runtime.signal_router import SignalRouter
from observer.system import Agent, AgentRegistry, ServiceUnavailable, StateStore, start_system

from . import AGENTS, Idle, Rejoined, agent_pids, child_pids, start_unlinked, whereis

# -- state ------------------------------------------------------------------------------------


async def test_put_writes_through_to_the_store_before_it_returns(rt: Runtime, system: Pid) -> None:
    await Agent.put(rt, "agent_1", "colour", "green")
    await Agent.put(rt, "agent_1", "size", 3)

    assert await Agent.state(rt, "agent_1") == {"colour": "green", "size": 3}
    assert await StateStore.get(rt, "state_store", "agent_1") == {"colour": "green", "size": 3}
    assert await StateStore.get(rt, "state_store", "agent_2") is None


async def test_put_replaces_a_key(rt: Runtime, system: Pid) -> None:
    await Agent.put(rt, "agent_2", "n", 1)
    await Agent.put(rt, "agent_2", "n", 2)

    assert await Agent.state(rt, "agent_2") == {"n": 2}


async def test_a_killed_agent_comes_back_with_its_state(rt: Runtime, system: Pid) -> None:
    await Agent.put(rt, "agent_3", "k", {"a": [1, 2, None], "b": 1.5})
    old = whereis(rt, "agent_3")

    rt.exit(old, "kill")
    new = (await agent_pids(rt))["agent_3"]

    assert isinstance(new, Pid) and new is not old
    assert rt.whereis("agent_3") is new
    assert await Agent.state(rt, "agent_3") == {"k": {"a": [1, 2, None], "b": 1.5}}
    assert (await AgentRegistry.agents(rt, "agent_registry"))["agent_3"] is new


@pytest.mark.parametrize(
    "value",
    [(1, 2), {"outer": (3, 4)}, {1: "int key"}],
    ids=["tuple", "nested-tuple", "int-key"],
)
async def test_state_after_a_restart_equals_state_before(rt: Runtime, system: Pid, value: Any) -> None:
    await Agent.put(rt, "agent_1", "value", value)
    before = await Agent.state(rt, "agent_1")

    rt.exit(whereis(rt, "agent_1"), "kill")
    await agent_pids(rt)

    assert await Agent.state(rt, "agent_1") == before


async def test_the_state_a_caller_gets_is_a_copy(rt: Runtime, system: Pid) -> None:
    await Agent.put(rt, "agent_1", "items", [1])

    state = await Agent.state(rt, "agent_1")
    state["items"].append(2)
    state["other"] = True

    assert await Agent.state(rt, "agent_1") == {"items": [1]}


async def test_a_value_put_is_not_shared_with_the_caller(rt: Runtime, system: Pid) -> None:
    items = [1]
    await Agent.put(rt, "agent_1", "items", items)

    items.append(2)

    assert await Agent.state(rt, "agent_1") == {"items": [1]}
    assert await StateStore.get(rt, "state_store", "agent_1") == {"items": [1]}


# -- put errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [1, None, ("a", "b"), b"bytes"])
async def test_a_key_that_is_not_a_str_is_an_invalid_argument(rt: Runtime, system: Pid, key: Any) -> None:
    await Agent.put(rt, "agent_1", "before", 1)

    with pytest.raises(InvalidArgument, match="key must be a str") as raised:
        await Agent.put(rt, "agent_1", key, "value")

    assert repr(key) in str(raised.value)
    assert await Agent.state(rt, "agent_1") == {"before": 1}


@pytest.mark.parametrize(
    "value",
    [{1, 2}, object(), b"bytes", {"nested": {"deeper": {3}}}, {(1, 2): "tuple key"}],
    ids=["set", "object", "bytes", "nested-set", "tuple-key"],
)
async def test_a_value_that_is_not_json_is_an_invalid_argument(rt: Runtime, system: Pid, value: Any) -> None:
    await Agent.put(rt, "agent_1", "before", 1)
    pid = whereis(rt, "agent_1")

    with pytest.raises(InvalidArgument, match="JSON-serialisable") as raised:
        await Agent.put(rt, "agent_1", "bad", value)

    assert "'bad'" in str(raised.value)
    assert await Agent.state(rt, "agent_1") == {"before": 1}
    assert await StateStore.get(rt, "state_store", "agent_1") == {"before": 1}
    assert rt.whereis("agent_1") is pid  # a bad argument is the caller's error, not a crash


async def test_a_circular_value_is_an_invalid_argument(rt: Runtime, system: Pid) -> None:
    circular: list[Any] = []
    circular.append(circular)

    with pytest.raises(InvalidArgument):
        await Agent.put(rt, "agent_1", "loop", circular)

    assert await Agent.state(rt, "agent_1") == {}


async def test_put_while_the_store_is_down_is_service_unavailable_and_changes_nothing(
    rt: Runtime, system: Pid
) -> None:
    await Agent.put(rt, "agent_1", "before", 1)
    await Supervisor.terminate_child(rt, "state_supervisor", "state_store")

    with pytest.raises(ServiceUnavailable, match="state_store is unavailable") as raised:
        await Agent.put(rt, "agent_1", "during", 2)

    assert raised.value.service == "state_store"
    assert await Agent.state(rt, "agent_1") == {"before": 1}

    await Supervisor.restart_child(rt, "state_supervisor", "state_store")
    await Agent.put(rt, "agent_1", "after", 3)

    assert await Agent.state(rt, "agent_1") == {"before": 1, "after": 3}
    assert await StateStore.get(rt, "state_store", "agent_1") == {"before": 1, "after": 3}


# -- signals ----------------------------------------------------------------------------------


async def test_each_agent_subscribes_to_its_own_signals(rt: Runtime, system: Pid) -> None:
    subscriptions = await SignalRouter.subscriptions(rt, "signal_router")

    assert subscriptions == [(f"agent.{agent_id}.**", whereis(rt, agent_id)) for agent_id in AGENTS]


async def test_route_sync_has_delivered_by_the_time_it_returns(rt: Runtime, system: Pid) -> None:
    seen = {agent_id: await Agent.signals_seen(rt, agent_id) for agent_id in AGENTS}

    delivered = await SignalRouter.route_sync(rt, "signal_router", "agent.agent_1.ping", {"n": 1})

    assert delivered == 1
    # The agent's next call is queued behind the RoutedSignal, so it has counted it.
    assert await Agent.signals_seen(rt, "agent_1") == seen["agent_1"] + 1
    assert await Agent.signals_seen(rt, "agent_2") == seen["agent_2"]
    assert await SignalRouter.route_sync(rt, "signal_router", "agent.agent_2.deep.er", None) == 1
    assert await SignalRouter.route_sync(rt, "signal_router", "agent.agent_9.ping", None) == 0
    assert await Agent.signals_seen(rt, "agent_2") == seen["agent_2"] + 1


async def test_route_sync_counts_only_live_handlers(rt: Runtime, system: Pid) -> None:
    extra = await start_unlinked(rt, Idle)
    await SignalRouter.subscribe(rt, "signal_router", "agent.*.ping", extra)
    assert await SignalRouter.route_sync(rt, "signal_router", "agent.agent_1.ping", None) == 2

    rt.exit(extra, "kill")

    assert await SignalRouter.route_sync(rt, "signal_router", "agent.agent_1.ping", None) == 1
    assert await Agent.signals_seen(rt, "agent_1") == 2


async def test_agents_subscribe_again_after_the_signal_router_restarts(rt: Runtime, system: Pid) -> None:
    agents = {agent_id: whereis(rt, agent_id) for agent_id in AGENTS}
    old_router = whereis(rt, "signal_router")
    baseline = rt.monitor_count()
    rejoined = Rejoined(rt, "signal_router", old_router, agents.values())

    rt.exit(old_router, "kill")
    new_router = (await child_pids(rt, "services"))["signal_router"]
    await rejoined.wait()

    assert isinstance(new_router, Pid) and new_router is not old_router
    assert await SignalRouter.subscriptions(rt, new_router) == [
        (f"agent.{agent_id}.**", pid) for agent_id, pid in agents.items()
    ]
    assert {agent_id: rt.whereis(agent_id) for agent_id in AGENTS} == agents  # no agent restarted
    assert await SignalRouter.route_sync(rt, "signal_router", "agent.agent_3.ping", None) == 1
    assert await Agent.signals_seen(rt, "agent_3") == 1
    assert rt.monitor_count() == baseline


async def test_emit_is_synchronous_and_counts_the_live_handlers() -> None:
    """Agent.emit returns after delivery: the agent has seen the signal when it returns."""
    async with Runtime() as rt:
        await start_system(rt, workload=False)
        before = await Agent.signals_seen(rt, "agent_2")
        assert await Agent.emit(rt, "agent_2", "ping", {"n": 1}) == 1
        assert await Agent.signals_seen(rt, "agent_2") == before + 1
        assert await Agent.emit(rt, "agent_404", "ping", None) == 0
