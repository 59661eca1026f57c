"""Start failures: why a supervisor could not start a child, kept for attached clients.

Supervisors emit a ``start_failed`` observation event when a child's start fails (at init, or
when restarting it: a listener whose port is still taken, a database that is down). The
endpoint keeps the latest one of each (supervisor, child), a bounded number of them, with how
many there were, so that an attached drill can say why a restart failed, as one in-process does.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Final

from observer.runtime import Pid

KEEP: Final = 100
"""(supervisor, child) pairs kept; the one that failed longest ago is dropped first."""


@dataclass(frozen=True, slots=True)
class StartFailure:
    """A supervisor's latest failed start of one child (see `observer.remote.Connection.start_failures`).

    Attributes:
        seq: Its place among all the start failures the endpoint has seen (1, 2, ...): newer is larger.
        at: When it happened, on the service's runtime clock.
        supervisor: The supervisor.
        supervisor_name: The supervisor's registered name, if it has one.
        child: The child's id, as the tree labels it.
        reason: Why the start failed: the reason's repr, capped.
        count: Failed starts of this child by this supervisor since the endpoint started.
    """

    seq: int
    at: float
    supervisor: Pid
    supervisor_name: str | None
    child: str
    reason: str
    count: int = 1


class StartFailures:
    """The latest start failure of each (supervisor, child), at most `keep` of them (on the runtime's loop)."""

    def __init__(self, keep: int = KEEP) -> None:
        """Keep none yet.

        Args:
            keep: How many (supervisor, child) pairs to keep.
        """
        self._keep = keep
        self._seq = 0
        # Invariant: ordered by `seq`, oldest first (an updated pair moves to the end).
        self._latest: OrderedDict[tuple[Pid, str], StartFailure] = OrderedDict()

    def record(self, at: float, supervisor: Pid, supervisor_name: str | None, child: str, reason: str) -> None:
        """Keep one more failed start."""
        self._seq += 1
        key = (supervisor, child)
        previous = self._latest.pop(key, None)
        if previous is None:
            failure = StartFailure(self._seq, at, supervisor, supervisor_name, child, reason)
        else:
            failure = replace(previous, seq=self._seq, at=at, reason=reason, count=previous.count + 1,
                              supervisor_name=supervisor_name or previous.supervisor_name)
        self._latest[key] = failure
        if len(self._latest) > self._keep:
            self._latest.popitem(last=False)

    def since(self, seq: int) -> list[StartFailure]:
        """The kept failures newer than `seq`, oldest first."""
        found = []
        for failure in reversed(self._latest.values()):
            if failure.seq <= seq:
                break
            found.append(failure)
        found.reverse()
        return found
