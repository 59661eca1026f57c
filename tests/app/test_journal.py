"""Unit tests of the Journal: cascades, storms, monitors and exit reasons folded from observation events."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from typing import Any

import pytest

from observer.journal import MISSING, Cascade, DrillStepNote, DrillVerdict, Journal, LogNote
from observer.renderables import units
from observer.runtime import Pid, Runtime, RuntimeEvent, Server, Supervisor

from .trees import Watcher, Worker

SUP, A, B, C, INNER, X = (Pid(n) for n in (1, 2, 3, 4, 5, 6))


def event(kind: str, pid: Pid, at: float, *, other: Pid | None = None, reason: Any = None,
          name: str | None = None) -> RuntimeEvent:
    return RuntimeEvent(kind, pid, at, other, reason, name)


def rest_for_one_cascade(journal: Journal, *, start: float = 0.0, new: tuple[Pid, Pid] = (Pid(10), Pid(11))) -> None:
    """A dies; its supervisor stops C then B (B a supervisor stopping INNER first), then starts A and B again."""
    for record in (
        event("exited", A, start, reason="killed"),
        event("restart_began", A, start + 0.001, other=SUP, reason="killed", name="a"),
        event("child_stopped", INNER, start + 0.002, other=B, reason="shutdown", name="inner"),
        event("child_stopped", B, start + 0.003, other=SUP, reason="shutdown", name="b"),
        event("child_started", new[0], start + 0.004, other=SUP, name="a"),
        event("child_started", new[1], start + 0.005, other=SUP, name="b"),
        event("restart_ended", A, start + 0.006, other=SUP, name="a"),
    ):
        journal.record(record)


def test_a_cascade_is_one_entry_with_stops_and_starts_in_order() -> None:
    journal = Journal(describe=lambda pid: ("root", "rest_for_one"))
    rest_for_one_cascade(journal)
    [cascade] = journal.entries()
    assert isinstance(cascade, Cascade)
    assert (cascade.supervisor_label, cascade.strategy, cascade.child, cascade.pid, cascade.reason) == (
        "root", "rest_for_one", "a", A, "killed",
    )
    assert [(step.id, step.reason) for step in cascade.stopped] == [("b", "shutdown")]
    assert [inner.id for inner in cascade.stopped[0].inner] == ["inner"]
    assert [step.id for step in cascade.started] == ["a", "b"]
    assert cascade.outcome == "restarted"
    assert cascade.seconds is not None and abs(cascade.seconds - 0.005) < 1e-9


def test_an_open_cascade_is_shown_as_restarting_and_updated_in_place() -> None:
    journal = Journal()
    journal.record(event("restart_began", A, 1.0, other=SUP, reason="killed", name="a"))
    [cascade] = journal.entries()
    assert isinstance(cascade, Cascade) and cascade.outcome == "restarting" and cascade.seconds is None
    version = journal.version
    journal.record(event("child_started", Pid(9), 1.5, other=SUP, name="a"))
    assert journal.version > version
    [cascade] = journal.entries()
    assert isinstance(cascade, Cascade) and [step.id for step in cascade.started] == ["a"]


def test_a_supervisor_exiting_mid_restart_gave_up() -> None:
    journal = Journal()
    journal.record(event("restart_began", A, 1.0, other=SUP, reason="killed", name="a"))
    journal.record(event("child_stopped", B, 1.1, other=SUP, reason="shutdown", name="b"))
    journal.record(event("exited", SUP, 1.2, reason="shutdown"))
    [cascade] = journal.entries()
    assert isinstance(cascade, Cascade) and cascade.outcome == "gave_up" and cascade.ended_at == 1.2


def test_a_storm_of_identical_cascades_is_one_entry_with_a_count() -> None:
    journal = Journal()
    for number in range(50):
        rest_for_one_cascade(journal, start=float(number), new=(Pid(100 + 2 * number), Pid(101 + 2 * number)))
    [cascade] = journal.entries()
    assert isinstance(cascade, Cascade)
    assert cascade.repeats == 50 and cascade.began_at == 0.001 and cascade.ended_at == 49.006


def test_notes_and_different_cascades_stay_separate_and_the_log_is_bounded() -> None:
    journal = Journal(max_entries=3)
    journal.note(0.0, "first")
    rest_for_one_cascade(journal)
    journal.note(1.0, "between")
    rest_for_one_cascade(journal, start=2.0)
    entries = journal.entries()
    assert [type(entry) for entry in entries] == [Cascade, LogNote, Cascade]


def test_monitor_counts_follow_monitors_demonitors_and_exits() -> None:
    journal = Journal()
    journal.record(event("monitored", A, 0, other=B))
    journal.record(event("monitored", A, 0, other=C))
    journal.record(event("monitored", X, 0, other=B))
    assert dict(journal.monitors_held) == {A: 2, X: 1}
    assert dict(journal.monitors_watching) == {B: 2, C: 1}
    journal.record(event("demonitored", A, 0, other=C))
    journal.record(event("exited", B, 0, reason="normal"))  # monitors on B go with it
    assert dict(journal.monitors_held) == {}
    assert dict(journal.monitors_watching) == {}


def test_exit_reasons_and_names_are_remembered_within_bounds() -> None:
    journal = Journal(max_exit_reasons=2)
    journal.record(event("registered", A, 0, name="alpha"))
    assert journal.name_of(A) == "alpha"
    for pid in (A, B, C):
        journal.record(event("exited", pid, 0, reason=f"r{pid.id}"))
    assert journal.exit_reason(A) is MISSING
    assert (journal.exit_reason(B), journal.exit_reason(C)) == ("r3", "r4")
    assert journal.name_of(A) is None


async def test_on_a_real_runtime_the_journal_matches_the_runtime() -> None:
    async with Runtime() as rt:
        journal = Journal()
        rt.subscribe(journal.record)
        await Supervisor.start_link(
            rt,
            [Worker.child_spec(id="a", name="a"), Worker.child_spec(id="b", name="b"),
             Watcher.child_spec("a", "b", id="w", name="w")],
            strategy="rest_for_one",
        )
        old_a = rt.whereis("a")
        assert old_a is not None
        ended = asyncio.get_running_loop().create_future()
        rt.subscribe(lambda e: ended.set_result(None) if e.kind == "restart_ended" and not ended.done() else None)
        rt.exit(old_a, "kill")
        await ended  # callbacks run in subscription order: the journal has seen this event already
        [cascade] = journal.entries()
        assert isinstance(cascade, Cascade)
        assert [step.id for step in cascade.stopped] == ["w", "b"]
        assert [step.id for step in cascade.started] == ["a", "b", "w"]
        assert journal.exit_reason(old_a) == "killed"
        assert sum(journal.monitors_held.values()) == rt.monitor_count() == 2
        assert journal.restarts == 3


def test_a_storm_across_siblings_of_a_one_for_one_supervisor_counts_the_children() -> None:
    journal = Journal()
    for number in range(30):
        child, old, new = f"w{number % 3}", Pid(100 + number), Pid(200 + number)
        journal.record(event("restart_began", old, float(number), other=SUP, reason="killed", name=child))
        journal.record(event("child_started", new, number + 0.5, other=SUP, name=child))
        journal.record(event("restart_ended", old, number + 0.6, other=SUP, name=child))
    [cascade] = journal.entries()
    assert isinstance(cascade, Cascade) and (cascade.repeats, cascade.children, cascade.child) == (30, 3, "w2")


def test_drill_steps_and_verdicts_are_log_entries_in_order_between_the_cascades() -> None:
    journal = Journal()
    journal.note(0.0, "drill d: running live")
    rest_for_one_cascade(journal, start=1.0)
    version = journal.version
    step = DrillStepNote(2.0, "d", "kill a", 0.001)
    verdict = DrillVerdict(2.0, "d", True, 0.002, steps=1)
    journal.drill(step)
    journal.drill(verdict)
    entries = journal.entries()
    assert [type(entry) for entry in entries] == [LogNote, Cascade, DrillStepNote, DrillVerdict]
    assert entries[2:] == (step, verdict) and journal.version == version + 2
    rest_for_one_cascade(journal, start=3.0, new=(Pid(20), Pid(21)))
    assert len(journal.entries()) == 5, "a cascade after a drill entry is not folded into the one before it"


class _Ballast:
    """An object only a crashed frame refers to (weakref-able)."""


class _Crasher(Server):
    """A server that crashes on any cast, with a local only its frame refers to."""

    ballast: weakref.ref[_Ballast] | None = None

    async def handle_cast(self, request: Any) -> None:
        ballast = _Ballast()
        type(self).ballast = weakref.ref(ballast)
        raise RuntimeError(f"crashed holding {len([ballast])} object")


async def test_the_journal_does_not_keep_a_crashed_frame_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest keeps the records it captures, with their tracebacks: the crash is not logged here
    for name in ("observer.runtime", "observer.crash", "observer.supervisor"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", True)
    async with Runtime() as rt:
        journal = Journal()
        rt.subscribe(journal.record)
        await Supervisor.start_link(rt, [_Crasher.child_spec(id="crasher", name="crasher")])
        old = rt.whereis("crasher")
        assert old is not None
        ended = asyncio.get_running_loop().create_future()
        rt.subscribe(lambda e: ended.set_result(None) if e.kind == "restart_ended" and not ended.done() else None)
        rt.cast(old, "crash")
        await ended
        reason = journal.exit_reason(old)
        [cascade] = journal.entries()
        assert isinstance(cascade, Cascade)
        # what the UI shows is the same as for the original exception
        assert units.reason(reason) == units.reason(cascade.reason) == "RuntimeError: crashed holding 1 object"
        assert isinstance(reason, RuntimeError) and reason.__traceback__ is None
    # the runtime is gone, its processes done: the journal (still subscribed) is all that is left
    assert journal.exit_reason(old) is reason
    gc.collect()
    assert _Crasher.ballast is not None and _Crasher.ballast() is None


def test_detached_reasons_show_the_same_text() -> None:
    class Wrapped(Exception):
        def __init__(self, inner: BaseException) -> None:
            self.inner = inner
            super().__init__(f"wrapped: {inner!r}")

    class TwoArgs(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(a + b)

    def raised(exc: BaseException) -> BaseException:
        try:
            raise exc
        except BaseException as caught:  # noqa: BLE001 - the test wants the traceback attached
            return caught

    inner = raised(ValueError("inner"))
    group = raised(ExceptionGroup("many", [raised(KeyError("k")), inner]))
    for original in (raised(Wrapped(inner)), raised(TwoArgs(1, 2)), group, raised(OSError(2, "gone", "f")),
                     raised(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")), ("shutdown", inner), "killed"):
        journal = Journal()
        journal.record(event("exited", A, 0.0, reason=original))
        stored = journal.exit_reason(A)
        assert units.reason(stored) == units.reason(original)
        assert _no_traceback(stored)


def _no_traceback(value: Any, depth: int = 0) -> bool:
    if depth > 5:
        return True
    if isinstance(value, tuple):
        return all(_no_traceback(item, depth + 1) for item in value)
    if isinstance(value, BaseException):
        if value.__traceback__ is not None or value.__context__ is not None or value.__cause__ is not None:
            return False
        inner = value.exceptions if isinstance(value, BaseExceptionGroup) else ()
        return all(_no_traceback(item, depth + 1) for item in (*value.args, *vars(value).values(), *inner))
    return True
