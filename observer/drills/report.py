"""Drill reports: what each step did and expected, as frozen data that prints, serialises and fails loudly."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

# Characters XML 1.0 does not allow even escaped (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Expectation:
    """One thing a person would check, and whether it held."""

    description: str
    passed: bool
    expected: str
    actual: str

    def to_json(self) -> dict[str, Any]:
        return {"description": self.description, "passed": self.passed, "expected": self.expected,
                "actual": self.actual}


@dataclass(slots=True)
class StepReport:
    """One step of a drill: what happened (in order), what was expected, how long it took."""

    name: str
    seconds: float = 0.0
    happened: list[str] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)
    error: str | None = None  # the step itself failed (an exception), not just an expectation
    causes: list[str] = field(default_factory=list)  # supervisors' start errors and give-ups during the step

    @property
    def passed(self) -> bool:
        return self.error is None and all(expectation.passed for expectation in self.expectations)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "seconds": round(self.seconds, 6),
            "happened": list(self.happened),
            "expectations": [expectation.to_json() for expectation in self.expectations],
            "error": self.error,
            "causes": list(self.causes),
        }


@dataclass(slots=True)
class DrillReport:
    """The whole run of one drill."""

    name: str
    description: str
    seconds: float = 0.0
    steps: list[StepReport] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(step.passed for step in self.steps)

    def failures(self) -> list[str]:
        """One line per broken expectation or failed step, then one per cause a failed step found."""
        lines = []
        for step in self.steps:
            if step.error is not None:
                lines.append(f"{step.name}: {step.error}")
            for expectation in step.expectations:
                if not expectation.passed:
                    lines.append(
                        f"{step.name}: {expectation.description} "
                        f"(expected {expectation.expected}, got {expectation.actual})"
                    )
            if not step.passed:
                lines.extend(f"{step.name}: cause: {cause}" for cause in step.causes)
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "seconds": round(self.seconds, 6),
            "steps": [step.to_json() for step in self.steps],
        }

    def render(self, *, verbose: bool = False) -> str:
        """A person's view: a verdict line, then steps (all of them when verbose, else failed ones)."""
        lines = [f"{'PASS' if self.passed else 'FAIL'}  {self.name}  ({self.seconds * 1000:.1f} ms)"]
        for step in self.steps:
            if not verbose and step.passed:
                continue
            mark = "ok " if step.passed else "BAD"
            lines.append(f"  {mark} {step.name}  ({step.seconds * 1000:.1f} ms)")
            for happening in step.happened:
                lines.append(f"        - {happening}")
            for expectation in step.expectations:
                if verbose or not expectation.passed:
                    check = "✓" if expectation.passed else "✗"
                    lines.append(f"      {check} {expectation.description}: expected {expectation.expected}, "
                                 f"got {expectation.actual}")
            if step.error is not None:
                lines.append(f"      ✗ {step.error}")
            for cause in step.causes:
                lines.append(f"      cause: {cause}")
        return "\n".join(lines)


def to_junit(reports: list[DrillReport]) -> str:
    """A JUnit XML document with one testcase per drill (for CI)."""
    failed = sum(1 for report in reports if not report.passed)
    total_seconds = sum(report.seconds for report in reports)
    cases = []
    for report in reports:
        name = quoteattr(_xml_safe(report.name))
        case = f'  <testcase classname="observer.drills" name={name} time="{report.seconds:.6f}"'
        if report.passed:
            cases.append(case + " />")
        else:
            message = quoteattr(_xml_safe("; ".join(report.failures())))
            cases.append(
                f"{case}>\n    <failure message={message}>{escape(_xml_safe(report.render(verbose=True)))}"
                "</failure>\n  </testcase>"
            )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuite name="observer drills" tests="{len(reports)}" failures="{failed}" '
        f'time="{total_seconds:.6f}">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )


def _xml_safe(text: str) -> str:
    """`text` with the characters XML cannot carry written as Python escapes (e.g. ESC as \\x1b)."""
    return _NOT_XML.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)
