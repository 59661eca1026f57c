"""Process bodies and waits shared by the runtime tests."""

from __future__ import annotations

import asyncio
from typing import Any

from observer.runtime import Down, Exit, ExitMessage, Pid, Process, Runtime

GUARD = 5.0
"""Seconds a test waits for a message that must come; only a bug makes a wait this long."""


async def idle(proc: Process) -> None:
    """Take messages and ignore them, forever."""
    while True:
        await proc.receive()


async def end_on_go(proc: Process, reason: Any) -> None:
    """Wait for "go", then end with `reason` (an exception instance is raised: a crash)."""
    await proc.receive(match=lambda message: message == "go")
    if isinstance(reason, BaseException):
        raise reason
    raise Exit(reason)


def is_runtime_shutdown(message: Any) -> bool:
    """The exit signal a trapping process gets when the runtime shuts down (it has no sender)."""
    return type(message) is ExitMessage and message.pid is None and message.reason == "shutdown"


async def forward(proc: Process, to: Pid) -> None:
    """Send every message it receives on to `to`, until the runtime shuts down."""
    while not is_runtime_shutdown(message := await proc.receive()):
        proc.runtime.send(to, message)


async def resolve(proc: Process, result: asyncio.Future[Any]) -> None:
    """Resolve `result` with the first message; for observing from outside any process."""
    result.set_result(await proc.receive())


async def down_of(me: Process, pid: Pid) -> Down:
    """The `Down` about `pid` (other messages stay queued)."""
    message = await me.receive(match=lambda m: type(m) is Down and m.pid is pid, timeout=GUARD)
    assert isinstance(message, Down)
    return message


async def exit_message_of(me: Process, pid: Pid | None) -> ExitMessage:
    """The `ExitMessage` from `pid` (other messages stay queued)."""
    message = await me.receive(match=lambda m: type(m) is ExitMessage and m.pid is pid, timeout=GUARD)
    assert isinstance(message, ExitMessage)
    return message


async def exit_reason(me: Process, pid: Pid) -> Any:
    """Monitor `pid` and return the reason it exits with."""
    me.monitor(pid)
    return (await down_of(me, pid)).reason


async def dead_pid(rt: Runtime, me: Process) -> Pid:
    """The pid of a process that has ended."""
    pid = rt.spawn(end_on_go, "normal")
    rt.send(pid, "go")
    await exit_reason(me, pid)
    return pid


def mailbox_size(rt: Runtime, pid: Pid) -> int:
    info = rt.process_info(pid)
    assert info is not None
    return info.mailbox_size
