"""The errors of attach: what a client or a serving runtime is told when the other side cannot be used."""

from __future__ import annotations

from observer.runtime import ObserverError

CONTROL_HINT = "the service turns control on with `serve(rt, control=True)` or `observer run --control`"


class Unreachable(ObserverError, ConnectionError):
    """No endpoint to talk to: none at that target, refused, a bad token, another uid, a version mismatch.

    The message says which, in one line.
    """


class ReadOnly(ObserverError, PermissionError):
    """A control request (kill, terminate, restart, suspend, resume, trace, call) to a read-only endpoint."""

    def __init__(self, what: str) -> None:
        """Say what was refused and how the service allows it.

        Args:
            what: The refused request, e.g. ``"kill"``.
        """
        self.what = what
        super().__init__(f"{what} refused: the service is read-only ({CONTROL_HINT})")


class Blocked(ObserverError, TimeoutError):
    """The service's event loop did not answer a read in time: it is blocked (see `Connection.stalls`)."""

    def __init__(self, seconds: float) -> None:
        """Say for how long the loop has not answered.

        Args:
            seconds: Since when the loop has not answered, as far as the endpoint knows.
        """
        self.seconds = seconds
        super().__init__(f"the service's event loop is blocked (no answer for {seconds:.2f} s); stalls() says where")


class RemoteError(ObserverError):
    """The endpoint answered a request with an error that has no exception of its own here."""


class EndpointError(ObserverError):
    """`serve()` cannot publish the runtime: an unsafe directory, a taken socket, a TCP host without a token."""
