"""Supervisor and crash reports through `logging`, shaped like OTP's SASL reports.

Two loggers:

- `observer.supervisor`: progress reports (a child started, INFO), a child
  terminated (ERROR for an abnormal reason, INFO for "normal" and "shutdown"),
  a child that failed to start or to stop cleanly (ERROR), and the restart
  intensity reached (ERROR). One line each.
- `observer.crash`: a child that exited with an exception (ERROR), with the
  exception's own traceback as `exc_info`.

Every record carries `extra` fields so that JSON handlers keep them: `report`
(OTP's label: "progress", "child_terminated", "start_error", "shutdown_error",
"shutdown" or "crash"), `supervisor` and `pid` (pids as strings; `pid` is None
for a start that failed), `child_id` (the id itself when it is a str, else its
repr) and `reason` (a repr; not on progress reports).

Restarts are a hot path: nothing is formatted, and no `extra` dict is built,
unless the logger is enabled for the record's level.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any

from .process import KILLED, NORMAL, Pid, is_normal_exit

supervisor_log = logging.getLogger("observer.supervisor")
crash_log = logging.getLogger("observer.crash")

_INFO = logging.INFO
_ERROR = logging.ERROR


def _fields(report: str, supervisor: Pid, child_id: Hashable, pid: Pid | None) -> dict[str, Any]:
    return {
        "report": report,
        "supervisor": str(supervisor),
        "child_id": child_id if isinstance(child_id, str) else repr(child_id),
        "pid": None if pid is None else str(pid),
    }


def _with_reason(fields: dict[str, Any], reason: Any) -> dict[str, Any]:
    fields["reason"] = repr(reason)
    return fields


def progress(supervisor: Pid, child_id: Hashable, pid: Pid) -> None:
    """A child started (INFO): OTP's progress report."""
    if supervisor_log.isEnabledFor(_INFO):
        supervisor_log.info(
            "supervisor %r started child %r as %r", supervisor, child_id, pid,
            extra=_fields("progress", supervisor, child_id, pid),
        )


def child_terminated(supervisor: Pid, child_id: Hashable, pid: Pid, reason: Any) -> None:
    """A child exited by itself: a crash report first if `reason` is an exception, then the supervisor report.

    The supervisor report is an ERROR for an abnormal reason and INFO for
    "normal", "shutdown" and ("shutdown", info), which are not errors.
    """
    if isinstance(reason, BaseException):
        crashed(supervisor, child_id, pid, reason)
        level = _ERROR
    else:
        level = _INFO if is_normal_exit(reason) else _ERROR
    if supervisor_log.isEnabledFor(level):
        supervisor_log.log(
            level, "supervisor %r: child %r (%r) terminated with reason %r", supervisor, child_id, pid, reason,
            extra=_with_reason(_fields("child_terminated", supervisor, child_id, pid), reason),
        )


def start_error(supervisor: Pid, child_id: Hashable, reason: Any) -> None:
    """A child the supervisor started itself (at init or to restart it) failed to start (ERROR)."""
    crashed(supervisor, child_id, None, reason)
    if supervisor_log.isEnabledFor(_ERROR):
        supervisor_log.error(
            "supervisor %r: child %r failed to start: %r", supervisor, child_id, reason,
            extra=_with_reason(_fields("start_error", supervisor, child_id, None), reason),
        )


def stopped_as_expected(reason: Any, shutdown: Any, restart: str) -> bool:
    """Whether a child the supervisor stopped ended as its shutdown spec asked (OTP's `shutdown/2`).

    "brutal_kill" expects "killed"; a timeout or "infinity" expects "shutdown" or
    ("shutdown", info), so "killed" after the timeout is not clean. A child that is
    not permanent may also have ended "normal" by itself.
    """
    if shutdown == "brutal_kill":
        if isinstance(reason, str) and reason == KILLED:
            return True
    elif is_normal_exit(reason) and reason != NORMAL:
        return True
    return restart != "permanent" and is_normal_exit(reason)


def shutdown_error(supervisor: Pid, child_id: Hashable, pid: Pid, reason: Any) -> None:
    """A child the supervisor stopped did not end as its shutdown spec asked (ERROR)."""
    crashed(supervisor, child_id, pid, reason)
    if supervisor_log.isEnabledFor(_ERROR):
        supervisor_log.error(
            "supervisor %r: child %r (%r) did not shut down cleanly: %r", supervisor, child_id, pid, reason,
            extra=_with_reason(_fields("shutdown_error", supervisor, child_id, pid), reason),
        )


def intensity_reached(
    supervisor: Pid, child_id: Hashable, pid: Pid | None, max_restarts: int, max_seconds: float
) -> None:
    """Restarting `child_id` would make more than `max_restarts` in `max_seconds`: the supervisor shuts down (ERROR)."""
    if supervisor_log.isEnabledFor(_ERROR):
        reason = "reached_max_restart_intensity"
        supervisor_log.error(
            "supervisor %r reached its restart intensity (more than %d restarts in %ss) restarting child %r; "
            "shutting down", supervisor, max_restarts, max_seconds, child_id,
            extra=_with_reason(_fields("shutdown", supervisor, child_id, pid), reason),
        )


def crashed(supervisor: Pid, child_id: Hashable, pid: Pid | None, reason: Any) -> None:
    """If `reason` is an exception: a crash report (ERROR on `observer.crash`) with its traceback."""
    if isinstance(reason, BaseException) and crash_log.isEnabledFor(_ERROR):
        where = "" if pid is None else f" {pid!r}"
        crash_log.error(
            "process%s (child %r of supervisor %r) crashed: %r", where, child_id, supervisor, reason,
            exc_info=(type(reason), reason, reason.__traceback__),
            extra=_with_reason(_fields("crash", supervisor, child_id, pid), reason),
        )
