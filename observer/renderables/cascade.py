"""Event log entries: a restart cascade as one entry (what died, what stopped and started, how long), notes, drills."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.table import Table
from rich.text import Text

from observer.journal import Cascade, CascadeStep, DrillStepNote, DrillVerdict, LogEntry, LogNote

from . import units
from .drill import drill_lines

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


def log_entry(entry: LogEntry, *, started_at: float) -> Table:
    """One log entry, a cascade, a note or a drill's step or verdict: the time since start, then what happened.

    Args:
        entry: The entry.
        started_at: When the app started its runtime (entries show the time since).
    """
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(width=TIME_WIDTH, no_wrap=True, style=TIME)
    table.add_column(ratio=1)
    if isinstance(entry, LogNote):
        table.add_row(units.offset(entry.at - started_at), note_text(entry))
        return table
    if isinstance(entry, DrillStepNote | DrillVerdict):
        headline, *details = drill_lines(entry)
        table.add_row(units.offset(entry.at - started_at), headline)
        for line in details:
            table.add_row("", line)
        return table
    table.add_row(units.offset(entry.began_at - started_at), cascade_headline(entry))
    if entry.stopped:
        table.add_row(Text("  stopped", STEP_HEAD), steps_text(entry.stopped))
    if entry.started:
        table.add_row(Text("  started", STEP_HEAD), steps_text(entry.started))
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
