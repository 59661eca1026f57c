"""Tests for the ``observer`` command line (observer/cli.py and observer/commands/app.py)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import observer.cli
import observer.commands.app
from observer.cli import main
from tests.subprocesses import observer_command

FACTORIES = """
import asyncio

from observer.runtime import Pid, Runtime

async def build(rt: Runtime) -> Pid:
    raise NotImplementedError

async def never_returns(rt: Runtime) -> Pid:
    await asyncio.Event().wait()
    raise AssertionError("not timed out")

not_callable = 42

def not_async(rt):
    return None
"""


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what the command would run the app with, instead of running it (the app's other options too)."""
    calls: list[dict[str, Any]] = []

    def run_app(factory: Any, *, read_only: bool, refresh_interval: float, **options: Any) -> None:
        calls.append({"factory": factory, "read_only": read_only, "refresh_interval": refresh_interval, **options})

    monkeypatch.setattr(observer.commands.app, "run_app", run_app)
    return calls


@pytest.fixture
def factories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module `cli_factories` with a good factory and bad targets; returns its name."""
    (tmp_path / "cli_factories.py").write_text(textwrap.dedent(FACTORIES))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "cli_factories"


@pytest.mark.parametrize(
    ("argv", "read_only", "refresh"),
    [
        ([], False, 0.25),
        (["--read-only"], True, 0.25),
        (["--refresh", "0.5"], False, 0.5),
        (["--refresh", "2"], False, 2.0),
    ],
)
def test_the_app_runs_on_the_default_system(
    argv: list[str], read_only: bool, refresh: float, launched: list[dict[str, Any]]
) -> None:
    assert main(argv) == 0
    assert launched == [{"factory": None, "read_only": read_only, "refresh_interval": refresh}]


def test_app_hosts_the_users_factory(factories: str, launched: list[dict[str, Any]]) -> None:
    assert main(["--app", f"{factories}:build", "--read-only", "--refresh", "0.05"]) == 0
    [call] = launched
    assert call["factory"] is sys.modules[factories].build
    assert call["read_only"] is True
    assert call["refresh_interval"] == 0.05


@pytest.mark.parametrize(
    ("target", "complaint"),
    [
        ("no_such_module_here:build", "cannot import 'no_such_module_here'"),
        ("cli_factories:missing", "has no attribute 'missing'"),
        ("cli_factories:not_callable", "'not_callable' must be `async def not_callable(rt) -> Pid`"),
        ("cli_factories:not_async", "'not_async' must be `async def not_async(rt) -> Pid`"),
    ],
)
def test_a_bad_app_target_is_one_line_before_the_app_starts(
    target: str, complaint: str, factories: str, launched: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--app", target])
    assert exit_info.value.code == 2
    assert launched == []
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"observer: error: --app {target}: ")
    assert complaint in line
    assert line.endswith("(try observer --help)")


def test_drill_lists_the_builtin_drills(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drill", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 9
    assert lines[0].split()[0] == "rest-for-one-cascade"


def test_drill_runs_one_drill_headless(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drill", "one-for-one-isolation"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"


@pytest.mark.parametrize("argv", [["drill"], ["drill", "crash"], ["drill", "--list", "--all"]])
def test_drill_usage_errors_are_one_line_with_status_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(argv)
    except SystemExit as exit:
        status = exit.code  # type: ignore[assignment]
    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("observer drill: error: ")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--refresh", "0"], "argument --refresh: must be a positive number of seconds, got '0'"),
        (["--refresh", "-1"], "argument --refresh: must be a positive number of seconds, got '-1'"),
        (["--refresh", "inf"], "argument --refresh: must be a positive number of seconds, got 'inf'"),
        (["--refresh", "nan"], "argument --refresh: must be a positive number of seconds, got 'nan'"),
        (["--refresh", "fast"], "argument --refresh: expected a number of seconds, got 'fast'"),
        (["--refresh", "0.001"],
         "argument --refresh: must be at least 0.05 seconds (faster only burns CPU), got '0.001'"),
        (["--refresh", "0.0499"], "argument --refresh: must be at least 0.05 seconds"),
        (["--start-timeout", "0"], "argument --start-timeout: must be a positive number of seconds, got '0'"),
        (["--app", "cli_factories:build", "--store", "state.db"], "--store keeps the default system's agent state"),
        (["--refresh"], "argument --refresh: expected one argument"),
        (["--store", "-dash.db"],
         "argument --store: expected one argument (a value that starts with - goes as --option=VALUE)"),
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
    for option in ("--app", "--read-only", "--refresh", "--start-timeout", "--store", "--log", "--version", "drill"):
        assert option in help_text
    assert "`observer 2>FILE` captures the screen, not the runtime's log: use --log FILE" in " ".join(help_text.split())


def test_python_m_observer_reports_an_unimportable_app_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        observer_command("--app", "no_such_package.tree:build"),
        capture_output=True, text=True, check=False, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("observer: error: --app no_such_package.tree:build: cannot import 'no_such_package.tree'")
    assert "Traceback" not in result.stderr


def test_python_m_observer_reports_a_bad_refresh_in_one_line() -> None:
    result = subprocess.run(
        observer_command("--refresh", "-1"), capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line == (
        "observer: error: argument --refresh: must be a positive number of seconds, got '-1' "
        "(try observer --help)"
    )


def test_drill_after_an_option_is_a_usage_error_not_the_app(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--read-only", "drill", "--list"])
    assert exit_info.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "`drill` comes first" in line


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"observer {observer.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", observer.__version__)


def test_only_version_is_read_lazily() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        observer.nothing  # noqa: B018


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    for name, command in observer.cli.COMMANDS.items():
        assert re.search(rf"^ +{name} +{re.escape(command.summary)}", help_text, re.M), help_text


def test_each_command_is_its_modules_main(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    for name, command in observer.cli.COMMANDS.items():
        module = importlib.import_module(command.module)
        monkeypatch.setattr(module, "main", lambda argv: seen.append(argv) or 7)
        assert main([name, "--x", name]) == 7
        assert seen.pop() == ["--x", name]


def test_help_loads_no_command_module_and_no_textual() -> None:
    script = (
        "import sys, contextlib, io\n"
        "from observer.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('observer.commands.drill')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


def test_the_apps_options_reach_it_only_when_given(launched: list[dict[str, Any]]) -> None:
    assert main(["--start-timeout", "2.5", "--confirm"]) == 0
    assert main(["--start-timeout", "10"]) == 0
    assert [{key: value for key, value in call.items() if key not in ("factory", "read_only", "refresh_interval")}
            for call in launched] == [{"start_timeout": 2.5, "confirm_kill": True}, {}]


def test_the_default_start_timeout_is_the_apps() -> None:
    from observer.source.in_process import START_TIMEOUT

    assert observer.commands.app.START_TIMEOUT == START_TIMEOUT


async def test_a_factory_that_never_returns_shows_the_start_timeout_given(
    factories: str, launched: list[dict[str, Any]]
) -> None:
    from observer.app import ObserverApp
    from observer.source import InProcessSource
    from observer.widgets.supervision_tree import SupervisionTree

    assert main(["--app", f"{factories}:never_returns", "--start-timeout", "0.2"]) == 0
    [options] = launched
    app = ObserverApp(**options, ticking=False)
    async with app.run_test(size=(100, 30)) as pilot:
        source = app.source
        assert isinstance(source, InProcessSource)
        async with asyncio.timeout(5):  # the start gives up after 0.2 s (by default after 10): only a bug waits 5
            while source.state.phase != "failed":
                await pilot.pause()
        await pilot.pause()
        label = app.query_one(SupervisionTree).root.label
        assert str(label) == "did not start: the factory did not return the root within 0.2 s (R tries again)"


def test_log_sends_the_runtimes_records_to_a_file_while_the_app_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "observer.log"

    def run_app(factory: Any, *, read_only: bool, refresh_interval: float, **options: Any) -> None:
        logging.getLogger("observer.crash").error("process <0.7.0> crashed")
        logging.getLogger("asyncio").error("Task exception was never retrieved")

    monkeypatch.setattr(observer.commands.app, "run_app", run_app)
    assert main(["--log", str(log)]) == 0
    lines = log.read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "ERROR observer.crash: process <0.7.0> crashed",
        "ERROR asyncio: Task exception was never retrieved",
    ]
    assert capsys.readouterr().err == ""
    logging.getLogger("observer.crash").error("after the app")  # the file is no longer written
    assert len(log.read_text().splitlines()) == 2


def test_an_unwritable_log_is_one_line_before_the_app_starts(
    tmp_path: Path, launched: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--log", str(tmp_path / "no-dir" / "log")])
    assert exit_info.value.code == 2
    assert launched == []
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"observer: error: --log {tmp_path / 'no-dir' / 'log'}: cannot write it: No such file or " \
        "directory (try observer --help)"


async def test_store_keeps_agent_state_in_a_file_across_runs(tmp_path: Path, launched: list[dict[str, Any]]) -> None:
    from observer.runtime import Runtime
    from observer.system import Agent

    store = tmp_path / "state.db"
    assert main(["--store", str(store)]) == 0
    [call] = launched
    factory = call["factory"]
    assert factory.__name__ == "observer"  # the app's title for the default system
    async with Runtime() as rt:
        root = await factory(rt)
        assert rt.whereis("system") is root  # the default system: the built-in drills find it
        await Agent.put(rt, "agent_1", "drill_marker", "kept")
    async with Runtime() as rt:
        await factory(rt)
        assert (await Agent.state(rt, "agent_1"))["drill_marker"] == "kept"


@pytest.mark.parametrize(
    ("where", "complaint"),
    [("no-dir/state.db", "directory '{tmp}/no-dir' does not exist"), (".", "it is a directory")],
)
def test_a_store_that_cannot_be_a_database_is_one_line(
    where: str, complaint: str, tmp_path: Path, launched: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--store", str(tmp_path / where)])
    assert exit_info.value.code == 2
    assert launched == []
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"observer: error: --store {tmp_path / where}: state store could not open")
    assert complaint.format(tmp=tmp_path) in line


def test_a_store_that_is_not_a_database_is_one_line(
    tmp_path: Path, launched: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, but long enough to have a SQLite header's worth of bytes in it\n" * 4)
    with pytest.raises(SystemExit):
        main(["--store", str(notes)])
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith("file is not a database (try observer --help)")


def test_a_token_comes_from_the_option_then_the_file_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from observer.commands.parsing import OneLineParser, add_token_options, resolve_token

    parser = OneLineParser(prog="observer test")
    add_token_options(parser)
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    monkeypatch.setenv("OBSERVER_TOKEN", "from-env")
    assert resolve_token(parser, parser.parse_args([])) == "from-env"
    assert resolve_token(parser, parser.parse_args(["--token-file", str(token_file)])) == "from-file"
    assert resolve_token(parser, parser.parse_args(["--token", "given", "--token-file", str(token_file)])) == "given"
    assert resolve_token(parser, parser.parse_args(["--token=-leading-dash"])) == "-leading-dash"
    monkeypatch.delenv("OBSERVER_TOKEN")
    assert resolve_token(parser, parser.parse_args([])) is None
    with pytest.raises(SystemExit) as exited:
        resolve_token(parser, parser.parse_args(["--token-file", str(tmp_path / "missing")]))
    assert exited.value.code == 2


def test_drills_loads_the_drill_file_for_the_app(tmp_path: Path, launched: list[dict[str, Any]]) -> None:
    drill_file = tmp_path / "mine.toml"
    drill_file.write_text('[drill]\nname = "mine"\ndescription = "kill the store"\n\n[[step]]\nkill = "demo/store"\n')
    assert main(["--drills", str(drill_file)]) == 0
    [call] = launched
    assert [drill.name for drill in call["drills"]] == ["mine"] and call["drills_from"] == str(drill_file)


@pytest.mark.parametrize(("content", "complaint"), [
    (None, "no such drill file"),
    ("not = [toml", "not valid TOML"),
    ('[drill]\nname = "x"\n', "a drill needs at least one [[step]]"),
])
def test_a_drill_file_that_cannot_be_loaded_is_one_line_before_the_app_starts(
    content: str | None, complaint: str, tmp_path: Path, launched: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str]
) -> None:
    drill_file = tmp_path / "bad.toml"
    if content is not None:
        drill_file.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["--drills", str(drill_file)])
    assert exit_info.value.code == 2 and launched == []
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"observer: error: --drills {drill_file}: ") and complaint in line
    assert line.endswith("(try observer --help)")
