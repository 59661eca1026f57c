"""Event log entries: a restart cascade as one entry (what died, what stopped and started, in order, how long)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

from observer.journal import Cascade, CascadeStep, LogEntry, LogNote

from . import units

TIME = Style(color="bright_black")
SUPERVISOR = Style(bold=True)
STRATEGY = Style(color="cyan")
DIED = Style(color="red", bold=True)
RESTARTED = Style(color="green")
GAVE_UP = Style(color="red", bold=True, reverse=True)
OPEN = Style(color="yellow")
PID = Style(color="bright_black")
STEP_HEAD = Style(color="bright_black", italic=True)
INNER = Style(color="bright_black")
LEVELS = (("info", Style()), ("warning", Style(color="yellow")), ("error", Style(color="red", bold=True)))
INDENT = " " * 13


def log_entry(entry: LogEntry, *, started_at: float) -> Text:
    """One log entry, a cascade or a note, as (possibly several) lines.

    Args:
        entry: The entry.
        started_at: When the app started its runtime (entries show the time since).
    """
    if isinstance(entry, LogNote):
        return note_entry(entry, started_at=started_at)
    return cascade_entry(entry, started_at=started_at)


def note_entry(note: LogNote, *, started_at: float) -> Text:
    """A note: ``+00:03.250  k: kill sent to signal_router <0.12.0>``."""
    style = next((style for level, style in LEVELS if level == note.level), Style())
    text = Text()
    text.append(units.offset(note.at - started_at).ljust(len(INDENT)), TIME)
    text.append(note.text, style)
    return text


def cascade_entry(cascade: Cascade, *, started_at: float) -> Text:
    """A restart cascade as one entry.

    ``+00:12.345  system rest_for_one: state_supervisor <0.4.0> died (killed), restarted in 3.2 ms``
    then a ``stopped`` line and a ``started`` line listing the children in the order
    it happened, each supervisor with its own children after it in brackets.
    """
    text = Text()
    text.append(units.offset(cascade.began_at - started_at).ljust(len(INDENT)), TIME)
    text.append(cascade.supervisor_label or units.pid(cascade.supervisor), SUPERVISOR)
    if cascade.strategy is not None:
        text.append(f" {cascade.strategy}", STRATEGY)
    text.append(": ")
    text.append(cascade.child)
    text.append(f" {units.pid(cascade.pid)}", PID)
    text.append(" died ")
    text.append(f"({units.reason(cascade.reason)})", DIED)
    text.append(", ")
    seconds = cascade.seconds
    if cascade.outcome == "restarting" or seconds is None:
        text.append("restarting…", OPEN)
    elif cascade.outcome == "gave_up":
        text.append(f"gave up after {units.duration(seconds)}: restart intensity reached, supervisor exited",
                    GAVE_UP)
    else:
        text.append(f"restarted in {units.duration(seconds)}", RESTARTED)
    if cascade.repeats > 1:
        text.append(f"  ×{cascade.repeats:,} in a row", OPEN)
    if cascade.stopped:
        text.append("\n")
        text.append(_steps_line("stopped", cascade.stopped))
    if cascade.started:
        text.append("\n")
        text.append(_steps_line("started", cascade.started))
    return text


def _steps_line(head: str, steps: Sequence[CascadeStep]) -> Text:
    text = Text()
    text.append(INDENT)
    text.append(f"{head} ", STEP_HEAD)
    for index, step in enumerate(steps):
        if index:
            text.append(" → ", STEP_HEAD)
        text.append(step.id)
        text.append(f" {units.pid(step.pid)}", PID)
        if step.inner:
            text.append(f" [{', '.join(inner.id for inner in step.inner)}]", INNER)
    return text
