"""Fixtures for the `observer web` tests: a served `observer web` subprocess, Chromium, and process checks."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psutil
import pytest

from tests.subprocesses import DEADLINE, observer_process

from .browser import find_chromium

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

    Killed on the way out whatever happened (a test that stopped it already is fine); what it printed then
    goes to the test's output, which pytest shows for a failed test (the tabs' apps' stderr, relayed by
    textual-serve).
    """
    async with observer_process("web", "--port", "0", *args, ready=_SERVING, echo=True) as (process, match):
        yield Served(process, match.group(1))


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
