"""Fixtures of the attach tests: real services in subprocesses (the `xdg` socket directory is tests/conftest.py's)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.subprocesses import DEADLINE, ROOT, observer_command, observer_process

TREE = "tests.remote.trees:factory"
_LISTENING = re.compile(r"listening on (\S+)")


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


@asynccontextmanager
async def running(*args: str, app: str = TREE) -> AsyncIterator[Service]:
    """Run `observer run --app APP ARGS...` until the block ends; ready once it printed where it listens.

    The subprocess is killed on the way out whatever happens (a test that stopped it already is fine).
    """
    async with observer_process("run", "--app", app, *args, ready=_LISTENING, env=dict(os.environ)) as (process, match):
        yield Service(process, Path(match.group(1)), match.string.strip())


async def cli(*args: str, user: str | None = None) -> tuple[int, str, str]:
    """Run `observer ARGS...` to its end: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *observer_command(*args), cwd=ROOT, env=dict(os.environ), user=user,
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
