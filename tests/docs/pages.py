"""What the docs tests share: a page's Python examples by heading, run as programs, and services started from them.

Every example is run as the file a reader would save (in a directory of the test's own), with
this interpreter, on loopback only, each wait with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.subprocesses import ROOT

DOCS = ROOT / "docs"
DEADLINE = 60.0
"""Seconds any one example or wait may take before the test fails (never reached when all is well)."""

_HEADING = re.compile(r"^#{2,3} (.+)$")
_FENCE = re.compile(r"^```(\w*)$")


def examples(page: str) -> dict[str, list[str]]:
    """The ```python blocks of ``docs/<page>``, grouped by the ``##`` or ``###`` heading they are under, in order."""
    found: dict[str, list[str]] = {}
    heading: str = ""
    language: str | None = None  # inside a fence: its language
    lines: list[str] = []
    for line in (DOCS / page).read_text().splitlines():
        if language is None:
            if (fence := _FENCE.match(line)) is not None:
                language, lines = fence.group(1), []
            elif (title := _HEADING.match(line)) is not None:
                heading = title.group(1)
        elif line == "```":
            if language == "python":
                found.setdefault(heading, []).append("\n".join(lines) + "\n")
            language = None
        else:
            lines.append(line)
    return found


def example(page: str, heading: str, index: int = 0) -> str:
    """The `index`th Python example under `heading` in ``docs/<page>``."""
    blocks = examples(page).get(heading, [])
    assert len(blocks) > index, f"docs/{page} has no Python example {index} under {heading!r}"
    return blocks[index]


def run_example(code: str, directory: Path, name: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    """Save `code` as `directory/name`, run it to its end, and return its stdout lines (it must exit 0)."""
    path = directory / name
    path.write_text(code)
    result = subprocess.run([sys.executable, name, *args], cwd=directory, env=env, capture_output=True, text=True,
                            timeout=DEADLINE)
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stderr}"
    return result.stdout.splitlines()


def private_env(runtime_dir: Path) -> dict[str, str]:
    """This environment with `$XDG_RUNTIME_DIR` at `runtime_dir` (so sockets land there, and only there)."""
    return {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)}


@dataclass
class Started:
    """A program started by a test, and the first line it printed."""

    process: asyncio.subprocess.Process
    first_line: str

    async def line(self) -> str:
        """Its next stdout line ('' once it has ended)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(DEADLINE):
            return (await self.process.stdout.readline()).decode().rstrip("\n")

    async def stop(self, signal_number: int) -> tuple[int, list[str]]:
        """Send it a signal, and return its exit status and the stdout lines it printed after the first."""
        assert self.process.stdout is not None
        self.process.send_signal(signal_number)
        async with asyncio.timeout(DEADLINE):
            rest = await self.process.stdout.read()
            status = await self.process.wait()
        return status, rest.decode().splitlines()


@asynccontextmanager
async def started(argv: Sequence[str], directory: Path, env: dict[str, str]) -> AsyncIterator[Started]:
    """Run `argv` in `directory` until the block ends, once it has printed its first line.

    It is killed on the way out whatever happens (a test that stopped it already is fine).
    """
    process = await asyncio.create_subprocess_exec(*argv, cwd=directory, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stderr is not None
        async with asyncio.timeout(DEADLINE):
            first = (await process.stdout.readline()).decode().rstrip("\n")
        if not first:
            async with asyncio.timeout(DEADLINE):
                errors = (await process.stderr.read()).decode()
            raise AssertionError(f"{' '.join(argv)} printed nothing and ended: {errors}")
        yield Started(process, first)
    finally:
        if process.returncode is None:
            process.kill()
        async with asyncio.timeout(DEADLINE):
            await process.wait()


async def finished(argv: Sequence[str], directory: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run `argv` in `directory` to its end: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(*argv, cwd=directory, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(DEADLINE):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
