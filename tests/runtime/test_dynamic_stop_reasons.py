"""DESIGN 11: a DynamicSupervisor's reports carry a stopped child's real exit reason.

A child that exited on its own just before the supervisor stops it has left its `ExitMessage` in
the supervisor's mailbox; as in OTP, that queued exit is the reason reported, not the "noproc" of
a monitor set on a pid that is already dead. The supervisor is held still with `rt.suspend`, so
the exit is queued behind (or before) the request that stops the child, deterministically.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from observer.runtime import DynamicSupervisor, Pid, Process, Runtime, Server, TraceEvent

from .helpers import GUARD, down_of, mailbox_size


class Idle(Server):
    pass


def reports_about(caplog: pytest.LogCaptureFixture, child_id: str) -> list[tuple[str, str]]:
    """(report, reason) of every supervisor report about `child_id` except progress reports."""
    return [
        (record.report, record.reason)  # type: ignore[attr-defined]
        for record in caplog.records
        if getattr(record, "child_id", None) == child_id and getattr(record, "report", None) != "progress"
    ]


async def start_children(rt: Runtime, sup: Pid, *ids: str) -> list[Pid]:
    pids = []
    for child_id in ids:
        pid = await DynamicSupervisor.start_child(rt, sup, Idle.child_spec(id=child_id))
        assert isinstance(pid, Pid)
        pids.append(pid)
    return pids


async def test_a_supervisor_shutting_down_reports_the_reason_of_a_child_that_exited_just_before(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="observer.supervisor")
    sup = await DynamicSupervisor.start_link(rt)
    gone, stays = await start_children(rt, sup, "gone", "stays")
    await rt.suspend(sup)  # it takes only system and stop requests now: the child's exit stays queued

    rt.exit(gone, "boom")
    assert not rt.is_alive(gone) and mailbox_size(rt, sup) == 1
    await asyncio.wait_for(rt.stop(sup, "shutdown"), GUARD)

    assert not rt.is_alive(stays)
    assert reports_about(caplog, "gone") == [("shutdown_error", "'boom'")]  # not 'noproc'
    assert reports_about(caplog, "stays") == []  # stopped as its spec asks: nothing to report


async def terminate_child(proc: Process, sup: Pid, child: Pid) -> None:
    await DynamicSupervisor.terminate_child(proc.runtime, sup, child)


async def test_terminate_child_reports_the_reason_of_a_child_that_exited_just_before(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="observer.supervisor")
    sup = await DynamicSupervisor.start_link(rt)
    (child,) = await start_children(rt, sup, "gone")
    await rt.suspend(sup)
    request_queued = asyncio.Event()

    def on_trace(event: TraceEvent) -> None:
        if event.kind == "in" and getattr(event.message, "request", None) == ("terminate_child", child):
            request_queued.set()

    stop_trace = rt.trace(sup, on_trace)
    async with rt.attached() as me:
        terminator = rt.spawn(terminate_child, sup, child)
        me.monitor(terminator)
        await asyncio.wait_for(request_queued.wait(), GUARD)
        stop_trace()
        rt.exit(child, "boom")  # its exit is queued behind the terminate request
        assert mailbox_size(rt, sup) == 2
        await rt.resume(sup)
        assert (await down_of(me, terminator)).reason == "normal"  # terminate_child returned

    assert reports_about(caplog, "gone") == [("shutdown_error", "'boom'")]  # not 'noproc'
    assert await DynamicSupervisor.which_children(rt, sup) == []  # the queued exit did not restart it
    assert mailbox_size(rt, sup) == 0

