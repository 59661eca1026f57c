"""Tests for observer.system.tree: the shape of the default system and its restart cascades."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from observer.runtime import Pid, Runtime, Supervisor
from observer.system import Agent, start_system

from . import AGENTS, ROOT_CHILDREN, SERVICES, EventLog, agent_pids, child_pids, down_of, whereis

# -- the shape ----------------------------------------------------------------------------


async def test_start_system_returns_the_root_registered_as_system(rt: Runtime, system: Pid) -> None:
    assert rt.whereis("system") is system
    info = rt.process_info(system)
    assert info is not None
    assert info.kind == "supervisor"
    assert info.parent is None


async def test_root_children_in_start_order_each_registered_under_its_id(rt: Runtime) -> None:
    log = EventLog(rt)
    system = await start_system(rt, workload=False)
    children = await Supervisor.which_children(rt, system)
    log.unsubscribe()

    assert log.names("child_started", system) == list(ROOT_CHILDREN)
    assert log.names("child_started", whereis(rt, "services")) == list(SERVICES)
    assert [child.id for child in children] == list(ROOT_CHILDREN)
    assert [child.type for child in children] == ["supervisor", "worker", "supervisor", "supervisor"]
    assert all(child.restart == "permanent" for child in children)
    for child in children:
        assert isinstance(child.pid, Pid)
        assert rt.whereis(str(child.id)) is child.pid


async def test_nested_children_are_registered_under_their_ids(rt: Runtime, system: Pid) -> None:
    state = await child_pids(rt, "state_supervisor")
    services = await child_pids(rt, "services")
    agents = await agent_pids(rt)

    assert list(state) == ["state_store"]
    assert list(services) == list(SERVICES)
    assert list(agents) == list(AGENTS)
    for child_id, pid in {**state, **services, **agents}.items():
        assert isinstance(pid, Pid)
        assert rt.whereis(str(child_id)) is pid
    kinds = {name: rt.process_info(whereis(rt, name)) for name in ("agent_supervisor", "state_registry")}
    assert {name: info.kind if info else None for name, info in kinds.items()} == {
        "agent_supervisor": "dynamic_supervisor",
        "state_registry": "server",
    }


async def test_workload_is_the_last_child_when_enabled(rt: Runtime) -> None:
    # An interval far beyond the test: the workload is in the tree but never acts.
    root = await start_system(rt, workload=True, workload_interval=3600)

    children = await child_pids(rt, root)

    assert list(children) == [*ROOT_CHILDREN, "workload"]
    assert rt.whereis("workload") is children["workload"]


@pytest.mark.parametrize("agents", [0, 1, 5])
async def test_agents_are_agent_1_to_n(rt: Runtime, agents: int) -> None:
    await start_system(rt, agents=agents, workload=False)

    pids = await agent_pids(rt)

    expected = [f"agent_{number}" for number in range(1, agents + 1)]
    assert list(pids) == expected
    for agent_id in expected:
        assert rt.whereis(agent_id) is pids[agent_id]
        assert await Agent.state(rt, agent_id) == {}
    assert rt.whereis(f"agent_{agents + 1}") is None


async def test_strategies(rt: Runtime, system: Pid) -> None:
    strategies = {}
    for name in ("system", "state_supervisor", "services"):
        supervisor = rt.server_of(whereis(rt, name))
        assert isinstance(supervisor, Supervisor)
        strategies[name] = supervisor.strategy

    assert strategies == {"system": "rest_for_one", "state_supervisor": "one_for_one", "services": "one_for_one"}


async def test_root_gives_up_after_3_restarts_in_5_seconds(rt: Runtime, now: list[float], system: Pid) -> None:
    async with rt.attached() as me:
        me.monitor(system)
        for restart in range(3):
            rt.exit(whereis(rt, "state_registry"), "kill")
            assert list(await child_pids(rt, system)) == list(ROOT_CHILDREN), f"restart {restart + 1}"
            now[0] += 1.0

        rt.exit(whereis(rt, "state_registry"), "kill")  # the 4th within 5 s

        assert (await down_of(me, system)).reason == "shutdown"
        assert rt.processes() == [me.pid]


async def test_root_restarts_spread_over_more_than_5_seconds_are_fine(
    rt: Runtime, now: list[float], system: Pid
) -> None:
    for _ in range(6):
        rt.exit(whereis(rt, "state_registry"), "kill")
        await child_pids(rt, system)
        now[0] += 2.0  # the window holds at most 3 of these restarts

    assert rt.whereis("system") is system


# -- restart cascades -------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["memory", "file"])
async def test_killing_state_supervisor_restarts_every_later_sibling_in_order_with_state_kept(
    rt: Runtime, tmp_path: Path, store: str
) -> None:
    store_path = tmp_path / "state.db" if store == "file" else None
    # With the workload in the tree (never acting) so that the whole order is checked.
    root = await start_system(rt, store_path=store_path, workload=True, workload_interval=3600)
    for number, agent_id in enumerate(AGENTS, 1):
        await Agent.put(rt, agent_id, "name", agent_id)
        await Agent.put(rt, agent_id, "scores", [number, number * 10])
        await Agent.put(rt, agent_id, "nested", {"level": {"deep": number}})
    states = {agent_id: await Agent.state(rt, agent_id) for agent_id in AGENTS}
    before = await child_pids(rt, root)
    agents_before = await agent_pids(rt)
    log = EventLog(rt)

    rt.exit(before["state_supervisor"], "kill")
    after = await child_pids(rt, root)  # settled: queued behind the exit message
    log.unsubscribe()

    assert list(after) == [*ROOT_CHILDREN, "workload"]
    for child_id, pid in after.items():
        assert isinstance(pid, Pid) and pid is not before[child_id], child_id
        assert rt.whereis(str(child_id)) is pid
    assert log.names("child_stopped", root) == ["workload", "agent_supervisor", "services", "state_registry"]
    assert log.names("child_started", root) == [*ROOT_CHILDREN, "workload"]
    began = [event for event in log.events if event.kind == "restart_began" and event.other is root]
    assert [(event.pid, event.reason) for event in began] == [(before["state_supervisor"], "killed")]
    agents_after = await agent_pids(rt)
    assert agents_after.keys() == agents_before.keys()
    assert all(agents_after[agent_id] is not agents_before[agent_id] for agent_id in AGENTS)
    assert {agent_id: await Agent.state(rt, agent_id) for agent_id in AGENTS} == states


async def test_killing_services_keeps_the_older_siblings(rt: Runtime, system: Pid) -> None:
    await Agent.put(rt, "agent_2", "kept", True)
    before = await child_pids(rt, system)
    log = EventLog(rt)

    rt.exit(before["services"], "kill")
    after = await child_pids(rt, system)
    log.unsubscribe()

    assert after["state_supervisor"] is before["state_supervisor"]
    assert after["state_registry"] is before["state_registry"]
    assert after["services"] is not before["services"]
    assert after["agent_supervisor"] is not before["agent_supervisor"]
    assert log.names("child_stopped", system) == ["agent_supervisor"]
    assert log.names("child_started", system) == ["services", "agent_supervisor"]
    assert list(await child_pids(rt, "services")) == list(SERVICES)
    assert await Agent.state(rt, "agent_2") == {"kept": True}


async def test_a_service_killed_4_times_in_5_seconds_takes_services_down_and_the_root_restarts_it(
    rt: Runtime, system: Pid
) -> None:
    # The fake clock stands still: all four kills fall in one window.
    root = system
    await Agent.put(rt, "agent_1", "survives", "the cascade")
    before = await child_pids(rt, root)
    agents_before = await agent_pids(rt)

    async with rt.attached() as me:
        me.monitor(before["services"])
        for kill in range(3):
            limiter = whereis(rt, "rate_limiter")
            rt.exit(limiter, "kill")
            restarted = (await child_pids(rt, "services"))["rate_limiter"]
            assert isinstance(restarted, Pid) and restarted is not limiter, f"kill {kill + 1}"
        rt.exit(whereis(rt, "rate_limiter"), "kill")

        assert (await down_of(me, before["services"])).reason == "shutdown"

    after = await child_pids(rt, root)
    assert after["state_supervisor"] is before["state_supervisor"]
    assert after["state_registry"] is before["state_registry"]
    assert after["services"] is not before["services"]
    assert after["agent_supervisor"] is not before["agent_supervisor"]
    assert list(await child_pids(rt, "services")) == list(SERVICES)
    agents_after = await agent_pids(rt)
    assert all(agents_after[agent_id] is not agents_before[agent_id] for agent_id in AGENTS)
    assert await Agent.state(rt, "agent_1") == {"survives": "the cascade"}
    assert rt.whereis("system") is root


async def test_services_takes_4_service_restarts_spread_over_more_than_5_seconds(
    rt: Runtime, now: list[float], system: Pid
) -> None:
    services = whereis(rt, "services")
    for _ in range(4):
        rt.exit(whereis(rt, "signal_router"), "kill")
        await child_pids(rt, "services")
        now[0] += 2.0

    assert rt.whereis("services") is services


# -- shutdown ---------------------------------------------------------------------------------


async def test_leaving_the_runtime_with_the_whole_system_running_leaves_no_task() -> None:
    before = asyncio.all_tasks()
    async with Runtime() as rt:
        await start_system(rt, agents=5, workload=True, workload_interval=0.01)
        await Agent.put(rt, "agent_3", "k", "v")
        assert len(asyncio.all_tasks()) > len(before)

    assert asyncio.all_tasks() == before
    assert rt.processes() == []
    assert rt.monitor_count() == 0
