"""Unit tests of the labels issue 12 fixed: window lengths, fixed monitor columns, singular counts, stable words,
drill entries with their values and hanging indents, the drill colour, trace lines and exported records."""

from __future__ import annotations

import json

from rich.color import Color
from rich.console import Console

from observer.journal import Cascade, CascadeStep, DetachedReason, DrillCheck, DrillStepNote, DrillVerdict, LogNote
from observer.renderables import units
from observer.renderables.bars import limiter_heading, window_length
from observer.renderables.cascade import DIED, is_crash, log_entry
from observer.renderables.drill import DRILL, check_text
from observer.renderables.figures import header_line
from observer.renderables.labels import AFFECTED, EXITED, kind_label, node_label, strategy_label
from observer.renderables.log_records import entry_record
from observer.renderables.monitors import monitor_table
from observer.renderables.trace import message_repr, trace_line, trace_status
from observer.runtime import Pid, TraceEvent
from observer.snapshot import MonitorCount, NodeSnapshot, Snapshot


def plain(renderable: object, width: int = 100) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return [line.rstrip() for line in console.export_text().splitlines()]


def node(**changes: object) -> NodeSnapshot:
    fields: dict[str, object] = {
        "slot": "store", "label": "store", "child_id": "store", "pid": Pid(4), "kind": "server",
        "strategy": None, "restart": "permanent", "status": "running", "restarts": 0, "name": "store",
    }
    fields.update(changes)
    return NodeSnapshot(**fields)  # type: ignore[arg-type]


def snapshot(**changes: object) -> Snapshot:
    fields: dict[str, object] = {
        "taken_at": 10.0, "uptime": 10.0, "generation": 1, "root": None, "root_alive": True, "root_exit": None,
        "process_count": 1, "monitor_count": 1, "restarts": 1, "monitors": (), "buckets": (), "bucket_total": 0,
        "log": (), "host": None, "loop_lag": 0.0,
    }
    fields.update(changes)
    return Snapshot(**fields)  # type: ignore[arg-type]


def test_the_limiter_heading_gives_the_window_length() -> None:
    assert limiter_heading("api", 4, 1.0).plain == "api  limit 4 per 1.0 s, allowed/limit"
    assert limiter_heading("api", 4).plain == "api  limit 4 per window, allowed/limit"
    assert [window_length(s) for s in (0.25, 60, 300)] == ["0.25 s", "60.0 s", "5 min 0 s"]


def test_the_header_says_1_restart_1_process_1_monitor_in_the_singular() -> None:
    one = header_line(snapshot(), refresh_interval=0.25, paused=False, read_only=False).plain
    assert "1 process " in one and "1 restart " in one and "1 monitor " in one and "restarts" not in one
    many = header_line(snapshot(process_count=2, restarts=3, monitor_count=0), refresh_interval=0.25, paused=False,
                       read_only=False).plain
    assert "2 processes" in many and "3 restarts" in many and "0 monitors" in many


def test_the_monitors_table_says_monitored_by_and_its_columns_do_not_move_between_ticks() -> None:
    small = [(MonitorCount(Pid(4), "store", 1, 2), [1, 3])]
    big = [(MonitorCount(Pid(14), "a_much_longer_registered_name_than_fits", 12_345, 678_901), [1, 3]),
           (MonitorCount(Pid(5), "<0.5.0>", 0, 7), [7])]
    first, second = plain(monitor_table(3, [3], small)), plain(monitor_table(1_234_567, [3, 9], big))
    assert "monitored by" in first[1] and "on it" not in first[1]
    heading = first[1]
    assert second[1] == heading, "the headings stay where they were"
    held_end, watched_end = heading.index("holds") + len("holds"), heading.index("monitored by") + len("monitored by")
    for line in (first[2], second[2], second[3]):  # numbers end under the end of their headings
        assert line[held_end - 1] != " " and line[watched_end - 1] != " "
    assert second[2].startswith("a_much_longer_registered_na…")
    assert "1,234,567" in second[0], "the total has room for its digits"
    assert len(plain(monitor_table(0, [], [], min_rows=4))) == 6, "blank lines keep the panel's height"


def test_a_dynamic_supervisor_is_dynamic_everywhere_and_a_worker_stays_a_worker_while_it_restarts() -> None:
    assert strategy_label("dynamic_supervisor", "one_for_one") == "dynamic"
    assert strategy_label("supervisor", "rest_for_one") == "rest_for_one"
    dynamic = node(kind="dynamic_supervisor", strategy="one_for_one")
    assert "dynamic" in node_label(dynamic).plain and "one_for_one" not in node_label(dynamic).plain
    running, restarting = node(), node(pid=None, kind="worker", status="restarting")
    assert kind_label(running) == "worker (server)" and kind_label(restarting) == "worker"
    assert kind_label(node(kind="process")) == "worker (process)"
    assert kind_label(node(restart=None)) == "server", "the root is nobody's worker"
    assert kind_label(dynamic) == "dynamic supervisor"


def test_the_drill_colour_is_neither_magenta_nor_the_red_of_an_exit() -> None:
    magenta = Color.parse("magenta").get_truecolor()
    for style in (AFFECTED, DRILL):
        colour = style.bgcolor if style is AFFECTED else style.color
        assert colour is not None and colour.get_truecolor() != magenta
        assert colour.get_truecolor() not in (EXITED.color.get_truecolor(), DIED.color.get_truecolor())  # type: ignore[union-attr]


def test_a_kept_expectation_keeps_its_value_and_a_broken_one_both() -> None:
    assert check_text(DrillCheck("only store has a new pid", True, "['store']", "['store']")).plain == (
        "  ✓ only store has a new pid: ['store']")
    assert check_text(DrillCheck("restarts within", True, "≤ 5", "2")).plain == (
        "  ✓ restarts within: expected ≤ 5, got 2")
    assert check_text(DrillCheck("x", False, "1", "2")).plain == "  ✗ x: expected 1, got 2"


def test_a_wrapped_drill_line_goes_on_under_its_text_not_under_its_mark() -> None:
    long = "services started only rate_limiter and nothing else at all, in the order of its children"
    step = DrillStepNote(70.0, "d", "kill rate_limiter", 0.001, happened=("a thing happened " * 5,),
                         checks=(DrillCheck(long, True, "[a]", "[a]"),))
    lines = plain(log_entry(step, started_at=10.0), width=60)
    text_column = lines[1].index("a thing")
    assert lines[1][:text_column].strip() == "·"
    check = next(index for index, line in enumerate(lines) if "✓ services" in line)
    assert lines[check].index("services") == text_column
    assert lines[check + 1][:text_column].strip() == "", "the wrapped part is indented past the mark"
    assert lines[check + 1][text_column] != " "


def test_wall_clock_times_replace_the_time_since_start() -> None:
    note = LogNote(100.0, "k: exit kill sent")
    [line] = plain(log_entry(note, started_at=40.0, wall_offset=1_700_000_000.0))
    assert line == f"{units.wall(1_700_000_100.0)} k: exit kill sent"
    assert plain(log_entry(note, started_at=40.0)) == ["+01:00.000 k: exit kill sent"]


def test_a_crash_is_a_cascade_begun_by_an_exception() -> None:
    crash = Cascade(Pid(1), "sup", "one_for_one", "w", Pid(2), RuntimeError("boom"), 0.0)
    assert is_crash(crash)
    assert is_crash(Cascade(Pid(1), None, None, "w", Pid(2), DetachedReason("KeyError", "x"), 0.0))
    assert not is_crash(Cascade(Pid(1), None, None, "w", Pid(2), "killed", 0.0))
    assert not is_crash(LogNote(0.0, "RuntimeError: boom"))


def test_trace_lines_give_time_kind_and_a_capped_repr() -> None:
    event = TraceEvent(12.25, Pid(4), "call", ("get", "alice"))
    assert trace_line(event, started_at=12.0).plain == "+00:00.250 call  ('get', 'alice')"
    huge = message_repr(list(range(10_000)))
    assert len(huge) < 100 and huge.endswith("...]")
    assert len(message_repr("x" * 10_000, cap=50)) == 50

    class Broken:
        def __repr__(self) -> str:
            raise ValueError("no")

    assert message_repr(Broken()).startswith("<Broken instance at 0x"), "a broken repr does not stop the trace"
    assert "3 of the next 100 messages" in trace_status("store <0.4.0>", 3, 100).plain
    assert "stopped by itself after 100 messages (its limit)" in trace_status("s", 100, 100).plain
    assert "stopped with T after 3 messages" in trace_status("s", 3, 100, stopped="stopped with T").plain


def test_log_records_are_plain_json_with_every_field() -> None:
    cascade = Cascade(Pid(1), "sup", "one_for_one", "w", Pid(2), RuntimeError("boom"), 11.0, 11.5,
                      stopped=(CascadeStep("a", Pid(3), 11.1, "shutdown", inner=(CascadeStep("b", Pid(4), 11.05),)),),
                      outcome="restarted")
    record = entry_record(cascade, started_at=10.0, wall_offset=1_700_000_000.0)
    assert json.loads(json.dumps(record)) == record
    assert record["type"] == "cascade" and record["since_start"] == 1.0 and record["reason"] == "RuntimeError: boom"
    assert record["stopped"] == [{"id": "a", "pid": "<0.3.0>", "at": 11.1, "reason": "shutdown",
                                  "inner": [{"id": "b", "pid": "<0.4.0>", "at": 11.05}]}]
    assert record["wall"].startswith("2023-11-14T22:13:31")
    step = entry_record(DrillStepNote(5.0, "d", "s", 0.1, checks=(DrillCheck("c", True, "1", "1"),)), started_at=0.0)
    assert step["type"] == "drill_step" and step["checks"][0]["expected"] == "1" and "wall" not in step
    assert entry_record(DrillVerdict(5.0, "d", True, 0.1), started_at=0.0)["type"] == "drill_verdict"
    assert entry_record(LogNote(5.0, "hi", "warning"), started_at=0.0)["level"] == "warning"


def test_units_added_for_issue_12() -> None:
    assert [units.plural(n, "restart") for n in (0, 1, 2)] == ["0 restarts", "1 restart", "2 restarts"]
    assert units.plural(1_024, "process", "processes") == "1,024 processes"
    assert [units.rate(r) for r in (0, 0.44, 12.4, 950, 12_345, 4_500_000)] == ["0", "0.4", "12", "950", "12.3k",
                                                                                "4.5M"]
    assert [units.count(n) for n in (12_345, 123_456, 12_300_000)] == ["12,345", "123.5k", "12.3M"]
    assert units.shorten_left("/a/b/c/server.py", 10) == "…server.py"
    assert len(units.capped("x" * 1000, 100)) == 100 and units.capped("short", 100) == "short"
