"""Python drill files (`observer drill --file drills.py`): loading, bad files in one line, running, failures
as messages (never tracebacks), deadlines."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

from observer.commands.drill import main
from observer.drills import load_drills
from observer.drills.toml_drill import DrillFileError
from tests.subprocesses import ROOT, observer_command

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WEB_DRILLS = str(FIXTURES / "web_drills.py")
BROKEN = str(FIXTURES / "pydrills" / "broken.py")
WEB = "tests.drills.fixtures.web"
SHOP = "tests.drills.fixtures.shop:factory"

Capsys = pytest.CaptureFixture[str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run(argv: list[str], capsys: Capsys) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def refused(tmp_path: Path, source: str) -> str:
    path = tmp_path / "drills.py"
    path.write_text(source)
    with pytest.raises(DrillFileError) as raised:
        load_drills(path)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


# -- loading ----------------------------------------------------------------------------------------


def test_the_drills_are_the_drill_functions_in_file_order() -> None:
    drills = load_drills(WEB_DRILLS)
    assert [(drill.name, drill.description) for drill in drills] == [
        ("listener-comes-back", "kill the listener: restarted within 100 ms, and /health answers 200 again"),
        ("cache-keeps-what-it-was-told", "a put survives a kill of the cache"),
        ("the-cache-serves-while-the-store-hangs", "a hung store: the cache still answers from memory under load"),
    ]


def test_a_drill_may_import_its_neighbours(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("WHAT = 'a neighbour'\n")
    path = tmp_path / "drills.py"
    path.write_text("from helpers import WHAT\n\nasync def drill_x(ctx):\n    pass\n")
    [drill] = load_drills(path)
    assert drill.name == "x" and drill.description == ""


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ("def drill_x(ctx):\n    pass\n", "drill_x must be `async def drill_x(ctx)`, got <function drill_x"),
        ("async def drill_x():\n    pass\n", "drill_x must take one argument, the drill context"),
        ("async def drill_x(ctx, other):\n    pass\n", "drill_x must take one argument"),
        ("async def helper(ctx):\n    pass\n", "no drills in it: define `async def drill_<name>(ctx)` functions"),
        ("async def drill_x(ctx:\n", "syntax error at line 1: "),
        ("import no_such_module_for_drills\n", "importing it raised ModuleNotFoundError: No module named "
         "'no_such_module_for_drills'"),
        ("raise SystemExit(3)\n", "importing it raised SystemExit(3)"),
        ("from observer.drills import drill\n@drill(name='a')\nasync def one(ctx): pass\n"
         "@drill(name='a')\nasync def two(ctx): pass\n", "two drills are named 'a'"),
    ],
)
def test_a_bad_python_drill_file_is_one_line(tmp_path: Path, source: str, complaint: str) -> None:
    assert refused(tmp_path, source).startswith(complaint)


def test_a_missing_python_drill_file(tmp_path: Path) -> None:
    with pytest.raises(DrillFileError, match=r"drills\.py: no such drill file$"):
        load_drills(tmp_path / "drills.py")


def test_a_bad_python_drill_file_is_exit_2_from_the_command(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "drills.py"
    path.write_text("async def nothing(ctx):\n    pass\n")
    status, out, err = run(["--file", str(path)], capsys)
    assert (status, out) == (2, "")
    assert err == f"observer drill: error: {path}: no drills in it: define `async def drill_<name>(ctx)` functions\n"


# -- running ----------------------------------------------------------------------------------------


def test_python_drills_pass_on_the_correct_service(monkeypatch: pytest.MonkeyPatch, capsys: Capsys) -> None:
    monkeypatch.setenv("WEB_FIXTURE_PORT", str(free_port()))
    status, out, err = run(["--file", WEB_DRILLS, "--app", f"{WEB}:factory"], capsys)
    assert (status, err) == (0, ""), out
    assert out.splitlines()[-1] == "3 passed, 0 failed"


def test_python_drills_fail_on_a_leaky_listener_naming_the_cause(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: Capsys) -> None:
    monkeypatch.setenv("WEB_FIXTURE_PORT", str(free_port()))
    status, out, err = run(["--file", WEB_DRILLS, "--app", f"{WEB}:leaky_factory", "--json"], capsys)
    assert (status, err) == (1, "")
    document = json.loads(out)
    assert (document["passed"], document["failed"]) == (0, 3)
    [step] = document["drills"][0]["steps"]
    assert not step["passed"]
    assert any("address already in use" in cause for cause in step["causes"]), step
    # the leaked socket outlives its drill: the next trees cannot start, and say why
    for later in document["drills"][1:]:
        [start] = later["steps"]
        assert start["name"] == "start the tree"
        assert "'listener'" in start["error"] and "address already in use" in start["error"], start


def test_a_raising_drill_is_a_failed_drill_with_its_message_and_line(capsys: Capsys) -> None:
    status, out, err = run(["--file", BROKEN, "--app", SHOP], capsys)
    assert (status, err) == (1, "")
    assert "Traceback" not in out
    lines = out.splitlines()
    assert lines[-1] == "1 passed, 3 failed"
    assert "      ✗ AssertionError: arithmetic is broken" in lines
    assert any(line.startswith("      ✗ RuntimeError: the drill itself is broken (at broken.py:") and
               line.endswith(" in drill_raises)") for line in lines), lines
    assert any(line.startswith("      ✗ KeyError: 'missing' (at broken.py:") for line in lines), lines


def test_an_assert_fails_its_step_and_the_next_step_runs(capsys: Capsys) -> None:
    _, out, _ = run(["--file", BROKEN, "--app", SHOP, "--json"], capsys)
    drills = {drill["name"]: drill for drill in json.loads(out)["drills"]}
    steps = drills["asserts-in-a-step"]["steps"]
    assert [(step["name"], step["passed"]) for step in steps] == [("bad", False), ("after", True)]
    assert [step["name"] for step in drills["raises"]["steps"]] == ["the drill raised"]
    assert [step["name"] for step in drills["raises-in-a-step"]["steps"]] == ["look something up"]


def test_the_traceback_of_a_raising_drill_goes_to_the_log(tmp_path: Path, capsys: Capsys) -> None:
    log = tmp_path / "drills.log"
    run(["--file", BROKEN, "--app", SHOP, "--log", str(log)], capsys)
    text = log.read_text()
    assert "ERROR observer.drills: drill 'raises' raised" in text
    assert "Traceback (most recent call last)" in text


def test_a_drill_past_its_timeout_fails_at_its_step(capsys: Capsys) -> None:
    started = time.monotonic()
    status, out, err = run(["--file", str(FIXTURES / "pydrills" / "slow.py"), "--app", SHOP, "--timeout", "0.3"],
                           capsys)
    assert time.monotonic() - started < 10
    assert (status, err) == (1, "")
    assert "      ✗ the drill did not finish within 0.3 s (its --timeout)" in out.splitlines()


def test_a_drill_that_blocks_the_loop_ends_in_one_line() -> None:
    started = time.monotonic()
    result = subprocess.run(
        observer_command("drill", "--file", str(FIXTURES / "pydrills" / "blocking.py"), "--app", SHOP,
                         "--timeout", "0.3"),
        cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert time.monotonic() - started < 30  # the drill sleeps for an hour
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == ("observer drill: error: the event loop was held for over 0.3 s while a drill ran "
                             "(a blocking call in async code?): the drills stopped\n")


@pytest.mark.parametrize("value", ["0", "-2", "inf", "later"])
def test_a_bad_timeout_is_a_usage_error(value: str, capsys: Capsys) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--all", "--timeout", value])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --timeout: " in err
