"""Tests for TOML drill files: field-level errors for malformed files, and drills that run like built-ins."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from observer.drills import run_headless, toml_drill
from observer.drills.toml_drill import DrillFileError, load_drill_file, parse_drill
from tests.drills.fixtures import shop

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "router-restarts-alone.toml"

HEADER = '[drill]\nname = "d"\ndescription = "a drill"\n'
KILL_ROUTER = '[[step]]\nkill = "system/services/signal_router"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my-drill.toml"
    path.write_text(text)
    return path


def refused(path: Path) -> str:
    """The DrillFileError message for the file at `path`: one line that starts with the file."""
    with pytest.raises(DrillFileError) as raised:
        load_drill_file(path)
    message = str(raised.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: "), message
    return message


def step_refused(tmp_path: Path, step: str) -> str:
    """The message for a file with a good header and one `[[step]]` made of `step`."""
    return refused(write(tmp_path, f"{HEADER}[[step]]\n{step}\n"))


# -- good files ---------------------------------------------------------------------------


def test_the_example_file_loads() -> None:
    drill = load_drill_file(EXAMPLE)
    assert drill.name == "router-restarts-alone"
    assert drill.description.startswith("kill the signal router")


def test_a_path_may_be_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + KILL_ROUTER)
    assert load_drill_file(str(path)).name == "d"


def test_description_is_optional() -> None:
    drill = parse_drill({"drill": {"name": "d"}, "step": [{"kill": "system/services"}]})
    assert drill.description == ""


async def test_the_example_drill_passes_on_the_default_system() -> None:
    report = await run_headless(load_drill_file(EXAMPLE))
    assert report.passed, report.render(verbose=True)
    assert [step.name for step in report.steps] == [
        "churn 500 subscribers",
        "kill the signal router",
        "flood the agent limiter",
    ]
    assert report.steps[2].happened == ["4 of 10 checks allowed"]


async def test_the_documented_example_parses_and_passes() -> None:
    doc = toml_drill.__doc__ or ""
    text = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    report = await run_headless(parse_drill(tomllib.loads(text), "docstring"))
    assert report.passed, report.render(verbose=True)


async def test_an_unnamed_step_is_named_after_its_action_or_check() -> None:
    drill = parse_drill({
        "drill": {"name": "names"},
        "step": [
            {"kill": "system/services/coordination_manager"},
            {"flood": {"limiter": "agent_actions", "key": "k", "checks": 2}},
            {"expect_unchanged": ["system/services"]},
        ],
    })
    report = await run_headless(drill)
    assert report.passed, report.render(verbose=True)
    assert [step.name for step in report.steps] == [
        "kill system/services/coordination_manager",
        "flood {'limiter': 'agent_actions', 'key': 'k', 'checks': 2}",
        "check",
    ]


async def test_a_kill_with_a_reason_records_the_exit_reason() -> None:
    drill = parse_drill({
        "drill": {"name": "shutdown"},
        "step": [{
            "kill": "system/services/signal_router",
            "reason": "shutdown",
            "expect_exit_reason": "shutdown",
            "expect_restarted": ["system/services/signal_router"],
            "expect_started": ["signal_router"],
        }],
    })
    report = await run_headless(drill)
    assert report.passed, report.render(verbose=True)


async def test_a_rest_for_one_kill_names_what_stopped_and_started_in_order() -> None:
    drill = parse_drill({
        "drill": {"name": "cascade"},
        "step": [{
            "kill": "system/services",
            "expect_restarted": ["system/services", "system/agent_supervisor"],
            "expect_unchanged": ["system/state_supervisor", "system/state_registry"],
            "expect_stopped": ["agent_supervisor"],  # the later sibling (no workload in drills)
            # what the root (services' supervisor) did; services' own children are its business
            "expect_started": ["services", "agent_supervisor"],
        }],
    })
    report = await run_headless(drill)
    assert report.passed, report.render(verbose=True)


# -- expectations that fail ----------------------------------------------------------------------


async def test_a_wrong_expectation_fails_the_drill_and_is_named() -> None:
    drill = parse_drill({
        "drill": {"name": "wrong", "description": "expects the wrong things"},
        "step": [
            {
                "name": "kill the router",
                "kill": "system/services/signal_router",
                "expect_unchanged": ["system/services/signal_router"],
                "expect_started": ["rate_limiter"],
            },
            {
                "name": "flood",
                "flood": {"limiter": "agent_actions", "key": "k", "checks": 10},
                "expect_allowed": 10,
            },
        ],
    })
    report = await run_headless(drill)
    assert not report.passed
    failures = report.failures()
    assert len(failures) == 3, failures
    assert failures[0].startswith("kill the router: system/services/signal_router unchanged (expected the same pid")
    assert failures[1] == "kill the router: started, in order (expected [rate_limiter], got [signal_router])"
    assert failures[2] == "flood: allowed checks (expected 10, got 4)"


async def test_a_wrong_exit_reason_fails_the_drill() -> None:
    drill = parse_drill({
        "drill": {"name": "reason"},
        "step": [{"name": "k", "kill": "system/services/coordination_manager", "expect_exit_reason": "normal"}],
    })
    report = await run_headless(drill)
    assert report.failures() == ["k: exit reason (expected normal, got killed)"]


async def test_a_path_that_names_no_process_fails_the_step_and_the_rest_still_run() -> None:
    drill = parse_drill({
        "drill": {"name": "typo"},
        "step": [
            {"name": "bad path", "kill": "system/services/signal_rooter"},
            {"name": "unknown root", "expect_unchanged": ["shop/orders"]},
            {"name": "still runs", "expect_unchanged": ["system/services"]},
        ],
    })
    report = await run_headless(drill)
    assert not report.passed
    assert [step.passed for step in report.steps] == [False, False, True]
    failures = report.failures()
    assert "bad path: DrillError: 'system/services/signal_rooter': system/services has no running child" in failures[0]
    assert "signal_router" in failures[0]  # the children it does have are listed
    assert failures[1] == "unknown root: DrillError: 'shop/orders': no process is registered as 'shop'"


async def test_flooding_an_unknown_limiter_fails_the_step() -> None:
    drill = parse_drill({
        "drill": {"name": "limiter"},
        "step": [{"name": "flood", "flood": {"limiter": "no_such_limiter", "key": "k", "checks": 1}}],
    })
    report = await run_headless(drill)
    assert not report.passed
    assert report.failures()[0].startswith("flood: UnknownLimiter")


async def test_churn_without_a_signal_router_fails_at_once_saying_why() -> None:
    drill = parse_drill({
        "drill": {"name": "churn"},
        "step": [{"name": "churn", "churn": {"pattern": "a.*", "subscribers": 50}, "expect_monitor_baseline": True}],
    })
    report = await run_headless(drill, shop.factory)  # the shop has no signal router
    assert not report.passed
    [failure] = report.failures()
    assert failure.startswith("churn: DrillError: probe <"), failure
    assert "died before it was ready, with NoProc" in failure
    assert report.steps[0].seconds < 5.0  # not the probes' 10 s ready timeout


# -- malformed files ----------------------------------------------------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    message = refused(tmp_path / "nope.toml")
    assert message.endswith("no such drill file")


def test_a_directory_cannot_be_read(tmp_path: Path) -> None:
    assert "cannot read" in refused(tmp_path)


def test_not_toml_carries_the_toml_error(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "[drill\nname = 'x'\n"))
    assert "not valid TOML" in message
    assert "line 1" in message


def test_missing_drill_table(tmp_path: Path) -> None:
    message = refused(write(tmp_path, KILL_ROUTER))
    assert message.endswith(": missing [drill] table with a name (and an optional description)")


@pytest.mark.parametrize(
    "value", ["[" * 5000 + "]" * 5000, "{ a = " * 5000 + "1" + " }" * 5000], ids=["arrays", "inline tables"]
)
def test_a_deeply_nested_file_is_one_line_naming_it(tmp_path: Path, value: str) -> None:
    message = refused(write(tmp_path, f"{HEADER}[[step]]\nkill = {value}\n"))
    assert message == f"{tmp_path / 'my-drill.toml'}: nested too deeply to be a drill file " \
        "(arrays or tables in each other)"


def test_a_deep_value_is_quoted_short(tmp_path: Path) -> None:
    message = step_refused(tmp_path, "kill = " + "[" * 200 + "]" * 200)
    assert message.endswith("step 1: kill must be a str, got [[[[...]]]]")


def test_a_long_value_is_quoted_short(tmp_path: Path) -> None:
    message = step_refused(tmp_path, f"kill = {list(range(10_000))}")
    assert message.endswith("step 1: kill must be a str, got [0, 1, 2, 3, 4, 5, ...]")


def test_drill_as_an_array_of_tables_is_not_a_drill_table(tmp_path: Path) -> None:
    assert "missing [drill] table" in refused(write(tmp_path, '[[drill]]\nname = "d"\n' + KILL_ROUTER))


@pytest.mark.parametrize(("value", "shown"), [('""', "''"), ('"   "', "'   '"), ("3", "3")])
def test_a_bad_drill_name(tmp_path: Path, value: str, shown: str) -> None:
    message = refused(write(tmp_path, f"[drill]\nname = {value}\n{KILL_ROUTER}"))
    assert f"[drill] name must be a non-empty string, got {shown}" in message


def test_a_missing_drill_name(tmp_path: Path) -> None:
    message = refused(write(tmp_path, f'[drill]\ndescription = "x"\n{KILL_ROUTER}'))
    assert "[drill] name must be a non-empty string, got None" in message


def test_a_bad_description(tmp_path: Path) -> None:
    message = refused(write(tmp_path, f'[drill]\nname = "d"\ndescription = ["x"]\n{KILL_ROUTER}'))
    assert "[drill] description must be a string, got ['x']" in message


def test_an_unknown_field_in_the_drill_table(tmp_path: Path) -> None:
    message = refused(write(tmp_path, f'[drill]\nname = "d"\ndescripton = "typo"\n{KILL_ROUTER}'))
    assert "[drill] unknown field 'descripton'" in message


def test_an_unknown_table(tmp_path: Path) -> None:
    message = refused(write(tmp_path, f"{HEADER}{KILL_ROUTER}[steps]\nkill = 'x'\n"))
    assert "unknown table 'steps'" in message


@pytest.mark.parametrize("steps", ["", "step = []\n", "step = 3\n"])
def test_no_steps(tmp_path: Path, steps: str) -> None:
    assert "a drill needs at least one [[step]]" in refused(write(tmp_path, f"{steps}{HEADER}"))


def test_a_step_that_is_not_a_table(tmp_path: Path) -> None:
    message = refused(write(tmp_path, f'step = ["kill"]\n{HEADER}'))
    assert "step 1: a step must be a table, got 'kill'" in message


def test_an_unknown_step_field_names_the_step_and_the_field(tmp_path: Path) -> None:
    message = refused(write(tmp_path, f'{HEADER}{KILL_ROUTER}[[step]]\nkil = "system/workload"\n'))
    assert "step 2: unknown field 'kil'" in message
    assert "known: name, kill," in message


@pytest.mark.parametrize(
    ("step", "complaint"),
    [
        ("kill = 3", "step 1: kill must be a str, got 3"),
        ('kill = "system/workload"\nreason = 9', "step 1: reason must be a str, got 9"),
        ('expect_restarted = "x"', "step 1: expect_restarted must be a list, got 'x'"),
        ("expect_unchanged = [1, 2]", "step 1: expect_unchanged must be a list of strings, got [1, 2]"),
        ("expect_started = [true]", "step 1: expect_started must be a list of strings, got [True]"),
        ('flood = { limiter = "a", key = "k", checks = 1 }\nexpect_allowed = true',
         "step 1: expect_allowed must be a int, got True"),
        ('flood = { limiter = "a", key = "k", checks = 1 }\nexpect_allowed = "4"',
         "step 1: expect_allowed must be a int, got '4'"),
        ("expect_monitor_baseline = 1", "step 1: expect_monitor_baseline must be a bool, got 1"),
        ('flood = "agent_actions"', "step 1: flood must be a dict, got 'agent_actions'"),
        ("churn = 5", "step 1: churn must be a dict, got 5"),
        ("name = 5", "step 1: name must be a str, got 5"),
    ],
)
def test_a_field_of_the_wrong_type_names_the_field_and_the_value(tmp_path: Path, step: str, complaint: str) -> None:
    assert complaint in step_refused(tmp_path, step)


def test_two_actions_in_one_step(tmp_path: Path) -> None:
    message = step_refused(tmp_path, 'kill = "system/workload"\nchurn = { pattern = "a", subscribers = 1 }')
    assert "step 1: a step has at most one action, got kill, churn" in message


@pytest.mark.parametrize(
    ("flood", "complaint"),
    [
        ('{ limiter = "a", key = "k" }', "step 1: flood: missing field 'checks' (needs: limiter, key, checks)"),
        ('{ key = "k", checks = 3 }', "step 1: flood: missing field 'limiter'"),
        ('{ limiter = "a", key = "k", checks = 0 }', "step 1: flood: checks must be > 0, got 0"),
        ('{ limiter = "a", key = "k", checks = -5 }', "step 1: flood: checks must be > 0, got -5"),
        ('{ limiter = "a", key = "k", checks = "10" }', "step 1: flood: checks must be a int, got '10'"),
        ('{ limiter = "a", key = "k", checks = true }', "step 1: flood: checks must be a int, got True"),
        ('{ limiter = 1, key = "k", checks = 2 }', "step 1: flood: limiter must be a str, got 1"),
        ('{ limiter = "a", key = "k", checks = 2, burst = 3 }', "step 1: flood: unknown field 'burst'"),
        ('{ limiter = "a", key = "k", checks = 100_001 }',
         "step 1: flood: checks must be at most 100,000, got 100,001"),
        ('{ limiter = "a", key = "k", checks = 1_000_000_000_000 }',
         "step 1: flood: checks must be at most 100,000, got 1,000,000,000,000"),
    ],
)
def test_a_bad_flood_names_the_field_and_the_value(tmp_path: Path, flood: str, complaint: str) -> None:
    assert complaint in step_refused(tmp_path, f"flood = {flood}")


@pytest.mark.parametrize(
    ("churn", "complaint"),
    [
        ('{ pattern = "a.*", subscribers = 5, rate = 1 }', "step 1: churn: unknown field 'rate'"),
        ('{ pattern = "a.*" }', "step 1: churn: missing field 'subscribers'"),
        ('{ pattern = "a.*", subscribers = 0 }', "step 1: churn: subscribers must be > 0, got 0"),
        ('{ pattern = ["a"], subscribers = 1 }', "step 1: churn: pattern must be a str, got ['a']"),
        ('{ pattern = "a.*", subscribers = 100_000_000 }',
         "step 1: churn: subscribers must be at most 10,000, got 100,000,000"),
    ],
)
def test_a_bad_churn_names_the_field_and_the_value(tmp_path: Path, churn: str, complaint: str) -> None:
    assert complaint in step_refused(tmp_path, f"churn = {churn}")


@pytest.mark.parametrize(
    ("step", "complaint"),
    [
        ('reason = "shutdown"', "step 1: reason needs a kill action in the same step"),
        ('expect_exit_reason = "killed"', "step 1: expect_exit_reason needs a kill action in the same step"),
        ("expect_allowed = 4", "step 1: expect_allowed needs a flood action in the same step"),
        ('churn = { pattern = "a", subscribers = 1 }\nreason = "kill"', "step 1: reason needs a kill action"),
    ],
)
def test_a_field_without_its_action(tmp_path: Path, step: str, complaint: str) -> None:
    assert complaint in step_refused(tmp_path, step)


def test_the_first_bad_step_is_the_one_named(tmp_path: Path) -> None:
    message = refused(write(tmp_path, f"{HEADER}{KILL_ROUTER}{KILL_ROUTER}[[step]]\nkill = false\n"))
    assert "step 3: kill must be a str, got False" in message


# -- parse_drill on dicts ------------------------------------------------------------------------


def test_parse_drill_names_the_default_source() -> None:
    with pytest.raises(DrillFileError, match=r"^<drill>: a drill needs at least one \[\[step\]\]$"):
        parse_drill({"drill": {"name": "d"}})


def test_parse_drill_names_the_given_source() -> None:
    with pytest.raises(DrillFileError, match=r"^inline: step 1: kill must be a str, got None$"):
        parse_drill({"drill": {"name": "d"}, "step": [{"kill": None}]}, "inline")


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({}, "missing [drill] table"),
        ({"drill": "d", "step": [{}]}, "missing [drill] table"),
        ({"drill": {"name": "d"}, "step": [{}], "extra": {}}, "unknown table 'extra'"),
        ({"drill": {"name": "d"}, "step": {"kill": "x"}}, "a drill needs at least one [[step]]"),
        ({"drill": {"name": "d"}, "step": [{"kill": "x", "flood": {}}]}, "at most one action, got kill, flood"),
    ],
)
def test_parse_drill_refuses_malformed_documents(document: dict[str, Any], complaint: str) -> None:
    with pytest.raises(DrillFileError) as raised:
        parse_drill(document)
    assert complaint in str(raised.value)


def test_parse_drill_accepts_an_empty_step_as_a_check() -> None:
    drill = parse_drill({"drill": {"name": "d"}, "step": [{}]})
    assert drill.name == "d"


def test_a_drill_file_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[drill]\nname = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(DrillFileError, match="not UTF-8"):
        load_drill_file(path)


async def test_a_kill_that_cannot_end_its_target_fails_the_step_instead_of_hanging() -> None:
    drill = parse_drill(
        {
            "drill": {"name": "gentle"},
            "step": [
                {"kill": "system/services", "reason": "shutdown"},  # services traps exits
                {"kill": "system/services/signal_router", "reason": "normal"},
            ],
        }
    )
    report = await run_headless(drill)
    assert not report.passed
    assert [step.error for step in report.steps] == [
        "DrillError: system/services: exit reason 'shutdown' would not end it (it traps exits); use 'kill'",
        "DrillError: system/services/signal_router: exit reason 'normal' would not end it (it ignores normal); "
        "use 'kill'",
    ]
