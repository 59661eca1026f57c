"""Tests for observer.system.state_store: agent state on SQLite survives restarts, and failures are StorageError."""

from __future__ import annotations

import gc
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from observer.runtime import InvalidArgument, Pid, Runtime
from observer.system import Agent, StateStore, StorageError, start_system

from . import AGENTS, ROOT_CHILDREN, agent_pids, child_pids, whereis


@pytest.mark.parametrize("store", ["memory", "file"])
async def test_a_killed_state_store_restarts_alone_with_everything_written(
    rt: Runtime, tmp_path: Path, store: str
) -> None:
    root = await start_system(rt, store_path=tmp_path / "state.db" if store == "file" else None, workload=False)
    for agent_id in AGENTS:
        await Agent.put(rt, agent_id, "id", agent_id)
    siblings = await child_pids(rt, root)
    agents = await agent_pids(rt)
    old_store = whereis(rt, "state_store")

    rt.exit(old_store, "kill")
    new_store = (await child_pids(rt, "state_supervisor"))["state_store"]  # one_for_one: settled

    assert isinstance(new_store, Pid) and new_store is not old_store
    assert rt.whereis("state_store") is new_store
    assert await child_pids(rt, root) == siblings
    assert await agent_pids(rt) == agents
    await Agent.put(rt, "agent_1", "after", "the restart")
    assert await Agent.state(rt, "agent_1") == {"id": "agent_1", "after": "the restart"}
    assert await StateStore.get(rt, "state_store", "agent_1") == {"id": "agent_1", "after": "the restart"}
    assert await StateStore.get(rt, "state_store", "agent_2") == {"id": "agent_2"}
    assert await StateStore.owners(rt, "state_store") == list(AGENTS)


async def test_state_store_api(rt: Runtime, system: Pid) -> None:
    assert await StateStore.owners(rt, "state_store") == []
    assert await StateStore.get(rt, "state_store", "nobody") is None

    await StateStore.put(rt, "state_store", "b_owner", {"x": [1, "two", None]})
    await StateStore.put(rt, "state_store", "a_owner", {})
    await StateStore.put(rt, "state_store", "b_owner", {"x": 2})

    assert await StateStore.owners(rt, "state_store") == ["a_owner", "b_owner"]
    assert await StateStore.get(rt, "state_store", "b_owner") == {"x": 2}
    assert await StateStore.get(rt, "state_store", "a_owner") == {}


@pytest.mark.parametrize("as_str", [False, True], ids=["Path", "str"])
async def test_a_file_store_keeps_agent_state_across_runtimes(tmp_path: Path, as_str: bool) -> None:
    path = tmp_path / "state.db"
    store_path: str | Path = str(path) if as_str else path
    async with Runtime() as rt:
        await start_system(rt, store_path=store_path, workload=False)
        await Agent.put(rt, "agent_2", "persisted", {"across": "runtimes"})

    async with Runtime() as rt:
        await start_system(rt, store_path=store_path, workload=False)
        assert await Agent.state(rt, "agent_2") == {"persisted": {"across": "runtimes"}}
        assert await Agent.state(rt, "agent_1") == {}

    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize("name", ["a?mode=ro.db", "b#fragment.db", "c%41.db", "d e.db"])
async def test_a_store_path_is_taken_literally(tmp_path: Path, name: str) -> None:
    async with Runtime() as rt:
        await start_system(rt, store_path=tmp_path / name, workload=False)
        await Agent.put(rt, "agent_1", "file", name)

    assert (tmp_path / name).is_file()
    with closing(sqlite3.connect(tmp_path / name)) as db:
        assert db.execute("SELECT owner FROM agent_state").fetchall() == [("agent_1",)]


@pytest.mark.parametrize("store_path", [None, ":memory:"])
async def test_a_memory_store_survives_a_restart_of_the_store(rt: Runtime, store_path: str | None) -> None:
    await start_system(rt, store_path=store_path, workload=False)
    await Agent.put(rt, "agent_1", "k", "v")

    rt.exit(whereis(rt, "state_supervisor"), "kill")
    await child_pids(rt, "system")

    assert await Agent.state(rt, "agent_1") == {"k": "v"}
    assert await StateStore.owners(rt, "state_store") == ["agent_1"]


async def test_a_memory_store_starts_empty_for_each_system() -> None:
    async with Runtime() as rt:
        await start_system(rt, workload=False)
        await Agent.put(rt, "agent_1", "k", "v")

    async with Runtime() as rt:
        await start_system(rt, workload=False)
        assert await Agent.state(rt, "agent_1") == {}


# -- storage errors ---------------------------------------------------------------------------


def refuse_writes(path: Path, message: str) -> None:
    """Make every write to agent_state fail, through a second connection to the file."""
    with closing(sqlite3.connect(path)) as db:
        for event in ("INSERT", "UPDATE"):
            db.execute(
                f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON agent_state "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        db.commit()


def allow_writes(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("DROP TRIGGER refuse_insert")
        db.execute("DROP TRIGGER refuse_update")
        db.commit()


async def test_a_failing_write_is_a_storage_error_and_loses_nothing(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    await start_system(rt, store_path=path, workload=False)
    await Agent.put(rt, "agent_1", "kept", 1)
    store = whereis(rt, "state_store")
    refuse_writes(path, "the disk refuses")

    with pytest.raises(StorageError, match="the disk refuses") as raised:
        await Agent.put(rt, "agent_1", "lost", 2)
    with pytest.raises(StorageError, match="could not write the state of 'agent_2'"):
        await Agent.put(rt, "agent_2", "first", 1)  # an insert, not an update

    assert raised.value.operation == "write the state of 'agent_1'"
    assert isinstance(raised.value.cause, sqlite3.Error)
    assert await Agent.state(rt, "agent_1") == {"kept": 1}
    assert await Agent.state(rt, "agent_2") == {}
    assert await StateStore.get(rt, "state_store", "agent_1") == {"kept": 1}
    assert rt.whereis("state_store") is store  # an expected error: the store itself is fine

    allow_writes(path)
    await Agent.put(rt, "agent_1", "later", 3)
    rt.exit(whereis(rt, "agent_1"), "kill")
    await agent_pids(rt)
    assert await Agent.state(rt, "agent_1") == {"kept": 1, "later": 3}


async def test_a_dropped_table_is_a_storage_error_until_the_store_restarts(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    await start_system(rt, store_path=path, workload=False)
    await Agent.put(rt, "agent_3", "kept", 1)
    with closing(sqlite3.connect(path)) as db:
        db.execute("DROP TABLE agent_state")
        db.commit()

    with pytest.raises(StorageError, match="no such table: agent_state"):
        await Agent.put(rt, "agent_3", "lost", 2)
    with pytest.raises(StorageError, match="could not list owners"):
        await StateStore.owners(rt, "state_store")

    assert await Agent.state(rt, "agent_3") == {"kept": 1}
    rt.exit(whereis(rt, "state_store"), "kill")  # a new store creates the schema again
    await child_pids(rt, "state_supervisor")
    await Agent.put(rt, "agent_3", "again", 3)
    assert await StateStore.get(rt, "state_store", "agent_3") == {"kept": 1, "again": 3}


async def test_killing_state_supervisor_with_a_file_store_keeps_every_agent_state(
    rt: Runtime, tmp_path: Path
) -> None:
    root = await start_system(rt, agents=5, store_path=tmp_path / "state.db", workload=False)
    expected = {}
    for number in range(1, 6):
        agent_id = f"agent_{number}"
        for key in range(number):
            await Agent.put(rt, agent_id, f"key_{key}", key * number)
        expected[agent_id] = await Agent.state(rt, agent_id)

    rt.exit(whereis(rt, "state_supervisor"), "kill")
    assert list(await child_pids(rt, root)) == list(ROOT_CHILDREN)

    assert {agent_id: await Agent.state(rt, agent_id) for agent_id in expected} == expected


# -- bad stored rows and bad arguments -------------------------------------------------------


def store_row(path: Path, owner: str, state: object) -> None:
    """Write `state` as the stored state of `owner`, through a second connection to the file."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("INSERT OR REPLACE INTO agent_state (owner, state) VALUES (?, ?)", (owner, state))
        db.commit()


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        ("{not json", "the stored state is not valid JSON"),
        ("", "the stored state is not valid JSON"),
        ('[["k", "v"]]', "the stored state is a JSON array, not an object"),
        ('"text"', "the stored state is a JSON string, not an object"),
        ("5", "the stored state is a JSON number, not an object"),
        ("null", "the stored state is a JSON null, not an object"),
        ("true", "the stored state is a JSON boolean, not an object"),
        (b"{}", "the stored state is not text but bytes"),
    ],
    ids=["not JSON", "empty", "array", "string", "number", "null", "boolean", "blob"],
)
async def test_a_stored_row_that_is_not_a_json_object_is_a_storage_error_naming_the_agent(
    rt: Runtime, tmp_path: Path, stored: object, why: str
) -> None:
    path = tmp_path / "state.db"
    await start_system(rt, store_path=path, workload=False)
    await Agent.put(rt, "agent_2", "kept", 1)
    store = whereis(rt, "state_store")
    store_row(path, "agent_1", stored)

    with pytest.raises(StorageError) as raised:
        await StateStore.get(rt, "state_store", "agent_1")

    assert raised.value.operation == "read the state of 'agent_1'"
    assert str(raised.value).startswith(f"state store could not read the state of 'agent_1': {why}")
    assert "\n" not in str(raised.value)
    assert rt.whereis("state_store") is store  # an expected error: the store itself is fine
    assert await StateStore.get(rt, "state_store", "agent_2") == {"kept": 1}


@pytest.mark.parametrize(
    ("owner", "state", "message"),
    [
        (7, {}, "a state owner must be a str, got 7"),
        ("agent_1", [("k", "v")], "the state of 'agent_1' must be a dict, got list"),
        ("agent_1", {"k": object()}, "the state of 'agent_1' must be JSON-serialisable"),
    ],
    ids=["owner", "not a dict", "not JSON"],
)
async def test_bad_arguments_are_invalid_arguments_and_the_store_keeps_running(
    rt: Runtime, system: Pid, owner: object, state: object, message: str
) -> None:
    store = whereis(rt, "state_store")

    with pytest.raises(InvalidArgument, match=message):
        await StateStore.put(rt, "state_store", owner, state)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="a state owner must be a str"):
        await StateStore.get(rt, "state_store", None)  # type: ignore[arg-type]

    assert rt.whereis("state_store") is store
    assert await StateStore.owners(rt, "state_store") == []


# -- connections closed when the system stops --------------------------------------------------


def files_held_open(directory: Path) -> list[str]:
    """The files under `directory` this process has open (Linux: read from /proc/self/fd)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the fd listdir itself used, closed by now
            continue
        if target.startswith(f"{directory}{os.sep}"):
            held.append(os.path.basename(target))
    return sorted(held)


@contextmanager
def no_garbage_collection() -> Iterator[None]:
    """Keep the cyclic garbage collector off, so that it cannot close a forgotten connection for us."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd to see open files")
@pytest.mark.parametrize("kill_the_store", [False, True], ids=["stopped", "killed then restarted"])
async def test_no_connection_and_no_wal_file_is_left_once_the_runtime_has_stopped(
    tmp_path: Path, kill_the_store: bool
) -> None:
    path = tmp_path / "state.db"
    with no_garbage_collection():
        async with Runtime() as rt:
            await start_system(rt, store_path=path, workload=False)
            await Agent.put(rt, "agent_1", "k", 1)
            assert files_held_open(tmp_path) != []  # the store's own connection, while it runs
            if kill_the_store:  # a kill skips terminate: the next store must close the old connection
                rt.exit(whereis(rt, "state_store"), "kill")
                await child_pids(rt, "state_supervisor")
                await Agent.put(rt, "agent_1", "k", 2)

        assert files_held_open(tmp_path) == []
        assert sorted(os.listdir(tmp_path)) == ["state.db"]  # no state.db-wal, no state.db-shm

    with closing(sqlite3.connect(path)) as db:
        expected = '{"k": 2}' if kill_the_store else '{"k": 1}'
        assert db.execute("SELECT state FROM agent_state").fetchall() == [(expected,)]
