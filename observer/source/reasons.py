"""Exit reasons from a service, which cross the wire as their repr, turned back into what the embedded app shows.

In-process, a reason is the object a process exited with: ``"killed"`` shows as ``killed``,
``("shutdown", "timeout")`` as ``shutdown: timeout``, ``RuntimeError("boom")`` as
``RuntimeError: boom``. Attached, each arrives as the text of its repr (``'killed'``). A repr of a
plain string or of a tuple of plain values is read back with `ast.literal_eval`, which evaluates
literals only, never code; a crash's exception (a cascade that carries its traceback) becomes a
`DetachedReason`, so that the log shows and opens it as it does in-process. Any other text stays
as it came. Only `RemoteSource` uses this, on what its service sent.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import replace
from typing import Any

from observer.journal import Cascade, CascadeStep, DetachedReason, LogEntry
from observer.snapshot import Snapshot

_LITERAL_STARTS = frozenset("'\"(")
"""How the repr of a str or a tuple begins: other text is not parsed at all."""
_EXCEPTION_REPR = re.compile(r"([A-Za-z_][\w.]*)\((.*)\)", re.DOTALL)
"""``RuntimeError('boom')``: an exception's repr, its type name and its arguments."""
_PARSE_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)
"""What `ast.literal_eval` raises on text that is no literal (or one nested too deeply)."""


def plain_reason(reason: Any) -> Any:
    """The value a reason's repr stands for when it is a str or a tuple of plain values; else `reason` itself.

    Args:
        reason: A reason as the wire gives it: the text of its repr (a capped one does not parse), or None.
    """
    if not isinstance(reason, str) or not reason or reason[0] not in _LITERAL_STARTS:
        return reason
    try:
        value = ast.literal_eval(reason)
    except _PARSE_ERRORS:
        return reason
    return value if isinstance(value, str) or (isinstance(value, tuple) and _plain(value)) else reason


def crash_reason(reason: Any) -> Any:
    """A crash's reason: the repr of the exception it raised as a `DetachedReason` (name and message), else as
    `plain_reason` reads it.

    The message is what ``str()`` of the exception gives: a built-in exception type is made again from
    the arguments (so that a KeyError or an OSError reads as its own ``str()``); another's is its one
    argument, all of them as a tuple, or nothing. Arguments that are no literals are kept as their text.
    """
    value = plain_reason(reason)
    if value is not reason or not isinstance(reason, str):
        return value
    match = _EXCEPTION_REPR.fullmatch(reason)
    if match is None:
        return reason
    qualified, arguments = match.group(1), match.group(2)
    name = qualified.rpartition(".")[2]
    try:
        args = ast.literal_eval(f"({arguments},)") if arguments.strip() else ()
    except _PARSE_ERRORS:
        return DetachedReason(name, arguments)
    return DetachedReason(name, _message(qualified, args))


def _message(qualified: str, args: tuple[Any, ...]) -> str:
    """What ``str()`` of the exception `qualified` made with `args` gives."""
    kind = getattr(builtins, qualified, None)
    if isinstance(kind, type) and issubclass(kind, BaseException):
        try:
            return str(kind(*args))  # a built-in type made from literals: no code of the service's runs here
        except (TypeError, ValueError):
            pass  # arguments it does not take (a repr that only looks like it): said as any other type's
    if not args:
        return ""
    return str(args[0]) if len(args) == 1 else str(args)


class RemoteReasons:
    """Reads the reasons of each snapshot from a service back (see the module), keeping what did not change.

    A log, and every entry in it, that did not change since the previous snapshot is the previous
    result's object: what the app tells apart by identity (a log to redraw) stays told apart.
    """

    def __init__(self) -> None:
        """Start with nothing read."""
        self._log_in: tuple[LogEntry, ...] | None = None  # the last log as received ...
        self._log_out: tuple[LogEntry, ...] = ()  # ... and as read back
        self._entries: dict[int, tuple[LogEntry, LogEntry]] = {}  # id of an entry received -> it, read back
        self._root_exit: tuple[Any, Any] = (None, None)  # the last root exit as received, and as read back

    def snapshot(self, snapshot: Snapshot) -> Snapshot:
        """`snapshot` with its log's reasons and its root's exit read back."""
        log = self._log(snapshot.log)
        received, read = self._root_exit
        if snapshot.root_exit != received:
            received, read = self._root_exit = (snapshot.root_exit, plain_reason(snapshot.root_exit))
        root_exit = snapshot.root_exit if read is received else read  # the same text: it stays (not parsed again)
        if log is snapshot.log and root_exit is snapshot.root_exit:
            return snapshot
        return replace(snapshot, log=log, root_exit=root_exit)

    def _log(self, log: tuple[LogEntry, ...]) -> tuple[LogEntry, ...]:
        if log is self._log_in:
            return self._log_out
        entries: dict[int, tuple[LogEntry, LogEntry]] = {}
        out = []
        for entry in log:
            known = self._entries.get(id(entry))
            # Invariant: an id is trusted only with its entry held (kept alive) beside it, so never a reused id.
            read = known[1] if known is not None and known[0] is entry else _entry(entry)
            entries[id(entry)] = (entry, read)
            out.append(read)
        self._entries = entries
        self._log_in = log
        self._log_out = log if all(a is b for a, b in zip(out, log, strict=True)) else tuple(out)
        return self._log_out


def _entry(entry: LogEntry) -> LogEntry:
    if not isinstance(entry, Cascade):
        return entry
    reason = crash_reason(entry.reason) if entry.traceback is not None else plain_reason(entry.reason)
    stopped, started = _steps(entry.stopped), _steps(entry.started)
    if reason is entry.reason and stopped is entry.stopped and started is entry.started:
        return entry
    return replace(entry, reason=reason, stopped=stopped, started=started)


def _steps(steps: tuple[CascadeStep, ...]) -> tuple[CascadeStep, ...]:
    out = tuple(_step(step) for step in steps)
    return steps if all(a is b for a, b in zip(out, steps, strict=True)) else out


def _step(step: CascadeStep) -> CascadeStep:
    reason, inner = plain_reason(step.reason), _steps(step.inner)
    return step if reason is step.reason and inner is step.inner else replace(step, reason=reason, inner=inner)


def _plain(value: tuple[Any, ...]) -> bool:
    """Whether every item is a str, a number, a bool, None, or a tuple of those."""
    return all(item is None or isinstance(item, str | int | float) or (isinstance(item, tuple) and _plain(item))
               for item in value)
