"""The event log's entries as JSON-ready records (one object per entry), for exporting the log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from observer.journal import Cascade, CascadeStep, DrillStepNote, DrillVerdict, LogEntry, LogNote
from observer.runtime import Pid

from . import units


def entry_record(entry: LogEntry, *, started_at: float, wall_offset: float | None = None) -> dict[str, Any]:
    """One entry as plain JSON data: its type, when (runtime clock, since start and wall clock), and its fields.

    Args:
        entry: The entry.
        started_at: When the app started its runtime, on the runtime clock.
        wall_offset: Seconds to add to a runtime-clock time to get a Unix time (None: no ``wall`` field).

    Returns:
        A dict of strings, numbers, booleans, None, lists and dicts only (pids and reasons as text).
    """
    at = entry.began_at if isinstance(entry, Cascade) else entry.at
    record: dict[str, Any] = {"type": _type(entry), "at": at, "since_start": round(at - started_at, 6)}
    if wall_offset is not None:
        record["wall"] = datetime.fromtimestamp(at + wall_offset, UTC).isoformat(timespec="milliseconds")
    if isinstance(entry, LogNote):
        record.update(text=entry.text, level=entry.level)
    elif isinstance(entry, DrillStepNote):
        record.update(drill=entry.drill, step=entry.step, seconds=entry.seconds, passed=entry.passed,
                      happened=list(entry.happened), error=entry.error,
                      checks=[{"description": check.description, "passed": check.passed,
                               "expected": check.expected, "actual": check.actual} for check in entry.checks])
    elif isinstance(entry, DrillVerdict):
        record.update(drill=entry.drill, passed=entry.passed, seconds=entry.seconds, steps=entry.steps,
                      failed_steps=entry.failed_steps, error=entry.error)
    else:
        record.update(supervisor=_pid(entry.supervisor), supervisor_label=entry.supervisor_label,
                      strategy=entry.strategy, child=entry.child, pid=_pid(entry.pid),
                      reason=units.reason(entry.reason), ended_at=entry.ended_at, seconds=entry.seconds,
                      outcome=entry.outcome, repeats=entry.repeats, children=entry.children,
                      stopped=[_step(step) for step in entry.stopped], started=[_step(step) for step in entry.started])
    return record


def _type(entry: LogEntry) -> str:
    if isinstance(entry, LogNote):
        return "note"
    if isinstance(entry, DrillStepNote):
        return "drill_step"
    if isinstance(entry, DrillVerdict):
        return "drill_verdict"
    return "cascade"


def _step(step: CascadeStep) -> dict[str, Any]:
    record: dict[str, Any] = {"id": step.id, "pid": _pid(step.pid), "at": step.at}
    if step.reason is not None:
        record["reason"] = units.reason(step.reason)
    if step.inner:
        record["inner"] = [_step(inner) for inner in step.inner]
    return record


def _pid(pid: Pid) -> str:
    return repr(pid)
