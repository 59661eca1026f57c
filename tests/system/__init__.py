"""Tests of observer.system, the embedded default system; below, the stand-ins and waits they share.

Every wait here is on a reply or a message: a call to a supervisor is queued
behind the exit messages it already has, so when it returns the restart they
caused is over. Nothing sleeps to "give things time".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from observer.runtime import Down, DynamicSupervisor, Pid, Process, Registry, Runtime, RuntimeEvent, Server, Supervisor
from observer.runtime.signal_router import SignalRouter

GUARD = 5.0
"""Seconds a test waits for a message that must come; only a bug makes a wait this long."""

ROOT_CHILDREN = ("state_supervisor", "state_registry", "services", "agent_supervisor")
"""The root's children in start order, with workload=False."""

SERVICES = ("rate_limiter", "signal_router", "coordination_manager", "agent_registry")
"""The children of `services`, in start order."""

AGENTS = ("agent_1", "agent_2", "agent_3")
"""The agents of a default system."""


async def child_pids(rt: Runtime, sup: Pid | str) -> dict[Hashable, Any]:
    """id -> pid of every child of a static supervisor, in start order.

    A call: it returns after the supervisor has handled every exit message
    queued before it, so it also waits for the restarts those caused.
    """
    return {child.id: child.pid for child in await Supervisor.which_children(rt, sup)}


async def agent_pids(rt: Runtime) -> dict[Hashable, Any]:
    """id -> pid of every agent, as agent_supervisor reports them (a call, like `child_pids`)."""
    return {child.id: child.pid for child in await DynamicSupervisor.which_children(rt, "agent_supervisor")}


async def down_of(me: Process, pid: Pid) -> Down:
    """The `Down` about `pid` (other messages stay queued); `me` must monitor it."""
    message = await me.receive(match=lambda m: type(m) is Down and m.pid is pid, timeout=GUARD)
    assert isinstance(message, Down)
    return message


def whereis(rt: Runtime, name: str) -> Pid:
    """The pid registered as `name`; fails the test if there is none."""
    pid = rt.whereis(name)
    assert pid is not None, f"nothing is registered as {name!r}"
    return pid


class Idle(Server):
    """Does nothing: a stand-in for a subscriber, an agent holding tasks, a short-lived fake agent."""


class Subscriber(Server):
    """Subscribes itself to `pattern` on the system's signal router, then idles."""

    async def init(self, pattern: str) -> None:
        await SignalRouter.subscribe(self.runtime, "signal_router", pattern, self.pid)


class KeyHolder(Server):
    """Registers itself under `key` in the system's state_registry, then idles."""

    async def init(self, key: str) -> None:
        await Registry.register(self.runtime, "state_registry", key)


async def start_unlinked(rt: Runtime, server: type[Server], *args: Any) -> Pid:
    """Start a server with no parent (from the test's own task), so killing it signals nobody."""
    assert rt._current() is None, "start stand-ins outside `rt.attached()`, or killing them kills the test"
    pid = await server.start_link(rt, *args)
    assert pid is not None
    return pid


class EventLog:
    """Records the runtime's observation events, in order (they arrive soon after, via the loop).

    Everything emitted before a call's reply is recorded by the time the
    caller resumes, since the reply wakes the caller through the same loop.
    """

    def __init__(self, rt: Runtime) -> None:
        self.events: list[RuntimeEvent] = []
        self.unsubscribe: Callable[[], None] = rt.subscribe(self.events.append)

    def names(self, kind: str, supervisor: Pid) -> list[str | None]:
        """The child ids of every `kind` event ("child_stopped", "child_started", ...) of `supervisor`."""
        return [event.name for event in self.events if event.kind == kind and event.other is supervisor]


class Rejoined:
    """Waits until every given agent has joined the instance of `service` that replaced `old`.

    An agent monitors a service right after it registered with it or
    subscribed to it, so its "monitored" event is the hook. An agent that got
    the old instance's Down before the new one was registered tries again on a
    real timer (`REJOIN_DELAY`); that is the only time this waits for.
    Create it before the kill.
    """

    def __init__(self, rt: Runtime, service: str, old: Pid, agents: Iterable[Pid]) -> None:
        self._rt = rt
        self._service = service
        self._old = old
        self._waiting = set(agents)
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unsubscribe = rt.subscribe(self._on_event)

    def _on_event(self, event: RuntimeEvent) -> None:
        if (
            event.kind == "monitored"
            and event.other is not self._old
            and event.other is self._rt.whereis(self._service)
        ):
            self._waiting.discard(event.pid)
            if not self._waiting and not self._done.done():
                self._done.set_result(None)

    async def wait(self) -> None:
        """Return once they all joined (fails the test after GUARD seconds)."""
        try:
            await asyncio.wait_for(self._done, GUARD)
        finally:
            self._unsubscribe()
