"""ChildSpec, Child and ChildCounts: how a supervisor describes and reports its children."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from .errors import InvalidChildSpec
from .process import Pid

Restart = Literal["permanent", "transient", "temporary"]
ChildType = Literal["worker", "supervisor"]
Shutdown = float | Literal["brutal_kill", "infinity"]
StartResult = Pid | None | tuple[Pid, Any]

RESTARTS = ("permanent", "transient", "temporary")
CHILD_TYPES = ("worker", "supervisor")
DEFAULT_WORKER_SHUTDOWN = 5.0


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to start, restart and stop one child.

    Attributes:
        id: the child's id, unique within its supervisor (any hashable value).
        start: async callable with no arguments, run inside the supervisor
            process; returns a `Pid`, `None` (ignore) or `(Pid, info)` and
            links the child to the supervisor (`start_link` does).
        restart: "permanent" (always restarted), "transient" (only after an
            abnormal exit) or "temporary" (never; its spec is then deleted).
        shutdown: seconds to wait after exit "shutdown" before killing,
            "brutal_kill", "infinity", or None for the default, which is
            resolved on construction (5.0 for a worker, "infinity" for a supervisor).
        type: "worker" or "supervisor".
        significant: the child's own exit can trigger the supervisor's auto_shutdown.
    """

    id: Hashable
    start: Callable[[], Awaitable[StartResult]]
    restart: Restart = "permanent"
    shutdown: Shutdown | None = None
    type: ChildType = "worker"
    significant: bool = False

    def __post_init__(self) -> None:
        try:
            hash(self.id)
        except TypeError:
            raise InvalidChildSpec(f"child spec id must be hashable, got {self.id!r}") from None
        if not callable(self.start):
            raise InvalidChildSpec(
                f"child spec {self.id!r}: start must be an async callable taking no arguments, got {self.start!r}"
            )
        if self.restart not in RESTARTS:
            raise InvalidChildSpec(
                f"child spec {self.id!r}: restart must be one of {', '.join(RESTARTS)}; got {self.restart!r}"
            )
        if self.type not in CHILD_TYPES:
            raise InvalidChildSpec(
                f"child spec {self.id!r}: type must be 'worker' or 'supervisor', got {self.type!r}"
            )
        if not _valid_shutdown(self.shutdown):
            raise InvalidChildSpec(
                f"child spec {self.id!r}: shutdown must be seconds >= 0, 'brutal_kill', 'infinity' or None; "
                f"got {self.shutdown!r}"
            )
        if not isinstance(self.significant, bool):
            raise InvalidChildSpec(f"child spec {self.id!r}: significant must be a bool, got {self.significant!r}")
        if self.significant and self.restart == "permanent":
            raise InvalidChildSpec(
                f"child spec {self.id!r}: significant=True needs restart 'transient' or 'temporary', "
                "not 'permanent'"
            )
        if self.shutdown is None:  # resolved once, here: 5.0 for a worker, "infinity" for a supervisor
            default: Shutdown = DEFAULT_WORKER_SHUTDOWN if self.type == "worker" else "infinity"
            object.__setattr__(self, "shutdown", default)



def _valid_shutdown(shutdown: Any) -> bool:
    if shutdown is None or shutdown == "brutal_kill" or shutdown == "infinity":
        return True
    return isinstance(shutdown, (int, float)) and not isinstance(shutdown, bool) and shutdown >= 0


@dataclass(frozen=True, slots=True)
class Child:
    """One child as `which_children` reports it.

    `pid` is the child's `Pid`, `None` when it is not running, or the string
    "restarting" while its supervisor retries a failed restart.
    """

    id: Hashable
    pid: Pid | None | Literal["restarting"]
    type: ChildType
    restart: Restart


@dataclass(frozen=True, slots=True)
class ChildCounts:
    """Counts reported by `count_children`."""

    specs: int
    active: int
    supervisors: int
    workers: int
