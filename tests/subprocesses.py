"""What the tests that run `python -m observer` in a subprocess share: its command line, and a started service."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository: the subprocesses run there, where `tests.…` and `examples.…` import."""
DEADLINE = 30.0
"""Seconds any one wait on a subprocess may take before the test fails (never reached when all is well)."""


def observer_command(*args: str) -> list[str]:
    """`python -m observer ARGS...` with this interpreter."""
    return [sys.executable, "-m", "observer", *args]


@asynccontextmanager
async def observer_process(
    *args: str, ready: re.Pattern[str], env: Mapping[str, str] | None = None, echo: bool = False,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, re.Match[str]]]:
    """Run `python -m observer ARGS...` in `ROOT` until the block ends; ready once its first stdout line matches.

    Yields the process and the match of `ready` in that line (``match.string`` is the line). A first line
    that does not match fails the test with it and what the process wrote on stderr. The process is killed
    on the way out whatever happens (a test that stopped it already is fine), and waited for; with `echo`,
    its exit status and the rest of its stdout and stderr are printed then (pytest shows them for a failed test).
    """
    process = await asyncio.create_subprocess_exec(
        *observer_command(*args), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        async with asyncio.timeout(DEADLINE):
            first = (await process.stdout.readline()).decode()
        match = ready.search(first)
        if match is None:
            async with asyncio.timeout(DEADLINE):
                errors = (await process.stderr.read()).decode()
            raise AssertionError(f"observer {args[0]} did not start: {first!r} {errors!r}")
        yield process, match
    finally:
        if process.returncode is None:
            process.kill()
        if echo:
            async with asyncio.timeout(DEADLINE):
                output, complaints = await process.communicate()
            print(f"observer {args[0]} exited with status {process.returncode}; it printed {output.decode()!r} "
                  f"and on stderr {complaints.decode()!r}")
        else:
            async with asyncio.timeout(DEADLINE):
                await process.wait()
