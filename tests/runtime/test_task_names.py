"""Every process's asyncio task is named `<0.N.0> label`, so py-spy, aiomonitor and all_tasks() say which is which."""

from __future__ import annotations

import asyncio

from observer.runtime import Pid, Process, Runtime, Server, Supervisor

from .helpers import idle


class Cache(Server):
    pass


async def worker_body(proc: Process) -> None:
    await idle(proc)


def task_names() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks()}


async def test_a_named_server_task_is_named_after_its_pid_and_name(rt: Runtime) -> None:
    pid = await Cache.start_link(rt, name="cache")
    assert isinstance(pid, Pid)
    assert f"<0.{pid.id}.0> cache" in task_names()


async def test_an_unnamed_server_task_is_named_after_its_class(rt: Runtime) -> None:
    pid = await Cache.start_link(rt)
    assert isinstance(pid, Pid)
    assert f"{pid!r} Cache" in task_names()


async def test_a_spawned_process_task_is_named_after_its_function_or_its_name(rt: Runtime) -> None:
    unnamed = rt.spawn(worker_body)
    named = rt.spawn(worker_body, name="janitor")

    names = task_names()

    assert f"{unnamed!r} worker_body" in names
    assert f"{named!r} janitor" in names


async def test_a_local_function_is_named_by_its_qualified_name(rt: Runtime) -> None:
    async def body(proc: Process) -> None:
        await idle(proc)

    pid = rt.spawn(body)

    assert f"{pid!r} test_a_local_function_is_named_by_its_qualified_name.<locals>.body" in task_names()


async def test_every_process_of_a_tree_has_its_own_task_name(rt: Runtime) -> None:
    sup = await Supervisor.start_link(rt, [Cache.child_spec(id="c1", name="c1"), Cache.child_spec(id="c2")])
    c1 = rt.whereis("c1")
    children = [child.pid for child in await Supervisor.which_children(rt, sup)]

    names = task_names()

    assert f"{sup!r} Supervisor" in names
    assert f"{c1!r} c1" in names
    assert f"{children[1]!r} Cache" in names
    runtime_tasks = [name for name in names if name.startswith("<0.")]
    assert len(runtime_tasks) == len(rt.processes()) == 3
    assert not any("Runtime._run" in name for name in names)
