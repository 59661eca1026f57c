"""`observer web` on bad input: one line on stderr, the right exit status, nothing left running."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from observer.cli import main
from tests.subprocesses import DEADLINE, ROOT, observer_command


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """`observer web ARGS...` to the end; it must end by itself."""
    return subprocess.run(observer_command("web", *args), cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE)


@pytest.mark.parametrize(("args", "says"), [
    (["--port", "http"], "argument --port: expected a port number, got 'http'"),
    (["--port", "65536"], "argument --port: a port is 0 to 65535, got '65536'"),
    (["--port", "-1"], "argument --port: a port is 0 to 65535, got '-1'"),
    (["--host", "0.0.0.0"], "--host 0.0.0.0 is not loopback: anyone who reaches it could drive the app; "
                            "pass --token TOKEN too"),
    (["--host", "192.0.2.7", "--token", "short"], "--token must be at least 16 characters"),
])
def test_a_usage_error_is_one_line_and_status_2(args: list[str], says: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"observer web: error: {says}")
    assert result.stderr.endswith("(try observer web --help)\n") and result.stderr.count("\n") == 1


def test_a_taken_port_is_one_line_and_status_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"observer web: cannot listen on 127.0.0.1:{port}: address already in use\n"


@pytest.mark.parametrize(("target", "says"), [
    ("/tmp/observer-web-test-no-such.sock", "no endpoint at /tmp/observer-web-test-no-such.sock"),
    ("4194304", "no OS process 4194304"),  # above Linux's largest pid
])
def test_an_unreachable_attach_target_is_one_line_and_status_1(target: str, says: str) -> None:
    result = run("--attach", target, "--port", "0")
    assert result.returncode == 1
    assert result.stdout == ""  # it never served
    assert result.stderr == f"observer web: --attach {target}: {says}\n"


def test_help_says_attach_is_the_recommended_form(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["web", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--attach is the recommended form" in text
    assert "address already in use" in text  # why: a tree of your own cannot run once per tab
    assert "any other --host needs --token" in text


def test_without_the_web_extra_it_says_how_to_install_it() -> None:
    script = "import sys; sys.modules['textual_serve'] = None; from observer.cli import main; sys.exit(main(['web']))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            timeout=DEADLINE)
    assert result.returncode == 1
    assert result.stderr == ("observer web: needs the [web] extra (textual_serve is missing): "
                             "pip install 'aio-observer[web]'\n")
