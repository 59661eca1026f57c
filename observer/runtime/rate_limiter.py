"""RateLimiter: fixed-window rate limiting with atomic check-and-increment, owned by a Server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from math import floor
from types import MappingProxyType
from typing import Any

from .errors import InvalidArgument, InvalidLimiterConfig, UnknownLimiter
from .process import Caller, Pid
from .runtime import Dest, Runtime
from .server import Server

__all__ = ["Bucket", "BucketTable", "CheckCounts", "Decision", "RateLimiter", "UnknownLimiter"]

Limits = tuple[int, int]
"""A limiter's `(scale_ms, limit)`."""

EMPTY: Mapping[Hashable, Limits] = MappingProxyType({})

_DEFAULT_CLEANUP_INTERVAL_MS = 60_000
_CACHED_DECISIONS = 1024  # allowed decisions for counts 1..this are built once per table


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one check.

    Attributes:
        allowed: the hit was counted; False means the window's limit was already reached.
        count: allowed hits in the window after this check (never above the limit;
            a denied check reports the current count).
    """

    allowed: bool
    count: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """One key's window of one limiter, as `buckets()` reports it.

    Attributes:
        limiter_id: the limiter the window belongs to.
        key: what is being limited (a user, an agent, an endpoint, ...).
        window_start_ms: start of the window on the runtime clock, a multiple of the limiter's `scale_ms`.
        count: allowed hits in the window.
        limit: the limiter's limit.
        denied: denied checks in the window.
    """

    limiter_id: Hashable
    key: Hashable
    window_start_ms: int
    count: int
    limit: int
    denied: int


@dataclass(frozen=True, slots=True)
class CheckCounts:
    """How many checks one limiter has answered since it was first configured (for metrics).

    Attributes:
        allowed: checks that counted a hit.
        denied: checks refused because the window's limit was reached.
    """

    allowed: int
    denied: int


class _Limiter:
    """One configured limiter and its windows.

    Invariant: every window is `[start_ms, count, denied]` with `start_ms` a
    multiple of `scale_ms` and `0 < count <= limit` (a window is created by
    an allowed hit). A key has at most one window: a check in a later window
    replaces the key's old one.

    Invariant: `allowed` and `denied` only grow: they count every check since the
    limiter id was first configured, carried over when new settings replace it.
    """

    __slots__ = ("allowed", "denied", "denied_decision", "limit", "scale_ms", "windows")

    def __init__(self, scale_ms: int, limit: int, allowed: int = 0, denied: int = 0) -> None:
        self.scale_ms = scale_ms
        self.limit = limit
        self.denied_decision = Decision(False, limit)  # denied means count == limit
        self.windows: dict[Hashable, list[int]] = {}
        self.allowed = allowed
        self.denied = denied


class BucketTable:
    """The table of fixed-window counters; synchronous and thread-safe.

    Windows are `scale_ms` long and aligned to multiples of `scale_ms` on
    `clock() * 1000` (the clock gives seconds). Every method holds one lock,
    so a check-and-increment is atomic whichever thread or task calls it.
    A window that has ended stays listed by `buckets()` until `sweep()`
    removes it (or the key's next check replaces it).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        """Create an empty table.

        Args:
            clock: seconds on a monotonic clock (a `Runtime`'s `clock`).
        """
        self._clock = clock
        self._lock = threading.Lock()
        # Invariant: changed only while holding `_lock`.
        self._limiters: dict[Hashable, _Limiter] = {}
        # Decision(True, n) at index n: decisions are immutable, so one object per count serves every check.
        self._allowed = tuple(Decision(True, count) for count in range(_CACHED_DECISIONS + 1))

    def configure(self, limiter_id: Hashable, *, scale_ms: int, limit: int) -> None:
        """Create or change a limiter.

        Configuring a limiter again with the same settings keeps its windows;
        new settings replace it and start its windows afresh.

        Raises:
            InvalidLimiterConfig: `limiter_id` is not hashable, or `scale_ms` or
                `limit` is not an int > 0.
        """
        _check_config(limiter_id, scale_ms, limit)
        with self._lock:
            current = self._limiters.get(limiter_id)
            if current is None:
                self._limiters[limiter_id] = _Limiter(scale_ms, limit)
            elif current.scale_ms != scale_ms or current.limit != limit:
                self._limiters[limiter_id] = _Limiter(scale_ms, limit, current.allowed, current.denied)

    def check(self, limiter_id: Hashable, key: Hashable) -> Decision:
        """Count one hit for `key` in the current window if the limit allows it.

        Raises:
            UnknownLimiter: `limiter_id` was never configured.
        """
        with self._lock:
            limiter = self._limiters.get(limiter_id)
            if limiter is None:
                raise UnknownLimiter(limiter_id)
            now_ms = floor(self._clock() * 1000)
            start = now_ms - now_ms % limiter.scale_ms
            window = limiter.windows.get(key)
            if window is None or window[0] != start:
                limiter.windows[key] = [start, 1, 0]
                limiter.allowed += 1
                return self._allowed[1]
            count = window[1]
            if count >= limiter.limit:
                window[2] += 1
                limiter.denied += 1
                return limiter.denied_decision
            count += 1
            window[1] = count
            limiter.allowed += 1
            return self._allowed[count] if count <= _CACHED_DECISIONS else Decision(True, count)

    def buckets(self) -> list[Bucket]:
        """Every window in the table, expired ones included until the next sweep; by limiter, then key."""
        with self._lock:
            return [
                Bucket(limiter_id, key, start, count, limiter.limit, denied)
                for limiter_id, limiter in self._limiters.items()
                for key, (start, count, denied) in limiter.windows.items()
            ]

    def check_counts(self) -> dict[Hashable, CheckCounts]:
        """Every limiter's allowed and denied checks since it was first configured, by limiter id.

        The counts only grow (new settings for a limiter keep them; sweeps do not
        touch them), so they are what a metrics scrape exports as counters.
        """
        with self._lock:
            return {
                limiter_id: CheckCounts(limiter.allowed, limiter.denied)
                for limiter_id, limiter in self._limiters.items()
            }

    def scale_ms(self, limiter_id: Hashable) -> int:
        """The window length of a limiter, in milliseconds.

        Raises:
            UnknownLimiter: `limiter_id` was never configured.
        """
        with self._lock:
            limiter = self._limiters.get(limiter_id)
        if limiter is None:
            raise UnknownLimiter(limiter_id)
        return limiter.scale_ms

    def sweep(self, limiter_id: Hashable | None = None) -> int:
        """Remove the windows that have ended, of one limiter or (None) of all.

        Returns:
            How many windows were removed.
        """
        with self._lock:
            now_ms = floor(self._clock() * 1000)
            if limiter_id is None:
                limiters = list(self._limiters.values())
            else:
                limiter = self._limiters.get(limiter_id)
                limiters = [] if limiter is None else [limiter]
            removed = 0
            for limiter in limiters:
                current_start = now_ms - now_ms % limiter.scale_ms
                expired = [key for key, window in limiter.windows.items() if window[0] < current_start]
                for key in expired:
                    del limiter.windows[key]
                removed += len(expired)
            return removed


def _check_positive_int(field: str, value: Any) -> None:
    if type(value) is not int:
        raise InvalidLimiterConfig(f"{field} must be an int > 0, got {value!r} ({type(value).__name__})")
    if value <= 0:
        raise InvalidLimiterConfig(f"{field} must be an int > 0, got {value!r}")


def _check_hashable(field: str, value: Any, error: type[InvalidArgument] = InvalidArgument) -> None:
    try:
        hash(value)
    except TypeError:
        raise error(f"{field} must be hashable, got {value!r}") from None


def _check_config(limiter_id: Any, scale_ms: Any, limit: Any) -> None:
    _check_hashable("limiter_id", limiter_id, InvalidLimiterConfig)
    _check_positive_int("scale_ms", scale_ms)
    _check_positive_int("limit", limit)


# -- the server ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Configure:
    limiter_id: Hashable
    scale_ms: int
    limit: int
    cleanup_interval_ms: int


@dataclass(frozen=True, slots=True)
class _Check:
    limiter_id: Hashable
    key: Hashable


@dataclass(frozen=True, slots=True)
class _Buckets:
    pass


@dataclass(frozen=True, slots=True)
class _Sweep:
    pass


class _SweepTimer:
    """The armed timer of one limiter's periodic sweep."""

    __slots__ = ("handle", "interval_ms")

    handle: asyncio.TimerHandle  # set right after construction: its message refers to this object

    def __init__(self, interval_ms: int) -> None:
        self.interval_ms = interval_ms


@dataclass(frozen=True, slots=True)
class _SweepDue:
    """Sent to the server by a limiter's sweep timer; `timer` tells a current timer from a replaced one."""

    limiter_id: Hashable
    timer: _SweepTimer


class RateLimiter(Server):
    """A Server that owns a `BucketTable` and sweeps each limiter's ended windows periodically.

    Each configured limiter has one sweep timer on the event loop (real time,
    every `cleanup_interval_ms`); it sends the server a message, so sweeps
    run in the server like any request. Windows themselves follow the
    runtime's clock. Checks go through the server one at a time, so
    check-and-increment is atomic for any number of concurrent callers.
    """

    trap_exits = True  # so that a shutdown runs terminate, which cancels the sweep timers
    _table: BucketTable
    _sweep_timers: dict[Hashable, _SweepTimer]

    @classmethod
    async def start_link(
        cls, rt: Runtime, *args: Any, name: str | None = "rate_limiter", limiters: Mapping[Hashable, Limits] = EMPTY
    ) -> Pid | None:
        """Start a rate limiter registered as `name`, linked to the current process.

        Args:
            rt: the runtime.
            *args: passed on to `init` (none are needed).
            name: the name to register.
            limiters: limiter id -> `(scale_ms, limit)`, configured in `init`, so
                no check can meet them unknown (as it could between a restart and a `configure`).

        Raises:
            InvalidLimiterConfig: a limiter's settings are invalid.
        """
        for limiter_id, (scale_ms, limit) in limiters.items():
            _check_config(limiter_id, scale_ms, limit)
        return await super().start_link(rt, *args, dict(limiters), name=name)

    @classmethod
    async def configure(
        cls,
        rt: Runtime,
        server: Dest,
        limiter_id: Hashable,
        *,
        scale_ms: int,
        limit: int,
        cleanup_interval_ms: int = _DEFAULT_CLEANUP_INTERVAL_MS,
    ) -> None:
        """Create or change a limiter: at most `limit` allowed hits per key per `scale_ms` window.

        The same settings again keep the limiter's windows; new ones start them afresh.

        Raises:
            InvalidLimiterConfig: `limiter_id` is not hashable, or `scale_ms`,
                `limit` or `cleanup_interval_ms` is not an int > 0.
        """
        _check_config(limiter_id, scale_ms, limit)
        _check_positive_int("cleanup_interval_ms", cleanup_interval_ms)
        await rt.call(server, _Configure(limiter_id, scale_ms, limit, cleanup_interval_ms))

    @classmethod
    async def check(cls, rt: Runtime, server: Dest, limiter_id: Hashable, key: Hashable) -> Decision:
        """Count one hit for `key` if the limiter's current window allows it.

        Raises:
            UnknownLimiter: `limiter_id` was never configured.
            InvalidArgument: `limiter_id` or `key` is not hashable.
        """
        _check_hashable("limiter_id", limiter_id)
        _check_hashable("key", key)
        result: Decision | UnknownLimiter = await rt.call(server, _Check(limiter_id, key))
        if isinstance(result, UnknownLimiter):
            raise result
        return result

    @classmethod
    async def buckets(cls, rt: Runtime, server: Dest) -> list[Bucket]:
        """Every window of every limiter, expired ones included until the next sweep."""
        result: list[Bucket] = await rt.call(server, _Buckets())
        return result

    @classmethod
    async def sweep(cls, rt: Runtime, server: Dest) -> int:
        """Sweep every limiter's ended windows now; returns how many were removed."""
        result: int = await rt.call(server, _Sweep())
        return result

    # -- callbacks -------------------------------------------------------------------

    @property
    def table(self) -> BucketTable:
        """The bucket table this server owns, for observers on the same loop (read-only use)."""
        return self._table

    async def init(self, limiters: Mapping[Hashable, Limits] | None = None) -> None:
        self._table = BucketTable(self.runtime.clock)
        self._sweep_timers = {}
        for limiter_id, (scale_ms, limit) in (limiters or {}).items():
            self._table.configure(limiter_id, scale_ms=scale_ms, limit=limit)
            self._arm_sweep(limiter_id, _DEFAULT_CLEANUP_INTERVAL_MS)

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case _Check(limiter_id, key):
                try:
                    return self._table.check(limiter_id, key)
                except UnknownLimiter as exc:
                    return exc  # the caller's error, not the server's: `check` raises it there
            case _Configure(limiter_id, scale_ms, limit, cleanup_interval_ms):
                self._table.configure(limiter_id, scale_ms=scale_ms, limit=limit)
                self._arm_sweep(limiter_id, cleanup_interval_ms)
                return None
            case _Buckets():
                return self._table.buckets()
            case _Sweep():
                return self._table.sweep()
        return await super().handle_call(request, caller)

    async def handle_info(self, message: Any) -> None:
        if type(message) is _SweepDue and self._sweep_timers.get(message.limiter_id) is message.timer:
            self._table.sweep(message.limiter_id)
            self._arm_sweep(message.limiter_id, message.timer.interval_ms, rearm=True)

    async def terminate(self, reason: Any) -> None:
        for timer in self._sweep_timers.values():
            timer.handle.cancel()
        self._sweep_timers.clear()

    # -- sweeping --------------------------------------------------------------------

    def _arm_sweep(self, limiter_id: Hashable, interval_ms: int, *, rearm: bool = False) -> None:
        """Arm the limiter's sweep timer; an already armed one with the same interval is kept unless `rearm`."""
        current = self._sweep_timers.get(limiter_id)
        if current is not None:
            if current.interval_ms == interval_ms and not rearm:
                return
            current.handle.cancel()
        timer = _SweepTimer(interval_ms)
        timer.handle = asyncio.get_running_loop().call_later(
            interval_ms / 1000, self.runtime.send, self.pid, _SweepDue(limiter_id, timer)
        )
        self._sweep_timers[limiter_id] = timer
