"""A snapshot taken while a supervisor is in the middle of a restart is not reused once it is done."""

from __future__ import annotations

import asyncio
from typing import Any

from observer.journal import Journal
from observer.runtime import Down, Runtime, Server, Supervisor
from observer.snapshot import SnapshotBuilder


class SlowStart(Server):
    """Its first init is quick; a restarted one waits for `gate` (as a listener awaits its bind)."""

    async def init(self, gate: asyncio.Event, entered: asyncio.Event, starts: list[int]) -> None:
        starts.append(1)
        if len(starts) > 1:
            entered.set()
            await gate.wait()

    async def handle_call(self, request: Any, caller: Any) -> Any:
        return request


async def test_a_child_restarted_after_a_snapshot_taken_mid_restart_shows_running() -> None:
    async with Runtime(clock=lambda: 1000.0) as rt, rt.attached() as me:
        journal = Journal()
        rt.subscribe(journal.record)
        builder = SnapshotBuilder(rt, journal, started_at=1000.0)
        gate, entered, starts = asyncio.Event(), asyncio.Event(), []
        root = await Supervisor.start_link(
            rt, [SlowStart.child_spec(gate, entered, starts, id="listener", name="listener")], name="web"
        )
        old = rt.whereis("listener")
        assert old is not None
        ref = me.monitor(old)
        rt.exit(old, "kill")
        await me.receive(lambda m: isinstance(m, Down) and m.ref is ref)
        await entered.wait()  # the supervisor now waits for the new child's init
        during = builder.take(root)
        assert during.root is not None and during.root.children[0].status != "running"
        restarted = asyncio.get_running_loop().create_future()
        rt.subscribe(lambda e: restarted.done() or e.kind != "restarted" or restarted.set_result(e.pid))
        gate.set()
        await asyncio.wait_for(restarted, 5.0)  # the restart is done; no call has touched the supervisor
        after = builder.take(root)
        assert after.root is not None
        listener = after.root.children[0]
        assert (listener.status, listener.pid) == ("running", rt.whereis("listener"))
