"""Waiting for a condition with a deadline: try, back off, try again; a failure names what it last saw.

A drill waits on a service from outside (its HTTP health, a call's reply), where
no message says "now": so it polls, starting 1 ms apart and backing off to
`MAX_INTERVAL`, until the condition holds or the deadline passes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from observer.runtime import ObserverError

from . import http
from .errors import DrillError

FIRST_INTERVAL = 0.001
"""Seconds between the first and second try."""
MAX_INTERVAL = 0.05
"""Seconds between tries once backed off (the wait's resolution)."""

Attempt = Callable[[float], Awaitable[tuple[bool, Any, str]]]
"""One try, given the seconds left: (whether the condition holds, the value, how to describe the value)."""


async def until(attempt: Attempt, timeout: float, failure: str) -> Any:
    """Run `attempt` until it holds; returns its value.

    Errors of the runtime (`ObserverError`, a call's timeout), connection errors
    (`OSError`) and malformed answers (`ValueError`) are what the try saw, not failures of the wait.

    Raises:
        DrillError: `failure`, with the deadline and what the last try saw.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    interval = FIRST_INTERVAL
    seen = "nothing (no try finished)"
    tries = 0
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise DrillError(f"{failure} within {timeout * 1000:g} ms; last seen: {seen}")
        try:
            holds, value, seen = await attempt(remaining)
        except (ObserverError, OSError, ValueError) as error:  # TimeoutError and CallTimeout are among them
            if not (isinstance(error, TimeoutError) and tries):  # a last try cut short by the deadline says less
                seen = _error_text(error)
        else:
            if holds:
                return value
        tries += 1
        await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))
        interval = min(interval * 2, MAX_INTERVAL)


def _error_text(error: BaseException) -> str:
    if isinstance(error, ObserverError):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, TimeoutError):  # the try ran out of the time left (a port that accepts, never answers)
        return "no answer in the time left"
    if isinstance(error, OSError) and error.errno:
        return f"{type(error).__name__}: {os.strerror(error.errno).lower()}"
    return f"{type(error).__name__}: {error}"


async def http_status(url: str, status: int, timeout: float) -> int:
    """GET `url` (loopback only) until it answers `status`; returns it (both drill contexts' `wait_for_http`).

    Raises:
        DrillError: not a loopback http:// URL, or no such status within `timeout` (the message
            says what the last try got: a status, a refused connection, ...).
    """
    try:
        where = http.loopback_url(url)
    except http.NotLoopback as error:
        raise DrillError(str(error)) from None

    async def attempt(remaining: float) -> tuple[bool, Any, str]:
        async with asyncio.timeout(remaining):
            got = await http.get_status(where)
        return got == status, got, f"status {got}"

    found: int = await until(attempt, timeout, f"wait_for {url}: no status {status}")
    return found
