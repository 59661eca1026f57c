"""Fixtures for the `observer web` tests: a served `observer web` subprocess, Chromium, and process checks."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from .browser import find_chromium

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30.0
"""Seconds any one wait on a subprocess may take before the test fails (never reached when all is well)."""
POLL = 0.05
"""Seconds between two looks at the process table while waiting for processes to end."""
_SERVING = re.compile(r"serving (http://\S+)")

pytest.importorskip("textual_serve", reason="observer web needs the [web] extra: pip install -e '.[web]'")


@pytest.fixture
def chromium() -> str:
    """Chromium's executable; the test skips without one (and fails in CI, which installs it)."""
    found = find_chromium()
    if found is None:
        message = ("no chromium on PATH: the browser tests need Debian's chromium "
                   "(apt-get install -y --no-install-recommends chromium)")
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run installs it where it is missing")
        pytest.skip(message)
    return found


@pytest.fixture
def xdg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh `$XDG_RUNTIME_DIR` for the services a test runs (short: socket paths have a 108-byte limit)."""
    directory = Path(tempfile.mkdtemp(prefix="obsweb", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def observer(*args: str) -> list[str]:
    """`python -m observer ARGS...` with this interpreter."""
    return [sys.executable, "-m", "observer", *args]


@dataclass
class Served:
    """An `observer web` subprocess and the address it printed."""

    process: asyncio.subprocess.Process
    url: str

    async def stop(self) -> int:
        """SIGTERM it and wait for its exit status."""
        self.process.terminate()
        async with asyncio.timeout(DEADLINE):
            return await self.process.wait()


@asynccontextmanager
async def serving(*args: str) -> AsyncIterator[Served]:
    """Run `observer web --port 0 ARGS...` until the block ends; ready once it printed its address.

    Killed on the way out whatever happened (a test that stopped it already is fine).
    """
    process = await asyncio.create_subprocess_exec(
        *observer("web", "--port", "0", *args), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        async with asyncio.timeout(DEADLINE):
            first = (await process.stdout.readline()).decode()
        match = _SERVING.search(first)
        if match is None:
            async with asyncio.timeout(DEADLINE):
                errors = (await process.stderr.read()).decode()
            raise AssertionError(f"observer web did not start: {first!r} {errors!r}")
        yield Served(process, match.group(1))
    finally:
        if process.returncode is None:
            process.kill()
        async with asyncio.timeout(DEADLINE):
            output, complaints = await process.communicate()
        # pytest shows this for a failed test: what the tabs' apps wrote on stderr (relayed by textual-serve)
        print(f"observer web exited with status {process.returncode}; it printed {output.decode()!r} "
              f"and on stderr {complaints.decode()!r}")


async def children_of(pid: int) -> list[psutil.Process]:
    """The live (not zombie) descendants of OS process `pid`."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    alive = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive


async def wait_for_children(pid: int, *, count: int, timeout: float) -> list[psutil.Process]:
    """Wait until OS process `pid` has at least `count` live descendants; returns them."""
    deadline = time.monotonic() + timeout
    while len(children := await children_of(pid)) < count:
        assert time.monotonic() < deadline, f"process {pid} had {children} after {timeout:g} s, not {count}"
        await asyncio.sleep(POLL)
    return children


async def wait_until_gone(processes: list[psutil.Process], *, timeout: float) -> float:
    """Wait until every one of `processes` has exited; returns how long that took (seconds)."""
    started = time.monotonic()
    while True:
        left = [process for process in processes if _alive(process)]
        if not left:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, \
            f"still running {timeout:g} s later: {[(p.pid, p.cmdline()) for p in left]}"
        await asyncio.sleep(POLL)


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
