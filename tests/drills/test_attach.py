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
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
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
    process = subprocess.Popen([sys.executable, "-m", "observer", "run", "--app", app, *args], cwd=REPO, env=env,
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
    return subprocess.run([sys.executable, "-m", "observer", "drill", *args], cwd=REPO, env=env,
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


def test_a_leaky_listener_fails_attached_and_the_report_says_it_was_not_started_again(
    env: dict[str, str], tmp_path: Path
) -> None:
    with service(env, f"{WEB}:leaky_factory", "--control") as web:
        result = drill(env, "--file", attached_example(tmp_path, web.port), "--attach", str(web.process.pid))
        assert (result.returncode, result.stderr) == (1, "")
        out = result.stdout
        assert "      ✗ restarted within 100 ms: expected <= 100 ms, got not restarted before the runtime settled" \
            in out.splitlines(), out
        assert "did not start 'listener' again: its start failed" in out


def test_what_needs_the_runtime_fails_its_step_when_attached(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "calls.toml"
    path.write_text('[drill]\nname = "calls"\n'
                    '[[step]]\nname = "call"\ncall = { dest = "cache", request = "ping" }\n'
                    '[[step]]\nname = "load"\nload = { call = "cache", request = "ping", rate = 1, during_ms = 1 }\n'
                    '[[step]]\nname = "still runs"\nsuspend = "cache"\n[[step]]\nresume = "cache"\n')
    with service(env, f"{WEB}:factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid), "--json")
    assert result.returncode == 1
    steps = json.loads(result.stdout)["drills"][0]["steps"]
    assert [(step["name"], step["passed"]) for step in steps] == [
        ("call", False), ("load", False), ("still runs", True), ("resume cache", True)]
    assert steps[0]["error"].startswith("NotAttachable: call is not supported when attached: the service's "
                                        "endpoint offers kill, suspend, resume, snapshots and inspect")


def test_python_drills_run_attached(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "drills.py"
    path.write_text(
        "import os\n\n"
        "async def drill_kill_and_health(ctx):\n"
        "    async with ctx.step('kill the listener'):\n"
        "        kill = await ctx.kill('web/listener')\n"
        "        ctx.check('restarted', kill.restart_seconds is not None)\n"
        "        await ctx.wait_for_http(f\"http://127.0.0.1:{os.environ['WEB_FIXTURE_PORT']}/health\")\n\n"
        "async def drill_calls(ctx):\n"
        "    await ctx.call('cache', 'ping')\n"
    )
    with service(env, f"{WEB}:factory", "--control") as web:
        result = drill(env, "--file", str(path), "--attach", str(web.process.pid))
    assert (result.returncode, result.stderr) == (1, "")
    lines = result.stdout.splitlines()
    assert lines[-1] == "1 passed, 1 failed"
    assert any(line.startswith("      ✗ NotAttachable: call is not supported when attached") for line in lines), lines


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
        (["--file", "x.toml", "--token", "t"], "--token needs --attach"),
    ],
)
def test_attach_usage_errors(env: dict[str, str], args: list[str], complaint: str) -> None:
    result = drill(env, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert complaint in result.stderr and result.stderr.count("\n") == 1
