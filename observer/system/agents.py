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

REJOIN_DELAY = 0.05
"""Seconds between an agent's attempts to join a service again while it is restarting."""

_JOINED = ("agent_registry", "signal_router")
"""The services an agent joins and watches: each restarts empty, so on its Down the agent joins it again."""


class Agent(Server):
    """An agent of the reference platform.

    On start it restores its state from `state_store`, registers in
    `state_registry` and `agent_registry`, and subscribes to its signals
    (`agent.<id>.**`). It watches agent_registry and the signal router, which
    restart empty, and joins them again when they do. `put` writes through to
    the store before it returns, so a restarted agent has everything that was
    put before the crash.
    """

    agent_id: str
    _state: dict[str, Any]
    _signals_seen: int
    _joined: dict[str, Ref]  # service -> the monitor on the instance this agent joined
    _rejoin: dict[str, asyncio.TimerHandle]  # service -> the timer of the next attempt to join it

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
    async def emit(cls, rt: Runtime, agent_id: str, event: str, signal: Any, *, timeout: float = 5.0) -> int:
        """Emit `agent.<agent_id>.<event>` synchronously: a call to the signal router.

        It returns once the signal is in the mailbox of every live handler
        (the reference platform attached a telemetry handler and waited for it
        to fire instead, which raced and leaked).

        Returns:
            How many live handlers got it.

        Raises:
            ServiceUnavailable: the signal router is not there or did not answer.
        """
        return await call_service(
            "signal_router",
            lambda: SignalRouter.route_sync(rt, "signal_router", f"agent.{agent_id}.{event}", signal, timeout),
        )

    @classmethod
    async def signals_seen(cls, rt: Runtime, agent: Pid | str) -> int:
        """How many routed signals this incarnation of the agent has received."""
        result: int = await rt.call(agent, ("signals_seen",))
        return result

    async def init(self, agent_id: str) -> None:
        rt = self.runtime
        self.agent_id = agent_id
        self._signals_seen = 0
        self._joined = {}
        self._rejoin = {}
        stored = await call_service("state_store", lambda: StateStore.get(rt, "state_store", agent_id))
        self._state = stored or {}
        await call_service("state_registry", lambda: Registry.register(rt, "state_registry", agent_id, "agent"))
        for service in _JOINED:
            await self._join(service)

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
        match request:
            case ("join", str(service)):
                self._rejoin.pop(service, None)
                await self._join(service)

    async def handle_info(self, message: Any) -> None:
        if type(message) is RoutedSignal:
            self._signals_seen += 1
        elif type(message) is Down:
            for service, ref in self._joined.items():
                if ref is message.ref:  # it restarts empty: join it again
                    del self._joined[service]
                    await self._join(service)
                    return

    async def terminate(self, reason: Any) -> None:
        for timer in self._rejoin.values():
            timer.cancel()

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

    async def _join(self, service: str) -> None:
        """Register in agent_registry or subscribe to this agent's signals, and watch the service.

        While the service is away, try again shortly.
        """
        rt = self.runtime
        pid = rt.whereis(service)
        try:
            if pid is None:
                raise ServiceUnavailable(service, LookupError("not registered"))
            if service == "agent_registry":
                await call_service(service, lambda: AgentRegistry.register(rt, pid, self.agent_id, self.pid))
            else:
                pattern = f"agent.{self.agent_id}.**"
                await call_service(service, lambda: SignalRouter.subscribe(rt, pid, pattern, self.pid))
        except ServiceUnavailable:
            loop = asyncio.get_running_loop()
            self._rejoin[service] = loop.call_later(REJOIN_DELAY, rt.cast, self.pid, ("join", service))
            return
        self._joined[service] = self.monitor(pid)
