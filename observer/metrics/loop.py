"""Where a scrape learns the runtime loop's lag and stalls: a probe of its own, or the attach endpoint's watchdog.

A runtime that `observer.remote.serve` publishes already has a watchdog beside its loop, which
counts the loop's stalls and measures its lag from another thread. Then the metrics read those
numbers (`EndpointFigures`), so that ``observer_stalls_total`` is the endpoint's count of the same
stalls `observer ps`/`attach` show, and the loop pays for one heartbeat, not two. Without an
endpoint, the metrics beat on the loop themselves (`ProbeFigures`, a `LoopProbe`).
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Protocol

from .probe import LoopProbe

if TYPE_CHECKING:  # observer.remote only when a runtime is served
    from observer.remote import Endpoint


class LoopFigures(Protocol):
    """The loop's lag and stalls for a scrape, from the loop's thread or any other."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The runtime's event loop."""
        ...

    def on_loop_thread(self) -> bool:
        """Whether the caller runs in the loop's thread (where waiting for the loop would deadlock)."""
        ...

    def running(self, read_lag: float | None) -> tuple[float, int]:
        """On the loop's thread, which runs now: (its lag in seconds, stalls so far).

        Args:
            read_lag: How late the scrape's read ran on the loop (None: the scrape runs on the loop).
        """
        ...

    def blocked(self) -> tuple[float, int]:
        """From any thread, when the loop did not answer: (how long it has not run, stalls so far, an ongoing one
        included)."""
        ...

    def close(self) -> None:
        """Stop measuring (idempotent)."""
        ...


class ProbeFigures:
    """The figures of a `LoopProbe` the metrics started (and stop) themselves."""

    def __init__(self, probe: LoopProbe) -> None:
        """Read `probe`, which the caller starts."""
        self.probe = probe

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.probe.loop

    def on_loop_thread(self) -> bool:
        return self.probe.on_loop_thread()

    def running(self, read_lag: float | None) -> tuple[float, int]:
        state = self.probe.seen()
        return (state.lag if read_lag is None else read_lag), state.stalls

    def blocked(self) -> tuple[float, int]:
        probe = self.probe
        state = probe.state()
        ongoing = 1 if probe.ongoing_stall(state) else 0  # `seen` counts it once the loop runs again
        return probe.blocked_for(state), state.stalls + ongoing

    def close(self) -> None:
        self.probe.close()


class EndpointFigures:
    """The figures of the attach endpoint that publishes the runtime (its watchdog's; nothing to stop here)."""

    def __init__(self, endpoint: Endpoint, loop: asyncio.AbstractEventLoop) -> None:
        """Read `endpoint`; call it on the runtime's loop.

        Args:
            endpoint: What `observer.remote.serve` yielded for the runtime.
            loop: The runtime's event loop.
        """
        self.endpoint = endpoint
        self._loop = loop
        self._loop_thread = threading.get_ident()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def on_loop_thread(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def running(self, read_lag: float | None) -> tuple[float, int]:
        return self.blocked()

    def blocked(self) -> tuple[float, int]:
        endpoint = self.endpoint
        return endpoint.loop_lag, endpoint.stalls_total

    def close(self) -> None:
        """Nothing: the endpoint's watchdog stops with its `serve` block."""
