"""Tests for the AST compliance check in tools/compliance.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "compliance.py"

_spec = importlib.util.spec_from_file_location("compliance", SCRIPT)
assert _spec is not None and _spec.loader is not None
compliance = importlib.util.module_from_spec(_spec)
sys.modules["compliance"] = compliance
_spec.loader.exec_module(compliance)


def check(tmp_path: Path, relative: str, source: str) -> list[str]:
    """Write ``source`` to ``tmp_path / relative`` and return the reported violations as lines."""
    file = tmp_path / relative
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(textwrap.dedent(source), encoding="utf-8")
    violations, file_count = compliance.check_paths([tmp_path], root=tmp_path)
    assert file_count == 1
    return [str(violation) for violation in violations]


def test_the_real_tree_complies() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("compliance: OK (")
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("relative", ["observer/system.py", "observer/runtime/runtime.py", "bench/calls.py"])
def test_global_is_flagged_everywhere(tmp_path: Path, relative: str) -> None:
    source = '''\
        """Module."""
        counter = 0


        def bump() -> None:
            global counter
            counter += 1
        '''
    assert check(tmp_path, relative, source) == [f"{relative}:6: {compliance.GLOBAL_MESSAGE}"]


def test_nonlocal_is_allowed(tmp_path: Path) -> None:
    source = """\
        def make():
            count = 0

            def bump():
                nonlocal count
                count += 1

            return bump
        """
    assert check(tmp_path, "observer/system.py", source) == []


@pytest.mark.parametrize(
    "call", ["rt.send(pid, msg)", "self.runtime.send(pid, msg)", "proc.runtime.send('name', 1)"]
)
@pytest.mark.parametrize("relative", ["observer/system.py", "observer/drills/runner.py", "bench/cast.py"])
def test_raw_send_outside_the_runtime_is_flagged(tmp_path: Path, relative: str, call: str) -> None:
    source = f'"""Module."""\n\n\ndef notify(rt, pid, msg, self, proc):\n    {call}\n'
    assert check(tmp_path, relative, source) == [f"{relative}:5: {compliance.SEND_MESSAGE}"]


def test_raw_send_inside_the_runtime_is_allowed(tmp_path: Path) -> None:
    source = """\
        def deliver(self, pid, msg):
            self.runtime.send(pid, msg)
        """
    assert check(tmp_path, "observer/runtime/server.py", source) == []


def test_allow_send_comment_with_a_reason_opts_out(tmp_path: Path) -> None:
    source = """\
        def observe(rt, pid):
            rt.send(pid, "ping")  # compliance: allow-send (liveness probe, loss is harmless)
            rt.send(
                pid,
                "tick",
            )  # compliance: allow-send (observation tick)
        """
    assert check(tmp_path, "observer/app.py", source) == []


@pytest.mark.parametrize(
    "comment",
    ["# compliance: allow-send", "# compliance: allow-send ()", "# allow-send (reason)", ""],
)
def test_allow_send_needs_the_exact_comment_and_a_reason(tmp_path: Path, comment: str) -> None:
    source = f"def observe(rt, pid):\n    rt.send(pid, 'ping')  {comment}\n"
    assert check(tmp_path, "observer/app.py", source) == [f"observer/app.py:2: {compliance.SEND_MESSAGE}"]


def test_allow_send_inside_a_string_does_not_opt_out(tmp_path: Path) -> None:
    source = "def observe(rt, pid):\n    rt.send(pid, '# compliance: allow-send (fake)')\n"
    assert check(tmp_path, "observer/app.py", source) == [f"observer/app.py:2: {compliance.SEND_MESSAGE}"]


@pytest.mark.parametrize(
    ("statement", "name"),
    [
        ("_cache = {}", "_cache"),
        ("registry = []", "registry"),
        ("x = set()", "x"),
        ("x: dict[str, int] = {}", "x"),
        ("pending = collections.defaultdict(list)", "pending"),
        ("squares = [n * n for n in range(3)]", "squares"),
        ("TABLE = {'a': 1}", "TABLE"),
        ("NAMES = ['a', 'b']", "NAMES"),
        ("_KINDS = {'process', 'server'}", "_KINDS"),
        ("first, second = [], ()", "first"),
        ("if True:\n    seen = dict()", "seen"),
        ("try:\n    import fast\nexcept ImportError:\n    waiting = deque()", "waiting"),
    ],
)
def test_module_level_mutable_state_is_flagged(tmp_path: Path, statement: str, name: str) -> None:
    source = f'"""Module."""\nimport collections\n{statement}\n'
    line = 2 + len(statement.splitlines())
    hint = compliance.CONSTANT_HINT if name.isupper() else compliance.STATE_HINT
    expected = f"observer/state.py:{line}: {compliance.MUTABLE_MESSAGE} `{name}`: {hint}"
    assert check(tmp_path, "observer/state.py", source) == [expected]


@pytest.mark.parametrize(
    "statement",
    [
        "NAMES = ('a', 'b')",
        "KINDS = frozenset({'process', 'server'})",
        "TABLE = types.MappingProxyType({'a': 1})",
        "LIMIT = 5",
        "TIMEOUT = 5.0",
        "label = 'observer'",
        "__all__ = ['Runtime', 'Pid']",
        "def build():\n    cache = {}\n    return cache",
        "class Keys:\n    BINDINGS = [('q', 'quit')]",
    ],
)
def test_immutable_and_local_bindings_are_allowed(tmp_path: Path, statement: str) -> None:
    assert check(tmp_path, "observer/state.py", f"import types\n{statement}\n") == []


def test_module_level_mutable_state_is_only_checked_in_the_package(tmp_path: Path) -> None:
    assert check(tmp_path, "bench/figures.py", "results = {}\n") == []


def test_syntax_error_is_reported(tmp_path: Path) -> None:
    [violation] = check(tmp_path, "observer/broken.py", "def broken(:\n")
    assert violation.startswith("observer/broken.py:1: syntax error: ")


def test_main_prints_one_line_per_violation_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "tool.py"
    file.write_text("def f(rt):\n    global STATE\n    rt.send(1, 2)\n", encoding="utf-8")
    assert compliance.main([str(file)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{file}:2: {compliance.GLOBAL_MESSAGE}",
        f"{file}:3: {compliance.SEND_MESSAGE}",
    ]


def test_main_prints_an_ok_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "clean.py").write_text("VALUE = 1\n", encoding="utf-8")
    assert compliance.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == "compliance: OK (1 file checked)\n"


def test_main_rejects_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert compliance.main([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("compliance: no such file or directory: ")
