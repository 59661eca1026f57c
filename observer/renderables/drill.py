"""Drill log entries: a step's expectations as ✓/✗ lines with their values, and the verdict of a drill run live."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from observer.journal import DrillCheck, DrillEntry, DrillStepNote, DrillVerdict

DRILL = Style(color="dodger_blue1", bold=True)
"""A drill's name in the log: the tree's drill blue (`labels.DRILL_COLOUR`), lighter to read as text."""
STEP = Style(bold=True)
PASSED = Style(color="green")
FAILED = Style(color="red", bold=True)
PASS_VERDICT = Style(color="black", bgcolor="green", bold=True)
FAIL_VERDICT = Style(color="white", bgcolor="red", bold=True)
HAPPENED = Style(color="bright_black")
DETAIL = Style(color="bright_black")
MARK_WIDTH = 4
"""Cells of the mark before a detail line (``  ✓ ``): wrapped text is indented past it."""

DrillRow = tuple[Text, Text]
"""A detail line of a drill step as (mark, text): the mark in its own column, so that text wraps under text."""


def drill_rows(entry: DrillEntry) -> tuple[Text, list[DrillRow]]:
    """One drill entry as a headline and its detail lines (steps only: what happened, then each expectation).

    Args:
        entry: A step result or a verdict.

    Returns:
        The headline, and (mark, text) per detail line, in the order they happened.
    """
    if isinstance(entry, DrillVerdict):
        return verdict_text(entry), []
    rows: list[DrillRow] = [(Text("  · ", HAPPENED), Text(happening, HAPPENED)) for happening in entry.happened]
    rows.extend(check_row(check) for check in entry.checks)
    if entry.error is not None:
        rows.append((Text("  ✗ ", FAILED), Text(entry.error, FAILED)))
    return step_headline(entry), rows


def drill_lines(entry: DrillEntry) -> list[Text]:
    """The lines of one drill entry, each detail line's mark joined to its text (see `drill_rows`)."""
    headline, rows = drill_rows(entry)
    return [headline, *(Text.assemble(mark, text) for mark, text in rows)]


def step_headline(step: DrillStepNote) -> Text:
    """``◆ one-for-one-isolation · kill rate_limiter ✓ 3.2 ms``: the drill, the step, its verdict, its time."""
    text = Text()
    text.append(f"◆ {step.drill}", DRILL)
    text.append(" · ")
    text.append(step.step, STEP)
    text.append(" ")
    text.append("✓" if step.passed else "✗", PASSED if step.passed else FAILED)
    text.append(f" {milliseconds(step.seconds)}", DETAIL)
    return text


def check_row(check: DrillCheck) -> DrillRow:
    """An expectation and the values it compared, as (mark, text).

    A kept expectation says the value it found (``only rate_limiter has a new pid: ['rate_limiter']``),
    or both when they are written differently; a broken one says what was expected and what was found.
    """
    if check.passed:
        found = check.actual if check.expected == check.actual else f"expected {check.expected}, got {check.actual}"
        return Text("  ✓ ", PASSED), Text.assemble(check.description, (f": {found}", DETAIL))
    return Text("  ✗ ", FAILED), Text.assemble((check.description, FAILED),
                                               (f": expected {check.expected}, got {check.actual}", DETAIL))


def check_text(check: DrillCheck) -> Text:
    """``  ✓ only rate_limiter has a new pid: [...]``: `check_row` on one line."""
    mark, text = check_row(check)
    return Text.assemble(mark, text)


def verdict_text(verdict: DrillVerdict) -> Text:
    """``drill one-for-one-isolation: PASS in 4.1 ms``; a failure says how many steps failed or what was raised."""
    text = Text()
    text.append(f"drill {verdict.drill}: ", DRILL)
    text.append("PASS" if verdict.passed else "FAIL", PASS_VERDICT if verdict.passed else FAIL_VERDICT)
    text.append(f" in {milliseconds(verdict.seconds)}")
    if verdict.error is not None:
        text.append(f" — stopped by {verdict.error}", FAILED)
    elif not verdict.passed:
        text.append(f" — {verdict.failed_steps} of {verdict.steps} steps failed", FAILED)
    return text


def milliseconds(seconds: float) -> str:
    """A drill's time as the headless report gives it: ``4.1 ms``."""
    return f"{seconds * 1000:.1f} ms"
