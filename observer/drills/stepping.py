"""Steps and checks: what every drill context records in its report, whatever it drives (a runtime here or
a service attached to)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from observer.runtime import ObserverError

from . import values
from .report import DrillReport, Expectation, StepReport


class StepRecorder:
    """A drill's report as it runs: open steps, expectations, and what a failure was caused by.

    Attributes:
        report: The report being filled.
        root: The name paths start with.
        current_step: The innermost open step (checks made outside any step go to one named "checks").
        failed_with: An error a step recorded and let through (the drill ends with it).
        interrupted: The innermost step a cancellation (the drill's deadline) went through.
    """

    def __init__(self, report: DrillReport, root: str) -> None:
        self.report = report
        self.root = root
        self.current_step: StepReport | None = None
        self.failed_with: BaseException | None = None
        self.interrupted: StepReport | None = None

    def close(self) -> None:
        """Stop recording (a subclass stops what it watches)."""

    async def cleanup(self) -> None:
        """Undo what the drill left behind (a subclass resumes, stops loads)."""

    def cause_mark(self) -> int:
        """A mark for `causes_since` (a subclass that catches causes counts them)."""
        return 0

    def causes_since(self, mark: int) -> list[str]:
        """The causes caught since `mark` (none here)."""
        return []

    async def gather_causes(self) -> None:
        """Bring in causes that must be asked for (a subclass attached to a service asks it); nothing here."""

    # -- steps and expectations --------------------------------------------------

    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[StepReport]:
        """A named step; runtime errors, timeouts and failed asserts inside it fail the step, not the drill.

        Any other exception is recorded as the step's error and goes on up (the drill ends).
        What went wrong meanwhile that explains a failure (a supervisor's start error, its giving
        up) is kept as the step's `causes`.
        """
        step = StepReport(name)
        self.report.steps.append(step)
        outer, self.current_step = self.current_step, step
        first_cause = self.cause_mark()
        started = time.perf_counter()
        cancelled = False
        try:
            yield step
        except (ObserverError, TimeoutError, AssertionError) as error:
            step.error = describe(error)
        except Exception as error:
            step.error = describe(error)
            self.failed_with = error
            raise
        except asyncio.CancelledError:
            cancelled = True
            if self.interrupted is None:
                self.interrupted = step
            raise
        finally:
            step.seconds = time.perf_counter() - started
            if not cancelled:  # a drill past its deadline asks nothing more
                await self.gather_causes()
            step.causes.extend(_counted(self.causes_since(first_cause)))
            self.current_step = outer

    def check(self, description: str, passed: bool, expected: Any = True, actual: Any = None) -> bool:
        """Record one expectation in the open step (a step named "checks" when none is open)."""
        return self.expect(self._step_for_checks(), description, passed, expected,
                           passed if actual is None else actual)

    def check_equal(self, description: str, expected: Any, actual: Any) -> bool:
        """Record in the open step that `actual` should equal `expected` (TOML shapes: see `values`)."""
        return self.expect(self._step_for_checks(), description, values.equal(expected, actual), expected, actual)

    def _step_for_checks(self) -> StepReport:
        if self.current_step is not None:
            return self.current_step
        loose = next((step for step in self.report.steps if step.name == "checks"), None)
        if loose is None:
            loose = StepReport("checks")
            self.report.steps.append(loose)
        return loose

    def expect(self, step: StepReport, description: str, passed: bool, expected: Any, actual: Any) -> bool:
        """Record one expectation; returns whether it held."""
        step.expectations.append(Expectation(description, bool(passed), _show(expected), _show(actual)))
        return bool(passed)

    def expect_equal(self, step: StepReport, description: str, expected: Any, actual: Any) -> bool:
        """Record that `actual` should equal `expected`."""
        return self.expect(step, description, expected == actual, expected, actual)

    def highlight(self, pids: Sequence[Any]) -> None:
        """Tell a live observer which processes this step affects (nobody here)."""


def describe(error: BaseException) -> str:
    """An error as a step shows it: `Type: message`."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _counted(lines: Sequence[str]) -> list[str]:
    """`lines` without repeats, each repeated one marked with its count (a restart retried 3 times: x3)."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    return [line if count == 1 else f"{line} (x{count})" for line, count in counts.items()]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return "[" + ", ".join(value) + "]"
    return repr(value)
