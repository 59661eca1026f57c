"""Registry: unique or duplicate keys mapped to live processes, released when their holder dies."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import AlreadyRegistered, InvalidArgument
from .process import Caller, Down, Pid, Ref
from .runtime import Runtime, current_runtime
from .server import Server
from .spec import ChildSpec, Restart, Shutdown

Keys = Literal["unique", "duplicate"]
"""How many processes one key may name: one ("unique") or any number ("duplicate")."""

KEY_KINDS: tuple[Keys, ...] = ("unique", "duplicate")

Entry = tuple[Pid, Any]
"""One registration: the holder's pid and the value it registered with."""


@dataclass(slots=True)
class _Holder:
    """A registered process: the registry's one monitor on it and its entries."""

    ref: Ref
    # Invariant: `keys` and `numbers` list the same entries, which are exactly this
    # holder's entries in `Registry._by_key`; neither is ever empty.
    keys: dict[int, Hashable] = field(default_factory=dict)  # entry number -> key, in registration order
    numbers: dict[Hashable, list[int]] = field(default_factory=dict)  # key -> its entry numbers


class Registry(Server):
    """A server that maps keys to `(pid, value)` entries of live processes.

    With `keys="unique"` a key names at most one process; with
    `keys="duplicate"` (Elixir's `:duplicate`) any number of processes may
    register one key, and one process may register it more than once.
    Either way a process may hold many keys. The registry holds one monitor
    per registered process and releases it (with flush) when the process's
    last entry is unregistered or when the process dies, so
    `rt.monitor_count()` returns to its baseline.
    """

    _unique: bool
    # Invariant: `_by_key[key]` maps entry number -> entry in registration order and is
    # never empty (at most one entry in unique mode); every pid in it has exactly one
    # `_Holder` in `_holders`, and a holder exists only while it has an entry.
    _by_key: dict[Hashable, dict[int, Entry]]
    _holders: dict[Pid, _Holder]
    _numbers: itertools.count[int]
    _count: int  # the number of entries: the sum of len(holder.keys) over `_holders`

    @classmethod
    async def start_link(  # type: ignore[override]
        cls, rt: Runtime, name: str | None = None, *, keys: Keys = "unique"
    ) -> Pid:
        """Start a registry linked to the current process, registered as `name`.

        Raises:
            InvalidArgument: `keys` is not "unique" or "duplicate".
        """
        _check_keys(keys)
        pid = await super().start_link(rt, keys, name=name)
        assert pid is not None
        return pid

    @classmethod
    def child_spec(  # type: ignore[override]
        cls,
        *,
        keys: Keys = "unique",
        id: Hashable = None,
        restart: Restart = "permanent",
        shutdown: Shutdown | None = None,
        name: str | None = None,
        significant: bool = False,
    ) -> ChildSpec:
        """A spec that starts a registry with `start_link(rt, name, keys=keys)`; `id` defaults to "Registry".

        Raises:
            InvalidArgument: `keys` is not "unique" or "duplicate".
        """
        _check_keys(keys)

        async def start() -> Pid:
            return await cls.start_link(current_runtime(), name, keys=keys)

        return ChildSpec(
            id=cls.__name__ if id is None else id,
            start=start,
            restart=restart,
            shutdown=shutdown,
            significant=significant,
        )

    @classmethod
    async def register(cls, rt: Runtime, registry: Pid | str, key: Hashable, value: Any = None) -> None:
        """Register the current process under `key`.

        In a duplicate registry this never fails for a taken key: the entry is
        added after the key's others, even if this process already has one.

        Raises:
            AlreadyRegistered: (unique registry) a live process holds `key` (`pid` is it).
            InvalidArgument: the caller is not a process, or `key` is not hashable.
        """
        if rt._current() is None:
            raise InvalidArgument("Registry.register registers the current process; call it from inside a process")
        _check_key(key)
        result = await rt.call(registry, ("register", key, value))
        if isinstance(result, Pid):
            raise AlreadyRegistered(key, result)

    @classmethod
    async def unregister(cls, rt: Runtime, registry: Pid | str, key: Hashable) -> None:
        """Remove every entry of the current process under `key` (no error if it has none)."""
        _check_key(key)
        await rt.call(registry, ("unregister", key))

    @classmethod
    async def lookup(
        cls, rt: Runtime, registry: Pid | str, key: Hashable
    ) -> tuple[Pid, Any] | list[tuple[Pid, Any]] | None:
        """The live entries under `key`.

        Returns:
            Unique registry: `(pid, value)`, or None. Duplicate registry: a list
            of `(pid, value)` in registration order, empty when there is none.
        """
        _check_key(key)
        result: tuple[Pid, Any] | list[tuple[Pid, Any]] | None = await rt.call(registry, ("lookup", key))
        return result

    @classmethod
    async def dispatch(
        cls, rt: Runtime, registry: Pid | str, key: Hashable, fn: Callable[[list[tuple[Pid, Any]]], Any]
    ) -> None:
        """Call `fn(entries)` in the caller with the live `(pid, value)` entries under `key`.

        As in Elixir, `fn` is not called when there is no entry; the entries
        are in registration order (a list of one in a unique registry). If
        `fn` returns an awaitable, it is awaited.
        """
        _check_key(key)
        entries: list[tuple[Pid, Any]] = await rt.call(registry, ("entries", key))
        if entries:
            outcome = fn(entries)
            if inspect.isawaitable(outcome):
                await outcome

    @classmethod
    async def keys(cls, rt: Runtime, registry: Pid | str, pid: Pid) -> list[Any]:
        """The keys `pid` holds, in registration order (a key registered twice is listed twice)."""
        result: list[Any] = await rt.call(registry, ("keys", pid))
        return result

    @classmethod
    async def count(cls, rt: Runtime, registry: Pid | str) -> int:
        """The number of entries (in a unique registry, of registered keys)."""
        result: int = await rt.call(registry, ("count",))
        return result

    async def init(self, keys: Keys = "unique") -> None:
        self._unique = keys == "unique"
        self._by_key = {}
        self._holders = {}
        self._numbers = itertools.count()
        self._count = 0

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("register", key, value):
                assert caller.pid is not None
                return self._register(caller.pid, key, value)
            case ("unregister", key):
                if caller.pid is not None:
                    self._unregister(caller.pid, key)
                return None
            case ("lookup", key):
                entries = self._live_entries(key)
                if self._unique:
                    return entries[0] if entries else None
                return entries
            case ("entries", key):
                return self._live_entries(key)
            case ("keys", pid):
                holder = self._holders.get(pid)
                return [] if holder is None else list(holder.keys.values())
            case ("count",):
                return self._count
        raise ValueError(f"unknown registry request {request!r}")

    async def handle_info(self, message: Any) -> None:
        if type(message) is Down:
            holder = self._holders.get(message.pid)
            if holder is not None and holder.ref is message.ref:
                self._forget(message.pid)

    def _register(self, pid: Pid, key: Hashable, value: Any) -> Pid | None:
        """Add an entry; in unique mode return the holder's pid instead if a live process holds `key`."""
        if self._unique:
            entries = self._by_key.get(key)
            if entries is not None:
                holder = next(iter(entries.values()))[0]
                if self.runtime.is_alive(holder):
                    return holder
                self._forget(holder)  # its Down is on the way; act on it now
        number = next(self._numbers)
        self._by_key.setdefault(key, {})[number] = (pid, value)
        held = self._holders.get(pid)
        if held is None:
            held = self._holders[pid] = _Holder(self.monitor(pid))
        held.keys[number] = key
        held.numbers.setdefault(key, []).append(number)
        self._count += 1
        return None

    def _live_entries(self, key: Hashable) -> list[Entry]:
        """The entries under `key`, first forgetting holders that died but whose Down is still queued."""
        entries = self._by_key.get(key)
        if entries is None:
            return []
        dead = {pid for pid, _ in entries.values() if not self.runtime.is_alive(pid)}
        for pid in dead:
            self._forget(pid)
        return list(self._by_key.get(key, {}).values())

    def _unregister(self, pid: Pid, key: Hashable) -> None:
        """Remove all of `pid`'s entries under `key`, and its monitor with its last entry."""
        holder = self._holders.get(pid)
        if holder is None:
            return
        numbers = holder.numbers.pop(key, None)
        if numbers is None:
            return
        for number in numbers:
            del holder.keys[number]
        self._drop(key, numbers)
        if not holder.keys:
            del self._holders[pid]
            self.demonitor(holder.ref, flush=True)

    def _forget(self, pid: Pid) -> None:
        """Drop every entry of `pid` and its monitor (flushing a queued Down)."""
        holder = self._holders.pop(pid)
        for key, numbers in holder.numbers.items():
            self._drop(key, numbers)
        self.demonitor(holder.ref, flush=True)

    def _drop(self, key: Hashable, numbers: list[int]) -> None:
        """Remove the entries `numbers` from under `key` (the caller updates their holder)."""
        entries = self._by_key[key]
        for number in numbers:
            del entries[number]
        if not entries:
            del self._by_key[key]
        self._count -= len(numbers)


def _check_keys(keys: Any) -> None:
    if not isinstance(keys, str) or keys not in KEY_KINDS:
        raise InvalidArgument(f"a registry's keys must be 'unique' or 'duplicate', got {keys!r}")


def _check_key(key: Any) -> None:
    try:
        hash(key)
    except TypeError:
        raise InvalidArgument(f"a registry key must be hashable, got {key!r}") from None
