"""StateStore: the SQLite-backed server that persists agent state across restarts."""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
import uuid
from typing import Any

from observer.runtime import Caller, Pid, Runtime, Server

from .errors import StorageError, raise_if_error, storage

_SCHEMA = "CREATE TABLE IF NOT EXISTS agent_state (owner TEXT PRIMARY KEY, state TEXT NOT NULL)"


class StoreLocation:
    """Where the store's database lives: a file, or memory shared by every connection to it.

    An in-memory database lasts as long as this object (it holds one
    connection open), so a restarted StateStore finds everything the killed
    one wrote. A file database is opened in WAL mode with synchronous=NORMAL:
    a commit does not wait for fsync, and a crash of this process loses nothing.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        """Open (and create) the database once, so a bad path fails here with one clear error.

        Args:
            path: the database file; None or ":memory:" keeps it in memory.

        Raises:
            StorageError: the database cannot be opened or written at `path`.
        """
        # SQLite's own ":memory:" would give every connection a database of its own,
        # so a restarted store would find nothing: it means the shared one here.
        if path is None or path == ":memory:":
            self.uri = f"file:observer-state-{uuid.uuid4().hex}?mode=memory&cache=shared"
            self.description = ":memory:"
        else:
            self.description = os.fspath(path)
            _check_database_path(self.description)
            # Quoted: `?`, `#` and `%` are part of a file name, not of the URI's syntax.
            self.uri = f"file:{urllib.parse.quote(self.description)}"
        self._keeper = self.connect()

    def connect(self) -> sqlite3.Connection:
        """A new connection with the schema in place.

        Raises:
            StorageError: the database cannot be opened or written.
        """
        with storage(f"open {self.description!r}"):
            connection = sqlite3.connect(self.uri, uri=True, isolation_level=None)
            if self.description != ":memory:":
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
        return connection

    def close(self) -> None:
        """Close the keeper connection (an in-memory database then goes away)."""
        self._keeper.close()


def _check_database_path(path: str) -> None:
    """Raise StorageError saying why `path` cannot be a database file, for what sqlite3 does not say.

    Raises:
        StorageError: `path` is empty or a directory, or its directory does not exist.
    """
    if not path:
        raise StorageError("open ''", "an empty path names no file (None keeps the state in memory)")
    if os.path.isdir(path):
        raise StorageError(f"open {path!r}", "it is a directory; give the path of a database file")
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise StorageError(f"open {path!r}", f"directory {directory!r} does not exist")


class StateStore(Server):
    """Persists each owner's state as JSON; every write is committed before the call returns.

    It traps exits so that a shutdown by its supervisor runs `terminate`,
    which closes the connection (a kill leaves that to the garbage collector;
    every write was already committed).
    """

    trap_exits = True
    _db: sqlite3.Connection

    @classmethod
    async def put(cls, rt: Runtime, store: Pid | str, owner: str, state: dict[str, Any]) -> None:
        """Write `owner`'s whole state.

        Raises:
            StorageError: the write failed; what was stored before is unchanged.
        """
        raise_if_error(await rt.call(store, ("put", owner, json.dumps(state))))

    @classmethod
    async def get(cls, rt: Runtime, store: Pid | str, owner: str) -> dict[str, Any] | None:
        """`owner`'s state, or None if it never wrote one."""
        encoded = raise_if_error(await rt.call(store, ("get", owner)))
        return None if encoded is None else dict(json.loads(encoded))

    @classmethod
    async def owners(cls, rt: Runtime, store: Pid | str) -> list[str]:
        """Every owner with stored state, sorted."""
        result: list[str] = raise_if_error(await rt.call(store, ("owners",)))
        return result

    async def init(self, location: StoreLocation) -> None:
        self._db = location.connect()

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        try:
            match request:
                case ("put", str(owner), str(encoded)):
                    with storage(f"write the state of {owner!r}"):
                        self._db.execute(
                            "INSERT INTO agent_state (owner, state) VALUES (?, ?) "
                            "ON CONFLICT(owner) DO UPDATE SET state = excluded.state",
                            (owner, encoded),
                        )
                    return None
                case ("get", str(owner)):
                    with storage(f"read the state of {owner!r}"):
                        row = self._db.execute("SELECT state FROM agent_state WHERE owner = ?", (owner,)).fetchone()
                    return None if row is None else row[0]
                case ("owners",):
                    with storage("list owners"):
                        return [row[0] for row in self._db.execute("SELECT owner FROM agent_state ORDER BY owner")]
        except StorageError as error:
            return error  # the caller raises it; the store itself is fine
        raise ValueError(f"unknown state store request {request!r}")

    async def terminate(self, reason: Any) -> None:
        self._db.close()
