"""docs/debugging.md: every example runs as the complete program it claims to be and prints what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

from .pages import example, examples, run_example

PAGE = "debugging.md"
ONE_EXAMPLE = "In one example"
INSPECT = "`inspect`: state, stack and what it awaits"
FORMAT_STATUS = "`format_status` and redaction"
REMOTE = "The same from another process"


def test_every_example_is_run() -> None:
    found = {heading: len(blocks) for heading, blocks in examples(PAGE).items()}
    assert found == {ONE_EXAMPLE: 1, INSPECT: 1, FORMAT_STATUS: 1, REMOTE: 1}


def test_state_stack_awaiting_suspend_and_trace_in_one_example(workdir: Path) -> None:
    assert run_example(example(PAGE, ONE_EXAMPLE), workdir, "cache.py") == [
        "in Call(('a', 1), from=None)",
        "call ('a', 1)",
        "reply 1",
        "{'api_token': '***', 'entries': {'a': 1}}",
        "receive 1 1",
        "{'entries': {'a': 1}, 'api_token': '***'}",
        "call to 'cache' timed out after 0.1s (request ('b', 2))",
        "3",
    ]


def test_inspect_says_where_a_server_is_stuck(workdir: Path) -> None:
    """The server waits in its own line, calling the suspended store, whose mailbox holds the call."""
    assert run_example(example(PAGE, INSPECT), workdir, "orders.py") == [
        "True",
        "orders.py:16 in Orders.handle_cast",
        "1",
        "{'done': ['order 1: row']}",
    ]


def test_redaction_goes_by_attribute_name_and_format_status_shows_less(workdir: Path) -> None:
    assert run_example(example(PAGE, FORMAT_STATUS), workdir, "sessions.py") == [
        "{'db_password': '***', 'by_cookie': {'c0ffee': 'ada', 'd00d': 'grace'}}",
        "{'sessions': 2, 'users': ['ada', 'grace']}",
    ]


def test_inspect_get_state_suspend_call_and_trace_over_the_wire(workdir: Path) -> None:
    lines = run_example(example(PAGE, REMOTE), workdir, "remote_cache.py")
    assert lines == [
        "receive {'api_key': '***', 'entries': {'greeting': 'hello'}}",
        "{'entries': {'greeting': 'hello'}, 'api_key': '***'}",
        "call to <0.1.0> timed out after 0.2s (request 'greeting')",
        "hello",
        "['call', 'in', 'reply']",
    ]


def test_the_key_table_lists_keys_the_app_binds() -> None:
    """Every single-character key in the table is bound by the app or one of its widgets."""
    from observer.app import ObserverApp
    from observer.widgets.event_log import EventLog
    from observer.widgets.process_list import ProcessList

    bound = {key for widget in (ObserverApp, EventLog, ProcessList) for binding in widget.BINDINGS
             for key in getattr(binding, "key", "").split(",")}
    names = {"<": "less_than_sign", ">": "greater_than_sign", "/": "slash", "?": "question_mark",
             "]": "right_square_bracket", "[": "left_square_bracket"}
    text = (Path(__file__).resolve().parents[2] / "docs" / PAGE).read_text()
    keys_section = text.split("\n## The app keys\n", 1)[1]
    documented = set(re.findall(r"`(.)`", keys_section))
    missing = sorted(key for key in documented if names.get(key, key) not in bound and not key.isdigit())
    assert not missing, f"the key table names keys nothing binds: {missing}"
