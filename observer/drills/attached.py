"""Running drill files against a service in another OS process (`observer drill --file F --attach TARGET`)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from observer.remote import ReadOnly, connect
from observer.runtime import ObserverError, Runtime

from .builtin import Drill
from .remote_context import RemoteDrillContext
from .report import DrillReport, StepReport
from .runner import DRILL_TIMEOUT, run_body

CONNECT_TIMEOUT = 5.0
"""Seconds to reach the service and for each read of it."""


async def run_attached(
    drills: Sequence[Drill],
    target: int | str | os.PathLike[str],
    *,
    token: str | None = None,
    timeout: float = DRILL_TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> list[DrillReport]:
    """Run each drill, one after the other, against the running service at `target`.

    Args:
        drills: Drills from drill files (the built-in drills need the default system in this process).
        target: An OS pid, a socket path, or "host:port" (with `token`).
        token: The endpoint's token (TCP needs it).
        timeout: Seconds each drill may run.
        connect_timeout: Seconds to connect, and for each read.

    Returns:
        One report per drill. The service runs on: a drill changes only what it kills, suspends
        (and resumes what it suspended) or calls. Loads run in a runtime of the drill's own, here.

    Raises:
        Unreachable: No service there, refused, a bad token (one line).
        ReadOnly: The service does not allow control (the message says how it turns it on).
    """
    reports = []
    async with connect(target, token=token, timeout=connect_timeout) as conn, Runtime() as local:
        if not conn.control:
            raise ReadOnly("drill")
        for drill in drills:
            report = DrillReport(drill.name, drill.description)
            started = time.perf_counter()
            try:
                ctx = await RemoteDrillContext.open(conn, report, local)
            except ObserverError as error:  # no tree yet, a blocked loop, the service gone
                report.steps.append(StepReport("attach", error=str(error)))
            else:
                await run_body(drill, ctx, timeout=timeout, catch=True)
            report.seconds = time.perf_counter() - started
            reports.append(report)
    return reports
