"""Exit reasons from a service read back as the embedded app shows them (observer/source/reasons.py), pure."""

from __future__ import annotations

from typing import Any

import pytest

from observer.journal import Cascade, CascadeStep, DetachedReason, LogNote
from observer.remote.wire import reason_text
from observer.renderables import units
from observer.runtime import Pid
from observer.snapshot import Snapshot
from observer.source.reasons import RemoteReasons, crash_reason, plain_reason

SUPERVISOR, CHILD, SIBLING = Pid(1), Pid(2), Pid(3)


@pytest.mark.parametrize("reason", ["killed", "normal", "it's 'quoted'", ("shutdown", "timeout"),
                                    ("error", 3, 1.5, None, True, ("nested", "tuple")), ""])
def test_a_str_or_a_tuple_of_plain_values_reads_back_as_itself(reason: Any) -> None:
    text = reason_text(reason)
    assert isinstance(text, str)
    assert plain_reason(text) == reason
    assert units.reason(plain_reason(text)) == units.reason(reason), "shown as the embedded app shows it"


@pytest.mark.parametrize("text", [
    "{'a': 1}", "[1, 2]", "42", "('list inside', [1])", "RuntimeError('boom')", "<object at 0x7f>",
    "__import__('os').system('true')", "'unterminated", "(" * 1000 + ")" * 1000, "'" + "x" * 1990 + "…",
    "('a', {'b'})",
])
def test_anything_else_stays_the_text_it_came_as(text: str) -> None:
    assert plain_reason(text) is text


def test_none_and_other_values_pass_through() -> None:
    assert plain_reason(None) is None
    reason = DetachedReason("RuntimeError", "boom")
    assert plain_reason(reason) is reason


class ShopError(Exception):
    """An exception type of the service's own (not built in)."""


@pytest.mark.parametrize(("error", "shown"), [
    (RuntimeError("boom"), "RuntimeError: boom"),
    (ValueError(), "ValueError"),
    (KeyError("missing"), "KeyError: 'missing'"),
    (OSError(2, "No such file"), "FileNotFoundError: [Errno 2] No such file"),
    (ZeroDivisionError("division by zero"), "ZeroDivisionError: division by zero"),
    (ShopError("out of stock", 3), "ShopError: ('out of stock', 3)"),
    (ShopError("out of stock"), "ShopError: out of stock"),
])
def test_a_crash_reads_back_as_the_exception_it_raised(error: BaseException, shown: str) -> None:
    reason = crash_reason(reason_text(error))
    assert isinstance(reason, DetachedReason)
    assert units.reason(reason) == units.reason(error) == shown


def test_a_crash_whose_arguments_are_no_literals_keeps_their_text() -> None:
    assert crash_reason("mod.BadThing(<object at 0x1>)") == DetachedReason("BadThing", "<object at 0x1>")
    assert crash_reason("UnicodeDecodeError('x')") == DetachedReason("UnicodeDecodeError", "x"), "args it refuses"
    assert crash_reason("killed") == "killed" and crash_reason("'killed'") == "killed"
    assert crash_reason("not an exception at all") == "not an exception at all"


def _snapshot(log: tuple[Any, ...], root_exit: Any = None) -> Snapshot:
    return Snapshot(taken_at=1.0, uptime=1.0, generation=1, root=None, root_alive=root_exit is None,
                    root_exit=root_exit, process_count=3, monitor_count=0, restarts=1, monitors=(), buckets=(),
                    bucket_total=0, log=log, host=None, loop_lag=0.0)


def _cascade(reason: str, traceback: str | None = None, stopped_for: str = "'shutdown'") -> Cascade:
    stopped = (CascadeStep("sibling", SIBLING, 1.0, stopped_for),)
    started = (CascadeStep("child", Pid(4), 1.0, None),)
    return Cascade(SUPERVISOR, "app", "rest_for_one", "child", CHILD, reason, 1.0, 1.001, stopped, started,
                   "restarted", traceback=traceback)


def test_a_snapshots_log_is_read_back_and_what_did_not_change_stays_the_same_object() -> None:
    reasons = RemoteReasons()
    note = LogNote(0.5, "hello", "info")
    killed, crashed = _cascade("'killed'"), _cascade("RuntimeError('boom')", traceback="Traceback...")
    first = reasons.snapshot(_snapshot((note, killed, crashed)))
    got_note, got_killed, got_crashed = first.log
    assert got_note is note, "an entry without reasons is kept as it is"
    assert got_killed.reason == "killed" and got_killed.stopped[0].reason == "shutdown"  # type: ignore[union-attr]
    assert got_killed.started[0].reason is None  # type: ignore[union-attr]
    assert got_crashed.reason == DetachedReason("RuntimeError", "boom")  # type: ignore[union-attr]
    again = reasons.snapshot(_snapshot((note, killed, crashed)))  # a new log of the same entries
    assert all(a is b for a, b in zip(again.log, first.log, strict=True)), "the same entries: the same objects"
    later = _cascade("('shutdown', 'timeout')")
    grown = reasons.snapshot(_snapshot((note, killed, crashed, later)))
    assert grown.log[:3] == first.log and all(a is b for a, b in zip(grown.log, first.log, strict=False))
    assert units.reason(grown.log[3].reason) == "shutdown: timeout"  # type: ignore[union-attr]


def test_an_unchanged_log_is_the_same_tuple_and_a_log_with_nothing_to_read_is_kept() -> None:
    reasons = RemoteReasons()
    log = (LogNote(0.5, "hello", "info"), _cascade("{'odd': 'reason'}", stopped_for="<a reason of its own>"))
    snapshot = _snapshot(log)
    assert reasons.snapshot(snapshot) is snapshot, "nothing to read back: the snapshot itself"
    killed = (_cascade("'killed'"),)
    first = reasons.snapshot(_snapshot(killed, root_exit="'shutdown'"))
    second = reasons.snapshot(_snapshot(killed, root_exit="'shutdown'"))
    assert second.log is first.log and first.root_exit == second.root_exit == "shutdown"
