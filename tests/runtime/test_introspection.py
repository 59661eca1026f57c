"""Introspection: the counters of ProcessInfo, `rt.inspect` (state, stack, awaiting) and `rt.get_state`."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import pytest

from observer.runtime import (
    NO_REPLY,
    Caller,
    CallTimeout,
    Inspection,
    NoProc,
    NotAServer,
    Pid,
    Process,
    ProcessInfo,
    Runtime,
    Server,
)

from .helpers import GUARD, dead_pid, forward, idle

# -- servers and process bodies ---------------------------------------------------


class Counter(Server):
    """Counts; `("watch", pid)` monitors `pid` (its Down then arrives in `handle_info`)."""

    async def init(self) -> None:
        self.total = 0
        self.infos: list[Any] = []

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("watch", pid):
                self.monitor(pid)
                return "watching"
            case "total":
                return self.total
        raise AssertionError(f"unexpected request {request!r}")

    async def handle_cast(self, request: Any) -> None:
        self.total += request

    async def handle_info(self, message: Any) -> None:
        self.infos.append(message)


class Stuck(Server):
    """`handle_cast("stick")` tells `notify` where it will wait, then waits until `release` is set."""

    async def init(self, notify: Pid) -> None:
        self.notify = notify
        self.release = asyncio.Event()
        self.phase = "idle"

    async def handle_cast(self, request: Any) -> None:
        self.phase = "middle"
        frame = inspect.currentframe()
        assert frame is not None
        self.runtime.send(self.notify, ("stuck at", frame.f_lineno + 1))
        await self.release.wait()  # the line reported just above
        self.phase = "end"


class Silent(Server):
    """Never answers `("hang", notify)`; tells `notify` it has the call first."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        _, notify = request
        self.runtime.send(notify, ("hanging", self.pid))
        return NO_REPLY


class Relay(Server):
    """`handle_cast(target)` calls `target` with `("hang", notify)` and waits for the reply that never comes."""

    async def init(self, notify: Pid) -> None:
        self.notify = notify

    async def handle_cast(self, target: Pid) -> None:
        await self.runtime.call(target, ("hang", self.notify), timeout=None)


class WithSecrets(Server):
    async def init(self) -> None:
        self.user = "alice"
        self.password = "hunter2"
        self.API_KEY = "k-123"
        self.client_secret_value = "s-456"
        self.refresh_Token = "t-789"
        self.keyring = "kr-000"  # "key" anywhere in the name
        self._private = "never shown"


class Big(Server):
    async def init(self) -> None:
        self.blob = "x" * 10_000


class Custom(Server):
    async def init(self, status: object) -> None:
        self.status = status

    def format_status(self) -> object:
        return self.status


class BrokenStatus(Server):
    async def init(self) -> None:
        self.value = 1

    def format_status(self) -> object:
        raise ValueError("cannot show myself")

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return ("still here", request)


async def start(rt: Runtime, server: type[Server], *args: Any, name: str | None = None) -> Pid:
    pid = await server.start_link(rt, *args, name=name)
    assert pid is not None
    return pid


def info_of(rt: Runtime, pid: Pid) -> ProcessInfo:
    info = rt.process_info(pid)
    assert info is not None
    return info


def inspected(rt: Runtime, pid: Pid) -> Inspection:
    """`rt.inspect(pid)`, checked to agree with the cheap `rt.awaiting(pid)` the process list reads."""
    inspection = rt.inspect(pid)
    assert inspection is not None
    assert rt.awaiting(pid) == inspection.awaiting
    return inspection


async def announce_then_sleep(proc: Process, to: Pid, delay: float) -> None:
    proc.runtime.send(to, "sleeping")
    await asyncio.sleep(delay)


async def announce_then_spin(proc: Process, to: Pid) -> None:
    proc.runtime.send(to, "spinning")
    while True:
        await asyncio.sleep(0)


async def announce_then_wait_event(proc: Process, to: Pid) -> None:
    proc.runtime.send(to, "waiting")
    await asyncio.Event().wait()


async def receive_only_b(proc: Process, to: Pid) -> None:
    """Receives "b" (skipping whatever else is queued), reports, then waits without receiving."""
    proc.runtime.send(to, ("got", await proc.receive(match=lambda m: m == "b")))
    await asyncio.Event().wait()


async def ask_state(proc: Process, to: Pid, server: Pid) -> None:
    """Tell `to` "asking" (the request is queued once it reads that), then send it the state."""
    proc.runtime.send(to, "asking")
    proc.runtime.send(to, ("state", await proc.runtime.get_state(server)))


# -- counters ---------------------------------------------------------------------


async def test_a_new_server_has_handled_nothing(rt: Runtime) -> None:
    pid = await start(rt, Counter)
    info = info_of(rt, pid)
    assert (info.messages_in, info.reductions) == (0, 0)


async def test_server_counters_count_every_delivery_and_every_handled_callback(rt: Runtime) -> None:
    pid = await start(rt, Counter)
    victim = rt.spawn(idle)

    assert await rt.call(pid, ("watch", victim)) == "watching"  # call 1
    rt.cast(pid, 5)  # cast
    rt.send(pid, "hello")  # plain send
    rt.exit(victim, "kill")  # its Down is delivered now
    assert await rt.call(pid, "total") == 5  # call 2, handled after the other three

    info = info_of(rt, pid)
    assert (info.messages_in, info.reductions) == (5, 5)
    server = rt.server_of(pid)
    assert isinstance(server, Counter) and server.infos[0] == "hello"


async def test_system_requests_are_delivered_but_not_counted_as_reductions(rt: Runtime) -> None:
    pid = await start(rt, Counter)
    await rt.call(pid, "total")

    await rt.get_state(pid)
    await rt.suspend(pid)
    await rt.resume(pid)
    await rt.resume(pid)  # a no-op, still a delivery

    info = info_of(rt, pid)
    assert (info.messages_in, info.reductions) == (5, 1)


async def test_process_counters_count_deliveries_and_receive_rounds(rt: Runtime) -> None:
    async with rt.attached() as me:
        fwd = rt.spawn(forward, me.pid)
        for n in range(3):
            rt.send(fwd, n)
        assert [await me.receive(timeout=GUARD) for _ in range(3)] == [0, 1, 2]

        info = info_of(rt, fwd)
        assert (info.messages_in, info.reductions) == (3, 3)


async def test_a_selective_receive_is_one_round_while_every_delivery_counts(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = rt.spawn(receive_only_b, me.pid)
        rt.send(pid, "a")
        rt.send(pid, "b")
        assert await me.receive(timeout=GUARD) == ("got", "b")

        info = info_of(rt, pid)
        assert (info.messages_in, info.reductions, info.mailbox_size) == (2, 1, 1)


async def test_a_down_delivered_to_a_process_counts_in_messages_in(rt: Runtime) -> None:
    async with rt.attached() as me:
        victim = rt.spawn(idle)
        ref = me.monitor(victim)
        before = info_of(rt, me.pid)
        rt.exit(victim, "kill")
        after = info_of(rt, me.pid)
        assert after.messages_in == before.messages_in + 1
        down = await me.receive(timeout=GUARD)
        assert down.ref is ref
        assert info_of(rt, me.pid).reductions == before.reductions + 1


# -- inspect: bad input and plain processes ------------------------------------------


async def test_inspect_of_a_dead_pid_is_none(rt: Runtime) -> None:
    async with rt.attached() as me:
        assert rt.inspect(await dead_pid(rt, me)) is None


@pytest.mark.parametrize("not_a_pid", ["cache", 42, None, ("a", 1), [1]])
async def test_inspect_of_something_that_is_not_a_pid_is_none(rt: Runtime, not_a_pid: Any) -> None:
    await start(rt, Counter, name="cache")
    assert rt.inspect(not_a_pid) is None


async def test_a_plain_process_has_no_state(rt: Runtime) -> None:
    pid = rt.spawn(idle)
    inspection = inspected(rt, pid)
    assert inspection.state is None
    assert inspection.info == info_of(rt, pid)


# -- inspect: state -------------------------------------------------------------


async def test_state_redacts_attributes_named_like_secrets_case_insensitively(rt: Runtime) -> None:
    pid = await start(rt, WithSecrets)

    state = inspected(rt, pid).state

    assert state is not None
    assert "'user': 'alice'" in state
    for name in ("password", "API_KEY", "client_secret_value", "refresh_Token", "keyring"):
        assert f"'{name}': '***'" in state
    for secret in ("hunter2", "k-123", "s-456", "t-789", "kr-000", "never shown", "_private"):
        assert secret not in state
    assert "'pid'" not in state and "'runtime'" not in state


async def test_state_is_capped_at_2000_characters_with_a_marker(rt: Runtime) -> None:
    pid = await start(rt, Big)

    state = inspected(rt, pid).state

    assert state is not None
    assert len(state) <= 2_000
    assert state.startswith("{'blob': 'xxx")
    assert re.search(r"… \[[\d,]+ more characters\]$", state)


async def test_a_short_state_is_not_marked(rt: Runtime) -> None:
    pid = await start(rt, Custom, "x" * 2_000)
    assert inspected(rt, pid).state == "x" * 2_000


async def test_a_custom_format_status_is_shown_text_as_it_is_and_objects_pretty_printed(rt: Runtime) -> None:
    text = await start(rt, Custom, "3 entries, 1 dirty")
    data = await start(rt, Custom, {"b": 2, "a": [1, 2]})

    assert inspected(rt, text).state == "3 entries, 1 dirty"
    assert inspected(rt, data).state == "{'a': [1, 2], 'b': 2}"


async def test_a_format_status_that_raises_shows_text_and_does_not_hurt_the_server(rt: Runtime) -> None:
    pid = await start(rt, BrokenStatus)

    inspection = inspected(rt, pid)

    assert inspection.state == "<format_status raised ValueError: cannot show myself>"
    assert rt.is_alive(pid)
    assert await rt.call(pid, "ping") == ("still here", "ping")


# -- inspect: stack and awaiting -------------------------------------------------------

WHERE = re.compile(r"^.+:\d+ in [\w.<>]+$")


async def test_the_stack_is_outermost_first_and_names_the_handler_frame(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = await start(rt, Stuck, me.pid)
        rt.cast(pid, "stick")
        _, line = await me.receive(timeout=GUARD)

        stack = inspected(rt, pid).stack

        assert all(WHERE.match(entry) for entry in stack), stack
        functions = [entry.rsplit(" in ", 1)[1] for entry in stack]
        assert functions[:2] == ["Runtime._run", "Server._serve"]
        assert functions[-2:] == ["Stuck.handle_cast", "Event.wait"]
        assert stack[-2] == f"{__file__}:{line} in Stuck.handle_cast"
        server = rt.server_of(pid)
        assert isinstance(server, Stuck)
        server.release.set()


async def test_an_idle_server_awaits_receive(rt: Runtime) -> None:
    pid = await start(rt, Counter)
    await rt.call(pid, "total")
    assert inspected(rt, pid).awaiting == "receive"


async def test_a_process_in_receive_awaits_receive(rt: Runtime) -> None:
    async with rt.attached() as me:
        fwd = rt.spawn(forward, me.pid)
        rt.send(fwd, "hi")
        assert await me.receive(timeout=GUARD) == "hi"  # it has gone round to its next receive

        inspection = inspected(rt, fwd)
        assert inspection.awaiting == "receive"
        assert inspection.stack[-1].endswith(" in Mailbox.get")


async def test_a_server_stuck_calling_another_awaits_that_call(rt: Runtime) -> None:
    async with rt.attached() as me:
        silent = await start(rt, Silent)
        relay = await start(rt, Relay, me.pid)
        rt.cast(relay, silent)
        assert await me.receive(timeout=GUARD) == ("hanging", silent)

        inspection = inspected(rt, relay)
        assert inspection.awaiting == f"call {silent!r}"
        assert [entry.rsplit(" in ", 1)[1] for entry in inspection.stack][-2:] == ["Relay.handle_cast", "Runtime.call"]
        # The silent server itself is idle again: it answered with NO_REPLY.
        assert inspected(rt, silent).awaiting == "receive"


async def test_a_server_stuck_in_a_callback_awaits_the_innermost_coroutine(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = await start(rt, Stuck, me.pid)
        rt.cast(pid, "stick")
        await me.receive(timeout=GUARD)
        assert inspected(rt, pid).awaiting == "Event.wait"
        server = rt.server_of(pid)
        assert isinstance(server, Stuck)
        server.release.set()


async def test_a_sleeping_process_awaits_sleep(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = rt.spawn(announce_then_sleep, me.pid, 3600)
        assert await me.receive(timeout=GUARD) == "sleeping"
        inspection = inspected(rt, pid)
        assert inspection.awaiting == "sleep"
        assert inspection.stack[-1].endswith(" in sleep")


async def test_a_process_yielding_with_sleep_0_awaits_sleep(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = rt.spawn(announce_then_spin, me.pid)
        assert await me.receive(timeout=GUARD) == "spinning"
        assert inspected(rt, pid).awaiting == "sleep"
        rt.exit(pid, "kill")


async def test_a_process_awaiting_an_event_awaits_event_wait(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = rt.spawn(announce_then_wait_event, me.pid)
        assert await me.receive(timeout=GUARD) == "waiting"
        inspection = inspected(rt, pid)
        assert inspection.awaiting == "Event.wait"
        assert [entry.rsplit(" in ", 1)[1] for entry in inspection.stack] == [
            "Runtime._run", "announce_then_wait_event", "Event.wait",
        ]


async def test_awaiting_is_none_for_a_dead_pid_or_not_a_pid(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = await dead_pid(rt, me)
    assert rt.awaiting(pid) is None
    assert rt.awaiting("forward") is None  # type: ignore[arg-type]


async def test_a_process_inspecting_itself_is_running(rt: Runtime) -> None:
    async with rt.attached() as me:
        inspection = inspected(rt, me.pid)
        assert inspection.awaiting is None
        assert inspection.state is None


# -- get_state ------------------------------------------------------------------


async def test_get_state_returns_format_status(rt: Runtime) -> None:
    pid = await start(rt, WithSecrets, name="secrets")

    state = await rt.get_state("secrets")

    assert state == {
        "user": "alice", "password": "***", "API_KEY": "***", "client_secret_value": "***",
        "refresh_Token": "***", "keyring": "***",
    }
    assert await rt.get_state(pid) == state


async def test_get_state_is_taken_between_callbacks_where_inspect_reads_on_the_spot(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = await start(rt, Stuck, me.pid)
        rt.cast(pid, "stick")
        await me.receive(timeout=GUARD)  # ("stuck at", line): mid-callback
        rt.spawn(ask_state, me.pid, pid)
        assert await me.receive(timeout=GUARD) == "asking"  # its request is queued behind the callback

        assert "'phase': 'middle'" in (inspected(rt, pid).state or "")
        assert info_of(rt, me.pid).mailbox_size == 0  # no state yet: the server is still in the callback
        server = rt.server_of(pid)
        assert isinstance(server, Stuck)
        server.release.set()

        tag, state = await me.receive(timeout=GUARD)
        assert tag == "state" and state["phase"] == "end"


async def test_get_state_times_out_on_a_server_stuck_in_a_callback(rt: Runtime) -> None:
    async with rt.attached() as me:
        pid = await start(rt, Stuck, me.pid)
        rt.cast(pid, "stick")
        await me.receive(timeout=GUARD)
        with pytest.raises(CallTimeout):
            await rt.get_state(pid, timeout=0.02)
        server = rt.server_of(pid)
        assert isinstance(server, Stuck)
        server.release.set()


async def test_get_state_works_while_suspended(rt: Runtime) -> None:
    pid = await start(rt, Counter)
    rt.cast(pid, 3)
    await rt.suspend(pid)
    rt.cast(pid, 4)  # queued, not handled

    assert await rt.get_state(pid) == {"total": 3, "infos": []}
    await rt.resume(pid)
    assert await rt.call(pid, "total") == 7


async def test_get_state_of_a_dead_or_unknown_server_raises_noproc(rt: Runtime) -> None:
    async with rt.attached() as me:
        dead = await dead_pid(rt, me)
    with pytest.raises(NoProc):
        await rt.get_state(dead)
    with pytest.raises(NoProc):
        await rt.get_state("nobody")


async def test_get_state_of_a_plain_process_raises_not_a_server_saying_why(rt: Runtime) -> None:
    pid = rt.spawn(idle)

    with pytest.raises(NotAServer) as raised:
        await rt.get_state(pid)

    assert raised.value.dest is pid
    assert str(raised.value) == f"get_state needs a Server, but {pid!r} is a plain process (started with spawn)"
    assert rt.is_alive(pid)
