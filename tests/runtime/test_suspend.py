"""suspend/resume (OTP `sys:suspend`/`sys:resume`): a suspended server handles nothing but exit signals and stops."""

from __future__ import annotations

from typing import Any

import pytest

from observer.runtime import (
    Caller,
    CallingSelf,
    CallTimeout,
    NoProc,
    NotAServer,
    Pid,
    Process,
    Runtime,
    Server,
    Supervisor,
)

from .helpers import GUARD, dead_pid, down_of, idle


class Recorder(Server):
    """Writes every call, cast and info it handles into `log`, and its terminate too."""

    async def init(self, log: list[Any]) -> None:
        self.log = log

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        if request == "suspend me":
            try:
                await self.runtime.suspend(self.pid)
            except CallingSelf as exc:
                return exc
        self.log.append(("call", request))
        return ("reply", request)

    async def handle_cast(self, request: Any) -> None:
        self.log.append(("cast", request))

    async def handle_info(self, message: Any) -> None:
        self.log.append(("info", message))

    async def terminate(self, reason: Any) -> None:
        self.log.append(("terminate", reason))


class TrappingRecorder(Recorder):
    trap_exits = True


async def start(rt: Runtime, log: list[Any], server: type[Server] = Recorder, name: str | None = None) -> Pid:
    pid = await server.start_link(rt, log, name=name)
    assert pid is not None
    return pid


async def call_and_report(proc: Process, to: Pid, server: Pid, request: Any) -> None:
    """Tell `to` "calling" (the call is queued once it reads that), then send it the reply."""
    proc.runtime.send(to, ("calling", request))
    proc.runtime.send(to, await proc.runtime.call(server, request, timeout=GUARD))


async def test_a_suspended_server_handles_nothing_and_then_everything_in_order_after_resume(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)
    async with rt.attached() as me:
        await rt.suspend(pid)
        assert rt.inspect(pid).awaiting == "receive"  # type: ignore[union-attr]

        with pytest.raises(CallTimeout):
            await rt.call(pid, "late", timeout=0.05)  # its Call stays queued: the server will still see it
        rt.cast(pid, "c1")
        rt.send(pid, "i1")
        rt.spawn(call_and_report, me.pid, pid, "k1")
        assert await me.receive(timeout=GUARD) == ("calling", "k1")
        rt.cast(pid, "c2")

        assert log == []
        info = rt.process_info(pid)
        assert info is not None and info.mailbox_size == 5

        await rt.resume(pid)
        assert await me.receive(timeout=GUARD) == ("reply", "k1")
        assert await rt.call(pid, "last") == ("reply", "last")

    assert log == [("call", "late"), ("cast", "c1"), ("info", "i1"), ("call", "k1"), ("cast", "c2"), ("call", "last")]


async def test_suspending_twice_needs_one_resume(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)
    await rt.suspend(pid)
    await rt.suspend(pid)
    rt.cast(pid, "queued")

    await rt.resume(pid)

    assert await rt.call(pid, "after") == ("reply", "after")
    assert log == [("cast", "queued"), ("call", "after")]


async def test_resume_of_a_running_server_does_nothing(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)

    await rt.resume(pid)

    assert await rt.call(pid, "x") == ("reply", "x")
    info = rt.process_info(pid)
    assert info is not None and info.reductions == 1
    assert log == [("call", "x")]


async def test_a_kill_still_kills_a_suspended_server(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)
    await rt.suspend(pid)
    async with rt.attached() as me:
        me.monitor(pid)
        rt.exit(pid, "kill")
        assert (await down_of(me, pid)).reason == "killed"
    assert log == []


async def test_an_exit_signal_kills_a_suspended_server_that_does_not_trap(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)
    await rt.suspend(pid)
    async with rt.attached() as me:
        me.monitor(pid)
        rt.exit(pid, "boom")
        assert (await down_of(me, pid)).reason == "boom"


async def test_a_suspended_server_that_traps_exits_keeps_other_exit_signals_queued(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log, TrappingRecorder)  # started outside a process: its parent is the runtime
    await rt.suspend(pid)
    async with rt.attached() as me:
        rt.exit(pid, "boom")  # from a process that is not its parent: an ExitMessage, handled after resume

        assert rt.is_alive(pid) and log == []
        await rt.resume(pid)
        await rt.call(pid, "sync")
        assert [entry[0] for entry in log] == ["info", "call"]
        assert (log[0][1].pid, log[0][1].reason) == (me.pid, "boom")


async def test_stop_works_while_suspended(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)
    await rt.suspend(pid)
    rt.cast(pid, "never handled")

    await rt.stop(pid, "normal", timeout=GUARD)

    assert not rt.is_alive(pid)
    assert log == [("terminate", "normal")]


async def test_a_suspended_trapping_server_stops_on_its_supervisors_shutdown(rt: Runtime) -> None:
    log: list[Any] = []
    sup = await Supervisor.start_link(rt, [TrappingRecorder.child_spec(log, id="worker", name="worker", shutdown=5.0)])
    worker = rt.whereis("worker")
    assert worker is not None
    await rt.suspend(worker)

    async with rt.attached() as me:
        me.monitor(worker)
        await rt.stop(sup, timeout=GUARD)
        # A kill after the 5 s shutdown timeout would say "killed" and skip terminate.
        assert (await down_of(me, worker)).reason == "shutdown"
    assert log == [("terminate", "shutdown")]


async def test_suspend_and_resume_of_a_dead_or_unknown_server_raise_noproc(rt: Runtime) -> None:
    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
    for dest in (dead, "nobody"):
        with pytest.raises(NoProc):
            await rt.suspend(dest)
        with pytest.raises(NoProc):
            await rt.resume(dest)


async def test_suspend_and_resume_of_a_plain_process_raise_not_a_server(rt: Runtime) -> None:
    pid = rt.spawn(idle)

    with pytest.raises(NotAServer, match="suspend needs a Server"):
        await rt.suspend(pid)
    with pytest.raises(NotAServer, match="resume needs a Server"):
        await rt.resume(pid)

    info = rt.process_info(pid)
    assert info is not None and info.mailbox_size == 0  # nothing was sent to it
    assert rt.is_alive(pid)


async def test_a_server_suspending_itself_gets_calling_self_and_keeps_running(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)

    result = await rt.call(pid, "suspend me")

    assert isinstance(result, CallingSelf) and result.dest is pid
    assert await rt.call(pid, "still running") == ("reply", "still running")


async def test_suspend_waits_for_the_callback_in_progress(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)
    rt.cast(pid, "before")

    await rt.suspend(pid)  # queued behind the cast: answered once the cast is handled

    assert log == [("cast", "before")]
    await rt.resume(pid)


async def test_a_linked_crash_kills_a_suspended_server(rt: Runtime) -> None:
    log: list[Any] = []
    pid = await start(rt, log)
    await rt.suspend(pid)

    async def crash_linked(proc: Process) -> None:
        proc.link(pid)
        raise RuntimeError("partner crashed")

    async with rt.attached() as me:
        me.monitor(pid)
        rt.spawn(crash_linked)
        reason = (await down_of(me, pid)).reason
    assert isinstance(reason, RuntimeError) and str(reason) == "partner crashed"


async def test_leaving_the_runtime_stops_a_suspended_trapping_server_with_terminate() -> None:
    log: list[Any] = []
    async with Runtime(shutdown_timeout=GUARD) as rt:
        pid = await start(rt, log, TrappingRecorder)
        await rt.suspend(pid)
        rt.cast(pid, "never handled")
    # A kill after the shutdown timeout would skip terminate.
    assert log == [("terminate", "shutdown")]
