"""Validation of the drill file fields for real services: one line naming the file, the step, the field,
the value and the bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from observer.drills.toml_drill import DrillFileError, load_drill_file, parse_drill

HEADER = '[drill]\nname = "d"\n'


def refused(tmp_path: Path, step: str, *, before: str = "") -> str:
    path = tmp_path / "service.toml"
    path.write_text(f"{HEADER}{before}[[step]]\n{step}\n")
    with pytest.raises(DrillFileError) as raised:
        load_drill_file(path)
    message = str(raised.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: "), message
    return message


@pytest.mark.parametrize(
    ("step", "complaint"),
    [
        # bounds: each names the field, the bound and the value
        ("pause_ms = 0", "step 1: pause_ms must be > 0, got 0"),
        ("pause_ms = 600_001", "step 1: pause_ms must be at most 600,000, got 600,001"),
        ("repeat = 0", "step 1: repeat must be > 0, got 0"),
        ("repeat = 1001", "step 1: repeat must be at most 1,000, got 1,001"),
        ("timeout_ms = -1", "step 1: timeout_ms must be > 0, got -1"),
        ('kill = "a/b"\nwithin_ms = 0', "step 1: within_ms must be > 0, got 0"),
        ('load = { call = "c", request = 1, rate = 10, during_ms = 10 }\nexpect_errors_at_most = -1',
         "step 1: expect_errors_at_most must be >= 0, got -1"),
        ('wait_for = { http = "http://127.0.0.1:1/", status = 99 }', "step 1: wait_for: status must be >= 100, got 99"),
        ('wait_for = { http = "http://127.0.0.1:1/", status = 600 }',
         "step 1: wait_for: status must be at most 599, got 600"),
        ('wait_for = { call = "c", request = 1, timeout_ms = 0 }', "step 1: wait_for: timeout_ms must be > 0, got 0"),
        ('call = { dest = "c", request = 1, timeout_ms = 700_000 }',
         "step 1: call: timeout_ms must be at most 600,000, got 700,000"),
        ('load = { call = "c", request = 1, rate = 0, during_ms = 10 }', "step 1: load: rate must be > 0, got 0"),
        ('load = { call = "c", request = 1, rate = 10_001, during_ms = 10 }',
         "step 1: load: rate must be at most 10,000, got 10,001"),
        ('load = { call = "c", request = 1, rate = nan, during_ms = 10 }',
         "step 1: load: rate must be a finite number, got nan"),
        ('load = { call = "c", request = 1, rate = 10_000, during_ms = 600_000 }',
         "step 1: load: rate x during_ms makes 6,000,000 calls, at most 1,000,000"),
        # types
        ("repeat = 2.5", "step 1: repeat must be a int, got 2.5"),
        ('suspend = 3', "step 1: suspend must be a str, got 3"),
        ('resume = ""', "step 1: resume must name a process, got ''"),
        ("expect_root_exit = 1", "step 1: expect_root_exit must be true, false or an exit reason (a string), got 1"),
        ('call = "cache"', "step 1: call must be a dict, got 'cache'"),
        ('load = { call = "c", request = 1, rate = "fast", during_ms = 10 }',
         "step 1: load: rate must be a int or float, got 'fast'"),
        ('expect_state = { dest = "c", subset = 3 }', "step 1: expect_state: subset must be a dict, got 3"),
        # tables
        ('call = { dest = "c" }', "step 1: call: missing field 'request' (needs: dest, request)"),
        ('call = { dest = "c", request = 1, reply = 2 }', "step 1: call: unknown field 'reply' (known: dest, request, "
         "expect_reply, timeout_ms)"),
        ('call = { dest = "", request = 1 }', "step 1: call: dest must not be empty"),
        ('load = { call = "c", request = 1, rate = 5 }', "step 1: load: missing field 'during_ms'"),
        ('expect_state = { dest = "c" }', "step 1: expect_state: missing field 'subset'"),
        ("wait_for = { status = 200 }", "step 1: wait_for: give exactly one of call or http, got neither"),
        ('wait_for = { call = "c", http = "http://127.0.0.1/", request = 1 }',
         "step 1: wait_for: give exactly one of call or http, got call, http"),
        ('wait_for = { http = "http://127.0.0.1/", reply = 1 }', "step 1: wait_for: unknown field 'reply'"),
        ('wait_for = { call = "c" }', "step 1: wait_for: missing field 'request'"),
        # loopback only
        ('wait_for = { http = "http://example.com/health" }',
         "step 1: wait_for: http 'http://example.com/health': example.com is not a loopback host"),
        ('wait_for = { http = "http://10.0.0.1:8080/" }', "10.0.0.1 is not a loopback host"),
        ('wait_for = { http = "https://127.0.0.1/" }', "only http:// URLs"),
        ('wait_for = { http = "http://127.0.0.1:99999/" }', "is not a URL (Port out of range"),
        ('wait_for = { http = "127.0.0.1:8088" }', "only http:// URLs"),
        # what goes with what
        ("within_ms = 50", "step 1: within_ms needs a kill action in the same step"),
        ("expect_errors_at_most = 0", "step 1: expect_errors_at_most needs a load in this step or an earlier one"),
        ('call = { dest = "c", request = 1 }\nsuspend = "c"', "at most one action, got call, suspend"),
        ('suspend = "c"\nresume = "c"', "a step has at most one action, got suspend, resume"),
    ],
)
def test_a_bad_field_is_one_line_naming_it(tmp_path: Path, step: str, complaint: str) -> None:
    assert complaint in refused(tmp_path, step)


def test_expect_errors_at_most_may_check_a_load_of_an_earlier_step(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(f'{HEADER}[[step]]\nload = {{ call = "c", request = 1, rate = 0.5, during_ms = 10 }}\n'
                    "[[step]]\npause_ms = 5\n[[step]]\nexpect_errors_at_most = 0\n")
    drill = load_drill_file(path)
    assert drill.name == "d"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8088/health", "http://localhost/", "http://[::1]:80/x?y=1", "http://127.3.4.5:1"]
)
def test_loopback_urls_are_accepted(url: str) -> None:
    parse_drill({"drill": {"name": "d"}, "step": [{"wait_for": {"http": url}}]})


def test_requests_and_replies_may_be_any_toml_value() -> None:
    parse_drill({"drill": {"name": "d"}, "step": [
        {"call": {"dest": "c", "request": {"op": "get", "keys": [1, 2]}, "expect_reply": [True, 1.5, "x"]}},
        {"wait_for": {"call": "c", "request": 7, "reply": {"a": {"b": []}}}},
    ]})


@pytest.mark.parametrize(
    ("step", "name"),
    [
        ({"call": {"dest": "c", "request": "ping"}}, "call {'dest': 'c', 'request': 'ping'}"),
        ({"suspend": "store"}, "suspend store"),
        ({"resume": "store"}, "resume store"),
        ({"wait_for": {"http": "http://127.0.0.1:1/"}}, "wait_for http://127.0.0.1:1/"),
        ({"wait_for": {"call": "c", "request": 1}}, "wait_for call c"),
        ({"load": {"call": "c", "request": 1, "rate": 1, "during_ms": 1}}, "load c"),
        ({"pause_ms": 20}, "pause 20 ms"),
        ({"expect_root_exit": True}, "check"),
    ],
)
def test_an_unnamed_step_is_named_after_what_it_does(step: dict[str, object], name: str) -> None:
    from observer.drills.toml_drill import _parse_step

    assert _parse_step(step, "here", loaded=False).name == name
