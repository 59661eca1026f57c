"""Tests for observer.system.errors and for bad input to start_system: named errors, nothing started."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from observer.runtime import (
    NO_REPLY,
    AlreadyStarted,
    Caller,
    CallExit,
    CallTimeout,
    InvalidArgument,
    NoProc,
    Pid,
    Runtime,
    Server,
    StartError,
)
from observer.system import ServiceUnavailable, StorageError, start_system
from observer.system.errors import call_service, raise_if_error, storage

from . import down_of, start_unlinked

# -- storage() --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        sqlite3.IntegrityError("constraint failed"),
        sqlite3.DatabaseError("file is not a database"),
    ],
    ids=["operational", "integrity", "database"],
)
def test_storage_turns_a_sqlite3_error_into_a_storage_error(error: sqlite3.Error) -> None:
    with pytest.raises(StorageError) as raised, storage("write the state of 'agent_1'"):
        raise error

    assert raised.value.operation == "write the state of 'agent_1'"
    assert raised.value.cause is error
    assert raised.value.__cause__ is error
    assert str(raised.value) == f"state store could not write the state of 'agent_1': {error}"


def test_storage_turns_a_real_sqlite3_failure_into_a_storage_error() -> None:
    db = sqlite3.connect(":memory:")
    try:
        with pytest.raises(StorageError, match="could not list owners: no such table: agent_state"), storage(
            "list owners"
        ):
            db.execute("SELECT owner FROM agent_state")
    finally:
        db.close()


@pytest.mark.parametrize(
    "error", [KeyError("k"), RuntimeError("a bug"), ValueError("v"), StorageError("x", "y")], ids=repr
)
def test_storage_lets_every_other_exception_through(error: Exception) -> None:
    with pytest.raises(type(error)) as raised, storage("anything"):
        raise error

    assert raised.value is error


def test_storage_does_nothing_when_nothing_fails() -> None:
    with storage("nothing"):
        result = 1 + 1

    assert result == 2


# -- call_service() ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        NoProc("rate_limiter", "it is not alive"),
        CallExit("rate_limiter", "killed"),
        CallTimeout("rate_limiter", "check", 5.0),
    ],
    ids=["NoProc", "CallExit", "CallTimeout"],
)
async def test_call_service_turns_an_unavailable_service_into_service_unavailable(error: Exception) -> None:
    async def call() -> None:
        raise error

    with pytest.raises(ServiceUnavailable) as raised:
        await call_service("rate_limiter", call)

    assert raised.value.service == "rate_limiter"
    assert raised.value.cause is error
    assert raised.value.__cause__ is error
    assert str(raised.value) == f"rate_limiter is unavailable: {error}"


@pytest.mark.parametrize(
    "error", [RuntimeError("a bug"), KeyError("k"), InvalidArgument("bad"), StorageError("x", "y")], ids=repr
)
async def test_call_service_lets_every_other_exception_through(error: Exception) -> None:
    async def call() -> None:
        raise error

    with pytest.raises(type(error)) as raised:
        await call_service("rate_limiter", call)

    assert raised.value is error


async def test_call_service_returns_the_reply() -> None:
    async def call() -> int:
        return 42

    assert await call_service("anything", call) == 42


class Crashing(Server):
    """Crashes on any call: a bug in a service."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        raise RuntimeError(f"bug handling {request!r}")


class SlowToAnswer(Server):
    """Never answers a call."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return NO_REPLY


async def test_a_real_unknown_name_is_service_unavailable(rt: Runtime) -> None:
    with pytest.raises(ServiceUnavailable, match="nobody is unavailable: no process 'nobody'") as raised:
        await call_service("nobody", lambda: rt.call("nobody", "ping"))

    assert isinstance(raised.value.cause, NoProc)


async def test_a_service_that_crashes_during_the_call_still_crashes_into_its_supervisor(rt: Runtime) -> None:
    server = await start_unlinked(rt, Crashing)

    async with rt.attached() as me:
        me.monitor(server)
        with pytest.raises(ServiceUnavailable) as raised:
            await call_service("crashing", lambda: rt.call(server, "ping"))
        down = await down_of(me, server)

    # The caller learns the service is unavailable; the crash itself is not swallowed:
    # the server died with it, which is what its supervisor (or monitor) sees.
    assert isinstance(raised.value.cause, CallExit)
    assert raised.value.cause.reason is down.reason
    assert isinstance(down.reason, RuntimeError)
    assert str(down.reason) == "bug handling 'ping'"


async def test_a_real_timeout_is_service_unavailable(rt: Runtime) -> None:
    server = await start_unlinked(rt, SlowToAnswer)

    with pytest.raises(ServiceUnavailable) as raised:
        await call_service("slow", lambda: rt.call(server, "ping", timeout=0))

    assert isinstance(raised.value.cause, CallTimeout)


# -- raise_if_error() -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [None, 0, "text", {"a": 1}, [StorageError("x", "y")], ValueError("a value")], ids=repr
)
def test_raise_if_error_returns_anything_else(value: Any) -> None:
    assert raise_if_error(value) is value


@pytest.mark.parametrize(
    "error", [StorageError("write", "disk full"), ServiceUnavailable("state_store", NoProc("state_store"))], ids=repr
)
def test_raise_if_error_raises_a_typed_error(error: Exception) -> None:
    with pytest.raises(type(error)) as raised:
        raise_if_error(error)

    assert raised.value is error


# -- bad input to start_system -------------------------------------------------------------


@pytest.mark.parametrize("agents", [-1, True, 1.5, "3", None])
async def test_a_bad_agent_count_is_an_invalid_argument_and_starts_nothing(rt: Runtime, agents: Any) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await start_system(rt, agents=agents, workload=False)

    assert str(raised.value) == f"agents must be an int >= 0, got {agents!r}"
    assert rt.processes() == []


@pytest.mark.parametrize("interval", [0, -1, 0.0, float("nan"), "fast", None, True])
async def test_a_bad_workload_interval_is_an_invalid_argument_and_starts_nothing(rt: Runtime, interval: Any) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await start_system(rt, workload_interval=interval)

    assert str(raised.value) == f"workload_interval must be a number of seconds > 0, got {interval!r}"
    assert rt.processes() == []


def bad_paths(tmp_path: Path) -> dict[str, tuple[Path | str, str]]:
    """name -> (store_path, what the message must say)."""
    return {
        "missing-directory": (
            tmp_path / "missing" / "state.db",
            f"could not open '{tmp_path / 'missing' / 'state.db'}': directory '{tmp_path / 'missing'}' does not exist",
        ),
        "directory": (tmp_path, f"could not open '{tmp_path}': it is a directory"),
        "empty": ("", "an empty path names no file"),
    }


@pytest.mark.parametrize("case", ["missing-directory", "directory", "empty"])
async def test_an_unusable_store_path_is_a_storage_error_and_starts_nothing(
    rt: Runtime, tmp_path: Path, case: str
) -> None:
    store_path, message = bad_paths(tmp_path)[case]

    with pytest.raises(StorageError) as raised:
        await start_system(rt, store_path=store_path, workload=False)

    assert message in str(raised.value)
    assert rt.processes() == []
    assert not (tmp_path / "missing").exists()


async def test_a_file_that_is_not_a_database_is_a_storage_error_and_is_left_as_it_was(
    rt: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    content = b"someone's notes, not a database\n" * 200
    path.write_bytes(content)

    with pytest.raises(StorageError, match="file is not a database") as raised:
        await start_system(rt, store_path=path, workload=False)

    assert str(path) in str(raised.value)
    assert path.read_bytes() == content
    assert rt.processes() == []


async def test_a_second_system_in_one_runtime_is_already_started_and_leaves_the_first_alone(
    rt: Runtime, system: Pid
) -> None:
    processes = rt.processes()

    with pytest.raises(AlreadyStarted) as raised:
        await start_system(rt, workload=False)

    assert raised.value.pid is system
    assert rt.processes() == processes


@pytest.mark.parametrize(
    ("taken", "failed_child"), [("agent_2", "agent_supervisor"), ("coordination_manager", "services")]
)
async def test_a_taken_name_is_a_start_error_and_stops_what_had_started(
    rt: Runtime, taken: str, failed_child: str
) -> None:
    squatter = await start_unlinked(rt, Crashing)
    rt.register(taken, squatter)

    with pytest.raises(StartError) as raised:
        await start_system(rt, workload=False)

    reason = raised.value.reason
    assert reason[:2] == ("failed_to_start_child", failed_child)
    assert taken in str(raised.value)
    assert rt.processes() == [squatter]
