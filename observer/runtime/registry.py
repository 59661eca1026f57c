"""Registry: unique keys mapped to live processes, released when their holder dies."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from .errors import AlreadyRegistered, InvalidArgument
from .process import Caller, Down, Pid, Ref
from .runtime import Runtime
from .server import Server


class Registry(Server):
    """A server that maps unique keys to (pid, value) for live processes.

    It holds one monitor per registered process and releases it (with flush)
    when the process's last key is unregistered or when the process dies, so
    `rt.monitor_count()` returns to its baseline.
    """

    # Invariant: every pid in `_entries` has exactly one monitor, in `_holders`,
    # whose key set is exactly the keys in `_entries` it holds.
    _entries: dict[Hashable, tuple[Pid, Any]]
    _holders: dict[Pid, tuple[Ref, dict[Hashable, None]]]  # keys as an ordered set

    @classmethod
    async def start_link(cls, rt: Runtime, name: str | None = None) -> Pid:  # type: ignore[override]
        """Start a registry linked to the current process, registered as `name`."""
        pid = await super().start_link(rt, name=name)
        assert pid is not None
        return pid

    @classmethod
    async def register(cls, rt: Runtime, registry: Pid | str, key: Hashable, value: Any = None) -> None:
        """Register the current process under `key`.

        Raises:
            AlreadyRegistered: a live process holds `key` (`pid` is it).
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
        """Remove the current process's `key` (no error if it holds no such key)."""
        _check_key(key)
        await rt.call(registry, ("unregister", key))

    @classmethod
    async def lookup(cls, rt: Runtime, registry: Pid | str, key: Hashable) -> tuple[Pid, Any] | None:
        """(pid, value) registered under `key`, or None."""
        _check_key(key)
        result: tuple[Pid, Any] | None = await rt.call(registry, ("lookup", key))
        return result

    @classmethod
    async def keys(cls, rt: Runtime, registry: Pid | str, pid: Pid) -> list[Any]:
        """The keys `pid` holds, in registration order."""
        result: list[Any] = await rt.call(registry, ("keys", pid))
        return result

    @classmethod
    async def count(cls, rt: Runtime, registry: Pid | str) -> int:
        """The number of registered keys."""
        result: int = await rt.call(registry, ("count",))
        return result

    async def init(self) -> None:
        self._entries = {}
        self._holders = {}

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
                return self._entries.get(key)
            case ("keys", pid):
                holder = self._holders.get(pid)
                return [] if holder is None else list(holder[1])
            case ("count",):
                return len(self._entries)
        raise ValueError(f"unknown registry request {request!r}")

    async def handle_info(self, message: Any) -> None:
        if type(message) is Down:
            holder = self._holders.get(message.pid)
            if holder is not None and holder[0] is message.ref:
                self._forget(message.pid)

    def _register(self, pid: Pid, key: Hashable, value: Any) -> Pid | None:
        """Register; return the holder's pid instead if the key is held by a live process."""
        entry = self._entries.get(key)
        if entry is not None:
            holder = entry[0]
            if self.runtime.is_alive(holder):
                return holder
            self._forget(holder)  # its Down is on the way; act on it now
        self._entries[key] = (pid, value)
        held = self._holders.get(pid)
        if held is None:
            self._holders[pid] = (self.monitor(pid), {key: None})
        else:
            held[1][key] = None
        return None

    def _unregister(self, pid: Pid, key: Hashable) -> None:
        entry = self._entries.get(key)
        if entry is None or entry[0] is not pid:
            return
        del self._entries[key]
        ref, keys = self._holders[pid]
        del keys[key]
        if not keys:
            del self._holders[pid]
            self.demonitor(ref, flush=True)

    def _forget(self, pid: Pid) -> None:
        """Drop every key of `pid` and its monitor (flushing a queued Down)."""
        ref, keys = self._holders.pop(pid)
        for key in keys:
            del self._entries[key]
        self.demonitor(ref, flush=True)


def _check_key(key: Any) -> None:
    try:
        hash(key)
    except TypeError:
        raise InvalidArgument(f"a registry key must be hashable, got {key!r}") from None
