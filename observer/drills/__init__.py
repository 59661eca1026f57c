"""Kill-and-observe drills: scripted faults with checked expectations, headless or live in the app."""

from .builtin import BUILTIN_DRILLS, Drill, find_drill
from .context import DrillContext, KillOutcome
from .errors import DrillError
from .files import load_drills
from .py_drill import drill
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
    "drill",
    "find_drill",
    "load_drills",
    "run_all",
    "run_drill",
    "run_headless",
    "to_junit",
]
