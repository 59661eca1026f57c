"""Tests for the ``observer`` command line (observer/cli.py) while the app and drills are stubs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from observer.cli import APP_NOT_BUILT, DRILLS_NOT_BUILT, main


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--read-only"],
        ["--refresh", "0.5"],
        ["--refresh", "2"],
        ["--app", "mypkg.tree:build", "--read-only", "--refresh", "1e-3"],
        ["--app", "tree:build"],
    ],
)
def test_app_says_honestly_that_it_is_not_built(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == APP_NOT_BUILT + "\n"


@pytest.mark.parametrize(
    "argv", [["drill"], ["drill", "--list"], ["drill", "--all", "--json"], ["drill", "crash"]]
)
def test_drill_says_honestly_that_it_is_not_built(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == DRILLS_NOT_BUILT + "\n"


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--refresh", "0"], "argument --refresh: must be a positive number of seconds, got '0'"),
        (["--refresh", "-1"], "argument --refresh: must be a positive number of seconds, got '-1'"),
        (["--refresh", "inf"], "argument --refresh: must be a positive number of seconds, got 'inf'"),
        (["--refresh", "nan"], "argument --refresh: must be a positive number of seconds, got 'nan'"),
        (["--refresh", "fast"], "argument --refresh: expected a number of seconds, got 'fast'"),
        (["--refresh"], "argument --refresh: expected one argument"),
        *(
            (["--app", target], f"argument --app: expected package.module:factory, got {target!r}")
            for target in ("mypkg", "mypkg.tree:", ":build", "my-pkg:build", "mypkg..tree:build", "a:b:c")
        ),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["launch"], "argument COMMAND: invalid choice: 'launch'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"observer: error: {complaint}")
    assert line.endswith("(try observer --help)")


def test_help_prints_usage_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: observer ")
    for option in ("--app", "--read-only", "--refresh", "drill"):
        assert option in help_text


def test_python_m_observer_reports_a_bad_refresh_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "observer", "--refresh", "-1"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line == (
        "observer: error: argument --refresh: must be a positive number of seconds, got '-1' "
        "(try observer --help)"
    )
