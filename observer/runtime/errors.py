"""Every public exception of observer.runtime, each with a message a person can act on."""

from __future__ import annotations

from typing import Any


class ObserverError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidArgument(ObserverError, TypeError, ValueError):
    """An argument has the wrong type or value.

    It is both a `TypeError` and a `ValueError`, so callers may catch either.
    """


class NotRunning(ObserverError, RuntimeError):
    """The runtime is not running (outside `async with Runtime()`, or already stopped)."""


class NoProc(ObserverError):
    """The destination is not a live process (a dead pid or an unknown name)."""

    def __init__(self, dest: Any, detail: str = "") -> None:
        self.dest = dest
        super().__init__(f"no process {dest!r}{': ' + detail if detail else ''}")


class CallTimeout(ObserverError, TimeoutError):
    """A call got no reply within its timeout."""

    def __init__(self, dest: Any, request: Any, timeout: float) -> None:
        self.dest = dest
        self.request = request
        self.timeout = timeout
        super().__init__(f"call to {dest!r} timed out after {timeout}s (request {request!r})")


class CallExit(ObserverError):
    """The server exited while the call was pending; `reason` is its exit reason."""

    def __init__(self, dest: Any, reason: Any) -> None:
        self.dest = dest
        self.reason = reason
        super().__init__(f"{dest!r} exited with reason {reason!r} during the call")


class CallingSelf(ObserverError):
    """A process called itself, which could only deadlock."""

    def __init__(self, dest: Any) -> None:
        self.dest = dest
        super().__init__(f"process {dest!r} called itself; a call to self would deadlock")


class AlreadyRegistered(ObserverError):
    """A name or key is taken; `pid` is its holder."""

    def __init__(self, name: Any, pid: Any) -> None:
        self.name = name
        self.pid = pid
        super().__init__(f"{name!r} is already registered to {pid!r}")


class StartError(ObserverError):
    """A process failed to start; `reason` says why (an exception or an exit reason)."""

    def __init__(self, reason: Any) -> None:
        self.reason = reason
        super().__init__(f"failed to start: {reason!r}")


class AlreadyStarted(ObserverError):
    """A process with that name or child id is already running; `pid` is it."""

    def __init__(self, pid: Any, what: str = "") -> None:
        self.pid = pid
        super().__init__(f"{what or 'process'} is already started as {pid!r}")


class InvalidChildSpec(ObserverError, ValueError):
    """A child spec has an invalid field; the message names the field and the value."""


class InvalidSupervisorFlags(ObserverError, ValueError):
    """Supervisor flags are invalid; the message names the flag and the value."""


class AlreadyPresent(ObserverError):
    """A child spec with that id exists (not running); restart or delete it instead."""


class ChildRunning(ObserverError):
    """The child is running, so it cannot be restarted or deleted."""


class ChildRestarting(ObserverError):
    """The child is being restarted by its supervisor."""


class ChildNotFound(ObserverError, LookupError):
    """The supervisor has no child with that id (or pid)."""


class MaxChildren(ObserverError):
    """A DynamicSupervisor is at its `max_children`."""


class NotAServer(ObserverError):
    """A server-only request (suspend, resume, get_state) was made to a plain process."""

    def __init__(self, dest: Any, what: str) -> None:
        self.dest = dest
        super().__init__(f"{what} needs a Server, but {dest!r} is a plain process (started with spawn)")


class NotASupervisor(ObserverError):
    """An admin call was made to a live process that is not a supervisor of the right kind."""


class UnknownLimiter(ObserverError, KeyError):
    """A rate-limit check named a limiter that was never configured; `limiter_id` is it."""

    def __init__(self, limiter_id: Any) -> None:
        self.limiter_id = limiter_id
        super().__init__(f"unknown rate limiter {limiter_id!r}: configure it first (RateLimiter.configure)")

    def __str__(self) -> str:  # KeyError's own __str__ would quote the message like a key
        return str(self.args[0])


class InvalidLimiterConfig(InvalidArgument):
    """A rate limiter's setting is invalid; the message names the field and the value."""


class InvalidPattern(InvalidArgument):
    """A signal pattern or signal type is malformed; the message names it and says what is wrong."""
