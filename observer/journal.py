"""Journal: folds the runtime's observation events into restart cascades, exit reasons and monitor counts.

The app subscribes a `Journal` to its runtime (`rt.subscribe(journal.record)`)
before the first process starts. Events only ever feed this record: nothing
in the runtime waits on it. No textual imports here.
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from observer.runtime import Pid, RuntimeEvent

Describe = Callable[[Pid], tuple[str | None, str | None]]
"""Look up a live supervisor: `(label, strategy)`, each None when unknown."""

Outcome = Literal["restarting", "restarted", "gave_up"]
Level = Literal["info", "warning", "error"]

MISSING: Any = object()
"""What `Journal.exit_reason` returns for a pid whose exit it has not seen."""
TRACEBACK_CAP = 8_000
"""Characters kept of a crash's traceback text (its start and its innermost frames; the middle is cut)."""
MAX_TRACEBACKS = 1_000
"""Crash tracebacks remembered by pid (oldest forgotten first); the log's entries keep their own."""


def traceback_text(error: BaseException, cap: int = TRACEBACK_CAP) -> str:
    """A crash's traceback as text, capped: the frames are read now and not kept.

    Args:
        error: The exception a process exited with (its ``__traceback__`` still set).
        cap: Characters kept: the first quarter and the last three quarters (the innermost frames).
    """
    text = "".join(traceback.format_exception(error)).rstrip("\n")
    if len(text) <= cap:
        return text
    head, tail = cap // 4, cap - cap // 4
    return f"{text[:head]}\n… [{len(text) - head - tail:,} characters left out] …\n{text[-tail:]}"


@dataclass(frozen=True, slots=True)
class DetachedReason:
    """An exception exit reason that could not be copied without its traceback: its type name and message.

    Attributes:
        name: The exception's type name.
        message: Its message (`str()` of it).
    """

    name: str
    message: str


_DETACH_DEPTH = 4  # exceptions wrapping exceptions deeper than this are kept as a summary


def detached(reason: Any, depth: int = 0) -> Any:
    """`reason` without tracebacks, hence without the locals of the frames it was raised through.

    An exception is copied without `__traceback__`, `__cause__` and `__context__` (the exceptions it
    holds in its arguments and attributes detached in turn); its `__init__` does not run again, so its
    message stays what it was. One that cannot be copied so that it reads the same becomes a
    `DetachedReason`. A tuple is detached item by item; anything else is kept as it is.
    """
    if isinstance(reason, tuple):
        items = tuple(detached(item, depth + 1) for item in reason)
        return reason if all(a is b for a, b in zip(items, reason, strict=True)) else items
    if not isinstance(reason, BaseException):
        return reason
    message = str(reason)
    summary = DetachedReason(type(reason).__name__, message)
    if depth >= _DETACH_DEPTH:
        return summary
    cls = type(reason)
    args: tuple[Any, ...]
    if isinstance(reason, BaseExceptionGroup):
        args = (reason.message, [detached(item, depth + 1) for item in reason.exceptions])
    else:
        args = tuple(detached(item, depth + 1) for item in reason.args)
    try:
        clone = cls.__new__(cls, *args)
    except TypeError:  # a __new__ of its own, with another signature
        return summary
    if not isinstance(clone, cls):
        return summary
    if not isinstance(reason, BaseExceptionGroup):
        clone.args = args
    state = getattr(reason, "__dict__", None)
    if state:
        clone.__dict__.update({key: detached(value, depth + 1) for key, value in state.items()})
    return clone if type(clone) is cls and str(clone) == message else summary


@dataclass(frozen=True, slots=True)
class CascadeStep:
    """One child stopped or started during a cascade.

    Attributes:
        id: The child's id as its supervisor labels it.
        pid: The child's pid (the old one for a stop, the new one for a start).
        at: When, on the runtime clock.
        reason: Why it stopped (None for a start).
        inner: Steps of the child's own children that happened as part of this
            one (a supervisor stopping or starting its subtree), in order.
    """

    id: str
    pid: Pid
    at: float
    reason: Any = None
    inner: tuple[CascadeStep, ...] = ()


@dataclass(frozen=True, slots=True)
class Cascade:
    """One restart by one supervisor: what died, what it stopped and started, how long it took.

    Attributes:
        supervisor: The supervisor that restarted.
        supervisor_label: Its registered name, if it had one.
        strategy: Its restart strategy, if known.
        child: The id of the child whose exit began the restart.
        pid: That child's pid.
        reason: Why that child exited.
        began_at: When the restart began, on the runtime clock.
        ended_at: When it ended (None while it is still going on).
        stopped: Siblings stopped, in the order they stopped.
        started: Children started, in the order they started.
        outcome: "restarting" while open, "restarted", or "gave_up" when the
            supervisor exited instead (restart intensity reached).
        repeats: How many cascades of the same kind in a row this entry stands for
            (a restart storm is one entry, not a thousand).
        children: How many different children died in those cascades (the entry shows the last one).
        traceback: The traceback of the crash that began it, as capped text (None when the child did not
            crash with an exception, e.g. it was killed).
    """

    supervisor: Pid
    supervisor_label: str | None
    strategy: str | None
    child: str
    pid: Pid
    reason: Any
    began_at: float
    ended_at: float | None = None
    stopped: tuple[CascadeStep, ...] = ()
    started: tuple[CascadeStep, ...] = ()
    outcome: Outcome = "restarting"
    repeats: int = 1
    children: int = 1
    traceback: str | None = None

    @property
    def seconds(self) -> float | None:
        """How long the restart took, or None while it is still going on."""
        return None if self.ended_at is None else self.ended_at - self.began_at


@dataclass(frozen=True, slots=True)
class LogNote:
    """A line of the event log that is not a cascade: an action, an error, the root exiting.

    Attributes:
        at: When, on the runtime clock.
        text: What happened, in words.
        level: "info", "warning" or "error".
    """

    at: float
    text: str
    level: Level = "info"


@dataclass(frozen=True, slots=True)
class DrillCheck:
    """One expectation of a drill step, and whether it held.

    Attributes:
        description: What a person would check, in words.
        passed: Whether it held.
        expected: What was expected, as text.
        actual: What was found, as text.
    """

    description: str
    passed: bool
    expected: str
    actual: str


@dataclass(frozen=True, slots=True)
class DrillStepNote:
    """One step of a drill run live in the app: what happened and what it checked.

    Attributes:
        at: When the drill ended, on the runtime clock (its steps are logged together).
        drill: The drill's name.
        step: The step's name.
        seconds: How long the step took.
        happened: What happened, in order, in words.
        checks: Its expectations, in the order it checked them.
        error: Why the step itself failed (a named error raised inside it), if it did.
    """

    at: float
    drill: str
    step: str
    seconds: float
    happened: tuple[str, ...] = ()
    checks: tuple[DrillCheck, ...] = ()
    error: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the step ran to its end and every expectation held."""
        return self.error is None and all(check.passed for check in self.checks)


@dataclass(frozen=True, slots=True)
class DrillVerdict:
    """The end of a drill run live in the app: pass or fail, and how long it took.

    Attributes:
        at: When it ended, on the runtime clock.
        drill: The drill's name.
        passed: Whether every step passed.
        seconds: How long the whole drill took.
        steps: How many steps it ran.
        failed_steps: How many of them failed.
        error: What the drill raised when it stopped before its end, if it did.
    """

    at: float
    drill: str
    passed: bool
    seconds: float
    steps: int = 0
    failed_steps: int = 0
    error: str | None = None


DrillEntry = DrillStepNote | DrillVerdict
LogEntry = Cascade | LogNote | DrillStepNote | DrillVerdict


@dataclass(slots=True)
class _OpenCascade:
    """A cascade being recorded, and the nested steps not yet attached to a direct one."""

    cascade: Cascade
    index: int  # its serial number, to find it in the log
    pending: list[CascadeStep] = field(default_factory=list)


class Journal:
    """The running record of what the runtime did, built from its observation events.

    Attributes:
        version: Bumped whenever the log changes (a snapshot can reuse its last view when equal).
        monitor_version: Bumped whenever a monitor count changes.
        restarts: Restarts seen since the journal started ("restarted" events).
    """

    def __init__(self, *, describe: Describe | None = None, max_entries: int = 1_000,
                 max_exit_reasons: int = 50_000) -> None:
        """Create an empty journal.

        Args:
            describe: Looks up a supervisor's label and strategy when one of its cascades begins.
            max_entries: How many log entries to keep (oldest dropped first).
            max_exit_reasons: How many exit reasons to remember (oldest forgotten first).
        """
        self._describe = describe
        self._max_exit_reasons = max_exit_reasons
        self.version = 0
        self.monitor_version = 0
        self.restarts = 0
        # Entries in time order, each with its serial number; serials only grow.
        self._log: deque[tuple[int, LogEntry]] = deque(maxlen=max_entries)
        self._serials = 0
        # Invariant: holds exactly the cascades whose supervisor has begun a restart and not ended it.
        self._open: dict[Pid, _OpenCascade] = {}
        self._exit_reasons: dict[Pid, Any] = {}
        self._tracebacks: dict[Pid, str] = {}  # crashes' tracebacks as text, the newest `MAX_TRACEBACKS`
        self._names: dict[Pid, str] = {}
        self._restarts_under: dict[Pid, int] = {}  # live supervisors only
        self._storm_children: set[str] = set()  # the children of the entry that merges a storm, while it is last
        # Invariant: `_held[w]` is the sum of `_watching[w].values()`, `_watched[t]` that of
        # `_watchers[t].values()`; pids with no monitors have no entry.
        self._watching: dict[Pid, dict[Pid, int]] = {}
        self._watchers: dict[Pid, dict[Pid, int]] = {}
        self._held: dict[Pid, int] = {}
        self._watched: dict[Pid, int] = {}

    # -- reading -------------------------------------------------------------------

    def entries(self) -> tuple[LogEntry, ...]:
        """The log, oldest first."""
        return tuple(entry for _, entry in self._log)

    def exit_reason(self, pid: Pid) -> Any:
        """Why `pid` exited, or `MISSING` if the journal has not seen it exit."""
        return self._exit_reasons.get(pid, MISSING)

    def traceback(self, pid: Pid) -> str | None:
        """The traceback `pid` crashed with, as capped text; None if it did not crash (or long ago)."""
        return self._tracebacks.get(pid)

    def restarts_under(self, supervisor: Pid) -> int:
        """Restarts of `supervisor`'s children since the journal started (0 once it has exited)."""
        return self._restarts_under.get(supervisor, 0)

    def name_of(self, pid: Pid) -> str | None:
        """The name a live `pid` is registered under, if any."""
        return self._names.get(pid)

    @property
    def monitors_held(self) -> Mapping[Pid, int]:
        """Monitors each process holds (only processes holding some)."""
        return self._held

    @property
    def monitors_watching(self) -> Mapping[Pid, int]:
        """Monitors on each process (only processes watched by some)."""
        return self._watched

    # -- writing -------------------------------------------------------------------

    def note(self, at: float, text: str, level: Level = "info") -> None:
        """Add a line to the log (an action taken, an error, the root exiting)."""
        self._append(LogNote(at, text, level))

    def drill(self, entry: DrillEntry) -> None:
        """Add a drill's step result or its verdict to the log."""
        self._append(entry)

    def add(self, entry: LogEntry) -> None:
        """Add an entry made elsewhere (by the app: a note, a drill's step) to the log."""
        self._append(entry)

    def record(self, event: RuntimeEvent) -> None:
        """Fold one observation event in; the callback to pass to `Runtime.subscribe`."""
        kind = event.kind
        if kind == "exited":
            self._exited(event)
        elif kind == "monitored" and event.other is not None:
            self._add_monitor(event.pid, event.other)
        elif kind == "demonitored" and event.other is not None:
            self._remove_monitor(event.pid, event.other)
        elif kind == "registered" and event.name is not None:
            self._names[event.pid] = event.name
        elif kind == "unregistered":
            self._names.pop(event.pid, None)
        elif kind == "restarted":
            self.restarts += 1
            if event.other is not None:
                self._restarts_under[event.other] = self._restarts_under.get(event.other, 0) + 1
        elif kind == "restart_began" and event.other is not None:
            self._restart_began(event, event.other)
        elif kind in ("child_stopped", "child_started") and event.other is not None:
            self._step(event, event.other)
        elif kind == "restart_ended" and event.other is not None:
            self._restart_ended(event.other, event.at, "restarted")

    # -- one method per event --------------------------------------------------------

    def _exited(self, event: RuntimeEvent) -> None:
        pid = event.pid
        reasons = self._exit_reasons
        reason = event.reason
        reasons[pid] = detached(reason)
        if len(reasons) > self._max_exit_reasons:
            del reasons[next(iter(reasons))]
        if isinstance(reason, BaseException) and reason.__traceback__ is not None:
            tracebacks = self._tracebacks
            tracebacks[pid] = traceback_text(reason)
            if len(tracebacks) > MAX_TRACEBACKS:
                del tracebacks[next(iter(tracebacks))]
        self._restarts_under.pop(pid, None)
        self._names.pop(pid, None)
        if pid in self._open:  # a supervisor that exited mid-restart gave up
            self._restart_ended(pid, event.at, "gave_up")
        if pid in self._watching or pid in self._watchers:
            self._drop_monitors_of(pid)

    def _restart_began(self, event: RuntimeEvent, supervisor: Pid) -> None:
        label, strategy = (None, None) if self._describe is None else self._describe(supervisor)
        if label is None:
            label = self._names.get(supervisor)
        cascade = Cascade(supervisor, label, strategy, event.name or repr(event.pid), event.pid,
                          detached(event.reason), event.at, traceback=self._tracebacks.get(event.pid))
        self._open[supervisor] = _OpenCascade(cascade, self._append(cascade))

    def _step(self, event: RuntimeEvent, supervisor: Pid) -> None:
        step = CascadeStep(event.name or repr(event.pid), event.pid, event.at,
                           detached(event.reason) if event.kind == "child_stopped" else None)
        own = self._open.get(supervisor)
        if own is not None:
            inner, own.pending = tuple(own.pending), []
            if inner:
                step = replace(step, inner=inner)
            cascade = own.cascade
            if event.kind == "child_stopped":
                cascade = replace(cascade, stopped=(*cascade.stopped, step))
            else:
                cascade = replace(cascade, started=(*cascade.started, step))
            self._update(own, cascade)
            return
        if self._open:  # a nested supervisor stopping or starting its children inside an open cascade
            outermost = next(iter(self._open.values()))
            outermost.pending.append(step)

    def _restart_ended(self, supervisor: Pid, at: float, outcome: Outcome) -> None:
        own = self._open.pop(supervisor, None)
        if own is None:
            return
        cascade = replace(own.cascade, ended_at=at, outcome=outcome)
        if not self._merge_repeat(own.index, cascade):
            self._update(own, cascade)

    # -- monitors ------------------------------------------------------------------

    def _add_monitor(self, watcher: Pid, target: Pid) -> None:
        targets = self._watching.setdefault(watcher, {})
        targets[target] = targets.get(target, 0) + 1
        watchers = self._watchers.setdefault(target, {})
        watchers[watcher] = watchers.get(watcher, 0) + 1
        self._held[watcher] = self._held.get(watcher, 0) + 1
        self._watched[target] = self._watched.get(target, 0) + 1
        self.monitor_version += 1

    def _remove_monitor(self, watcher: Pid, target: Pid, count: int = 1) -> None:
        targets = self._watching.get(watcher)
        if targets is None or target not in targets:
            return
        _decrement(targets, target, count)
        if not targets:
            del self._watching[watcher]
        watchers = self._watchers[target]
        _decrement(watchers, watcher, count)
        if not watchers:
            del self._watchers[target]
        _decrement(self._held, watcher, count)
        _decrement(self._watched, target, count)
        self.monitor_version += 1

    def _drop_monitors_of(self, pid: Pid) -> None:
        """A process exited: the monitors it held and those on it are gone (the runtime emits no event)."""
        for target, count in list(self._watching.get(pid, {}).items()):
            self._remove_monitor(pid, target, count)
        for watcher, count in list(self._watchers.get(pid, {}).items()):
            self._remove_monitor(watcher, pid, count)

    # -- the log ---------------------------------------------------------------------

    def _append(self, entry: LogEntry) -> int:
        self._serials += 1
        self._log.append((self._serials, entry))
        self.version += 1
        return self._serials

    def _update(self, own: _OpenCascade, cascade: Cascade) -> None:
        own.cascade = cascade
        log = self._log
        for position in range(len(log) - 1, -1, -1):  # open cascades are near the end
            serial, _ = log[position]
            if serial == own.index:
                log[position] = (serial, cascade)
                break
            if serial < own.index:
                break
        self.version += 1

    def _merge_repeat(self, serial: int, cascade: Cascade) -> bool:
        """Fold a finished cascade into the entry before it when it is the same restart again."""
        log = self._log
        if len(log) < 2 or log[-1][0] != serial:
            return False
        _, before = log[-2]
        if not (isinstance(before, Cascade) and before.outcome == "restarted" and cascade.outcome == "restarted"
                and _signature(before) == _signature(cascade)):
            return False
        log.pop()
        if before.repeats == 1:
            self._storm_children = {before.child}
        self._storm_children.add(cascade.child)
        log[-1] = (log[-1][0], replace(cascade, began_at=before.began_at, repeats=before.repeats + 1,
                                       children=len(self._storm_children)))
        self.version += 1
        return True


def _signature(cascade: Cascade) -> tuple[Hashable, ...]:
    """What makes two cascades 'the same restart again' for a storm.

    A restart that stopped no sibling (one_for_one, a dynamic supervisor) is the
    same whichever child died; a group restart is the same only for the same child.
    """
    child = cascade.child if cascade.stopped else None
    return (cascade.supervisor, child, _reason_kind(cascade.reason), tuple(step.id for step in cascade.stopped),
            len(cascade.started))


def _reason_kind(reason: Any) -> Hashable:
    if isinstance(reason, DetachedReason):
        return reason.name
    return type(reason).__name__ if isinstance(reason, BaseException) else repr(reason)


def _decrement(counts: dict[Pid, int], key: Pid, by: int) -> None:
    left = counts.get(key, 0) - by
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
