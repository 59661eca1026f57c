"""Error handling for the system's services: named, expected failures become typed errors.

The reference platform caught every exception and turned it into a value,
which hid crashes from supervisors. Here only two categories are expected
and handled — storage errors from sqlite3 and a service that is briefly
unavailable (restarting, timed out) — and anything else crashes the process
into its supervisor.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from observer.runtime import CallExit, CallTimeout, NoProc, ObserverError

T = TypeVar("T")

UNAVAILABLE = (NoProc, CallExit, CallTimeout)
"""What a call to a service that is restarting or overloaded raises."""


class StorageError(ObserverError):
    """The state store could not do `operation`; `cause` is the sqlite3 error."""

    def __init__(self, operation: str, cause: sqlite3.Error | str) -> None:
        self.operation = operation
        self.cause = cause
        super().__init__(f"state store could not {operation}: {cause}")


class ServiceUnavailable(ObserverError):
    """A service did not answer (not running, exited during the call, or timed out)."""

    def __init__(self, service: str, cause: Exception) -> None:
        self.service = service
        self.cause = cause
        super().__init__(f"{service} is unavailable: {cause}")


@contextmanager
def storage(operation: str) -> Iterator[None]:
    """Turn a sqlite3 error inside the block into `StorageError(operation, error)`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(operation, exc) from exc


async def call_service(service: str, call: Callable[[], Awaitable[T]]) -> T:
    """Await `call()`; a service that is not there or does not answer raises `ServiceUnavailable`."""
    try:
        return await call()
    except UNAVAILABLE as exc:
        raise ServiceUnavailable(service, exc) from exc


def raise_if_error(result: Any) -> Any:
    """Raise `result` if a server answered with one of these typed errors, else return it."""
    if isinstance(result, (StorageError, ServiceUnavailable)):
        raise result
    return result
