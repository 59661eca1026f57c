"""Bad input: each mistake raises a named error whose message says what was wrong and what was given."""

from __future__ import annotations

import math
from typing import Any

import pytest

from observer.runtime import InvalidArgument, NoProc, NotRunning, ObserverError, Pid, Process, Ref, Runtime, Server

from .helpers import idle


class Echo(Server):
    async def handle_call(self, request: Any, caller: Any) -> Any:
        return request


def says(error: pytest.ExceptionInfo[ObserverError], given: Any, *what: str) -> None:
    """The message names what was given and contains each of `what`."""
    message = str(error.value)
    assert repr(given) in message, message
    for words in what:
        assert words in message, message


def not_async(proc: Process) -> None:
    """A plain function where an async one is needed."""


BAD_TIMEOUTS = [
    pytest.param(-1, id="negative"),
    pytest.param(-0.5, id="negative-float"),
    pytest.param(math.nan, id="nan"),
    pytest.param("1", id="str"),
    pytest.param(True, id="bool"),
]
NOT_PIDS = [
    pytest.param("worker", id="name"),
    pytest.param(3, id="int"),
    pytest.param(None, id="none"),
]
BAD_NAMES = [
    pytest.param("", id="empty"),
    pytest.param(42, id="int"),
    pytest.param(("a", "b"), id="tuple"),
]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(not_async, id="function"),
        pytest.param(lambda proc: idle(proc), id="lambda-returning-a-coroutine"),
        pytest.param("idle", id="str"),
    ],
)
async def test_spawn_needs_an_async_function(rt: Runtime, body: Any) -> None:
    with pytest.raises(InvalidArgument) as raised:
        rt.spawn(body)
    says(raised, body, "async")
    assert rt.processes() == []


async def test_spawn_link_must_be_a_pid(rt: Runtime) -> None:
    with pytest.raises(InvalidArgument) as raised:
        rt.spawn(idle, link="parent")  # type: ignore[arg-type]
    says(raised, "parent", "link")
    assert rt.processes() == []


async def test_spawn_outside_a_running_runtime_raises_not_running() -> None:
    rt = Runtime()
    with pytest.raises(NotRunning, match="not running"):
        rt.spawn(idle)
    with pytest.raises(NotRunning, match="not running"):
        async with rt.attached():
            pass


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
async def test_call_rejects_a_bad_timeout(rt: Runtime, timeout: Any) -> None:
    server = await Echo.start_link(rt)
    assert server is not None
    with pytest.raises(InvalidArgument) as raised:
        await rt.call(server, "hello", timeout=timeout)
    says(raised, timeout, "timeout")
    assert await rt.call(server, "still answering") == "still answering"


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
async def test_receive_rejects_a_bad_timeout(rt: Runtime, timeout: Any) -> None:
    async with rt.attached() as me:
        with pytest.raises(InvalidArgument) as raised:
            await me.receive(timeout=timeout)
        says(raised, timeout, "timeout")


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
async def test_stop_rejects_a_bad_timeout(rt: Runtime, timeout: Any) -> None:
    server = await Echo.start_link(rt)
    assert server is not None
    with pytest.raises(InvalidArgument) as raised:
        await rt.stop(server, timeout=timeout)
    says(raised, timeout, "timeout")
    assert rt.is_alive(server)


async def use_destination(rt: Runtime, operation: str, dest: Any) -> None:
    if operation == "send":
        rt.send(dest, "hello")
    elif operation == "call":
        await rt.call(dest, "hello")
    else:
        await rt.stop(dest)


@pytest.mark.parametrize("operation", ["send", "call", "stop"])
async def test_an_unknown_name_raises_no_proc(rt: Runtime, operation: str) -> None:
    with pytest.raises(NoProc) as raised:
        await use_destination(rt, operation, "nobody")
    says(raised, "nobody", "no process")
    assert raised.value.dest == "nobody"


@pytest.mark.parametrize("operation", ["send", "call", "stop"])
@pytest.mark.parametrize("dest", [pytest.param(42, id="int"), pytest.param(["worker"], id="list")])
async def test_a_destination_that_is_neither_pid_nor_name_is_invalid(rt: Runtime, dest: Any, operation: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await use_destination(rt, operation, dest)
    says(raised, dest, "Pid or a registered name")


def use_pid(me: Process, operation: str, pid: Any) -> None:
    if operation == "link":
        me.link(pid)
    elif operation == "unlink":
        me.unlink(pid)
    elif operation == "monitor":
        me.monitor(pid)
    else:
        me.runtime.exit(pid, "boom")


@pytest.mark.parametrize("not_a_pid", NOT_PIDS)
@pytest.mark.parametrize("operation", ["link", "unlink", "monitor", "exit"])
async def test_link_unlink_monitor_and_exit_need_a_pid(rt: Runtime, not_a_pid: Any, operation: str) -> None:
    async with rt.attached() as me:
        with pytest.raises(InvalidArgument) as raised:
            use_pid(me, operation, not_a_pid)
        says(raised, not_a_pid, f"{operation}() needs a Pid")
        assert rt.monitor_count() == 0
        assert rt.processes() == [me.pid]


@pytest.mark.parametrize("not_a_ref", [pytest.param("ref", id="str"), pytest.param(1, id="int")])
async def test_demonitor_needs_a_ref(rt: Runtime, not_a_ref: Any) -> None:
    async with rt.attached() as me:
        with pytest.raises(InvalidArgument) as raised:
            me.demonitor(not_a_ref)
        says(raised, not_a_ref, "Ref")
        assert isinstance(me.monitor(rt.spawn(idle)), Ref)


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_register_and_spawn_need_a_non_empty_str_name(rt: Runtime, name: Any) -> None:
    pid = rt.spawn(idle)
    with pytest.raises(InvalidArgument) as by_register:
        rt.register(name, pid)
    with pytest.raises(InvalidArgument) as by_spawn:
        rt.spawn(idle, name=name)
    for raised in (by_register, by_spawn):
        says(raised, name, "name must be a non-empty str")
    assert rt.processes() == [pid]


async def test_register_needs_a_pid(rt: Runtime) -> None:
    with pytest.raises(InvalidArgument) as raised:
        rt.register("worker", "not a pid")  # type: ignore[arg-type]
    says(raised, "not a pid", "needs a Pid")


async def test_register_needs_a_live_pid(rt: Runtime) -> None:
    async with rt.attached() as me:
        dead = rt.spawn(idle)
        me.monitor(dead)
        rt.exit(dead, "kill")
        await me.receive()
    with pytest.raises(NoProc) as raised:
        rt.register("worker", dead)
    says(raised, dead, "only a live process can be registered")


async def test_cast_to_an_unhashable_destination_does_not_raise(rt: Runtime) -> None:
    rt.cast(["not", "a", "name"], "request")  # type: ignore[arg-type]


async def test_stop_on_a_plain_process_is_invalid(rt: Runtime) -> None:
    pid: Pid = rt.spawn(idle)
    with pytest.raises(InvalidArgument) as raised:
        await rt.stop(pid)
    says(raised, pid, "not a server")
    assert rt.is_alive(pid)
