"""`observer drill --file F --attach TARGET`: drills against a real service in its own OS process
(`observer run` in a subprocess), through its endpoint. Readiness is the line `observer run` prints
once it listens; nothing here sleeps to let something happen."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.subprocesses import ROOT, observer_command

EXAMPLES = ROOT / "examples"
WEB = "tests.drills.fixtures.web"
DEADLINE = 60
_LISTENING = re.compile(r"listening on (\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Service:
    process: subprocess.Popen[str]
    path: str
    port: int


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """The environment of the service and the commands: a private socket directory, a free port."""
    directory = tempfile.mkdtemp(prefix="obs", dir="/tmp")  # short: socket paths have a 108-byte limit
    port = str(free_port())
    try:
        yield {**os.environ, "XDG_RUNTIME_DIR": directory, "WEB_FIXTURE_PORT": port, "WEB_SERVICE_PORT": port}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def service(env: dict[str, str], app: str, *args: str) -> Iterator[Service]:
    """`observer run --app APP ARGS` until the block ends (killed on the way out)."""
    process = subprocess.Popen(observer_command("run", "--app", app, *args), cwd=ROOT, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = _LISTENING.search(first)
        assert match, f"observer run did not start: {first!r} {process.stderr.read() if process.stderr else ''}"
        yield Service(process, match.group(1), int(env["WEB_FIXTURE_PORT"]))
    finally:
        process.kill()
        process.communicate(timeout=DEADLINE)


def drill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(observer_command("drill", *args), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=DEADLINE, stdin=subprocess.DEVNULL)


def attached_example(tmp_path: Path, port: int) -> str:
    """examples/web-service-attached.toml on `port`."""
    text = (EXAMPLES / "web-service-attached.toml").read_text()
    path = tmp_path / "attached.toml"
    path.write_text(text.replace("127.0.0.1:8088", f"127.0.0.1:{port}"))
    return str(path)


def test_the_attached_example_passes_on_the_running_example_service(env: dict[str, str], tmp_path: Path) -> None:
    with service(env, "examples.web_service:build", "--control") as web:
        result = drill(env, "--file", attached_example(tmp_path, web.port), "--attach", str(web.process.pid),
                       "--json")
        assert (result.returncode, result.stderr) == (0, ""), result.stdout
        [report] = json.loads(result.stdout)["drills"]
        kill = report["steps"][0]
        assert [e["description"] for e in kill["expectations"]][:2] == ["exit reason", "restarted within 100 ms"]
        # the service runs on, its cache resumed: a second run passes too
        again = drill(env, "--file", attached_example(tmp_path, web.port), "--attach", web.path)
        assert again.returncode == 0, again.stdout
        assert web.process.poll() is None


def test_a_leaky_listener_fails_attached_and_the_report_names_the_real_cause(
    env: dict[str, str], tmp_path: Path
) -> None:
    with service(env, f"{WEB}:leaky_factory", "--control") as web:
        result = drill(env, "--file", attached_example(tmp_path, web.port), "--attach", str(web.process.pid))
        assert (result.returncode, result.stderr) == (1, "")
        out = result.stdout
        assert "      ✗ restarted within 100 ms: expected <= 100 ms, got not restarted before the runtime settled" \
            in out.splitlines(), out
        # The supervisor's start failure, kept by the service's endpoint: the same line as in-process.
        cause = next(line for line in out.splitlines() if line.startswith("      cause: "))
        assert re.match(r"      cause: supervisor <0\.\d+\.0> could not start child 'listener': OSError\(98, ", cause)
        assert "address already in use" in cause, out


CACHE_DRILL = """
[drill]
name = "cache-attached"
description = "what the cache was told survives its restart"

[[step]]
name = "put a row"
call = { dest = "cache", request = ["put", "user", "ada"], expect_reply = "ok" }

[[step]]
name = "read it back, by path"
call = { dest = "web/cache", request = ["get", "user"], expect_reply = ["hit", "ada"] }
expect_state = { dest = "cache", subset = { entries = { user = "ada" } } }

[[step]]
name = "kill the cache: it reloads from the store"
kill = "web/cache"
expect_restarted = ["web/cache"]
expect_unchanged = ["web/store"]
wait_for = { call = "cache", request = ["get", "user"], reply = ["hit", "ada"], timeout_ms = 500 }
expect_state = { dest = "cache", subset = { entries = { user = "ada" } } }
expect_monitor_baseline = true
"""


def test_calls_waits_for_a_reply_and_states_run_attached(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "cache.toml"
    path.write_text(CACHE_DRILL)
    with service(env, f"{WEB}:factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid), "--json")
        assert (result.returncode, result.stderr) == (0, ""), result.stdout
        steps = json.loads(result.stdout)["drills"][0]["steps"]
        assert steps[0]["happened"] == ["call cache ['put', 'user', 'ada'] -> 'ok'"]
        assert steps[1]["happened"] == ["call web/cache ['get', 'user'] -> ['hit', 'ada']"]
        assert [e["description"] for e in steps[1]["expectations"]] == ["reply of web/cache",
                                                                       "state of cache includes"]
        kill = steps[2]
        assert any(line.startswith("cache answered ['hit', 'ada'] after ") for line in kill["happened"]), kill
        assert "rt.monitor_count() back at its baseline" in [e["description"] for e in kill["expectations"]]
        assert web.process.poll() is None


def test_the_cache_drill_fails_attached_on_a_cache_that_forgets(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "cache.toml"
    path.write_text(CACHE_DRILL)
    with service(env, f"{WEB}:forgetful_factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid), "--json")
    assert (result.returncode, result.stderr) == (1, "")
    steps = json.loads(result.stdout)["drills"][0]["steps"]
    assert [step["passed"] for step in steps] == [True, True, False]
    assert steps[2]["error"].startswith("DrillError: wait_for call 'cache' ['get', 'user']: no the reply "
                                        "['hit', 'ada'] within 500 ms; last seen: the reply 'miss'"), steps[2]


LOAD_DRILL = """
[drill]
name = "cache-under-load"
description = "a hung store does not hang the cache's reads"

[[step]]
name = "put a row"
call = { dest = "cache", request = ["put", "k", 1], expect_reply = "ok" }

[[step]]
name = "the store hangs: the cache answers every get from memory"
suspend = "store"
load = { call = "cache", request = ["get", "k"], rate = 50, during_ms = 300, timeout_ms = 200, reply = ["hit", 1] }
expect_errors_at_most = 0

[[step]]
name = "the store is back"
resume = "store"
wait_for = { call = "store", request = ["get", "k"], reply = 1 }
"""


def test_a_load_runs_attached_and_counts_what_went_wrong(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "load.toml"
    path.write_text(LOAD_DRILL)
    with service(env, f"{WEB}:factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid), "--json")
        assert (result.returncode, result.stderr) == (0, ""), result.stdout
        loaded = json.loads(result.stdout)["drills"][0]["steps"][1]
        assert loaded["happened"][0] == "load started: 15 calls to 'cache' at 50/s for 300 ms"
        assert any(line.startswith("load: 15 calls to 'cache' at 50/s over 300 ms: 15 ok, 0 errors")
                   for line in loaded["happened"]), loaded


def test_the_load_drill_fails_attached_on_a_cache_that_reads_through(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "load.toml"
    path.write_text(LOAD_DRILL)
    with service(env, f"{WEB}:reads_through_factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid), "--json")
        assert web.process.poll() is None  # the service runs on, its store resumed
    assert (result.returncode, result.stderr) == (1, "")
    steps = json.loads(result.stdout)["drills"][0]["steps"]
    assert [step["passed"] for step in steps] == [True, False, True]
    (errors,) = steps[1]["expectations"]
    assert errors["description"] == "load errors on cache" and errors["expected"] == "at most 0"
    assert re.fullmatch(r"\d+ \(CallTimeout x\d+\)", errors["actual"]) and int(errors["actual"].split()[0]) > 0


def test_what_needs_the_runtime_fails_its_step_when_attached(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "faults.toml"
    path.write_text('[drill]\nname = "faults"\n'
                    '[[step]]\nname = "flood"\nflood = { limiter = "api", key = "k", checks = 3 }\n'
                    '[[step]]\nname = "churn"\nchurn = { pattern = "a.*", subscribers = 2 }\n'
                    '[[step]]\nname = "call"\ncall = { dest = "cache", request = "ping", expect_reply = "pong" }\n')
    with service(env, f"{WEB}:factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid), "--json")
    assert result.returncode == 1
    steps = json.loads(result.stdout)["drills"][0]["steps"]
    assert [(step["name"], step["passed"]) for step in steps] == [("flood", False), ("churn", False), ("call", True)]
    assert steps[0]["error"] == ("NotAttachable: flood is not supported when attached: the rate limiter's checks "
                                 "are Python objects, which do not cross the wire (run this drill in-process "
                                 "with --app)")
    assert steps[1]["error"].startswith("NotAttachable: churn is not supported when attached: it starts")


def test_call_errors_fail_their_step_attached_as_in_process(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "errors.toml"
    path.write_text('[drill]\nname = "errors"\n'
                    '[[step]]\nname = "nobody"\ncall = { dest = "nobody", request = "ping" }\n'
                    '[[step]]\nname = "hung"\nsuspend = "cache"\n'
                    '[[step]]\nname = "timeout"\ncall = { dest = "cache", request = "ping", timeout_ms = 50 }\n'
                    '[[step]]\nname = "a date"\ncall = { dest = "store", request = 1979-05-27 }\n')
    with service(env, f"{WEB}:factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid), "--json")
    assert result.returncode == 1
    steps = json.loads(result.stdout)["drills"][0]["steps"]
    errors = {step["name"]: step["error"] for step in steps}
    assert errors["nobody"].startswith("NoProc: no process 'nobody'")
    assert errors["hung"] is None
    assert re.fullmatch(r"CallTimeout: call to <0\.\d+\.0> timed out after 0\.05s \(request 'ping'\)",
                        errors["timeout"]), errors
    assert errors["a date"].startswith("InvalidArgument: a call's request crosses the wire as JSON: a date is not")


def test_python_drills_run_attached(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "drills.py"
    path.write_text(
        "import os\n"
        "from observer.remote import RemoteRepr\n\n"
        "async def drill_kill_and_health(ctx):\n"
        "    async with ctx.step('kill the listener'):\n"
        "        kill = await ctx.kill('web/listener')\n"
        "        ctx.check('restarted', kill.restart_seconds is not None)\n"
        "        await ctx.wait_for_http(f\"http://127.0.0.1:{os.environ['WEB_FIXTURE_PORT']}/health\")\n\n"
        "async def drill_calls(ctx):\n"
        "    async with ctx.step('calls'):\n"
        "        ctx.check_equal('ping', 'pong', await ctx.call('cache', 'ping'))\n"
        "        ctx.check_equal('a put', 'ok', await ctx.call('store', ('put', 'k', {'a': (1, 2)})))\n"
        "        ctx.check_equal('a tuple arrives as a list', {'a': [1, 2]}, await ctx.call('store', ['get', 'k']))\n"
        "        state = await ctx.get_state('store')\n"
        "        ctx.check_equal('state', {'rows': {'k': {'a': [1, 2]}}}, state)\n"
        "        ctx.check('monitors', await ctx.monitor_total() >= 0)\n"
        "        load = ctx.start_load('cache', 'ping', rate=100, seconds=0.05, reply='pong')\n"
        "        result = await ctx.wait_load(load)\n"
        "        ctx.check_equal('load', [5, 0], [result.replies, result.error_count])\n"
    )
    with service(env, f"{WEB}:factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid))
    assert (result.returncode, result.stderr) == (0, ""), result.stdout
    assert result.stdout.splitlines()[-1] == "2 passed, 0 failed"


def test_a_read_only_service_is_one_line_saying_how_to_allow_control(env: dict[str, str], tmp_path: Path) -> None:
    with service(env, f"{WEB}:factory") as web:
        result = drill(env, "--file", attached_example(tmp_path, web.port), "--attach", str(web.process.pid))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("observer drill: error: drill refused: the service is read-only (the service turns "
                             "control on with `serve(rt, control=True)` or `observer run --control`)\n")


def test_an_unreachable_target_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    result = drill(env, "--file", attached_example(tmp_path, 1), "--attach", "/tmp/no-such-observer.sock")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("observer drill: error: ") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--all", "--attach", "1"], "--attach needs --file"),
        (["--file", "x.toml", "--attach", "1", "--app", f"{WEB}:factory"], "--attach and --app exclude each other"),
        (["--file", "x.toml", "--token", "t"], "--token and --token-file need --attach"),
        (["--file", "x.toml", "--token-file", "t"], "--token and --token-file need --attach"),
    ],
)
def test_attach_usage_errors(env: dict[str, str], args: list[str], complaint: str) -> None:
    result = drill(env, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert complaint in result.stderr and result.stderr.count("\n") == 1
