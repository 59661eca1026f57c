"""Supervisor and crash reports through `logging` (DESIGN.md section 11), shaped like OTP's SASL reports.

`observer.supervisor` carries progress reports (INFO), child_terminated (ERROR
when abnormal, INFO for "normal"/"shutdown"), start_error, shutdown_error and
the intensity-reached "shutdown" report (ERROR); `observer.crash` carries a
crash with its traceback. Every record has the structured fields `report`,
`supervisor`, `child_id`, `pid` and (but for progress) `reason`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from observer.runtime import Down, DynamicSupervisor, Pid, Runtime, Supervisor

from .supervision_helpers import (
    GUARD,
    Boom,
    Journal,
    Lingering,
    PlainWorker,
    StartFaults,
    StartRefused,
    end_child,
    exit_message_of,
    pid_of,
    running_pid,
    settle,
    worker,
)

REPORTERS = ("observer.supervisor", "observer.crash")
FIELDS = ("report", "supervisor", "child_id", "pid", "reason")


@pytest.fixture
def reports(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """The records of the two report loggers, captured from INFO up (and nothing else's)."""
    caplog.set_level(logging.INFO, logger="observer")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name in REPORTERS:
                records.append(record)

    handler = Keep()
    logger = logging.getLogger("observer")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def summary(records: list[logging.LogRecord]) -> list[tuple[str, str, str]]:
    """(logger, level, report) of each record, in order."""
    return [(record.name, record.levelname, getattr(record, "report", "")) for record in records]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FIELDS if hasattr(record, name)}


async def test_a_crash_and_its_restart(rt: Runtime, reports: list[logging.LogRecord]) -> None:
    """A crash report with the traceback, a child_terminated error, then the progress report of the restart."""
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("w", journal)])
        first = running_pid(await Supervisor.which_children(rt, sup), "w")
        assert summary(reports) == [("observer.supervisor", "INFO", "progress")]
        assert fields(reports[0]) == {"report": "progress", "supervisor": str(sup), "child_id": "w", "pid": str(first)}
        reports.clear()

        reason = await end_child(rt, me, first, "crash")
        await settle(rt, sup)

        second = running_pid(await Supervisor.which_children(rt, sup), "w")
    assert isinstance(reason, Boom)
    assert summary(reports) == [
        ("observer.crash", "ERROR", "crash"),
        ("observer.supervisor", "ERROR", "child_terminated"),
        ("observer.supervisor", "INFO", "progress"),
    ]
    crash, terminated, progress = reports
    expected = {"supervisor": str(sup), "child_id": "w", "pid": str(first), "reason": repr(reason)}
    assert fields(crash) == {"report": "crash", **expected}
    assert fields(terminated) == {"report": "child_terminated", **expected}
    assert fields(progress) == {"report": "progress", "supervisor": str(sup), "child_id": "w", "pid": str(second)}
    assert crash.exc_info is not None and crash.exc_info[1] is reason
    assert crash.exc_info[2] is reason.__traceback__ is not None  # the child's own traceback
    assert "Boom" in logging.Formatter().format(crash)  # the formatted report shows it
    assert terminated.exc_info is None  # the supervisor report stays one line
    for record in reports:
        json.dumps(fields(record))  # a JSON handler can carry every field as it is


async def test_the_restart_intensity_reached(rt: Runtime, reports: list[logging.LogRecord]) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("w", journal)], max_restarts=0)
        child = running_pid(await Supervisor.which_children(rt, sup), "w")
        reports.clear()

        await end_child(rt, me, child, "kill")
        assert (await exit_message_of(me, sup)).reason == "shutdown"

    assert summary(reports) == [
        ("observer.supervisor", "ERROR", "child_terminated"),  # "killed" is abnormal; not an exception: no crash
        ("observer.supervisor", "ERROR", "shutdown"),
    ]
    assert fields(reports[1]) == {
        "report": "shutdown", "supervisor": str(sup), "child_id": "w", "pid": str(child),
        "reason": repr("reached_max_restart_intensity"),
    }
    assert "restart intensity" in reports[1].getMessage()


async def test_a_clean_shutdown_reports_no_error(rt: Runtime, reports: list[logging.LogRecord]) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True):
        inner = Supervisor.child_spec("inner", [worker("c", journal)])
        children = [worker("a", journal), worker("b", journal, shutdown="brutal_kill"), inner]
        sup = await Supervisor.start_link(rt, children)
        await rt.stop(sup, "shutdown")
    assert [report for _, _, report in summary(reports)] == ["progress"] * 4
    assert all(record.levelno == logging.INFO for record in reports)


@pytest.mark.parametrize(("restart", "reason"), [("permanent", "normal"), ("transient", "shutdown"),
                                                 ("temporary", ("shutdown", "done"))])
async def test_a_normal_exit_is_reported_as_info(
    rt: Runtime, reports: list[logging.LogRecord], restart: str, reason: Any
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("w", journal, restart=restart)])
        child = running_pid(await Supervisor.which_children(rt, sup), "w")
        reports.clear()

        await end_child(rt, me, child, reason)
        await settle(rt, sup)

    terminated = [fields(record) for record in reports if fields(record)["report"] == "child_terminated"]
    assert [(record["reason"]) for record in terminated] == [repr(reason)]
    assert summary(reports)[0] == ("observer.supervisor", "INFO", "child_terminated")
    assert not [record for record in reports if record.levelno >= logging.WARNING]


async def test_a_failed_restart_is_a_start_error(rt: Runtime, reports: list[logging.LogRecord]) -> None:
    """The start error carries no pid (there is none); its exception gets a crash report of its own."""
    journal: Journal = []
    faults = StartFaults()
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [worker("w", journal, faults=faults)])
        child = running_pid(await Supervisor.which_children(rt, sup), "w")
        faults.refuse("w")
        reports.clear()

        await end_child(rt, me, child, "kill")
        for _ in range(3):  # each call is answered between two attempts; the second one succeeds
            if isinstance(pid_of(await Supervisor.which_children(rt, sup), "w"), Pid):
                break

    assert summary(reports) == [
        ("observer.supervisor", "ERROR", "child_terminated"),
        ("observer.crash", "ERROR", "crash"),
        ("observer.supervisor", "ERROR", "start_error"),
        ("observer.supervisor", "INFO", "progress"),
    ]
    crash, start_error = reports[1:3]
    assert isinstance(crash.exc_info, tuple) and isinstance(crash.exc_info[1], StartRefused)
    assert fields(start_error) == {
        "report": "start_error", "supervisor": str(sup), "child_id": "w", "pid": None,
        "reason": repr(StartRefused("w")),
    }


async def test_a_child_killed_after_its_shutdown_timeout_is_a_shutdown_error(
    rt: Runtime, reports: list[logging.LogRecord]
) -> None:
    journal: Journal = []
    release = asyncio.Event()  # never set: its terminate hangs until the supervisor kills it
    async with rt.attached(trap_exits=True) as me:
        spec = Lingering.child_spec("slow", journal, me.pid, release, id="slow", shutdown=0.01)
        sup = await Supervisor.start_link(rt, [spec])
        child = running_pid(await Supervisor.which_children(rt, sup), "slow")
        reports.clear()

        await Supervisor.terminate_child(rt, sup, "slow")

    assert summary(reports) == [("observer.supervisor", "ERROR", "shutdown_error")]
    assert fields(reports[0]) == {
        "report": "shutdown_error", "supervisor": str(sup), "child_id": "slow", "pid": str(child),
        "reason": repr("killed"),
    }


async def test_a_dynamic_supervisor_reports_a_crash_and_its_restart(
    rt: Runtime, reports: list[logging.LogRecord]
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt)
        first = await DynamicSupervisor.start_child(rt, sup, worker("conn", journal))
        assert isinstance(first, Pid)
        reports.clear()

        reason = await end_child(rt, me, first, "crash")
        await settle(rt, sup)
        [child] = await DynamicSupervisor.which_children(rt, sup)
        await rt.stop(sup, "shutdown")

    assert summary(reports) == [
        ("observer.crash", "ERROR", "crash"),
        ("observer.supervisor", "ERROR", "child_terminated"),
        ("observer.supervisor", "INFO", "progress"),
    ]
    assert fields(reports[1]) == {
        "report": "child_terminated", "supervisor": str(sup), "child_id": "conn", "pid": str(first),
        "reason": repr(reason),
    }
    assert fields(reports[2])["pid"] == str(child.pid)


async def test_a_dynamic_supervisor_reports_its_restart_intensity(
    rt: Runtime, reports: list[logging.LogRecord]
) -> None:
    journal: Journal = []
    async with rt.attached(trap_exits=True) as me:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=0)
        child = await DynamicSupervisor.start_child(rt, sup, worker("conn", journal))
        assert isinstance(child, Pid)
        reports.clear()

        await end_child(rt, me, child, "kill")
        assert (await exit_message_of(me, sup)).reason == "shutdown"

    assert summary(reports) == [
        ("observer.supervisor", "ERROR", "child_terminated"),
        ("observer.supervisor", "ERROR", "shutdown"),
    ]
    assert fields(reports[1])["child_id"] == "conn"


class Loud:
    """A child id and an exit reason that count how often they are formatted."""

    formatted = 0

    def __repr__(self) -> str:
        type(self).formatted += 1
        return "Loud()"


class LoudCrash(Exception):
    def __repr__(self) -> str:
        Loud.formatted += 1
        return "LoudCrash()"


async def test_nothing_is_formatted_when_the_reports_are_disabled(rt: Runtime) -> None:
    """Restarts are a hot path: a disabled level builds no message and no `extra` fields."""
    journal: Journal = []
    quiet = logging.getLogger("observer")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    Loud.formatted = 0
    loud_id = Loud()

    try:
        async with rt.attached(trap_exits=True) as me:
            sup = await Supervisor.start_link(rt, [worker(loud_id, journal, cls=PlainWorker)])
            child = running_pid(await Supervisor.which_children(rt, sup), loud_id)
            ref = me.monitor(child)
            rt.exit(child, LoudCrash())  # an exception as the exit reason, as if it had crashed with it
            down = await me.receive(lambda message: type(message) is Down and message.ref is ref, timeout=GUARD)
            assert isinstance(down.reason, LoudCrash)
            await settle(rt, sup)
            await rt.stop(sup, "shutdown")
    finally:
        quiet.setLevel(level)
    assert Loud.formatted == 0
