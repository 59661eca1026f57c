"""Holder processes shared by the Registry tests: they register keys, report, and end when told."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from observer.runtime import AlreadyRegistered, Pid, Process, Registry, Runtime

from .supervision_helpers import GUARD, Boom, down_of


async def holder(proc: Process, registry: Pid, keys: Sequence[Hashable], report_to: Pid) -> None:
    """Register `keys` (value: the key's position), report what happened, then end as told.

    Reports ("registered", key) or ("taken", key, holder_pid) for each key, then
    waits for ("end", how): "normal" returns, "crash" raises.
    """
    rt = proc.runtime
    for position, key in enumerate(keys):
        try:
            await Registry.register(rt, registry, key, position)
        except AlreadyRegistered as taken:
            rt.send(report_to, ("taken", key, taken.pid))
        else:
            rt.send(report_to, ("registered", key))
    _, how = await proc.receive(match=lambda m: isinstance(m, tuple) and m[0] == "end")
    if how == "crash":
        raise Boom("holder crashed")


async def start_holder(rt: Runtime, me: Process, registry: Pid, keys: Sequence[Hashable]) -> tuple[Pid, list[Any]]:
    """A `holder` process and its reports, once it has tried every key."""
    pid = rt.spawn(holder, registry, keys, me.pid)
    reports = [
        await me.receive(match=lambda m: isinstance(m, tuple) and m[0] in ("registered", "taken"), timeout=GUARD)
        for _ in keys
    ]
    return pid, reports


async def end_holder(rt: Runtime, me: Process, pid: Pid, how: str) -> Any:
    """End a holder ("normal", "crash" or "kill") and wait for its Down; return its exit reason."""
    me.monitor(pid)
    if how == "kill":
        rt.exit(pid, "kill")
    else:
        rt.send(pid, ("end", how))
    return (await down_of(me, pid)).reason
