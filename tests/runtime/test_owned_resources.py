"""Owned resources (Server.enter_async_context / enter_context): closed newest first on every exit, then announced."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import pytest

from observer.runtime import (
    Caller,
    CallExit,
    Exit,
    Pid,
    Runtime,
    Server,
    StartError,
    Supervisor,
)

from .helpers import GUARD, down_of, exit_message_of

Log = list[tuple[Any, ...]]


class Boom(Exception):
    """A crash of a test server."""


class Resource:
    """An async context manager that writes its enter and exit into `log`.

    Its exit first yields to the loop (as closing a socket does), then writes whether its owner was
    still alive and what `watcher` had in its mailbox: both must say the exit was not announced yet.
    """

    def __init__(self, name: str, log: Log, rt: Runtime, watcher: Pid | None = None) -> None:
        self.name = name
        self.log = log
        self.rt = rt
        self.watcher = watcher
        self.owner: Pid | None = None

    async def __aenter__(self) -> str:
        self.log.append(("enter", self.name))
        return f"handle {self.name}"

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.sleep(0)  # a real close awaits: an exit announced too early would show by now
        assert self.owner is not None
        info = None if self.watcher is None else self.rt.process_info(self.watcher)
        self.log.append(("exit", self.name, self.rt.is_alive(self.owner), None if info is None else info.mailbox_size))


@contextmanager
def plain(name: str, log: Log) -> Iterator[str]:
    log.append(("enter", name))
    try:
        yield f"plain {name}"
    finally:
        log.append(("exit", name))


class Owner(Server):
    """Owns resources "a" (async), "b" (plain) and "c" (async), entered in that order.

    Requests: `("exit", reason)` raises Exit, `("crash", exc)` raises it; `terminate` is logged.
    """

    async def init(self, log: Log, watcher: Pid | None = None) -> None:
        self.log = log
        self.handles = []
        for name in ("a", "c"):
            resource = Resource(name, log, self.runtime, watcher)
            resource.owner = self.pid
            self.handles.append(await self.enter_async_context(resource))
            if name == "a":
                self.handles.append(self.enter_context(plain("b", log)))

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        if request == "handles":
            return self.handles
        await self.handle_cast(request)

    async def handle_cast(self, request: Any) -> None:
        match request:
            case ("exit", reason):
                raise Exit(reason)
            case ("crash", exc):
                raise exc
        raise AssertionError(f"unexpected request {request!r}")

    async def terminate(self, reason: Any) -> None:
        self.log.append(("terminate", reason))


class TrappingOwner(Owner):
    trap_exits = True


ENTERED = [("enter", "a"), ("enter", "b"), ("enter", "c")]


def closed(pending: int = 0) -> Log:
    """What the log must end with: c, b, a exited newest first, each while the owner was still alive."""
    return [("exit", "c", True, pending), ("exit", "b"), ("exit", "a", True, pending)]


async def start_owner(rt: Runtime, log: Log, watcher: Pid | None = None, server: type[Owner] = Owner) -> Pid:
    pid = await server.start_link(rt, log, watcher)
    assert pid is not None
    return pid


# -- entering -------------------------------------------------------------------------


async def test_entering_returns_what_the_context_gives(rt: Runtime) -> None:
    log: Log = []
    pid = await start_owner(rt, log)
    assert await rt.call(pid, "handles") == ["handle a", "plain b", "handle c"]
    assert log == ENTERED


# -- every way to end -------------------------------------------------------------


async def stop_normally(rt: Runtime, pid: Pid) -> None:
    await rt.stop(pid, "normal")


async def crash(rt: Runtime, pid: Pid) -> None:
    rt.cast(pid, ("crash", Boom("crashed")))


async def raise_exit(rt: Runtime, pid: Pid) -> None:
    rt.cast(pid, ("exit", "bye"))


async def kill(rt: Runtime, pid: Pid) -> None:
    rt.exit(pid, "kill")


async def exit_signal(rt: Runtime, pid: Pid) -> None:
    rt.exit(pid, "other")


ENDINGS: list[tuple[Callable[[Runtime, Pid], Any], Any, bool]] = [
    (stop_normally, "normal", True),
    (crash, Boom, True),
    (raise_exit, "bye", True),
    (kill, "killed", False),  # terminate does not run on a kill; the contexts still close
    (exit_signal, "other", False),  # an untrapped exit signal kills without terminate, too
]


def reason_matches(reason: Any, expected: Any) -> bool:
    return isinstance(reason, expected) if isinstance(expected, type) else reason == expected


@pytest.mark.parametrize(("end", "expected", "terminates"), ENDINGS, ids=[e[0].__name__ for e in ENDINGS])
async def test_contexts_exit_newest_first_before_the_down_is_delivered(
    rt: Runtime, end: Callable[[Runtime, Pid], Any], expected: Any, terminates: bool
) -> None:
    log: Log = []
    async with rt.attached() as me:
        pid = await start_owner(rt, log, watcher=me.pid)
        me.unlink(pid)  # only the monitor: the Down is the one message the watcher gets
        me.monitor(pid)

        await end(rt, pid)
        down = await down_of(me, pid)

    assert reason_matches(down.reason, expected)
    assert log[:3] == ENTERED
    assert log[3:] == ([("terminate", down.reason)] if terminates else []) + closed(pending=0)


@pytest.mark.parametrize(("end", "expected", "terminates"), ENDINGS, ids=[e[0].__name__ for e in ENDINGS])
async def test_contexts_exit_before_the_exit_message_reaches_a_linked_trapping_process(
    rt: Runtime, end: Callable[[Runtime, Pid], Any], expected: Any, terminates: bool
) -> None:
    log: Log = []
    async with rt.attached(trap_exits=True) as me:
        pid = await start_owner(rt, log, watcher=me.pid)  # linked to me, its parent

        await end(rt, pid)
        message = await exit_message_of(me, pid)

    assert reason_matches(message.reason, expected)
    assert log[3:] == ([("terminate", message.reason)] if terminates else []) + closed(pending=0)


async def test_contexts_exit_when_the_supervisor_shuts_the_server_down(rt: Runtime) -> None:
    log: Log = []
    async with rt.attached() as me:
        sup = await Supervisor.start_link(rt, [TrappingOwner.child_spec(log, me.pid, id="owner", name="owner")])
        owner = rt.whereis("owner")
        assert owner is not None
        me.monitor(owner)

        await Supervisor.terminate_child(rt, sup, "owner")
        assert (await down_of(me, owner)).reason == "shutdown"

    assert log[3:] == [("terminate", "shutdown"), *closed(pending=0)]


async def test_contexts_exit_when_the_runtime_shuts_down() -> None:
    log: Log = []
    async with Runtime() as rt:
        await start_owner(rt, log, server=TrappingOwner)
    assert log[3:] == [("terminate", "shutdown"), ("exit", "c", True, None), ("exit", "b"), ("exit", "a", True, None)]


async def test_contexts_entered_before_init_fails_are_exited_before_start_link_raises(rt: Runtime) -> None:
    log: Log = []

    class FailsAfterOpening(Server):
        async def init(self) -> None:
            self.enter_context(plain("socket", log))
            raise Boom("config is wrong")

    with pytest.raises(StartError) as raised:
        await FailsAfterOpening.start_link(rt)

    assert isinstance(raised.value.reason, Boom)
    assert log == [("enter", "socket"), ("exit", "socket")]


async def test_pending_calls_fail_only_once_the_contexts_are_closed(rt: Runtime) -> None:
    """A caller that retries at once on CallExit must find the resources released."""
    log: Log = []
    pid = await start_owner(rt, log)

    with pytest.raises(CallExit) as raised:
        await rt.call(pid, ("exit", "bye"))

    assert raised.value.reason == "bye"
    assert log[3:] == [("terminate", "bye"), ("exit", "c", True, None), ("exit", "b"), ("exit", "a", True, None)]


# -- a close that hangs, and kills meanwhile ----------------------------------------


class Hanging:
    """An async context manager whose exit never returns; `closing` resolves when the exit starts."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.closing: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        self.closing.set_result(None)
        try:
            await asyncio.Event().wait()
        finally:
            self.log.append(("cut off",))


class HangingOwner(Server):
    async def init(self, log: Log, hanging: Hanging) -> None:
        self.enter_context(plain("older", log))
        await self.enter_async_context(hanging)


async def start_hanging(rt: Runtime, log: Log) -> tuple[Pid, Hanging]:
    hanging = Hanging(log)
    pid = await HangingOwner.start_link(rt, log, hanging)
    assert pid is not None
    return pid, hanging


async def test_a_hanging_close_is_cut_off_one_second_after_a_kill_and_a_second_kill_changes_nothing(
    rt: Runtime,
) -> None:
    """The one slow test here: the stall must be bounded, so it lasts the bound (1 s)."""
    log: Log = []
    loop = asyncio.get_running_loop()
    async with rt.attached() as me:
        pid, hanging = await start_hanging(rt, log)
        me.unlink(pid)
        me.monitor(pid)

        killed_at = loop.time()
        rt.exit(pid, "kill")
        await asyncio.wait_for(hanging.closing, GUARD)
        assert rt.is_alive(pid)  # closing: not announced yet
        rt.exit(pid, "kill")  # neither breaks the close nor extends its deadline
        down = await down_of(me, pid)
        stalled = loop.time() - killed_at
        rt.send(me.pid, "marker")
        assert await me.receive(timeout=0) == "marker"  # one Down only

    assert down.reason == "killed"
    assert 0.95 <= stalled < 2.0, stalled
    assert log == [("enter", "older"), ("cut off",), ("exit", "older")]  # the older context still closes


async def test_a_close_that_raises_is_logged_and_the_exit_goes_on(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    log: Log = []

    @contextmanager
    def breaks_on_close() -> Iterator[None]:
        yield
        raise OSError("disk gone")

    class Fragile(Server):
        async def init(self) -> None:
            self.enter_context(plain("older", log))
            self.enter_context(breaks_on_close())

    async with rt.attached() as me:
        pid = await Fragile.start_link(rt)
        assert pid is not None
        me.unlink(pid)
        me.monitor(pid)
        rt.exit(pid, "kill")
        assert (await down_of(me, pid)).reason == "killed"

    assert log == [("enter", "older"), ("exit", "older")]
    assert "closing an owned resource failed" in caplog.text


# -- a real listener ------------------------------------------------------------------


class Listener(Server):
    """Listens on 127.0.0.1: on port 0 the first time, then on the port that got (kept in `ports`)."""

    async def init(self, ports: dict[str, int]) -> None:
        listener = await asyncio.start_server(self.greet, "127.0.0.1", ports.get("port", 0))
        await self.enter_async_context(listener)
        ports.setdefault("port", listener.sockets[0].getsockname()[1])

    async def greet(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"{self.pid}\n".encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def terminate(self, reason: Any) -> None:
        raise AssertionError("terminate does not run on a kill")


async def greeting(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return (await asyncio.wait_for(reader.readline(), GUARD)).decode().strip()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_killed_listener_is_restarted_on_the_same_port(rt: Runtime) -> None:
    ports: dict[str, int] = {}
    sup = await Supervisor.start_link(rt, [Listener.child_spec(ports, id="listener", name="listener")])
    port = ports["port"]
    first = rt.whereis("listener")
    assert await greeting(port) == repr(first)

    async with rt.attached() as me:
        me.monitor(first)  # type: ignore[arg-type]
        rt.exit(first, "kill")  # type: ignore[arg-type]
        await down_of(me, first)  # type: ignore[arg-type]
    # Queued behind the supervisor's ExitMessage: answered once the restart has run.
    children = await Supervisor.which_children(rt, sup)

    second = rt.whereis("listener")
    assert second is not None and second is not first
    assert [child.pid for child in children] == [second]  # restarted, not given up ("address already in use")
    assert ports["port"] == port
    assert await greeting(port) == repr(second)
    info = rt.process_info(second)
    assert info is not None and info.restarts == 1

