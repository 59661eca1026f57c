"""Calls, states and start failures over the attach wire (serve() and connect() in one process), and the
endpoint's loop figures read from another thread.

The endpoint runs in its own thread, so a client on the runtime's own loop talks to it exactly as one
in another process would; `tests/drills/test_attach.py` drives the same ops against real services.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from observer.remote import (
    Endpoint,
    ReadOnly,
    RemoteError,
    RemoteRepr,
    StartFailure,
    connect,
    endpoint_of,
    serve,
    wire,
)
from observer.remote.failures import StartFailures
from observer.remote.values import NotJSON, json_form
from observer.runtime import (
    NO_REPLY,
    Caller,
    CallExit,
    CallTimeout,
    ChildSpec,
    Down,
    InvalidArgument,
    NoProc,
    NotAServer,
    Pid,
    Runtime,
    Server,
    Supervisor,
)

from .trees import tree

GUARD = 20.0


class Keeper(Server):
    """Answers calls with what it was asked for, in every shape a reply can have."""

    async def init(self) -> None:
        self.rows: dict[str, Any] = {"a": (1, 2)}
        self.tags = {"x"}
        self.api_key = "s3cret"

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ["echo", value]:
                return value
            case "tuple":
                return ("ok", (1, 2.5), None, True)
            case "pid":
                return self.pid
            case "set":
                return {1, 2}
            case "int keys":
                return {1: "one"}
            case "die":
                raise RuntimeError("asked to die")
            case "never":
                return NO_REPLY  # never answered: the caller's timeout decides
        raise ValueError(f"unknown request {request!r}")


class Flaky(Server):
    """Starts the first time, then fails to start every time with "address already in use"."""

    async def init(self, starts: list[int]) -> None:
        starts.append(1)
        if len(starts) > 1:
            raise OSError(98, "address already in use")


@asynccontextmanager
async def served(**options: Any) -> AsyncIterator[tuple[Runtime, Endpoint]]:
    """The test tree plus a `Keeper` named "keeper", served with `options`, for at most `GUARD` seconds."""
    async with asyncio.timeout(GUARD), Runtime() as rt:
        await tree(rt)
        await Keeper.start_link(rt, name="keeper")
        async with serve(rt, **options) as endpoint:
            yield rt, endpoint


# -- the values ------------------------------------------------------------------------------------------------


def test_json_values_are_themselves_with_tuples_as_lists() -> None:
    assert json_form(("ok", [1, (2.5, None)], {"k": True})) == ["ok", [1, [2.5, None]], {"k": True}]
    assert wire.value_to_wire(("a", 1)) == {"json": ["a", 1]}
    assert wire.value_from_wire({"json": ["a", 1]}) == ["a", 1]


@pytest.mark.parametrize("value", [{1, 2}, {1: "one"}, Pid(3), float("nan"), b"bytes", (1, object())])
def test_what_has_no_json_form_crosses_as_its_repr_in_a_wrapper(value: Any) -> None:
    with pytest.raises(NotJSON):
        json_form(value)
    assert wire.value_to_wire(value) == {"repr": wire.capped_repr(value)}
    assert wire.value_from_wire(wire.value_to_wire(value)) == RemoteRepr(repr(value))


def test_subclasses_of_json_types_keep_their_meaning_as_a_repr() -> None:
    from collections import namedtuple

    point = namedtuple("point", "x y")(1, 2)
    assert wire.value_to_wire(point) == {"repr": "point(x=1, y=2)"}


def test_a_value_nested_too_deep_or_with_a_broken_repr_is_still_one_answer() -> None:
    deep: list[Any] = []
    for _ in range(200):
        deep = [deep]
    assert "repr" in wire.value_to_wire(deep)

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert wire.value_to_wire(Broken()) == {"repr": "<test_a_value_nested_too_deep_or_with_a_broken_repr_is_still_"
                                                    "one_answer.<locals>.Broken: repr raised RuntimeError>"}


@pytest.mark.parametrize("value", [None, "text", [], {"json": 1, "repr": "x"}, {"repr": 3}])
def test_a_malformed_value_is_a_wire_error(value: Any) -> None:
    with pytest.raises(wire.WireError):
        wire.value_from_wire(value)


def test_start_failures_keep_the_latest_of_each_child_and_a_bounded_number() -> None:
    failures = StartFailures(keep=2)
    sup, other = Pid(1), Pid(2)
    failures.record(1.0, sup, "web", "listener", "OSError(98)")
    failures.record(2.0, sup, "web", "listener", "OSError(98, 'again')")
    failures.record(3.0, other, None, "db", "ConnectionRefusedError()")
    assert failures.since(0) == [
        StartFailure(2, 2.0, sup, "web", "listener", "OSError(98, 'again')", count=2),
        StartFailure(3, 3.0, other, None, "db", "ConnectionRefusedError()"),
    ]
    assert failures.since(2) == failures.since(0)[1:]
    failures.record(4.0, Pid(3), None, "cache", "x")
    assert [failure.child for failure in failures.since(0)] == ["db", "cache"]  # the oldest pair was dropped


# -- calls ---------------------------------------------------------------------------------------------------------


async def test_a_call_returns_its_reply_as_json_and_tuples_arrive_as_lists(xdg: Path) -> None:
    async with served(control=True) as (_, _), connect(os.getpid()) as conn:
        assert await conn.call("keeper", ["echo", {"k": [1, 2]}]) == {"k": [1, 2]}
        assert await conn.call("keeper", ("echo", "text")) == "text"  # a tuple request is sent as a list
        assert await conn.call("keeper", "tuple") == ["ok", [1, 2.5], None, True]
        assert await conn.call("echo", ["any", 1]) == ["any", 1]


async def test_a_reply_without_json_form_is_its_repr_the_client_can_tell_apart(xdg: Path) -> None:
    async with served(control=True) as (rt, _), connect(os.getpid()) as conn:
        assert await conn.call("keeper", "set") == RemoteRepr("{1, 2}")
        assert await conn.call("keeper", "int keys") == RemoteRepr("{1: 'one'}")
        assert await conn.call("keeper", "pid") == RemoteRepr(repr(rt.whereis("keeper")))
        assert await conn.call("keeper", ["echo", "{1, 2}"]) == "{1, 2}"  # a str stays a str


async def test_a_call_by_path_and_by_pid_text(xdg: Path) -> None:
    async with served(control=True) as (rt, _), connect(os.getpid()) as conn:
        assert await conn.call("app/pool/worker_2", "hi") == "hi"
        assert await conn.call(repr(rt.whereis("echo")), "hi") == "hi"


async def test_call_errors_are_the_runtimes_exceptions_with_the_services_words(xdg: Path) -> None:
    async with served(control=True) as (rt, _), connect(os.getpid()) as conn:
        with pytest.raises(NoProc, match="nobody"):
            await conn.call("nobody", "hi")
        with pytest.raises(CallTimeout, match=r"timed out after 0\.05s") as timed_out:
            await conn.call("keeper", "never", timeout=0.05)
        assert timed_out.value.timeout == 0.05 and timed_out.value.dest == "keeper"
        keeper = rt.whereis("keeper")
        assert keeper is not None
        with pytest.raises(CallExit, match="asked to die") as exited:
            await conn.call("keeper", "die")
        assert exited.value.reason == "RuntimeError('asked to die')"  # the reason's repr
        assert not rt.is_alive(keeper)
        plain = rt.spawn(_plain)
        rt.register("plain", plain)
        with pytest.raises(NotAServer, match=r"a call needs a Server, but <0\.\d+\.0> is a plain process"):
            await conn.call("plain", "hi")
        assert await conn.call("echo", "still here") == "still here"  # the connection goes on after each


async def _plain(proc: Any) -> None:
    await proc.receive()


async def test_a_call_to_a_suspended_server_times_out_and_is_answered_once_resumed(xdg: Path) -> None:
    async with served(control=True) as (_, _), connect(os.getpid()) as conn:
        await conn.suspend("echo")
        with pytest.raises(CallTimeout):
            await conn.call("echo", "hello?", timeout=0.05)
        assert await conn.get_state("echo") == {}  # get_state is answered while suspended (OTP's sys)
        await conn.resume("echo")
        assert await conn.call("echo", "hello?") == "hello?"


async def test_a_request_without_json_form_or_a_bad_timeout_is_refused_before_it_is_sent(xdg: Path) -> None:
    async with served(control=True) as (_, _), connect(os.getpid()) as conn:
        with pytest.raises(InvalidArgument, match="a call's request crosses the wire as JSON: a set is not"):
            await conn.call("echo", ["x", {1}])
        for timeout in (0, -1.0, 301.0, float("nan"), True):
            with pytest.raises(InvalidArgument, match=r"a number of seconds in \(0, 300\]"):
                await conn.call("echo", "x", timeout=timeout)
        with pytest.raises(InvalidArgument, match="at most"):
            await conn.call("echo", "x" * wire.MAX_REQUEST_LINE)
        assert await conn.call("echo", "fine") == "fine"


async def test_a_read_only_endpoint_refuses_calls_and_says_how_to_allow_them(xdg: Path) -> None:
    async with served() as (rt, endpoint), connect(os.getpid()) as conn:
        with pytest.raises(ReadOnly, match=r"^call refused: the service is read-only .*observer run --control"):
            await conn.call("echo", "hi")
        # The endpoint refuses too, for a client that does not check first.
        reader, writer = await asyncio.open_unix_connection(str(endpoint.path), limit=wire.MAX_RESPONSE_LINE)
        try:
            writer.write(wire.encode(wire.request(1, wire.HELLO, **wire.hello_request(None))))
            writer.write(wire.encode(wire.request(2, wire.CALL, **wire.call_to_wire("echo", "hi", 1.0))))
            await writer.drain()
            assert "ok" in wire.decode(await reader.readline())
            assert wire.decode(await reader.readline())["error"]["kind"] == wire.E_READ_ONLY
        finally:
            writer.close()
        assert rt.whereis("echo") is not None


# -- states ------------------------------------------------------------------------------------------------------


async def test_get_state_is_format_status_redacted_and_read_only_allowed(xdg: Path) -> None:
    async with served() as (rt, _), connect(os.getpid()) as conn:
        # The state has a set: it has no JSON form, so it crosses as the repr of format_status().
        state = await conn.get_state("keeper")
        assert state == RemoteRepr("{'rows': {'a': (1, 2)}, 'tags': {'x'}, 'api_key': '***'}")
        assert await conn.get_state("echo") == {}
        with pytest.raises(NotAServer, match="get_state needs a Server"):
            plain = rt.spawn(_plain)
            await conn.get_state(plain)
        with pytest.raises(NoProc):
            await conn.get_state("nobody")


async def test_a_json_state_arrives_as_json(xdg: Path) -> None:
    async with served() as (rt, _), connect(os.getpid()) as conn:
        server = rt.server_of(rt.whereis("keeper"))  # type: ignore[arg-type]
        assert isinstance(server, Keeper)
        server.tags = ["x"]  # type: ignore[assignment]
        assert await conn.get_state("keeper") == {"rows": {"a": [1, 2]}, "tags": ["x"], "api_key": "***"}


# -- start failures -------------------------------------------------------------------------------------------


async def test_why_a_restart_failed_is_kept_per_child_with_its_count(xdg: Path) -> None:
    async with served() as (rt, _), connect(os.getpid()) as conn:
        assert await conn.start_failures() == []
        starts: list[int] = []
        sup = await Supervisor.start_link(rt, [ChildSpec("flaky", lambda: Flaky.start_link(rt, starts))],
                                          name="flaky_sup", max_restarts=2)
        assert sup is not None
        flaky = next(child.pid for child in await Supervisor.which_children(rt, sup))
        assert isinstance(flaky, Pid)
        async with rt.attached() as me:
            ref = me.monitor(sup)
            rt.exit(flaky, "kill")  # every restart fails, until the supervisor gives up
            await me.receive(lambda m: type(m) is Down and m.ref is ref, timeout=GUARD)
        (failure,) = await conn.start_failures()
        assert (failure.supervisor_name, failure.child) == ("flaky_sup", "flaky")
        assert str(failure.supervisor) == repr(sup)
        assert failure.reason == "OSError(98, 'address already in use')"
        assert failure.count == len(starts) - 1 >= 1 and failure.seq == failure.count
        assert await conn.start_failures(since=failure.seq) == []


# -- an older endpoint -----------------------------------------------------------------------------------------


async def test_an_endpoint_that_does_not_know_an_op_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "old.sock"

    async def old_endpoint(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            message = wire.decode(line)
            if message["op"] == wire.HELLO:
                hello = wire.hello_reply(os_pid=1, argv=[], python="3", executable="python", control=True,
                                         processes=1, loop_blocked=0.0, uptime=1.0, started_at=0.0,
                                         stall_threshold=0.25, path=str(path), tcp=None)
                writer.write(wire.encode(wire.ok(message["id"], hello)))
            else:
                writer.write(wire.encode(wire.error(message["id"], wire.E_UNKNOWN_OP,
                                                    f"unknown op {message['op']!r}: closing")))
            await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(old_endpoint, str(path))
    async with server, connect(path) as conn:
        with pytest.raises(RemoteError, match=r"does not know 'call' \(an older observer\?"):
            await conn.call("echo", "hi")


# -- the endpoint's loop figures ------------------------------------------------------------------------------


async def test_stalls_total_and_loop_lag_are_read_from_another_thread_while_the_loop_is_blocked(xdg: Path) -> None:
    async with asyncio.timeout(GUARD), Runtime() as rt:
        await tree(rt)
        async with serve(rt, stall_threshold=0.1) as endpoint:
            assert endpoint_of(rt) is endpoint
            assert endpoint.stalls_total == 0

            def watch() -> tuple[int, float, bool]:
                """In another thread: wait until the endpoint counts the stall under way."""
                on_loop = threading.get_ident() == loop_thread
                deadline = time.monotonic() + GUARD
                while endpoint.stalls_total == 0 and time.monotonic() < deadline:
                    time.sleep(0.005)  # polling another thread's figure: nothing to await here
                return endpoint.stalls_total, endpoint.loop_lag, on_loop

            loop_thread = threading.get_ident()
            with ThreadPoolExecutor(max_workers=1) as pool:
                # The loop is blocked right here until the other thread has seen the stall begin.
                during, lag, on_loop = pool.submit(watch).result(timeout=GUARD)
            assert not on_loop and during == 1 and lag >= 0.1
            async with connect(os.getpid()) as conn:
                stalls = await conn.stalls()
            assert len(stalls) == endpoint.stalls_total == 1  # the same stall, counted once
        assert endpoint_of(rt) is None


async def test_endpoint_of_finds_only_the_runtime_it_serves(xdg: Path) -> None:
    async with Runtime() as rt, Runtime() as other:
        assert endpoint_of(rt) is None
        async with serve(rt) as endpoint:
            assert endpoint_of(rt) is endpoint and endpoint_of(other) is None
        assert endpoint_of(rt) is None
