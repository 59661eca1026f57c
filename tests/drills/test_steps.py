"""The drill file steps that test a real service: each passes on the correct web fixture and fails, naming
why, when its fault is put back (tests/drills/fixtures/web.py lists the faults)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from observer.drills import DrillReport, run_drill, run_headless
from observer.drills.toml_drill import parse_drill
from observer.runtime import Runtime
from tests.drills.fixtures.web import Faults, make


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def run(steps: list[dict[str, Any]], faults: Faults | None = None, *, port: int | None = None,
              timeout: float = 60.0) -> DrillReport:
    """Run a drill of `steps` against the web fixture with `faults` (none by default)."""
    drill = parse_drill({"drill": {"name": "web"}, "step": steps})
    return await run_headless(drill, make(port or free_port(), faults or Faults()), timeout=timeout)


def passed(report: DrillReport) -> None:
    assert report.passed, report.render(verbose=True)


def failed_saying(report: DrillReport, *words: str) -> list[str]:
    """The drill failed and some failure line has each of `words`; returns the failure lines."""
    assert not report.passed, report.render(verbose=True)
    failures = report.failures()
    for word in words:
        assert any(word in line for line in failures), (word, failures)
    return failures


PUT = {"name": "put k", "call": {"dest": "cache", "request": ["put", "k", 1], "expect_reply": "ok"}}


# -- kill + within_ms + wait_for http -------------------------------------------------------------


def listener_comes_back(port: int) -> list[dict[str, Any]]:
    return [{
        "name": "kill the listener",
        "kill": "web/listener",
        "within_ms": 100,
        "wait_for": {"http": f"http://127.0.0.1:{port}/health", "status": 200, "timeout_ms": 1000},
    }]


async def test_the_listener_restarts_within_its_time_and_answers_http() -> None:
    port = free_port()
    report = await run(listener_comes_back(port), port=port)
    passed(report)
    happened = report.steps[0].happened
    assert any(line.startswith(f"http://127.0.0.1:{port}/health answered 200 after ") for line in happened), happened


async def test_a_listener_that_leaks_its_port_fails_naming_the_real_cause() -> None:
    port = free_port()
    report = await run(listener_comes_back(port), Faults(leak_port=True), port=port)
    # the leaked socket still answers (with the dead server's code): only within_ms and the cause tell
    failures = failed_saying(report, "restarted within 100 ms (expected <= 100 ms, got not restarted")
    causes = report.steps[0].causes
    assert causes and "could not start child 'listener': OSError(98" in causes[0], causes
    assert "address already in use" in causes[0]
    assert any("kill the listener: cause: supervisor <" in line for line in failures), failures
    shown = report.render()
    assert "      cause: supervisor <" in shown
    assert report.to_json()["steps"][0]["causes"] == causes


async def test_a_listener_that_starts_slowly_misses_within_ms() -> None:
    port = free_port()
    report = await run(listener_comes_back(port), Faults(slow_start=True), port=port)
    [failure] = failed_saying(report, "kill the listener: restarted within 100 ms (expected <= 100 ms, got ")
    took = float(failure.rsplit("got ", 1)[1].removesuffix(" ms)"))
    assert took >= 200


async def test_wait_for_http_names_a_refused_connection() -> None:
    port, other = free_port(), free_port()
    report = await run([{"wait_for": {"http": f"http://127.0.0.1:{other}/", "timeout_ms": 50}}], port=port)
    [failure] = failed_saying(report)
    assert failure == (f"wait_for http://127.0.0.1:{other}/: DrillError: wait_for http://127.0.0.1:{other}/: "
                       "no status 200 within 50 ms; last seen: ConnectionRefusedError: connection refused")


async def test_wait_for_http_names_the_status_it_last_saw() -> None:
    port = free_port()
    report = await run([
        {"suspend": "cache"},
        {"wait_for": {"http": f"http://127.0.0.1:{port}/health", "status": 200, "timeout_ms": 300}},
        {"resume": "cache"},
        {"wait_for": {"http": f"http://127.0.0.1:{port}/health", "status": 200, "timeout_ms": 1000}},
    ], port=port)
    failures = failed_saying(report, "no status 200 within 300 ms; last seen: status 503")
    assert len(failures) == 1
    assert [step.passed for step in report.steps] == [True, False, True, True]


# -- call, expect_reply, expect_state ---------------------------------------------------------------


CALLS = [
    PUT,
    {"name": "get k", "call": {"dest": "cache", "request": ["get", "k"], "expect_reply": ["hit", 1]},
     "expect_state": {"dest": "cache", "subset": {"entries": {"k": 1}}}},
]


async def test_a_call_gets_the_reply_and_the_state_holds_it() -> None:
    report = await run(CALLS)
    passed(report)
    assert report.steps[1].happened == ["call cache ['get', 'k'] -> ('hit', 1)"]


async def test_a_cache_that_drops_writes_fails_the_reply_and_the_state() -> None:
    report = await run(CALLS, Faults(drops_writes=True))
    assert failed_saying(report) == [
        "get k: reply of cache (expected ['hit', 1], got miss)",
        "get k: state of cache includes (expected {'entries': {'k': 1}}, got {'entries': {}, 'hits': 0})",
    ]


async def test_a_call_to_a_path_and_an_unknown_name() -> None:
    report = await run([
        {"call": {"dest": "web/cache", "request": "ping", "expect_reply": "pong"}},
        {"call": {"dest": "no_such_server", "request": "ping"}},
    ])
    assert [step.passed for step in report.steps] == [True, False]
    assert report.failures()[0].startswith("call {'dest': 'no_such_server', 'request': 'ping'}: NoProc")


async def test_expect_state_of_a_plain_process_fails_the_step() -> None:
    report = await run([{"expect_state": {"dest": "no_such_server", "subset": {"a": 1}}}])
    assert report.failures()[0].startswith("check: NoProc")


# -- wait_for a reply ---------------------------------------------------------------------------------


WARM_AFTER_KILL = [
    PUT,
    {"name": "kill the cache", "kill": "web/cache",
     "wait_for": {"call": "cache", "request": ["get", "k"], "reply": ["hit", 1], "timeout_ms": 300}},
]


async def test_the_cache_comes_back_warm() -> None:
    report = await run(WARM_AFTER_KILL)
    passed(report)
    assert report.steps[1].happened[-1].startswith("cache answered ('hit', 1) after ")


async def test_a_forgetful_cache_never_answers_the_wait() -> None:
    report = await run(WARM_AFTER_KILL, Faults(forgetful=True))
    failed_saying(report, "kill the cache: DrillError: wait_for call 'cache' ['get', 'k']: no the reply ['hit', 1] "
                  "within 300 ms; last seen: the reply 'miss'")


async def test_wait_for_any_reply_from_a_name_not_yet_registered() -> None:
    report = await run([{"wait_for": {"call": "later", "request": "ping", "timeout_ms": 30}}])
    failed_saying(report, "no a reply within 30 ms; last seen: NoProc")


# -- a hung dependency under load ---------------------------------------------------------------------


HUNG_STORE = [
    PUT,
    {"name": "load the cache, hang the store",
     "load": {"call": "cache", "request": ["get", "k"], "rate": 200, "during_ms": 400, "timeout_ms": 100,
              "reply": ["hit", 1]},
     "suspend": "store"},
    {"name": "while it hangs", "pause_ms": 200},
    {"name": "the store is back", "resume": "store", "expect_errors_at_most": 0},
]


async def test_a_cache_serves_from_memory_while_the_store_hangs() -> None:
    report = await run(HUNG_STORE)
    passed(report)
    summary = report.steps[3].happened[-1]
    assert summary.startswith("load: 80 calls to 'cache' at 200/s over 400 ms: 80 ok, 0 errors"), summary


async def test_a_cache_that_reads_through_fails_under_a_hung_store() -> None:
    report = await run(HUNG_STORE, Faults(reads_through=True))
    [failure] = failed_saying(report, "the store is back: load errors on cache (expected at most 0, got ")
    assert "CallTimeout x" in failure


async def test_a_load_with_the_wrong_reply_counts_it() -> None:
    report = await run([{"load": {"call": "cache", "request": "ping", "rate": 100, "during_ms": 50,
                                  "reply": "pang"}, "expect_errors_at_most": 2}])
    [failure] = failed_saying(report)
    assert failure == "load cache: load errors on cache (expected at most 2, got 5 (wrong reply x5))"
    assert "first: the reply 'pong'" in report.steps[0].happened[-1]


async def test_a_load_still_running_when_the_drill_ends_is_stopped() -> None:
    report = await run([{"load": {"call": "cache", "request": "ping", "rate": 10, "during_ms": 60_000}}])
    passed(report)  # and the drill did not wait a minute for it: the runtime stopped it


# -- repeat and expect_root_exit --------------------------------------------------------------------


def kill_listener_five_times(port: int) -> list[dict[str, Any]]:
    return [{"name": "kill the listener", "kill": "web/listener", "repeat": 5,
             "wait_for": {"http": f"http://127.0.0.1:{port}/health", "timeout_ms": 500}}]


async def test_repeat_runs_the_step_each_time() -> None:
    port = free_port()
    report = await run(kill_listener_five_times(port), port=port)
    passed(report)
    assert [step.name for step in report.steps] == [f"kill the listener ({n}/5)" for n in range(1, 6)]


async def test_repeat_stops_at_the_round_that_fails_and_names_the_give_up() -> None:
    port = free_port()
    report = await run(kill_listener_five_times(port), Faults(max_restarts=3), port=port)
    assert [step.passed for step in report.steps] == [True, True, True, False]
    assert report.steps[-1].happened[-1] == "stopped repeating: round 4 of 5 failed"
    assert any("reached its restart intensity" in cause for cause in report.steps[-1].causes), report.steps[-1]


ROOT_GIVES_UP = [
    {"name": "kill the store", "kill": "web/store", "repeat": 4},
    {"name": "the root gave up", "expect_root_exit": "shutdown", "timeout_ms": 300},
]


async def test_expect_root_exit_sees_the_root_give_up() -> None:
    report = await run(ROOT_GIVES_UP, Faults(max_restarts=3))
    passed(report)
    assert report.steps[-1].happened == ["the root 'web' exited with 'shutdown'"]


async def test_expect_root_exit_fails_on_a_root_that_never_gives_up() -> None:
    report = await run(ROOT_GIVES_UP, Faults(max_restarts=100))
    failed_saying(report, "the root gave up: DrillError: the root 'web' (<0.", "still runs 300 ms later")


async def test_expect_root_exit_false_and_a_wrong_reason() -> None:
    report = await run([{"expect_root_exit": False}, *ROOT_GIVES_UP[:1],
                        {"expect_root_exit": "normal"}, {"expect_root_exit": False}], Faults(max_restarts=3))
    assert report.failures() == [
        "check: root exit reason (expected normal, got shutdown)",
        "check: the root 'web' still runs (expected running, got exited)",
    ]


# -- the deadline ------------------------------------------------------------------------------------


async def test_a_drill_past_its_deadline_fails_at_the_step_it_was_in() -> None:
    report = await run([{"name": "quick", "call": {"dest": "cache", "request": "ping"}},
                        {"name": "too long", "pause_ms": 60_000}, {"name": "never runs"}], timeout=0.3)
    assert [step.name for step in report.steps] == ["quick", "too long"]
    assert report.failures() == ["too long: the drill did not finish within 0.3 s (its --timeout)"]
    assert report.seconds < 5


async def test_loads_are_stopped_and_suspended_servers_resumed_when_the_drill_ends() -> None:
    drill = parse_drill({"drill": {"name": "hang"}, "step": [
        {"suspend": "cache", "load": {"call": "store", "request": "all", "rate": 10, "during_ms": 60_000}},
    ]})
    async with Runtime() as rt:
        await make(free_port())(rt)
        before = set(rt.processes())
        report = await run_drill(drill, rt, root="web")
        passed(report)
        assert await rt.call("cache", "ping", timeout=1.0) == "pong"
        assert set(rt.processes()) <= before  # no load process or caller left


@pytest.mark.parametrize("reason", ["kill", "shutdown"])
async def test_within_ms_counts_from_the_signal(reason: str) -> None:
    report = await run([{"kill": "web/listener", "reason": reason, "within_ms": 1000}])
    passed(report)
