"""Drill log entries: a step's expectations as ✓/✗ lines, and the verdict of a drill run live."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from observer.journal import DrillCheck, DrillEntry, DrillStepNote, DrillVerdict

DRILL = Style(color="magenta", bold=True)
STEP = Style(bold=True)
PASSED = Style(color="green")
FAILED = Style(color="red", bold=True)
PASS_VERDICT = Style(color="black", bgcolor="green", bold=True)
FAIL_VERDICT = Style(color="white", bgcolor="red", bold=True)
HAPPENED = Style(color="bright_black")
DETAIL = Style(color="bright_black")


def drill_lines(entry: DrillEntry) -> list[Text]:
    """The lines of one drill entry: a headline, then what happened and each expectation (steps only).

    Args:
        entry: A step result or a verdict.

    Returns:
        One `Text` per line, the headline first.
    """
    if isinstance(entry, DrillVerdict):
        return [verdict_text(entry)]
    lines = [step_headline(entry)]
    lines.extend(Text(f"  · {happening}", HAPPENED) for happening in entry.happened)
    lines.extend(check_text(check) for check in entry.checks)
    if entry.error is not None:
        lines.append(Text.assemble(("  ✗ ", FAILED), (entry.error, FAILED)))
    return lines


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


def check_text(check: DrillCheck) -> Text:
    """``  ✓ only rate_limiter has a new pid``; a broken one also says what was expected and what was found."""
    if check.passed:
        return Text.assemble(("  ✓ ", PASSED), check.description)
    return Text.assemble(("  ✗ ", FAILED), (check.description, FAILED),
                         (f": expected {check.expected}, got {check.actual}", DETAIL))


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
