"""Tests for `observer drill` (observer.commands.drill.main): listing, running, JSON, JUnit, drill files, --app.

`main` is called directly; it returns the exit status (0 all passed, 1 a drill
failed, 2 bad usage), and argparse usage errors raise SystemExit(2).
"""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from observer.commands.drill import main
from observer.drills import BUILTIN_DRILLS
from tests.subprocesses import ROOT, observer_command

EXAMPLE = str(ROOT / "examples" / "router-restarts-alone.toml")
SHOP = "tests.drills.fixtures.shop"
NAMES = [drill.name for drill in BUILTIN_DRILLS]

Capsys = pytest.CaptureFixture[str]


def run(argv: list[str], capsys: Capsys) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `observer drill argv`."""
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error_line(err: str) -> str:
    """`err` is exactly one line, an `observer drill: error:`; returns it without the newline."""
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert err.startswith("observer drill: error: "), err
    return err.rstrip("\n")


def usage_error(argv: list[str], capsys: Capsys) -> str:
    """argv is a usage error: SystemExit(2), nothing on stdout, one line on stderr."""
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return one_error_line(captured.err)


def write_drill(tmp_path: Path, root: str, *, started: str = '["orders", "billing"]') -> str:
    """A drill for the shop fixture tree, with paths under `root`."""
    path = tmp_path / "shop-drill.toml"
    path.write_text(f"""
[drill]
name = "orders-takes-billing-down"
description = "rest_for_one: killing orders restarts billing, not inventory"

[[step]]
name = "kill orders"
kill = "{root}/orders"
expect_exit_reason = "killed"
expect_restarted = ["{root}/orders", "{root}/billing"]
expect_unchanged = ["{root}/inventory"]
expect_stopped = ["billing"]
expect_started = {started}
""")
    return str(path)


# -- --list ---------------------------------------------------------------------------------


def test_list_prints_every_builtin_drill_one_a_line(capsys: Capsys) -> None:
    status, out, err = run(["--list"], capsys)
    assert status == 0
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 9
    parsed = [re.fullmatch(r"(\S+) {2,}(\S.*)", line) for line in lines]
    assert all(parsed), lines
    assert [match.group(1) for match in parsed if match] == NAMES
    assert [match.group(2) for match in parsed if match] == [drill.description for drill in BUILTIN_DRILLS]
    assert set(NAMES) == {
        "rest-for-one-cascade", "one-for-one-isolation", "intensity-escalation", "monitor-leak",
        "rate-limiter-race", "sync-emission", "shutdown-order", "restart-types", "call-to-dying-server",
    }


def test_list_aligns_the_descriptions(capsys: Capsys) -> None:
    _, out, _ = run(["--list"], capsys)
    width = max(map(len, NAMES))
    assert all(line[width:width + 2] == "  " and line[width + 2] != " " for line in out.splitlines())


# -- one drill by name ----------------------------------------------------------------------------


def test_a_drill_by_name_runs_and_passes(capsys: Capsys) -> None:
    status, out, err = run(["one-for-one-isolation"], capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("PASS  one-for-one-isolation  (")
    assert lines[-1] == "1 passed, 0 failed"
    assert len(lines) == 2  # a passing drill is one line unless verbose
    assert err == ""


def test_verbose_shows_every_step_and_expectation(capsys: Capsys) -> None:
    status, out, _ = run(["restart-types", "-v"], capsys)
    assert status == 0
    assert "  ok  " in out
    assert "✓ " in out
    assert "✗" not in out
    assert out.splitlines()[-1] == "1 passed, 0 failed"


@pytest.mark.parametrize("name", ["no-such-drill", "ONE-FOR-ONE-ISOLATION", "router-restarts-alone"])
def test_an_unknown_name_is_exit_2_naming_the_drills(name: str, capsys: Capsys) -> None:
    status, out, err = run([name], capsys)
    assert status == 2
    assert out == ""
    line = one_error_line(err)
    assert f"no built-in drill {name!r}" in line
    assert all(known in line for known in NAMES)


# -- --all, --json, --junit ----------------------------------------------------------------------


def test_all_json_prints_only_json(capsys: Capsys) -> None:
    status, out, err = run(["--all", "--json"], capsys)
    assert status == 0
    document = json.loads(out)  # nothing but the JSON document on stdout
    assert set(document) == {"drills", "passed", "failed"}
    assert document["passed"] == 9
    assert document["failed"] == 0
    assert [drill["name"] for drill in document["drills"]] == NAMES
    for drill in document["drills"]:
        assert {"name", "passed", "seconds", "steps"} <= set(drill)
        assert drill["passed"] is True
        assert isinstance(drill["seconds"], float) and drill["seconds"] >= 0
        assert drill["steps"] and all(step["passed"] for step in drill["steps"])
    assert "PASS" not in err and "passed" not in err


def test_all_writes_junit_with_one_testcase_per_drill(tmp_path: Path, capsys: Capsys) -> None:
    junit = tmp_path / "drills.xml"
    status, out, _ = run(["--all", "--junit", str(junit)], capsys)
    assert status == 0
    assert out.splitlines()[-1] == "9 passed, 0 failed"
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures")) == ("9", "0")
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == NAMES
    assert all(case.find("failure") is None for case in cases)


def test_junit_of_a_failing_drill_has_its_failure(tmp_path: Path, capsys: Capsys) -> None:
    junit = tmp_path / "drills.xml"
    drill = write_drill(tmp_path, "shop", started='["orders"]')
    status, _, _ = run(["--file", drill, "--app", f"{SHOP}:factory", "--junit", str(junit)], capsys)
    assert status == 1
    failure = ET.parse(junit).getroot().find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "kill orders: started, in order (expected [orders], got [orders, billing])"


@pytest.mark.parametrize("where", ["missing-dir/report.xml", "."])
def test_an_unwritable_junit_path_is_exit_2_in_one_line(where: str, tmp_path: Path, capsys: Capsys) -> None:
    target = tmp_path / where
    status, out, err = run(["call-to-dying-server", "--junit", str(target)], capsys)
    assert status == 2
    assert out == ""
    line = one_error_line(err)
    assert f"cannot write {target}" in line


# -- usage errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--json"],
        ["-v", "--junit", "x.xml"],
        ["one-for-one-isolation", "--all"],
        ["--list", "--all"],
        ["--list", "monitor-leak"],
        ["--file", EXAMPLE, "--all"],
        ["--file", EXAMPLE, "monitor-leak"],
    ],
)
def test_no_selection_or_two_selections_is_a_usage_error(argv: list[str], capsys: Capsys) -> None:
    line = usage_error(argv, capsys)
    assert "give exactly one of NAME, --all, --file or --list" in line


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--all", "extra", "words"], "unrecognized arguments: words"),
        (["--file"], "argument --file: expected one argument"),
        (["--all", "--app", f"{SHOP}:factory"], "--app needs --file"),
        (["monitor-leak", "--app", f"{SHOP}:factory"], "--app needs --file"),
    ],
)
def test_other_usage_errors_are_one_line(argv: list[str], complaint: str, capsys: Capsys) -> None:
    line = usage_error(argv, capsys)
    assert complaint in line
    assert line.endswith("(try observer drill --help)")


# -- --file ---------------------------------------------------------------------------------------


def test_the_example_drill_file_passes(capsys: Capsys) -> None:
    status, out, err = run(["--file", EXAMPLE], capsys)
    assert status == 0, out
    assert out.splitlines()[0].startswith("PASS  router-restarts-alone  (")
    assert out.splitlines()[-1] == "1 passed, 0 failed"
    assert err == ""


def test_a_drill_file_with_a_wrong_expectation_fails_naming_it(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "wrong.toml"
    path.write_text("""
[drill]
name = "wrong-about-the-router"

[[step]]
name = "kill the signal router"
kill = "system/services/signal_router"
expect_unchanged = ["system/services/rate_limiter"]
expect_started = ["signal_router", "rate_limiter"]
""")
    status, out, _ = run(["--file", str(path)], capsys)
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith("FAIL  wrong-about-the-router  (")
    assert "  BAD kill the signal router  (" in out
    assert "      ✗ started, in order: expected [signal_router, rate_limiter], got [signal_router]" in lines
    assert not any("rate_limiter unchanged" in line for line in lines)  # it held: only broken ones are shown
    assert lines[-1] == "0 passed, 1 failed"


def test_a_failing_drill_file_as_json(tmp_path: Path, capsys: Capsys) -> None:
    drill = write_drill(tmp_path, "shop", started='["billing", "orders"]')
    status, out, _ = run(["--file", drill, "--app", f"{SHOP}:factory", "--json"], capsys)
    assert status == 1
    document = json.loads(out)
    assert (document["passed"], document["failed"]) == (0, 1)
    [report] = document["drills"]
    assert report["name"] == "orders-takes-billing-down"
    assert report["passed"] is False
    broken = [e for step in report["steps"] for e in step["expectations"] if not e["passed"]]
    assert broken == [{"description": "started, in order", "passed": False,
                       "expected": "[billing, orders]", "actual": "[orders, billing]"}]


def test_a_malformed_drill_file_is_exit_2_naming_file_field_and_value(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[drill]\nname = "d"\n\n[[step]]\nkill = 3\n')
    status, out, err = run(["--file", str(path)], capsys)
    assert status == 2
    assert out == ""
    assert one_error_line(err) == f"observer drill: error: {path}: step 1: kill must be a str, got 3"


def test_a_missing_drill_file_is_exit_2(tmp_path: Path, capsys: Capsys) -> None:
    status, out, err = run(["--file", str(tmp_path / "nope.toml")], capsys)
    assert status == 2
    assert out == ""
    assert "nope.toml: no such drill file" in one_error_line(err)


def test_a_drill_file_that_is_not_toml_is_exit_2(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "x.toml"
    path.write_text("this is not = = toml")
    status, _, err = run(["--file", str(path)], capsys)
    assert status == 2
    assert f"{path}: not valid TOML" in one_error_line(err)


# -- --app ------------------------------------------------------------------------------------------


def test_a_drill_file_runs_against_the_users_tree(tmp_path: Path, capsys: Capsys) -> None:
    status, out, err = run(["--file", write_drill(tmp_path, "shop"), "--app", f"{SHOP}:factory", "-v"], capsys)
    assert status == 0, out
    assert "✓ shop/orders restarted: expected a new pid" in out
    assert "✓ shop/inventory unchanged: expected the same pid" in out
    assert "✓ stopped, in order: expected [billing], got [billing]" in out
    assert out.splitlines()[-1] == "1 passed, 0 failed"
    assert err == ""


def test_a_dotted_factory_path_works_too(tmp_path: Path, capsys: Capsys) -> None:
    status, out, _ = run(["--file", write_drill(tmp_path, "shop"), "--app", f"{SHOP}:Factories.shop"], capsys)
    assert status == 0, out


def test_an_unnamed_root_is_registered_as_root(tmp_path: Path, capsys: Capsys) -> None:
    status, out, _ = run(["--file", write_drill(tmp_path, "root"), "--app", f"{SHOP}:unnamed_factory", "-v"], capsys)
    assert status == 0, out
    assert "✓ root/orders restarted" in out


def test_paths_must_start_with_the_roots_registered_name(tmp_path: Path, capsys: Capsys) -> None:
    status, out, _ = run(["--file", write_drill(tmp_path, "root"), "--app", f"{SHOP}:factory"], capsys)
    assert status == 1
    assert "✗ DrillError: 'root/orders': no process is registered as 'root'" in out


def test_the_default_system_paths_do_not_exist_in_the_users_tree(capsys: Capsys) -> None:
    status, out, _ = run(["--file", EXAMPLE, "--app", f"{SHOP}:factory", "--json"], capsys)
    assert status == 1
    [report] = json.loads(out)["drills"]
    errors = [step["error"] for step in report["steps"]]
    assert all(errors), errors  # every step failed, saying why, and the run did not hang on the churn
    assert errors[1] == "DrillError: 'system/services/signal_router': no process is registered as 'system'"


@pytest.mark.parametrize(
    ("target", "complaint"),
    [
        ("shop", "--app expects package.module:factory, got 'shop'"),
        (f"{SHOP}:", "--app expects package.module:factory"),
        ("tests.drills.fixtures.nowhere:factory", "cannot import 'tests.drills.fixtures.nowhere'"),
        ("tests.drills.fixtures.broken:factory", "database driver that is not installed"),
        (f"{SHOP}:missing", f"module {SHOP!r} has no attribute 'missing'"),
        (f"{SHOP}:not_async", "'not_async' must be `async def not_async(rt) -> Pid`"),
        (f"{SHOP}:NOT_CALLABLE", "'NOT_CALLABLE' must be `async def NOT_CALLABLE(rt) -> Pid`, got 42"),
    ],
)
def test_a_bad_app_target_is_exit_2_in_one_line(target: str, complaint: str, capsys: Capsys) -> None:
    status, out, err = run(["--file", EXAMPLE, "--app", target], capsys)
    assert status == 2
    assert out == ""
    assert complaint in one_error_line(err)


def test_a_tree_that_cannot_start_fails_the_drill_saying_why(tmp_path: Path, capsys: Capsys) -> None:
    status, out, _ = run(["--file", write_drill(tmp_path, "shop"), "--app", f"{SHOP}:crashing_factory"], capsys)
    assert status == 1
    assert "  BAD start the tree  (" in out
    assert "✗ StartError: " in out
    assert "inventory database is unreachable" in out


def test_a_factory_that_returns_no_pid_fails_the_drill(tmp_path: Path, capsys: Capsys) -> None:
    status, out, _ = run(["--file", write_drill(tmp_path, "shop"), "--app", f"{SHOP}:returns_none"], capsys)
    assert status == 1
    assert "✗ the factory returned None, not the pid of a live process" in out


# -- side effects ---------------------------------------------------------------------------------


def test_quieting_crash_reports_does_not_outlive_the_run(capsys: Capsys) -> None:
    logger = logging.getLogger("observer")
    before = logger.level
    assert run(["restart-types"], capsys)[0] == 0
    assert logger.level == before


# -- bad input found by fuzzing the command (issue 12) ------------------------------------------------

STUCK = "tests.drills.fixtures.stuck"


def command(*argv: str) -> list[str]:
    """`observer drill argv` as a subprocess command line (run from the repository, where the fixtures import)."""
    return observer_command("drill", *argv)


def finished(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`observer drill argv` run to its end in a subprocess."""
    return subprocess.run(command(*argv), capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def test_list_json_prints_the_drills_as_json(capsys: Capsys) -> None:
    status, out, err = run(["--list", "--json"], capsys)
    assert (status, err) == (0, "")
    assert json.loads(out) == [{"name": drill.name, "description": drill.description} for drill in BUILTIN_DRILLS]


def test_verbose_prints_no_raw_log_line() -> None:
    result = finished("one-for-one-isolation", "-v")  # its kill makes the supervisor log the exit
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1] == "1 passed, 0 failed"


def test_log_appends_the_runtimes_records_to_a_file(tmp_path: Path, capsys: Capsys) -> None:
    log = tmp_path / "runtime.log"
    log.write_text("earlier run\n")
    status, _, err = run(["one-for-one-isolation", "-v", "--log", str(log)], capsys)
    assert (status, err) == (0, "")
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier run"
    assert any(re.search(r" ERROR observer\.supervisor: .*child 'rate_limiter' .* reason 'killed'", line)
               for line in lines), lines


def test_routing_the_log_does_not_outlive_the_run(tmp_path: Path, capsys: Capsys) -> None:
    loggers = [logging.getLogger(name) for name in ("observer", "asyncio")]
    before = [(logger.level, logger.propagate, list(logger.handlers)) for logger in loggers]
    assert run(["one-for-one-isolation", "--log", str(tmp_path / "log")], capsys)[0] == 0
    assert [(logger.level, logger.propagate, list(logger.handlers)) for logger in loggers] == before


def test_an_unwritable_log_is_exit_2_in_one_line(tmp_path: Path, capsys: Capsys) -> None:
    status, out, err = run(["one-for-one-isolation", "--log", str(tmp_path / "no-dir" / "log")], capsys)
    assert (status, out) == (2, "")
    assert one_error_line(err) == f"observer drill: error: cannot write the log {tmp_path / 'no-dir' / 'log'}: " \
        "No such file or directory"


def test_drill_sizes_are_bounded(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "huge.toml"
    path.write_text('[drill]\nname = "huge"\n[[step]]\nchurn = { pattern = "a.*", subscribers = 100000000 }\n')
    status, out, err = run(["--file", str(path)], capsys)
    assert (status, out) == (2, "")
    assert one_error_line(err) == (
        f"observer drill: error: {path}: step 1: churn: subscribers must be at most 10,000, got 100,000,000"
    )


def test_a_deeply_nested_drill_file_is_one_line(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "deep.toml"
    path.write_text('[drill]\nname = "deep"\n[[step]]\nkill = ' + "[" * 100_000 + "]" * 100_000 + "\n")
    status, out, err = run(["--file", str(path)], capsys)
    assert (status, out) == (2, "")
    assert one_error_line(err).startswith(f"observer drill: error: {path}: nested too deeply")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_a_bad_start_timeout_is_a_usage_error(value: str, capsys: Capsys) -> None:
    line = usage_error(["--file", EXAMPLE, "--start-timeout", value], capsys)
    assert "argument --start-timeout: " in line


def test_a_hanging_factory_fails_at_the_start_timeout(tmp_path: Path, capsys: Capsys) -> None:
    status, out, err = run(["--file", write_drill(tmp_path, "stuck"), "--app", f"{STUCK}:hangs",
                            "--start-timeout", "0.2"], capsys)
    assert (status, err) == (1, "")
    assert "      ✗ the factory did not return the root within 0.2 s" in out.splitlines()
    assert out.splitlines()[-1] == "0 passed, 1 failed"


def test_a_hanging_factory_fails_at_the_start_timeout_in_json(tmp_path: Path, capsys: Capsys) -> None:
    status, out, _ = run(["--file", write_drill(tmp_path, "stuck"), "--app", f"{STUCK}:hangs",
                          "--start-timeout", "0.2", "--json"], capsys)
    assert status == 1
    [report] = json.loads(out)["drills"]
    assert [step["error"] for step in report["steps"]] == ["the factory did not return the root within 0.2 s"]


@pytest.mark.parametrize("factory", ["blocks", "blocks_in_a_child"])
def test_a_factory_that_blocks_the_loop_fails_at_the_start_timeout(factory: str, tmp_path: Path) -> None:
    started = time.monotonic()
    result = finished("--file", write_drill(tmp_path, "stuck"), "--app", f"{STUCK}:{factory}",
                      "--start-timeout", "0.3", timeout=30)
    assert time.monotonic() - started < 20  # the factory sleeps for an hour
    assert result.returncode == 1
    assert result.stderr == ""
    assert "      ✗ the factory held the event loop for over 0.3 s (a blocking call in async code?)" in \
        result.stdout.splitlines()


def test_a_factory_that_ignores_its_cancellation_ends_in_one_line(tmp_path: Path) -> None:
    result = finished("--file", write_drill(tmp_path, "stuck"), "--app", f"{STUCK}:ignores_cancellation",
                      "--start-timeout", "0.3", timeout=30)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "observer drill: error: the tree did not start within 0.3 s, and its factory would not stop when cancelled\n"
    )


@pytest.mark.parametrize(("factory", "code"), [("exits", 3), ("exits_in_a_child", 4)])
def test_a_factory_raising_system_exit_is_one_line(factory: str, code: int, tmp_path: Path) -> None:
    result = finished("--file", write_drill(tmp_path, "stuck"), "--app", f"{STUCK}:{factory}")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"observer drill: error: the tree raised SystemExit({code}): the drill stopped "
        "(a process must not exit the interpreter)\n"
    )


def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path) -> None:
    drill = subprocess.Popen(command("--file", write_drill(tmp_path, "stuck"), "--app", f"{STUCK}:announced_hang"),
                             cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert drill.stdout is not None
        assert drill.stdout.readline() == "ready\n"  # the factory is running: the drill is under way
        drill.send_signal(signal.SIGINT)
        out, err = drill.communicate(timeout=30)
    finally:
        drill.kill()
    assert drill.returncode == 130
    assert (out, err) == ("", "observer drill: interrupted\n")
