"""Probe processes drills start: they subscribe or register, report ready, and wait to be killed."""

from __future__ import annotations

from typing import Any

from observer.runtime import Pid, Process, Registry
from observer.runtime.signal_router import SignalRouter
from observer.system import AgentRegistry


def report(proc: Process, drill: Pid, *message: Any) -> None:
    """Tell the drill process something (a tuple)."""
    proc.runtime.send(drill, message)  # compliance: allow-send (a drill probe reporting to the drill itself)


async def park(proc: Process) -> None:
    """Wait for "stop" (messages meanwhile stay queued, where a drill can count them)."""
    await proc.receive(lambda message: message == "stop")


async def subscriber(proc: Process, pattern: str, drill: Pid) -> None:
    """Subscribe to `pattern` at the signal router, report ready, park."""
    await SignalRouter.subscribe(proc.runtime, "signal_router", pattern, proc.pid)
    report(proc, drill, "ready", proc.pid)
    await park(proc)


async def unsubscriber(proc: Process, pattern: str, drill: Pid) -> None:
    """Subscribe to `pattern`, unsubscribe again, report ready, park (alive, holding no subscription)."""
    await SignalRouter.subscribe(proc.runtime, "signal_router", pattern, proc.pid)
    await SignalRouter.unsubscribe(proc.runtime, "signal_router", pattern, proc.pid)
    report(proc, drill, "ready", proc.pid)
    await park(proc)


async def registry_holder(proc: Process, key: str, drill: Pid) -> None:
    """Register `key` in state_registry and as a fake agent in agent_registry, report ready, park."""
    await Registry.register(proc.runtime, "state_registry", key)
    await AgentRegistry.register(proc.runtime, "agent_registry", key, proc.pid)
    report(proc, drill, "ready", proc.pid)
    await park(proc)


async def registry_leaver(proc: Process, key: str, drill: Pid) -> None:
    """Register `key` in state_registry, unregister it again, report ready, park."""
    await Registry.register(proc.runtime, "state_registry", key)
    await Registry.unregister(proc.runtime, "state_registry", key)
    report(proc, drill, "ready", proc.pid)
    await park(proc)
