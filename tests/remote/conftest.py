"""Fixtures of the attach tests: a private socket directory per test, and real services in subprocesses."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREE = "tests.remote.trees:factory"
DEADLINE = 30.0
"""Seconds any one wait on a subprocess may take before the test fails (never reached when all is well)."""
_LISTENING = re.compile(r"listening on (\S+)")


@pytest.fixture
def xdg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh `$XDG_RUNTIME_DIR` (short, so socket paths stay under the 108-byte limit); yields it."""
    directory = Path(tempfile.mkdtemp(prefix="obs", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Service:
    """An `observer run` subprocess and what it printed first."""

    process: asyncio.subprocess.Process
    path: Path
    first_line: str

    @property
    def os_pid(self) -> int:
        """Its OS pid."""
        return self.process.pid

    async def line(self) -> str:
        """The next line it prints on stdout (fails the test after `DEADLINE`)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(DEADLINE):
            return (await self.process.stdout.readline()).decode().rstrip("\n")

    async def wait_for_line(self, expected: str) -> None:
        """Read stdout until a line equal to `expected` has been printed."""
        while (line := await self.line()) != expected:
            assert line, f"the service ended before printing {expected!r}"

    async def stop(self, signal_number: int = signal.SIGTERM) -> int:
        """Send a signal and wait for the exit status."""
        self.process.send_signal(signal_number)
        async with asyncio.timeout(DEADLINE):
            return await self.process.wait()


def command(*args: str) -> list[str]:
    """`python -m observer ...` with this interpreter."""
    return [sys.executable, "-m", "observer", *args]


@asynccontextmanager
async def running(*args: str, app: str = TREE) -> AsyncIterator[Service]:
    """Run `observer run --app APP ARGS...` until the block ends; ready once it printed where it listens.

    The subprocess is killed on the way out whatever happens (a test that stopped it already is fine).
    """
    process = await asyncio.create_subprocess_exec(
        *command("run", "--app", app, *args), cwd=ROOT, env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        async with asyncio.timeout(DEADLINE):
            first = (await process.stdout.readline()).decode()
        match = _LISTENING.search(first)
        if match is None:
            async with asyncio.timeout(DEADLINE):
                errors = (await process.stderr.read()).decode()
            raise AssertionError(f"observer run did not start: {first!r} {errors!r}")
        yield Service(process, Path(match.group(1)), first.strip())
    finally:
        if process.returncode is None:
            process.kill()
        async with asyncio.timeout(DEADLINE):
            await process.wait()


async def cli(*args: str, user: str | None = None) -> tuple[int, str, str]:
    """Run `observer ARGS...` to its end: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *command(*args), cwd=ROOT, env=dict(os.environ), user=user,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(DEADLINE):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
