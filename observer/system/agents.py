"""Agent: a server whose state is written through to the state store and restored on restart."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from observer.runtime import Caller, Down, InvalidArgument, Pid, Ref, Registry, Runtime, Server
from observer.runtime.signal_router import RoutedSignal, SignalRouter

from .agent_registry import AgentRegistry
from .errors import ServiceUnavailable, StorageError, call_service, raise_if_error
from .state_store import StateStore

RESUBSCRIBE_DELAY = 0.05
"""Seconds between an agent's attempts to subscribe again after the signal router restarted."""


class Agent(Server):
    """An agent of the reference platform.

    On start it restores its state from `state_store`, registers in
    `state_registry` and `agent_registry`, and subscribes to its signals
    (`agent.<id>.**`). `put` writes through to the store before it returns,
    so a restarted agent has everything that was put before the crash.
    """

    agent_id: str
    _state: dict[str, Any]
    _signals_seen: int
    _router: Ref | None
    _resubscribe: asyncio.TimerHandle | None

    @classmethod
    async def put(cls, rt: Runtime, agent: Pid | str, key: str, value: Any) -> None:
        """Set `key` to `value` in the agent's state, persisted before this returns.

        The state keeps a copy of `value` as JSON gives it back (tuples become
        lists, dict keys strings), so it is the same before and after a restart.

        Raises:
            InvalidArgument: `key` is not a str or `value` is not JSON-serialisable.
            StorageError, ServiceUnavailable: the write did not happen; the state is unchanged.
        """
        if not isinstance(key, str):
            raise InvalidArgument(f"an agent state key must be a str, got {key!r}")
        result = await rt.call(agent, ("put", key, value))
        if isinstance(result, InvalidArgument):
            raise result
        raise_if_error(result)

    @classmethod
    async def state(cls, rt: Runtime, agent: Pid | str) -> dict[str, Any]:
        """A copy of the agent's current state."""
        result: dict[str, Any] = await rt.call(agent, ("state",))
        return result

    @classmethod
    async def signals_seen(cls, rt: Runtime, agent: Pid | str) -> int:
        """How many routed signals this incarnation of the agent has received."""
        result: int = await rt.call(agent, ("signals_seen",))
        return result

    async def init(self, agent_id: str) -> None:
        rt = self.runtime
        self.agent_id = agent_id
        self._signals_seen = 0
        self._router = None
        self._resubscribe = None
        stored = await call_service("state_store", lambda: StateStore.get(rt, "state_store", agent_id))
        self._state = stored or {}
        await call_service("state_registry", lambda: Registry.register(rt, "state_registry", agent_id, "agent"))
        await call_service(
            "agent_registry", lambda: AgentRegistry.register(rt, "agent_registry", agent_id, self.pid)
        )
        await self._subscribe()

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("put", key, value):
                return await self._put(key, value)
            case ("state",):
                return copy.deepcopy(self._state)  # a caller changing it cannot change the state
            case ("signals_seen",):
                return self._signals_seen
        raise ValueError(f"unknown agent request {request!r}")

    async def handle_cast(self, request: Any) -> None:
        if request == "subscribe":
            self._resubscribe = None
            await self._subscribe()

    async def handle_info(self, message: Any) -> None:
        if type(message) is RoutedSignal:
            self._signals_seen += 1
        elif type(message) is Down and message.ref is self._router:
            self._router = None  # the router restarted empty: subscribe again
            await self._subscribe()

    async def terminate(self, reason: Any) -> None:
        if self._resubscribe is not None:
            self._resubscribe.cancel()

    async def _put(self, key: str, value: Any) -> Any:
        try:
            # Kept as the store gives it back after a restart (tuples become lists, dict keys
            # strings), and a copy: a caller changing `value` later cannot change the state.
            stored = json.loads(json.dumps(value))
        except (TypeError, ValueError) as exc:
            return InvalidArgument(f"agent state must be JSON-serialisable; {key!r}={value!r}: {exc}")
        new_state = {**self._state, key: stored}
        rt = self.runtime
        try:
            await call_service("state_store", lambda: StateStore.put(rt, "state_store", self.agent_id, new_state))
        except (StorageError, ServiceUnavailable) as error:
            return error
        self._state = new_state
        return None

    async def _subscribe(self) -> None:
        """Subscribe to this agent's signals; while the router is away, try again shortly."""
        rt = self.runtime
        router = rt.whereis("signal_router")
        try:
            if router is None:
                raise ServiceUnavailable("signal_router", LookupError("not registered"))
            await call_service(
                "signal_router", lambda: SignalRouter.subscribe(rt, router, f"agent.{self.agent_id}.**", self.pid)
            )
        except ServiceUnavailable:
            loop = asyncio.get_running_loop()
            self._resubscribe = loop.call_later(RESUBSCRIBE_DELAY, rt.cast, self.pid, "subscribe")
            return
        self._router = self.monitor(router)
