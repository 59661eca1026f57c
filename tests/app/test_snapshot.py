"""Unit tests of SnapshotBuilder on a real runtime: what a snapshot holds and what it reuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from observer.journal import MISSING, Journal
from observer.runtime import DynamicSupervisor, Pid, Runtime, Supervisor
from observer.snapshot import NodeSnapshot, SnapshotBuilder

from .trees import Worker, big_tree, demo_tree


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    """A running runtime with a fixed clock."""
    async with Runtime(clock=lambda: 1000.0) as runtime:
        yield runtime


def builder_for(rt: Runtime, **options: int) -> tuple[SnapshotBuilder, Journal]:
    journal = Journal()
    rt.subscribe(journal.record)
    return SnapshotBuilder(rt, journal, started_at=1000.0, **options), journal


def child(node: NodeSnapshot, label: str) -> NodeSnapshot:
    return next(c for c in node.children if c.label == label)


async def restarted(rt: Runtime) -> None:
    """Wait for the next "restarted" event (the runtime delivers it once the child is back)."""
    done = asyncio.get_running_loop().create_future()
    unsubscribe = rt.subscribe(lambda e: done.set_result(None) if e.kind == "restarted" and not done.done() else None)
    try:
        await asyncio.wait_for(done, 5.0)
    finally:
        unsubscribe()


async def test_a_snapshot_holds_the_tree_with_kinds_strategies_and_statuses(rt: Runtime) -> None:
    builder, _ = builder_for(rt)
    root = await demo_tree(rt)
    snapshot = builder.take(root)
    tree = snapshot.root
    assert tree is not None
    assert (tree.label, tree.kind, tree.strategy, tree.status, tree.name) == (
        "demo", "supervisor", "rest_for_one", "running", "demo",
    )
    assert [c.label for c in tree.children] == ["store", "services", "agents", "watcher", "scratch"]
    agents = child(tree, "agents")
    assert (agents.kind, agents.strategy, agents.child_count) == ("dynamic_supervisor", "one_for_one", 3)
    assert child(tree, "scratch").restart == "temporary"
    assert child(child(tree, "services"), "rate_limiter").kind == "server"
    assert snapshot.process_count == len(rt.processes()) == 12
    assert (snapshot.uptime, snapshot.root_alive, snapshot.bucket_total) == (0.0, True, 3)
    [carol, bob, alice] = snapshot.buckets
    assert (carol.key, carol.count, carol.limit, carol.denied, carol.left_ms) == ("carol", 10, 10, 3, 1000.0)


async def test_nothing_changed_means_the_same_objects(rt: Runtime) -> None:
    builder, _ = builder_for(rt)
    root = await demo_tree(rt)
    first = builder.take(root)
    second = builder.take(root)
    assert second.root is first.root and second.log is first.log and second.monitors is first.monitors


async def test_a_restart_rebuilds_only_the_path_to_the_restarted_child(rt: Runtime) -> None:
    builder, _ = builder_for(rt)
    root = await demo_tree(rt)
    first = builder.take(root)
    assert first.root is not None
    router = rt.whereis("router")
    assert router is not None
    rt.exit(router, "kill")
    await restarted(rt)
    second = builder.take(root)
    assert second.root is not None and second.root is not first.root
    services_before, services_after = child(first.root, "services"), child(second.root, "services")
    router_after = child(services_after, "router")
    assert router_after.pid is rt.whereis("router") and router_after.restarts == 1
    assert router_after.previous_pid is router
    assert child(services_after, "cache") is child(services_before, "cache")
    assert child(second.root, "agents") is child(first.root, "agents")


async def test_stopped_children_keep_their_slot_and_remember_the_pid_they_had(rt: Runtime) -> None:
    builder, journal = builder_for(rt)
    root = await demo_tree(rt)
    builder.take(root)
    services = rt.whereis("services")
    cache = rt.whereis("cache")
    assert services is not None and cache is not None
    await Supervisor.terminate_child(rt, services, "cache")
    snapshot = builder.take(root)
    assert snapshot.root is not None
    node = child(child(snapshot.root, "services"), "cache")
    assert (node.status, node.pid, node.previous_pid, node.kind) == ("stopped", None, cache, "worker")
    detail = builder.detail(node, child(snapshot.root, "services"))
    assert not detail.alive and detail.last_exit == journal.exit_reason(cache) == "shutdown"


async def test_a_big_supervisor_is_folded_unless_opened(rt: Runtime) -> None:
    builder, _ = builder_for(rt, fold_over=50)
    root = await big_tree(rt, workers=80)
    snapshot = builder.take(root)
    assert snapshot.root is not None
    pool = child(snapshot.root, "pool")
    assert (pool.folded, pool.child_count, pool.children) == (True, 80, ())
    opened = builder.take(root, opened=frozenset({("big", "pool")}))
    assert opened.root is not None
    pool = child(opened.root, "pool")
    assert not pool.folded and len(pool.children) == 80 and pool.children[0].label == "w0"


async def test_siblings_sharing_an_id_get_distinct_slots(rt: Runtime) -> None:
    builder, _ = builder_for(rt)
    sup = await DynamicSupervisor.start_link(rt, name="pool")
    for _ in range(3):
        await DynamicSupervisor.start_child(rt, sup, Worker.child_spec(id="same"))
    snapshot = builder.take(sup)
    assert snapshot.root is not None
    slots = [c.slot for c in snapshot.root.children]
    pids = [c.pid for c in snapshot.root.children]
    assert all(isinstance(pid, Pid) for pid in pids)
    assert slots == ["same", *(f"same#{pid.id}" for pid in pids[1:] if pid is not None)]


async def test_the_root_exiting_is_in_the_snapshot(rt: Runtime) -> None:
    builder, _ = builder_for(rt)
    root = await demo_tree(rt)
    builder.take(root)
    done = asyncio.get_running_loop().create_future()
    rt.subscribe(lambda e: done.set_result(None) if e.kind == "exited" and e.pid is root and not done.done() else None)
    rt.exit(root, "kill")
    await done
    snapshot = builder.take(root)
    assert snapshot.root is not None
    assert (snapshot.root_alive, snapshot.root_exit, snapshot.root.status, snapshot.root.label) == (
        False, "killed", "exited", "demo",
    )
    assert snapshot.root.children == ()


async def test_without_a_rate_limiter_there_are_no_buckets(rt: Runtime) -> None:
    builder, _ = builder_for(rt)
    root = await big_tree(rt, workers=1)
    snapshot = builder.take(root)
    assert (snapshot.buckets, snapshot.bucket_total) == ((), 0)


async def test_the_detail_of_a_live_process(rt: Runtime) -> None:
    builder, _ = builder_for(rt)
    root = await demo_tree(rt)
    snapshot = builder.take(root)
    assert snapshot.root is not None
    watcher = child(snapshot.root, "watcher")
    detail = builder.detail(watcher, snapshot.root)
    assert detail.alive and detail.status == "waiting" and detail.monitors == 2 and detail.monitored_by == 0
    assert detail.links == ((root, f"demo {root!r}"),) and detail.parent_label == f"demo {root!r}"
    assert detail.last_exit is MISSING and detail.uptime == 0.0 and not detail.trap_exits
    assert isinstance(watcher.pid, Pid)
