"""StateStore: the SQLite-backed server that persists agent state across restarts."""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
import uuid
from typing import Any

from observer.runtime import Caller, InvalidArgument, Pid, Runtime, Server

from .errors import StorageError, raise_if_error, storage

_SCHEMA = "CREATE TABLE IF NOT EXISTS agent_state (owner TEXT PRIMARY KEY, state TEXT NOT NULL)"


class StoreLocation:
    """Where the store's database lives: a file, or memory shared by every connection to it.

    An in-memory database lasts as long as this object (it holds one
    connection open, its keeper), so a restarted StateStore finds everything
    the killed one wrote. A file database needs no keeper: the file is checked
    and its schema created once, here, and that connection closed at once, so
    when the store's own connection closes at shutdown SQLite removes the
    -wal and -shm files. A file database is opened in WAL mode with
    synchronous=NORMAL: a commit does not wait for fsync, and a crash of this
    process loses nothing.
    """

    _keeper: sqlite3.Connection | None  # None for a file database, or once closed
    # Invariant: `_stores` holds the open connection of every store process that opened
    # one and has not closed it. A killed store (no `terminate`) stays here until the
    # next store opens, which closes it, instead of waiting for the garbage collector.
    _stores: dict[Pid, sqlite3.Connection]

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        """Open (and create) the database once, so a bad path fails here with one clear error.

        Args:
            path: the database file; None or ":memory:" keeps it in memory.

        Raises:
            StorageError: the database cannot be opened or written at `path`.
        """
        self._stores = {}
        # SQLite's own ":memory:" would give every connection a database of its own,
        # so a restarted store would find nothing: it means the shared one here.
        if path is None or path == ":memory:":
            self.uri = f"file:observer-state-{uuid.uuid4().hex}?mode=memory&cache=shared"
            self.description = ":memory:"
            self._keeper = self.connect()
        else:
            self.description = os.fspath(path)
            _check_database_path(self.description)
            # Quoted: `?`, `#` and `%` are part of a file name, not of the URI's syntax.
            self.uri = f"file:{urllib.parse.quote(self.description)}"
            self.connect().close()
            self._keeper = None

    def connect(self) -> sqlite3.Connection:
        """A new connection with the schema in place.

        Raises:
            StorageError: the database cannot be opened or written.
        """
        with storage(f"open {self.description!r}"):
            connection = sqlite3.connect(self.uri, uri=True, isolation_level=None)
            try:
                if self.description != ":memory:":
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(_SCHEMA)
            except sqlite3.Error:
                connection.close()  # a file that is not a database must not stay open
                raise
        return connection

    def open_for(self, rt: Runtime, store: Pid) -> sqlite3.Connection:
        """A new connection for the store process `store`, after closing those of stores that died.

        Raises:
            StorageError: the database cannot be opened or written.
        """
        for dead in [pid for pid in self._stores if not rt.is_alive(pid)]:
            self._stores.pop(dead).close()
        connection = self.connect()
        self._stores[store] = connection
        return connection

    def release(self, store: Pid) -> None:
        """Close the connection `open_for(rt, store)` gave (no error if it is already closed)."""
        connection = self._stores.pop(store, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Close every connection still open, the keeper last (an in-memory database then goes away)."""
        for store in list(self._stores):
            self.release(store)
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None


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
    """Persists each owner's state as a JSON object; every write is committed before the call returns.

    It traps exits so that a shutdown by its supervisor runs `terminate`,
    which closes the connection. A kill skips `terminate` (every write was
    already committed): the next store to open at the same location closes
    the killed one's connection.
    """

    trap_exits = True
    _db: sqlite3.Connection
    _location: StoreLocation

    @classmethod
    async def put(cls, rt: Runtime, store: Pid | str, owner: str, state: dict[str, Any]) -> None:
        """Write `owner`'s whole state.

        Raises:
            InvalidArgument: `owner` is not a str, or `state` not a JSON-serialisable dict.
            StorageError: the write failed; what was stored before is unchanged.
        """
        _check_owner(owner)
        if not isinstance(state, dict):
            raise InvalidArgument(f"the state of {owner!r} must be a dict, got {type(state).__name__}")
        try:
            encoded = json.dumps(state)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"the state of {owner!r} must be JSON-serialisable: {exc}") from None
        raise_if_error(await rt.call(store, ("put", owner, encoded)))

    @classmethod
    async def get(cls, rt: Runtime, store: Pid | str, owner: str) -> dict[str, Any] | None:
        """`owner`'s state, or None if it never wrote one.

        Raises:
            InvalidArgument: `owner` is not a str.
            StorageError: it cannot be read, or what is stored is not a JSON object.
        """
        _check_owner(owner)
        result: dict[str, Any] | None = raise_if_error(await rt.call(store, ("get", owner)))
        return result

    @classmethod
    async def owners(cls, rt: Runtime, store: Pid | str) -> list[str]:
        """Every owner with stored state, sorted."""
        result: list[str] = raise_if_error(await rt.call(store, ("owners",)))
        return result

    async def init(self, location: StoreLocation) -> None:
        self._location = location
        self._db = location.open_for(self.runtime, self.pid)

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
                    return None if row is None else _decode(owner, row[0])
                case ("owners",):
                    with storage("list owners"):
                        return [row[0] for row in self._db.execute("SELECT owner FROM agent_state ORDER BY owner")]
        except StorageError as error:
            return error  # the caller raises it; the store itself is fine
        raise ValueError(f"unknown state store request {request!r}")

    async def terminate(self, reason: Any) -> None:
        self._location.release(self.pid)


def _check_owner(owner: Any) -> None:
    if not isinstance(owner, str):
        raise InvalidArgument(f"a state owner must be a str, got {owner!r}")


def _decode(owner: str, stored: Any) -> dict[str, Any]:
    """The state stored for `owner`, which must be the text of a JSON object.

    Raises:
        StorageError: it is not text, not JSON, or JSON but not an object.
    """
    operation = f"read the state of {owner!r}"
    if not isinstance(stored, str):
        raise StorageError(operation, f"the stored state is not text but {type(stored).__name__}")
    try:
        state = json.loads(stored)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise StorageError(operation, f"the stored state is not valid JSON ({exc})") from None
    if not isinstance(state, dict):
        raise StorageError(operation, f"the stored state is a JSON {_json_type(state)}, not an object")
    return state


def _json_type(value: Any) -> str:
    """The JSON name of what `json.loads` returned for a value that is not an object."""
    match value:
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
    return "null"
