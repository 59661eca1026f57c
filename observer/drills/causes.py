"""Restart causes: the supervisors' start-error and give-up reports, caught while a drill runs.

When a supervisor cannot restart a child (its listener's port is still taken,
its database is down), the runtime has no observation event saying why: the
reason is in the supervisor's OTP-style report on the `observer.supervisor`
logger (`report="start_error"`, or `"shutdown"` when it gave up). A drill
catches those reports so that a step that fails can name its real cause
("could not start child 'listener': OSError(98, ... address already in use)")
instead of only what followed from it.
"""

from __future__ import annotations

import logging

from observer.runtime.reports import supervisor_log

CAUGHT = frozenset({"start_error", "shutdown"})
"""The supervisor reports that explain a failed restart."""


class CauseCatcher(logging.Handler):
    """A handler on `observer.supervisor` that keeps one line per start error or give-up.

    If the logger is not enabled for errors (the drill command routes the
    runtime's log nowhere unless `--log` is given), it is turned on for errors
    while the catcher is installed, and its records stop at this handler:
    what the user had silenced stays silent.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.causes: list[str] = []
        self._saved: tuple[int, bool] | None = None

    def install(self) -> CauseCatcher:
        """Start catching; returns itself."""
        if not supervisor_log.isEnabledFor(logging.ERROR):
            self._saved = (supervisor_log.level, supervisor_log.propagate)
            supervisor_log.setLevel(logging.ERROR)
            supervisor_log.propagate = False
        supervisor_log.addHandler(self)
        return self

    def uninstall(self) -> None:
        """Stop catching; the logger is as it was (idempotent)."""
        supervisor_log.removeHandler(self)
        if self._saved is not None:
            level, propagate = self._saved
            supervisor_log.setLevel(level)
            supervisor_log.propagate = propagate
            self._saved = None

    def emit(self, record: logging.LogRecord) -> None:
        report = getattr(record, "report", None)
        if report not in CAUGHT:
            return
        supervisor = getattr(record, "supervisor", "?")
        child_id = getattr(record, "child_id", "?")
        if report == "start_error":
            self.causes.append(f"supervisor {supervisor} could not start child {child_id!r}: "
                               f"{getattr(record, 'reason', '?')}")
        else:
            self.causes.append(record.getMessage())
