"""Tests for drill reports: verdicts, failure lines, the person's view, JSON and JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from observer.drills import DrillReport, Expectation, StepReport, to_junit


def good_step(name: str = "kill the router") -> StepReport:
    return StepReport(
        name,
        seconds=0.0012,
        happened=["<0.7.0> exited with 'killed'"],
        expectations=[Expectation("router restarted", True, "a new pid", "<0.7.0> -> <0.9.0>")],
    )


def bad_step(name: str = "flood the limiter") -> StepReport:
    return StepReport(
        name,
        seconds=0.5,
        happened=["7 of 10 checks allowed"],
        expectations=[
            Expectation("limiter answered", True, "True", "True"),
            Expectation("allowed checks", False, "4", "7"),
        ],
    )


def passing_report() -> DrillReport:
    return DrillReport("router-alone", "kill the router", seconds=0.25, steps=[good_step()])


def failing_report() -> DrillReport:
    return DrillReport("limiter", "flood it", seconds=1.5, steps=[good_step(), bad_step()])


# -- verdicts and failures ------------------------------------------------------------


def test_a_report_passes_when_every_step_passes() -> None:
    assert passing_report().passed
    assert passing_report().failures() == []


def test_a_report_without_steps_does_not_pass() -> None:
    report = DrillReport("empty", "nothing happened")
    assert not report.passed
    assert report.failures() == []


def test_a_broken_expectation_fails_the_step_and_the_report() -> None:
    report = failing_report()
    assert report.steps[0].passed
    assert not report.steps[1].passed
    assert not report.passed
    assert report.failures() == ["flood the limiter: allowed checks (expected 4, got 7)"]


def test_a_step_error_fails_it_even_without_expectations() -> None:
    step = StepReport("kill nothing", error="DrillError: 'x/y': no process is registered as 'x'")
    report = DrillReport("d", "", steps=[good_step(), step])
    assert not step.passed
    assert not report.passed
    assert report.failures() == ["kill nothing: DrillError: 'x/y': no process is registered as 'x'"]


def test_failures_list_every_broken_expectation_and_error_in_step_order() -> None:
    errored = StepReport("second", error="TimeoutError: receive timed out",
                         expectations=[Expectation("count", False, "1", "2")])
    report = DrillReport("d", "", steps=[bad_step("first"), errored])
    assert report.failures() == [
        "first: allowed checks (expected 4, got 7)",
        "second: TimeoutError: receive timed out",
        "second: count (expected 1, got 2)",
    ]


# -- render ---------------------------------------------------------------------------


def test_render_of_a_passing_report_is_one_pass_line() -> None:
    assert passing_report().render() == "PASS  router-alone  (250.0 ms)"


def test_render_of_a_failing_report_shows_only_the_failed_step_and_its_broken_expectation() -> None:
    lines = failing_report().render().splitlines()
    assert lines[0] == "FAIL  limiter  (1500.0 ms)"
    assert lines[1:] == [
        "  BAD flood the limiter  (500.0 ms)",
        "        - 7 of 10 checks allowed",
        "      ✗ allowed checks: expected 4, got 7",
    ]


def test_render_verbose_shows_every_step_and_expectation_with_marks() -> None:
    text = failing_report().render(verbose=True)
    lines = text.splitlines()
    assert lines[0].startswith("FAIL  limiter")
    assert "  ok  kill the router  (1.2 ms)" in lines
    assert "  BAD flood the limiter  (500.0 ms)" in lines
    assert "      ✓ router restarted: expected a new pid, got <0.7.0> -> <0.9.0>" in lines
    assert "      ✓ limiter answered: expected True, got True" in lines
    assert "      ✗ allowed checks: expected 4, got 7" in lines
    assert lines.index("  ok  kill the router  (1.2 ms)") < lines.index("  BAD flood the limiter  (500.0 ms)")


def test_render_shows_a_step_error_with_a_cross() -> None:
    report = DrillReport("d", "", steps=[StepReport("kill", error="DrillError: no such path")])
    assert report.render().splitlines() == [
        "FAIL  d  (0.0 ms)",
        "  BAD kill  (0.0 ms)",
        "      ✗ DrillError: no such path",
    ]


def test_render_of_a_report_without_steps_is_a_fail_line() -> None:
    assert DrillReport("empty", "").render(verbose=True) == "FAIL  empty  (0.0 ms)"


# -- JSON ----------------------------------------------------------------------------------


def test_to_json_round_trips_through_json_dumps() -> None:
    report = failing_report()
    document = report.to_json()
    assert json.loads(json.dumps(document)) == document
    assert document["name"] == "limiter"
    assert document["passed"] is False
    assert document["seconds"] == 1.5
    assert [step["name"] for step in document["steps"]] == ["kill the router", "flood the limiter"]
    bad = document["steps"][1]
    assert bad == {
        "name": "flood the limiter",
        "passed": False,
        "seconds": 0.5,
        "happened": ["7 of 10 checks allowed"],
        "expectations": [
            {"description": "limiter answered", "passed": True, "expected": "True", "actual": "True"},
            {"description": "allowed checks", "passed": False, "expected": "4", "actual": "7"},
        ],
        "error": None,
        "causes": [],
    }


def test_to_json_rounds_seconds_and_carries_a_step_error() -> None:
    step = StepReport("kill", seconds=0.123456789, error="DrillError: gone")
    document = DrillReport("d", "", seconds=2 / 3, steps=[step]).to_json()
    assert document["seconds"] == 0.666667
    assert document["steps"][0]["seconds"] == 0.123457
    assert document["steps"][0]["error"] == "DrillError: gone"
    assert document["steps"][0]["passed"] is False
    assert json.loads(json.dumps(document)) == document


def test_to_json_copies_so_later_changes_do_not_leak_in() -> None:
    report = passing_report()
    document = report.to_json()
    report.steps[0].happened.append("later")
    assert document["steps"][0]["happened"] == ["<0.7.0> exited with 'killed'"]


# -- JUnit ----------------------------------------------------------------------------------


def test_to_junit_has_one_testcase_per_drill_and_counts_failures() -> None:
    suite = ET.fromstring(to_junit([passing_report(), failing_report()]))
    assert suite.tag == "testsuite"
    assert suite.get("tests") == "2"
    assert suite.get("failures") == "1"
    assert float(suite.get("time", "")) == 1.75
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["router-alone", "limiter"]
    assert [case.get("classname") for case in cases] == ["observer.drills", "observer.drills"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "flood the limiter: allowed checks (expected 4, got 7)"
    assert failure.text is not None and "✗ allowed checks: expected 4, got 7" in failure.text


def test_to_junit_of_no_reports_is_an_empty_suite() -> None:
    suite = ET.fromstring(to_junit([]))
    assert suite.get("tests") == "0"
    assert suite.findall("testcase") == []


def test_to_junit_escapes_markup_in_names_and_messages() -> None:
    nasty = """<script>alert("x")</script> & 'quoted' ]]> \"both\""""
    step = StepReport(
        "step <1> & 'two'",
        happened=[f"saw {nasty}"],
        expectations=[Expectation(f"reason was {nasty}", False, '"normal"', nasty)],
        error=f"DrillError: {nasty}",
    )
    report = DrillReport('drill "<&>"', "", steps=[step])
    suite = ET.fromstring(to_junit([report]))
    case = suite.find("testcase")
    assert case is not None
    assert case.get("name") == 'drill "<&>"'
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "; ".join(report.failures())
    assert nasty in (failure.get("message") or "")
    assert failure.text == report.render(verbose=True)


def test_to_junit_keeps_a_multi_line_message_in_the_attribute() -> None:
    step = StepReport("s", expectations=[Expectation("lines", False, "a\nb", "c\td")])
    report = DrillReport("d", "", steps=[step])
    failure = ET.fromstring(to_junit([report])).find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "s: lines (expected a\nb, got c\td)"


def test_to_junit_writes_characters_xml_cannot_carry_as_escapes() -> None:
    step = StepReport("s", expectations=[Expectation("reason", False, "\x1b[31mred\x00", "lone \ud800 \ufffe")],
                      error="Boom: \x07")
    report = DrillReport("bell\x07", "", steps=[step])
    case = ET.fromstring(to_junit([report])).find("testcase")
    assert case is not None
    assert case.get("name") == "bell\\x07"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "s: Boom: \\x07; s: reason (expected \\x1b[31mred\\x00, got lone \\ud800 \\ufffe)"
    assert failure.text is not None and "\\x1b[31mred\\x00" in failure.text
