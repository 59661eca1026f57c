"""Eager start (Python 3.12+): `start_link` runs the child's first steps inside its own call.

The caller is running meanwhile, so a kill of the caller during those steps cannot be a cancel;
and an eager task skips the loop's task factory, so with one installed the start is not eager.
On 3.11 the child's init always runs in its own task; the contracts below hold there too and are
checked on both interpreters, only the test that the eager path is taken is 3.12+.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import AsyncIterator
from typing import Any

import pytest

from observer.runtime import Caller, Exit, Pid, Process, Runtime, Server, StartError, Supervisor

from .helpers import dead_pid, idle

EAGER = sys.version_info >= (3, 12)


class Echo(Server):
    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


class RecordsItsStack(Server):
    async def init(self, stack: list[str]) -> None:
        stack.extend([frame.f_code.co_name for frame, _ in traceback.walk_stack(None)])


class LinksToTheDead(Server):
    async def init(self, dead: Pid) -> None:
        self.link(dead)  # "noproc": the server dies in init, and the exit kills its linked caller


@pytest.mark.skipif(not EAGER, reason="asyncio eager task start (eager_start=True) is new in Python 3.12")
async def test_without_a_task_factory_init_runs_inside_start_link(rt: Runtime) -> None:
    """The path the tests below take on 3.12: init is called from within `start_link`'s own step."""
    assert asyncio.get_running_loop().get_task_factory() is None
    stack: list[str] = []
    await RecordsItsStack.start_link(rt, stack)
    assert "start_link" in stack, stack


async def test_a_caller_killed_during_its_childs_init_exits_with_the_reason_and_no_stray_cancel(
    rt: Runtime,
) -> None:
    """On 3.12 the kill lands while the caller runs (below the eager start), on 3.11 while it waits."""
    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
    ran_on: list[str] = []
    with pytest.raises(Exit) as exited:
        async with rt.attached():
            try:
                await LinksToTheDead.start_link(rt, dead)
            except StartError as exc:
                ran_on.append(f"StartError({exc.reason!r})")  # a killed caller runs none of its code
            ran_on.append("after start_link")
    assert exited.value.reason == "noproc"
    assert ran_on == []
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    echo = await Echo.start_link(rt)
    assert echo is not None
    assert await rt.call(echo, "ping") == "ping"  # suspends: a pending cancellation would raise here


@pytest.fixture
async def task_factory() -> AsyncIterator[list[asyncio.Task[Any]]]:
    """Install a loop task factory (as aiomonitor or a tracer does) for the test; the tasks it made."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    made: list[asyncio.Task[Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        yield made
    finally:
        loop.set_task_factory(previous)


async def plain_body(proc: Process) -> None:
    await idle(proc)


async def test_an_installed_task_factory_sees_the_task_of_every_process(
    rt: Runtime, task_factory: list[asyncio.Task[Any]]
) -> None:
    spawned = rt.spawn(plain_body)
    server = await Echo.start_link(rt)
    sup = await Supervisor.start_link(rt, [Echo.child_spec(id="a"), Echo.child_spec(id="b")])
    children = [child.pid for child in await Supervisor.which_children(rt, sup)]
    assert isinstance(server, Pid) and isinstance(sup, Pid) and all(isinstance(pid, Pid) for pid in children)
    pids = [spawned, server, sup, *children]
    assert len(set(pids)) == 5

    seen = {task.get_name().split(" ", 1)[0] for task in task_factory}
    assert [pid for pid in pids if repr(pid) not in seen] == []
    assert await rt.call(server, "still served") == "still served"  # the factory's tasks run as usual
