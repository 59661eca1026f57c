"""Server: start_link, call/cast/stop, info, terminate, NO_REPLY, trap_exits, and every call failure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from observer.runtime import (
    IGNORE,
    NO_REPLY,
    AlreadyStarted,
    Caller,
    CallExit,
    CallingSelf,
    CallTimeout,
    Exit,
    ExitMessage,
    NoProc,
    Pid,
    Process,
    Runtime,
    Server,
    StartError,
)

from .helpers import GUARD, down_of, end_on_go, exit_message_of, exit_reason, idle


class Probe(Server):
    """A server whose requests say what its callbacks do; it logs init and terminate into `log`."""

    async def init(self, log: list[Any] | None = None) -> None:
        self.log = [] if log is None else log
        self.log.append("init")
        self.total = 0
        self.infos: list[Any] = []
        self.held: Caller | None = None

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case "total":
                return self.total
            case "infos":
                return self.infos
            case "caller":
                return caller.pid
            case "self":
                return self.pid, self.runtime
            case "ignore":
                return NO_REPLY
            case "hold":
                self.held = caller
                return NO_REPLY
            case ("notify_and_hang", notify):
                self.runtime.send(notify, ("call pending", self.pid))
                return NO_REPLY
            case ("reply_later", value):
                self.held = caller
                self.runtime.send(self.pid, ("release", value))
                return NO_REPLY
            case "call_self":
                try:
                    return await self.runtime.call(self.pid, "total")
                except CallingSelf as exc:
                    return exc
            case ("exit", reason):
                raise Exit(reason)
            case ("crash", exc):
                raise exc
        raise AssertionError(f"unexpected request {request!r}")

    async def handle_cast(self, request: Any) -> None:
        match request:
            case ("add", n):
                self.total += n
            case ("exit", reason):
                raise Exit(reason)
            case ("crash", exc):
                raise exc
            case "block":
                await asyncio.Event().wait()
            case ("reply_held", value):
                assert self.held is not None
                self.held.reply(value)

    async def handle_info(self, message: Any) -> None:
        match message:
            case ("release", value):
                assert self.held is not None
                self.held.reply(value)
            case _:
                self.infos.append(message)

    async def terminate(self, reason: Any) -> None:
        self.log.append(("terminate", reason))


class TrappingProbe(Probe):
    trap_exits = True


async def start(rt: Runtime, server: type[Server] = Probe, *args: Any, name: str | None = None) -> Pid:
    pid = await server.start_link(rt, *args, name=name)
    assert pid is not None
    return pid


async def assert_no_message_but(me: Process, marker: str = "marker") -> None:
    """Nothing is queued for `me`: a marker sent now is the first message it gets."""
    me.runtime.send(me.pid, marker)
    assert await me.receive(timeout=0) == marker


# -- start_link ---------------------------------------------------------------


async def test_start_link_returns_only_after_init_has_returned(rt: Runtime) -> None:
    class SlowInit(Server):
        async def init(self, log: list[str], helper: Pid) -> None:
            log.append("init started")
            await self.runtime.call(helper, "total")
            log.append("init finished")

    helper = await start(rt)
    log: list[str] = []

    await start(rt, SlowInit, log, helper)

    assert log == ["init started", "init finished"]


async def test_start_link_links_the_server_to_the_calling_process_its_parent(rt: Runtime) -> None:
    async with rt.attached() as me:
        server = await start(rt)

        info = rt.process_info(server)
        assert info is not None
        assert (info.kind, info.parent, info.links) == ("server", me.pid, (me.pid,))
        assert await rt.call(server, "self") == (server, rt)
        parent_info = rt.process_info(me.pid)
        assert parent_info is not None and parent_info.links == (server,)


async def test_a_server_started_outside_any_process_has_no_parent(rt: Runtime) -> None:
    server = await start(rt)
    info = rt.process_info(server)
    assert info is not None
    assert (info.parent, info.links) == (None, ())


@pytest.mark.parametrize("trap_exits", [False, True], ids=["non-trapping", "trapping"])
async def test_init_raising_makes_start_link_raise_start_error_and_sends_no_exit_signal(
    rt: Runtime, trap_exits: bool
) -> None:
    failure = ValueError("no database")

    class FailingInit(Server):
        async def init(self) -> None:
            raise failure

    async with rt.attached(trap_exits=trap_exits) as me:
        with pytest.raises(StartError) as raised:
            await FailingInit.start_link(rt)

        assert raised.value.reason is failure
        assert rt.processes() == [me.pid]
        await assert_no_message_but(me)


async def test_init_raising_exit_makes_start_link_raise_start_error_with_that_reason(rt: Runtime) -> None:
    class Refusing(Server):
        async def init(self) -> None:
            raise Exit(("shutdown", "not today"))

    async with rt.attached(trap_exits=True) as me:
        with pytest.raises(StartError) as raised:
            await Refusing.start_link(rt)
        assert raised.value.reason == ("shutdown", "not today")
        await assert_no_message_but(me)


async def test_init_returning_ignore_makes_start_link_return_none_without_exit_signal(rt: Runtime) -> None:
    class Ignored(Server):
        async def init(self) -> Any:
            return IGNORE

    async with rt.attached(trap_exits=True) as me:
        assert await Ignored.start_link(rt, name="ignored") is None
        assert rt.processes() == [me.pid]
        assert rt.whereis("ignored") is None
        await assert_no_message_but(me)


async def test_start_link_with_a_taken_name_raises_already_started_with_the_holder(rt: Runtime) -> None:
    log: list[Any] = []
    first = await start(rt, Probe, log, name="unique")

    with pytest.raises(AlreadyStarted) as raised:
        await Probe.start_link(rt, log, name="unique")

    assert raised.value.pid is first
    assert log == ["init"]
    assert rt.processes() == [first]


async def test_a_server_killed_during_init_makes_start_link_raise_start_error_killed(rt: Runtime) -> None:
    class WaitsInInit(Server):
        async def init(self, killer: Pid) -> None:
            self.runtime.send(killer, self.pid)
            await self.runtime.call(killer, "never answered")

    async def kill_the_sender(proc: Process) -> None:
        proc.runtime.exit(await proc.receive(), "kill")
        await idle(proc)

    async with rt.attached(trap_exits=True):
        killer = rt.spawn(kill_the_sender)
        with pytest.raises(StartError) as raised:
            await WaitsInInit.start_link(rt, killer)
        assert raised.value.reason == "killed"


# -- call, cast, info, stop, terminate ------------------------------------------------


async def test_casts_and_infos_are_handled_in_order_before_a_later_call(rt: Runtime) -> None:
    server = await start(rt, name="probe")
    for n in (1, 2, 3):
        rt.cast(server, ("add", n))
    rt.cast("probe", ("add", 4))
    rt.send(server, "hello")
    rt.send("probe", ("world", 1))

    assert await rt.call("probe", "total") == 10
    assert await rt.call(server, "infos") == ["hello", ("world", 1)]


async def test_cast_to_an_unknown_name_or_dead_pid_does_nothing(rt: Runtime) -> None:
    server = await start(rt)
    await rt.stop(server)
    rt.cast(server, ("add", 1))
    rt.cast("nobody", ("add", 1))
    assert rt.processes() == []


async def test_the_caller_is_the_calling_process_or_none_outside_processes(rt: Runtime) -> None:
    server = await start(rt)
    assert await rt.call(server, "caller") is None
    async with rt.attached() as me:
        assert await rt.call(server, "caller") is me.pid


async def test_no_reply_then_caller_reply_answers_the_call_later(rt: Runtime) -> None:
    server = await start(rt)
    assert await rt.call(server, ("reply_later", "eventually")) == "eventually"
    assert await rt.call(server, "total") == 0


async def test_stop_waits_until_terminate_has_run(rt: Runtime) -> None:
    class SlowTerminate(Server):
        async def init(self, log: list[str], helper: Pid) -> None:
            self.log = log
            self.helper = helper

        async def terminate(self, reason: Any) -> None:
            await self.runtime.call(self.helper, "total")
            self.log.append(f"terminated: {reason}")

    helper = await start(rt)
    log: list[str] = []
    server = await start(rt, SlowTerminate, log, helper)

    await rt.stop(server, "shutdown")

    assert log == ["terminated: shutdown"]
    assert not rt.is_alive(server)


async def test_stop_by_name_with_the_default_reason(rt: Runtime) -> None:
    log: list[Any] = []
    await start(rt, Probe, log, name="probe")
    await rt.stop("probe")
    assert log == ["init", ("terminate", "normal")]
    assert rt.whereis("probe") is None


async def test_stop_raises_call_exit_when_the_server_exits_with_another_reason(rt: Runtime) -> None:
    class FailingTerminate(Server):
        async def terminate(self, reason: Any) -> None:
            raise OSError("disk full")

    server = await start(rt, FailingTerminate)
    with pytest.raises(CallExit) as raised:
        await rt.stop(server)
    assert isinstance(raised.value.reason, OSError)
    assert not rt.is_alive(server)


async def test_stop_that_times_out_raises_call_timeout(rt: Runtime) -> None:
    server = await start(rt)
    rt.cast(server, "block")
    with pytest.raises(CallTimeout):
        await rt.stop(server, timeout=0.05)
    assert rt.is_alive(server)


async def test_exit_raised_in_a_callback_stops_the_server_with_that_reason_after_terminate(rt: Runtime) -> None:
    log: list[Any] = []
    async with rt.attached() as me:
        server = await start(rt, Probe, log)
        me.unlink(server)

        rt.cast(server, ("exit", ("shutdown", "done")))

        assert await exit_reason(me, server) == ("shutdown", "done")
        assert log == ["init", ("terminate", ("shutdown", "done"))]


async def test_an_exception_in_a_callback_runs_terminate_and_is_the_exit_reason(rt: Runtime) -> None:
    log: list[Any] = []
    crash = KeyError("missing")
    async with rt.attached() as me:
        server = await start(rt, Probe, log)
        me.unlink(server)

        rt.cast(server, ("crash", crash))

        assert await exit_reason(me, server) is crash
        assert log == ["init", ("terminate", crash)]


async def test_a_non_trapping_server_dies_with_a_linked_crash_without_terminate(rt: Runtime) -> None:
    log: list[Any] = []
    server = await start(rt, Probe, log)
    async with rt.attached() as me:
        linked = rt.spawn(end_on_go, "boom", link=server)
        me.monitor(server)

        rt.send(linked, "go")

        assert (await down_of(me, server)).reason == "boom"
        assert log == ["init"]


async def test_a_trapping_server_gets_exits_of_linked_non_parents_in_handle_info(rt: Runtime) -> None:
    log: list[Any] = []
    server = await start(rt, TrappingProbe, log)
    async with rt.attached() as me:
        linked = rt.spawn(end_on_go, "boom", link=server)
        me.monitor(linked)

        rt.send(linked, "go")
        await down_of(me, linked)

        assert await rt.call(server, "infos") == [ExitMessage(linked, "boom")]
        assert log == ["init"]


async def test_an_exit_signal_from_its_parent_stops_a_trapping_server_after_terminate(rt: Runtime) -> None:
    async def parent(proc: Process, log: list[Any], report_to: Pid) -> None:
        proc.runtime.send(report_to, await start(proc.runtime, TrappingProbe, log))
        await end_on_go(proc, "parent quits")

    log: list[Any] = []
    async with rt.attached() as me:
        parent_pid = rt.spawn(parent, log, me.pid)
        server = await me.receive(timeout=GUARD)
        me.monitor(server)

        rt.send(parent_pid, "go")

        assert (await down_of(me, server)).reason == "parent quits"
        assert log == ["init", ("terminate", "parent quits")]


async def test_exit_from_the_attached_parent_stops_a_trapping_server_after_terminate(rt: Runtime) -> None:
    log: list[Any] = []
    async with rt.attached(trap_exits=True) as me:
        server = await start(rt, TrappingProbe, log)

        rt.exit(server, "shutdown")

        assert await exit_message_of(me, server) == ExitMessage(server, "shutdown")
        assert log == ["init", ("terminate", "shutdown")]


# -- how a call fails ---------------------------------------------------------


async def test_call_to_a_dead_pid_raises_no_proc(rt: Runtime) -> None:
    server = await start(rt)
    await rt.stop(server)
    with pytest.raises(NoProc) as raised:
        await rt.call(server, "total")
    assert raised.value.dest is server


async def test_call_to_an_unknown_name_raises_no_proc(rt: Runtime) -> None:
    with pytest.raises(NoProc, match="'nobody'"):
        await rt.call("nobody", "total")


async def test_call_without_a_reply_raises_call_timeout_and_the_server_goes_on(rt: Runtime) -> None:
    server = await start(rt)

    with pytest.raises(CallTimeout) as raised:
        await rt.call(server, "ignore", timeout=0.05)

    assert isinstance(raised.value, TimeoutError)
    assert (raised.value.dest, raised.value.request, raised.value.timeout) == (server, "ignore", 0.05)
    assert await rt.call(server, "total") == 0


async def test_a_late_reply_to_a_caller_that_timed_out_is_dropped(rt: Runtime) -> None:
    server = await start(rt)
    with pytest.raises(CallTimeout):
        await rt.call(server, "hold", timeout=0.05)

    rt.cast(server, ("reply_held", "too late"))

    assert await rt.call(server, "total") == 0


@pytest.mark.timeout(5)
async def test_call_raises_call_exit_at_once_when_the_server_crashes_handling_it(rt: Runtime) -> None:
    crash = RuntimeError("handler bug")
    server = await start(rt)

    with pytest.raises(CallExit) as raised:
        await rt.call(server, ("crash", crash), timeout=30)

    assert raised.value.reason is crash
    assert not rt.is_alive(server)


@pytest.mark.timeout(5)
async def test_call_raises_call_exit_at_once_when_the_server_is_killed_mid_call(rt: Runtime) -> None:
    async def kill_when_pending(proc: Process) -> None:
        _, server = await proc.receive(match=lambda m: isinstance(m, tuple) and m[0] == "call pending")
        proc.runtime.exit(server, "kill")

    server = await start(rt)
    killer = rt.spawn(kill_when_pending)

    with pytest.raises(CallExit) as raised:
        await rt.call(server, ("notify_and_hang", killer), timeout=30)

    assert raised.value.reason == "killed"
    assert not rt.is_alive(server)


@pytest.mark.timeout(5)
async def test_call_exit_reaches_the_caller_after_the_servers_down(rt: Runtime) -> None:
    """A process blocked in a 30 s call reports CallExit; the test sees the Down first, then that report."""

    async def call_and_report(proc: Process, server: Pid, report_to: Pid) -> None:
        try:
            await proc.runtime.call(server, ("notify_and_hang", report_to), timeout=30)
        except CallExit as exc:
            proc.runtime.send(report_to, ("call exit", exc.reason))

    server = await start(rt)
    async with rt.attached() as me:
        me.monitor(server)
        rt.spawn(call_and_report, server, me.pid)
        assert await me.receive(timeout=GUARD) == ("call pending", server)

        rt.exit(server, "shutdown")

        assert (await me.receive(timeout=GUARD)).reason == "shutdown"
        assert await me.receive(timeout=GUARD) == ("call exit", "shutdown")


async def test_a_call_to_a_server_exiting_with_exit_in_handle_call_raises_call_exit(rt: Runtime) -> None:
    log: list[Any] = []
    server = await start(rt, Probe, log)
    with pytest.raises(CallExit) as raised:
        await rt.call(server, ("exit", "done"))
    assert raised.value.reason == "done"
    assert log == ["init", ("terminate", "done")]


async def test_a_process_calling_itself_raises_calling_self(rt: Runtime) -> None:
    async with rt.attached() as me:
        rt.register("me", me.pid)
        with pytest.raises(CallingSelf):
            await rt.call(me.pid, "anything")
        with pytest.raises(CallingSelf):
            await rt.call("me", "anything")


async def test_a_server_calling_itself_gets_calling_self(rt: Runtime) -> None:
    server = await start(rt)
    error = await rt.call(server, "call_self")
    assert isinstance(error, CallingSelf)
    assert error.dest is server


async def test_a_server_without_handle_call_crashes_on_a_call(rt: Runtime) -> None:
    class Bare(Server):
        pass

    server = await start(rt, Bare)
    with pytest.raises(CallExit) as raised:
        await rt.call(server, "hello")
    assert isinstance(raised.value.reason, NotImplementedError)
