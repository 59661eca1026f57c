"""Unit tests of the pure renderables: labels, bucket bars, history lines, log entries, units."""

from __future__ import annotations

from rich.console import Console

from observer.journal import MISSING, Cascade, CascadeStep, DrillCheck, DrillStepNote, DrillVerdict, LogNote
from observer.renderables import units
from observer.renderables.bars import bucket_bar, filled_cells
from observer.renderables.cascade import log_entry
from observer.renderables.drill import FAIL_VERDICT, PASS_VERDICT, drill_lines
from observer.renderables.history import history_line
from observer.renderables.labels import AFFECTED, node_label
from observer.runtime import Pid
from observer.snapshot import BucketView, NodeSnapshot


def plain(renderable: object, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def node(**changes: object) -> NodeSnapshot:
    fields: dict[str, object] = {
        "slot": "services", "label": "services", "child_id": "services", "pid": Pid(9), "kind": "supervisor",
        "strategy": "one_for_one", "restart": "permanent", "status": "running", "restarts": 0, "name": "services",
    }
    fields.update(changes)
    return NodeSnapshot(**fields)  # type: ignore[arg-type]


def test_labels_show_status_id_pid_strategy_and_restarts() -> None:
    assert node_label(node()).plain == "● services <0.9.0> one_for_one"
    assert node_label(node(restarts=2)).plain == "● services <0.9.0> one_for_one ↻2"
    assert node_label(node(kind="server", strategy=None, restart="temporary")).plain == "● services <0.9.0> temporary"
    assert node_label(node(pid=None, status="stopped", kind="worker", strategy=None)).plain == "○ services - stopped"
    assert node_label(node(pid=None, status="restarting")).plain.endswith("restarting")
    folded = node(kind="dynamic_supervisor", child_count=10_000, folded=True, child_restarts=12)
    assert node_label(folded).plain == "● services <0.9.0> dynamic · 10,000 children, folded · ↻12 below"
    assert node_label(node(), vanished=True).plain.endswith(" vanished")
    assert node_label(node(name="other")).plain.startswith("● services (other)")


def test_the_flash_and_vanished_styles_differ_from_the_plain_label() -> None:
    normal, flashing = node_label(node()), node_label(node(), flashing=True)
    assert normal.plain == flashing.plain and normal.spans != flashing.spans


def test_a_process_a_drill_touched_is_marked_and_drawn_over_the_flash() -> None:
    affected = node_label(node(restarts=1), affected=True)
    assert affected.plain == "● services <0.9.0> one_for_one ↻1 ◆ drill"
    assert any(span.style == AFFECTED for span in affected.spans)
    assert node_label(node(restarts=1), affected=True, flashing=True).spans == affected.spans
    assert node_label(node(), affected=True, vanished=True).plain.endswith(" vanished")


def test_bucket_bars_use_the_limit_as_their_full_scale() -> None:
    assert [filled_cells(count, 100, 10) for count in (0, 1, 50, 99, 100, 130)] == [0, 1, 5, 9, 10, 10]
    half = bucket_bar(BucketView("api", "alice", 5, 10, 0, 400.0), width=65).plain
    full = bucket_bar(BucketView("api", "bob", 10, 10, 3, -1.0), width=65).plain
    assert " " + "█" * 10 + "░" * 10 + " " in half and "5/10" in half and "0 denied" in half and "0.4 s left" in half
    assert " " + "█" * 20 + " " in full and "10/10" in full and "3 denied" in full and full.endswith("ended")


def test_history_lines_scale_from_zero_so_a_flat_count_stays_flat() -> None:
    assert history_line([5, 5, 5], 5).plain == "  ▆▆▆"
    assert history_line([1, 2, 3, 4, 5, 6], 6).plain == "▁▂▃▄▅▆"
    assert history_line([0, 0], 3).plain == "   "
    assert history_line(list(range(100)), 4).plain == "▆▆▆▆"


def test_a_cascade_entry_says_what_died_what_stopped_and_started_in_order_and_how_long() -> None:
    cascade = Cascade(
        Pid(1), "system", "rest_for_one", "state_supervisor", Pid(2), "killed", 10.5, 10.5032,
        stopped=(CascadeStep("workload", Pid(9), 10.6, "shutdown"),
                 CascadeStep("services", Pid(5), 10.7, "shutdown", inner=(CascadeStep("router", Pid(6), 10.65),))),
        started=(CascadeStep("state_supervisor", Pid(12), 10.8), CascadeStep("services", Pid(13), 10.9)),
        outcome="restarted",
    )
    text = plain(log_entry(cascade, started_at=10.0), width=120)
    assert text.splitlines() == [
        "+00:00.500 system rest_for_one: state_supervisor <0.2.0> died (killed), restarted in 3.2 ms",
        "  stopped  workload <0.9.0> → services <0.5.0> [router]",
        "  started  state_supervisor <0.12.0> → services <0.13.0>",
    ]


def test_open_given_up_and_repeated_cascades_say_so() -> None:
    base = Cascade(Pid(1), None, None, "'w0'", Pid(2), RuntimeError("boom"), 0.0)
    assert "died (RuntimeError: boom), restarting…" in plain(log_entry(base, started_at=0.0))
    gave_up = Cascade(Pid(1), None, None, "a", Pid(2), "killed", 0.0, 0.002, outcome="gave_up")
    assert "gave up after 2.0 ms: restart intensity reached" in plain(log_entry(gave_up, started_at=0.0))
    storm = Cascade(Pid(1), "pool", "one_for_one", "a", Pid(2), "killed", 0.0, 1.0, outcome="restarted", repeats=300)
    assert "×300 in a row" in plain(log_entry(storm, started_at=0.0))
    note = LogNote(65.25, "k: exit kill sent to store <0.2.0>")
    assert plain(log_entry(note, started_at=0.0)) == "+01:05.250 k: exit kill sent to store <0.2.0>"


def test_a_drill_step_says_what_happened_and_ticks_or_crosses_each_expectation() -> None:
    step = DrillStepNote(
        70.0, "one-for-one-isolation", "kill rate_limiter", 0.0032,
        happened=("<0.6.0> exited with 'killed'; restarted as <0.15.0>",),
        checks=(DrillCheck("only rate_limiter has a new pid", True, "[a]", "[a]"),
                DrillCheck("services started only rate_limiter", False, "[rate_limiter]", "[]")),
    )
    assert not step.passed
    assert plain(log_entry(step, started_at=10.0), width=120).splitlines() == [
        "+01:00.000 ◆ one-for-one-isolation · kill rate_limiter ✗ 3.2 ms",
        "             · <0.6.0> exited with 'killed'; restarted as <0.15.0>",
        "             ✓ only rate_limiter has a new pid: [a]",
        "             ✗ services started only rate_limiter: expected [rate_limiter], got []",
    ]
    broken = DrillStepNote(0.0, "d", "kill a path", 0.0, error="DrillError: no such child")
    assert not broken.passed
    assert [line.plain for line in drill_lines(broken)] == ["◆ d · kill a path ✗ 0.0 ms",
                                                            "  ✗ DrillError: no such child"]
    assert DrillStepNote(0.0, "d", "s", 0.0, checks=(DrillCheck("c", True, "1", "1"),)).passed


def test_a_drill_verdict_is_pass_or_fail_in_ms_and_a_fail_says_why() -> None:
    passed = DrillVerdict(70.0, "one-for-one-isolation", True, 0.0041, steps=1)
    assert plain(log_entry(passed, started_at=10.0)) == "+01:00.000 drill one-for-one-isolation: PASS in 4.1 ms"
    [line] = drill_lines(passed)
    assert any(span.style == PASS_VERDICT for span in line.spans)
    failed = DrillVerdict(0.0, "rest-for-one-cascade", False, 0.0125, steps=3, failed_steps=1)
    [line] = drill_lines(failed)
    assert line.plain == "drill rest-for-one-cascade: FAIL in 12.5 ms — 1 of 3 steps failed"
    assert any(span.style == FAIL_VERDICT for span in line.spans)
    raised = DrillVerdict(0.0, "x", False, 0.001, error="RuntimeError: boom")
    assert drill_lines(raised)[0].plain == "drill x: FAIL in 1.0 ms — stopped by RuntimeError: boom"


def test_units() -> None:
    assert [units.duration(s) for s in (0.00005, 0.0032, 1.25, 125)] == ["50 µs", "3.2 ms", "1.25 s", "2 min 5 s"]
    assert units.clock(3723.9) == "01:02:03"
    assert units.offset(3723.5) == "+1:02:03.500"
    assert [units.size(n) for n in (512, 2048, 5 * 1024 * 1024)] == ["512 B", "2.0 KiB", "5.0 MiB"]
    assert units.reason(("shutdown", "timeout")) == "shutdown: timeout"
    assert units.reason(MISSING) == "-" and units.reason(ValueError()) == "ValueError"
    assert units.pid(None) == "-"
