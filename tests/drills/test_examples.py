"""The example service and its drills (examples/): every example drill passes on it, as the README says."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from observer.commands.drill import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
APP = "examples.web_service:build"

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> int:
    """A free port for the example's listener ($WEB_SERVICE_PORT)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free: int = probe.getsockname()[1]
    monkeypatch.setenv("WEB_SERVICE_PORT", str(free))
    return free


def test_the_example_toml_drill_passes_on_the_example_service(port: int, tmp_path: Path, capsys: Capsys) -> None:
    text = (EXAMPLES / "web-service.toml").read_text()
    assert "127.0.0.1:8088" in text
    drill = tmp_path / "web-service.toml"
    drill.write_text(text.replace("127.0.0.1:8088", f"127.0.0.1:{port}"))
    status = main(["--file", str(drill), "--app", APP, "-v"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "load: 100 calls to 'cache' at 200/s over 500 ms: 100 ok, 0 errors" in out


def test_the_example_python_drills_pass_on_the_example_service(port: int, capsys: Capsys) -> None:
    status = main(["--file", str(EXAMPLES / "web_service_drills.py"), "--app", APP])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.splitlines()[-1] == "2 passed, 0 failed"
