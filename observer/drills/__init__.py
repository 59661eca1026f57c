"""Kill-and-observe drills: scripted faults with checked expectations, headless or live in the app."""

from .builtin import BUILTIN_DRILLS, Drill, find_drill
from .context import DrillContext, KillOutcome
from .errors import DrillError
from .report import DrillReport, Expectation, StepReport, to_junit
from .runner import run_all, run_drill, run_headless

__all__ = [
    "BUILTIN_DRILLS",
    "Drill",
    "DrillContext",
    "DrillError",
    "DrillReport",
    "Expectation",
    "KillOutcome",
    "StepReport",
    "find_drill",
    "run_all",
    "run_drill",
    "run_headless",
    "to_junit",
]
