"""Event log entries: a restart cascade as one entry (what died, what stopped and started, how long), notes, drills."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.table import Table
from rich.text import Text

from observer.journal import Cascade, CascadeStep, DetachedReason, DrillStepNote, DrillVerdict, LogEntry, LogNote

from . import units
from .drill import MARK_WIDTH, DrillRow, drill_rows

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
TIME_WIDTH = 10


def log_entry(entry: LogEntry, *, started_at: float, wall_offset: float | None = None) -> Table:
    """One log entry, a cascade, a note or a drill's step or verdict: its time, then what happened.

    Args:
        entry: The entry.
        started_at: When the app started its runtime (entries show the time since).
        wall_offset: Seconds to add to a runtime-clock time to get a Unix time; given, entries show
            the wall-clock time of day instead of the time since start.
    """
    at = entry.began_at if isinstance(entry, Cascade) else entry.at
    stamp = units.offset(at - started_at) if wall_offset is None else units.wall(at + wall_offset)
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(width=max(TIME_WIDTH, len(stamp)), no_wrap=True, style=TIME)
    table.add_column(ratio=1)
    if isinstance(entry, LogNote):
        table.add_row(stamp, note_text(entry))
        return table
    if isinstance(entry, DrillStepNote | DrillVerdict):
        headline, rows = drill_rows(entry)
        table.add_row(stamp, headline)
        if rows:
            table.add_row("", _hanging(rows))
        return table
    table.add_row(stamp, cascade_headline(entry))
    if entry.stopped:
        table.add_row(Text("  stopped", STEP_HEAD), steps_text(entry.stopped))
    if entry.started:
        table.add_row(Text("  started", STEP_HEAD), steps_text(entry.started))
    return table


def is_crash(entry: LogEntry) -> bool:
    """Whether `entry` is a crash: a cascade begun by a child that raised (its traceback can be shown)."""
    return isinstance(entry, Cascade) and isinstance(entry.reason, BaseException | DetachedReason)


def _hanging(rows: Sequence[DrillRow]) -> Table:
    """Detail lines with their marks in a column of their own: a wrapped line goes on under its text."""
    table = Table.grid(expand=True)
    table.add_column(width=MARK_WIDTH, no_wrap=True)
    table.add_column(ratio=1)
    for mark, text in rows:
        table.add_row(mark, text)
    return table


def note_text(note: LogNote) -> Text:
    """A note: ``k: exit kill sent to signal_router <0.12.0>``, coloured by level."""
    style = next((style for level, style in LEVELS if level == note.level), Style())
    return Text(note.text, style)


def cascade_headline(cascade: Cascade) -> Text:
    """``system rest_for_one: state_supervisor <0.4.0> died (killed), restarted in 3.2 ms``."""
    text = Text()
    text.append(cascade.supervisor_label or units.pid(cascade.supervisor), SUPERVISOR)
    if cascade.strategy is not None:
        text.append(f" {cascade.strategy}", STRATEGY)
    text.append(": ")
    text.append(cascade.child, SUPERVISOR)
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
        others = f", {cascade.children:,} different children" if cascade.children > 1 else ""
        text.append(f"  ×{cascade.repeats:,} in a row{others}", OPEN)
    return text


def steps_text(steps: Sequence[CascadeStep]) -> Text:
    """Children in the order they stopped or started, each supervisor's own children in brackets after it."""
    text = Text()
    for index, step in enumerate(steps):
        if index:
            text.append(" → ", STEP_HEAD)
        text.append(step.id)
        text.append(f" {units.pid(step.pid)}", PID)
        if step.inner:
            text.append(f" [{', '.join(inner.id for inner in step.inner)}]", INNER)
    return text
