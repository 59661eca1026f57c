"""SignalRouter: delivers typed signals to the processes subscribed to matching dot-separated patterns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InvalidArgument, InvalidPattern
from .process import Caller, Down, Pid, Ref
from .runtime import Dest, Runtime
from .server import Server

__all__ = ["RoutedSignal", "SignalRouter"]

_ONE = "*"  # matches exactly one segment
_ANY = "**"  # matches any number of segments, none included


@dataclass(frozen=True, slots=True)
class RoutedSignal:
    """What a subscribed process receives: the signal's `type` and the `signal` itself."""

    type: str
    signal: Any


def _pattern_segments(pattern: Any) -> tuple[str, ...]:
    """Split and validate a subscription pattern.

    Raises:
        InvalidPattern: not a str, empty, an empty segment, or `*` inside a segment.
    """
    if not isinstance(pattern, str):
        raise InvalidPattern(f"a signal pattern must be a str, got {pattern!r} ({type(pattern).__name__})")
    if not pattern:
        raise InvalidPattern("a signal pattern must not be empty; use '**' to match every signal type")
    segments = tuple(pattern.split("."))
    for segment in segments:
        if not segment:
            raise InvalidPattern(f"signal pattern {pattern!r} has an empty segment (two dots, or a dot at an end)")
        if "*" in segment and segment not in (_ONE, _ANY):
            raise InvalidPattern(
                f"signal pattern {pattern!r}: segment {segment!r} mixes '*' with other text; "
                "'*' (one segment) and '**' (any number) must stand alone between dots"
            )
    return segments


def _check_signal_type(signal_type: Any) -> None:
    """Validate the type of a signal being routed: dot-separated, no empty segments, no wildcards.

    Raises:
        InvalidPattern: it is not such a str.
    """
    if not isinstance(signal_type, str) or not signal_type:
        raise InvalidPattern(f"a signal type must be a non-empty str, got {signal_type!r}")
    for segment in signal_type.split("."):
        if not segment:
            raise InvalidPattern(f"signal type {signal_type!r} has an empty segment (two dots, or a dot at an end)")
        if "*" in segment:
            raise InvalidPattern(f"signal type {signal_type!r} contains '*': wildcards belong in patterns only")


def _matches(pattern: tuple[str, ...], parts: list[str]) -> bool:
    """Whether the segments of a signal type match a wildcard pattern.

    Glob matching over segments: `*` is one segment, `**` any run of them.
    On a mismatch it backtracks to the last `**` and lets it take one more
    segment; earlier `**`s never need to be revisited, so this is
    O(len(pattern) * len(parts)) at worst and linear in practice.
    """
    p = t = 0
    resume_p = -1  # pattern position just after the last `**` seen, or -1
    resume_t = 0  # where the segments that `**` has not taken start
    while t < len(parts):
        if p < len(pattern) and pattern[p] == _ANY:
            p += 1
            resume_p, resume_t = p, t
        elif p < len(pattern) and (pattern[p] == _ONE or pattern[p] == parts[t]):
            p += 1
            t += 1
        elif resume_p >= 0:
            resume_t += 1
            p, t = resume_p, resume_t
        else:
            return False
    while p < len(pattern) and pattern[p] == _ANY:
        p += 1
    return p == len(pattern)


class _WildcardPattern:
    """A subscribed pattern that contains `*` or `**`, split once at subscription."""

    __slots__ = ("segments", "subscribers")

    def __init__(self, segments: tuple[str, ...]) -> None:
        self.segments = segments
        self.subscribers: dict[Pid, None] = {}  # an ordered set


class _Subscriber:
    """A subscribed process: its one monitor and its patterns."""

    __slots__ = ("patterns", "ref")

    def __init__(self, ref: Ref) -> None:
        self.ref = ref
        self.patterns: dict[str, None] = {}  # an ordered set


@dataclass(frozen=True, slots=True)
class _Subscribe:
    pattern: str
    segments: tuple[str, ...]
    pid: Pid


@dataclass(frozen=True, slots=True)
class _Unsubscribe:
    pattern: str
    pid: Pid


@dataclass(frozen=True, slots=True)
class _Route:
    signal_type: str
    signal: Any


@dataclass(frozen=True, slots=True)
class _Subscriptions:
    pass


class SignalRouter(Server):
    """A Server that routes signals to the processes subscribed to patterns matching their type.

    Index: exact patterns (no wildcard) sit in a dict keyed by the pattern,
    so a signal type finds them with one lookup; wildcard patterns are split
    into segments once, at subscription, and kept in insertion order, and a
    route tests each of them against the type's segments. Subscriptions are
    mostly exact or few wildcards, so a list beats the bookkeeping of a trie;
    no pattern is ever compiled to a regex.

    Monitors: exactly one per subscribed pid, taken with its first pattern,
    released with flush when its last pattern goes, dropped on its `Down`.
    """

    # Invariant: a pid is a key of `_subscribers` exactly while it appears in
    # `_exact` or `_wildcard`, and then the router holds exactly one monitor on it.
    _subscribers: dict[Pid, _Subscriber]
    _exact: dict[str, dict[Pid, None]]  # exact pattern -> its subscribers (an ordered set)
    _wildcard: dict[str, _WildcardPattern]  # wildcard pattern -> its segments and subscribers

    @classmethod
    async def start_link(cls, rt: Runtime, *args: Any, name: str | None = "signal_router") -> Pid | None:
        """Start a signal router registered as `name`, linked to the current process."""
        return await super().start_link(rt, *args, name=name)

    @classmethod
    async def subscribe(cls, rt: Runtime, router: Dest, pattern: str, pid: Pid) -> None:
        """Subscribe `pid` to the signal types matching `pattern` (idempotent).

        Patterns are dot-separated: `*` matches exactly one segment, `**` any
        number of segments (none included). A dead `pid` is dropped at once.

        Raises:
            InvalidPattern: `pattern` is malformed.
            InvalidArgument: `pid` is not a Pid.
        """
        segments = _pattern_segments(pattern)
        _check_pid(pid)
        await rt.call(router, _Subscribe(pattern, segments, pid))

    @classmethod
    async def unsubscribe(cls, rt: Runtime, router: Dest, pattern: str, pid: Pid) -> None:
        """Remove `pid`'s subscription to `pattern` (no error if there is none).

        Raises:
            InvalidPattern: `pattern` is malformed.
            InvalidArgument: `pid` is not a Pid.
        """
        _pattern_segments(pattern)
        _check_pid(pid)
        await rt.call(router, _Unsubscribe(pattern, pid))

    @classmethod
    def route(cls, rt: Runtime, router: Dest, signal_type: str, signal: Any) -> None:
        """Route a signal without waiting (a cast): every live matching subscriber gets `RoutedSignal`.

        Raises:
            InvalidPattern: `signal_type` is not a non-empty dot-separated str without wildcards.
        """
        _check_signal_type(signal_type)
        rt.cast(router, _Route(signal_type, signal))

    @classmethod
    async def route_sync(cls, rt: Runtime, router: Dest, signal_type: str, signal: Any, timeout: float = 5.0) -> int:
        """Route a signal and wait until it is delivered (a call).

        Returns:
            The number of live processes it was delivered to; a process
            matching several patterns gets it once and counts once.

        Raises:
            InvalidPattern: `signal_type` is not a non-empty dot-separated str without wildcards.
        """
        _check_signal_type(signal_type)
        delivered: int = await rt.call(router, _Route(signal_type, signal), timeout)
        return delivered

    @classmethod
    async def subscriptions(cls, rt: Runtime, router: Dest) -> list[tuple[str, Pid]]:
        """Every `(pattern, pid)` subscription, sorted by pattern, then pid."""
        result: list[tuple[str, Pid]] = await rt.call(router, _Subscriptions())
        return result

    # -- callbacks -------------------------------------------------------------------

    async def init(self) -> None:
        self._subscribers = {}
        self._exact = {}
        self._wildcard = {}

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case _Route(signal_type, signal):
                return self._deliver(signal_type, signal)
            case _Subscribe(pattern, segments, pid):
                self._subscribe(pattern, segments, pid)
                return None
            case _Unsubscribe(pattern, pid):
                self._unsubscribe(pattern, pid)
                return None
            case _Subscriptions():
                return self._subscription_list()
        return await super().handle_call(request, caller)

    async def handle_cast(self, request: Any) -> None:
        if type(request) is _Route:
            self._deliver(request.signal_type, request.signal)
        else:
            await super().handle_cast(request)

    async def handle_info(self, message: Any) -> None:
        if type(message) is Down:
            subscriber = self._subscribers.get(message.pid)
            if subscriber is not None and subscriber.ref is message.ref:
                for pattern in list(subscriber.patterns):
                    self._remove(pattern, message.pid)
                del self._subscribers[message.pid]

    # -- subscriptions ---------------------------------------------------------------

    def _subscribe(self, pattern: str, segments: tuple[str, ...], pid: Pid) -> None:
        subscriber = self._subscribers.get(pid)
        if subscriber is None:
            subscriber = self._subscribers[pid] = _Subscriber(self.monitor(pid))
        elif pattern in subscriber.patterns:
            return
        subscriber.patterns[pattern] = None
        if _ONE in segments or _ANY in segments:
            wildcard = self._wildcard.get(pattern)
            if wildcard is None:
                wildcard = self._wildcard[pattern] = _WildcardPattern(segments)
            wildcard.subscribers[pid] = None
        else:
            self._exact.setdefault(pattern, {})[pid] = None

    def _unsubscribe(self, pattern: str, pid: Pid) -> None:
        subscriber = self._subscribers.get(pid)
        if subscriber is None or pattern not in subscriber.patterns:
            return
        self._remove(pattern, pid)
        del subscriber.patterns[pattern]
        if not subscriber.patterns:
            del self._subscribers[pid]
            self.demonitor(subscriber.ref, flush=True)

    def _subscription_list(self) -> list[tuple[str, Pid]]:
        subscriptions = [
            (pattern, pid) for pid, subscriber in self._subscribers.items() for pattern in subscriber.patterns
        ]
        subscriptions.sort(key=lambda subscription: (subscription[0], subscription[1].id))
        return subscriptions

    def _remove(self, pattern: str, pid: Pid) -> None:
        """Take `pid` out of `pattern`'s index entry, dropping the entry when it empties."""
        exact = self._exact.get(pattern)
        if exact is not None:
            del exact[pid]
            if not exact:
                del self._exact[pattern]
            return
        wildcard = self._wildcard[pattern]
        del wildcard.subscribers[pid]
        if not wildcard.subscribers:
            del self._wildcard[pattern]

    # -- routing ---------------------------------------------------------------------

    def _deliver(self, signal_type: str, signal: Any) -> int:
        """Send `RoutedSignal` once to every live subscriber of a matching pattern; return how many got it."""
        targets: dict[Pid, None] = {}
        exact = self._exact.get(signal_type)
        if exact is not None:
            targets.update(exact)
        if self._wildcard:
            parts = signal_type.split(".")
            for wildcard in self._wildcard.values():
                if _matches(wildcard.segments, parts):
                    targets.update(wildcard.subscribers)
        if not targets:
            return 0
        rt = self.runtime
        routed = RoutedSignal(signal_type, signal)
        delivered = 0
        for pid in targets:
            if rt.is_alive(pid):  # a dead subscriber whose Down is still queued is not counted
                rt.send(pid, routed)
                delivered += 1
        return delivered


def _check_pid(pid: Any) -> None:
    if not isinstance(pid, Pid):
        raise InvalidArgument(f"a subscriber must be a Pid, got {pid!r}")
