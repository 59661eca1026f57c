"""No task outlives `async with Runtime()`, and the task table holds only live processes.

Two ways a process dies outside the ordinary path: it swallows the `Exit` of a signal it caused
itself and runs on, or it is killed inside `spawn`, before its task exists. Either way the runtime
still owns the task: shutdown waits for it, and no dead process stays in `Runtime._by_task`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from observer.runtime import Exit, Pid, Process, Runtime

from .helpers import dead_pid, down_of, idle


def pending_tasks_since(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """The tasks that are not done now and were not running when `before` was taken."""
    return asyncio.all_tasks() - before


def task_of(pid: Pid) -> asyncio.Task[Any]:
    """The pending task of `pid`, found by its name (`<0.N.0> label`, see test_task_names.py)."""
    tasks = [task for task in asyncio.all_tasks() if task.get_name().split(" ", 1)[0] == repr(pid)]
    assert len(tasks) == 1, tasks
    return tasks[0]


async def swallows_its_self_exit(proc: Process, swallowed: asyncio.Event) -> None:
    """Kill itself with "boom", swallow the `Exit` that raises here, then block (a buggy body)."""
    try:
        proc.runtime.exit(proc.pid, "boom")
    except Exit:
        swallowed.set()
    await asyncio.Event().wait()  # until cancelled


async def test_a_body_that_swallowed_its_self_exit_is_stopped_by_the_runtime_shutdown() -> None:
    before = asyncio.all_tasks()
    swallowed = asyncio.Event()
    async with Runtime(shutdown_timeout=0.1) as rt:
        async with rt.attached() as me:
            pid = rt.spawn(swallows_its_self_exit, swallowed)
            me.monitor(pid)
            down = await down_of(me, pid)
        # The Down is queued in the very step that raises the Exit the body swallows.
        assert swallowed.is_set()
        assert down.reason == "boom"
        assert not rt.is_alive(pid)
        task = task_of(pid)  # dead, and its body runs on: only the runtime can end it now
    try:
        assert task.done(), "a task the runtime started outlived `async with Runtime()`"
        assert pending_tasks_since(before) == set()
        assert rt._by_task == {}
    finally:
        task.cancel()  # when the check fails: do not leak it into the next test


async def test_a_process_killed_inside_spawn_is_not_in_the_task_table_and_is_awaited() -> None:
    before = asyncio.all_tasks()
    async with Runtime() as rt:
        async with rt.attached() as me:
            dead = await dead_pid(rt, me)
        pid = rt.spawn(idle, link=dead)  # dies of "noproc" inside spawn, before its task exists
        assert not rt.is_alive(pid)
        task = task_of(pid)  # made after the death: its first step returns at once
        assert task not in rt._by_task
        assert [proc for proc in rt._by_task.values() if proc._dead] == []
    try:
        assert task.done(), "shutdown did not wait for the task of a process killed before its first step"
        assert pending_tasks_since(before) == set()
        assert rt._by_task == {}
    finally:
        task.cancel()
