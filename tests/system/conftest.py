"""Fixtures of the system tests: a runtime on a fake clock, and the default system started in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from observer.runtime import Pid, Runtime
from observer.system import start_system


@pytest.fixture
def now() -> list[float]:
    """The fake runtime clock, in seconds: `now[0]`. It stands still unless a test moves it."""
    return [1000.0]


@pytest.fixture
async def rt(now: list[float]) -> AsyncIterator[Runtime]:
    """A running runtime on the fake clock; leaving it at teardown stops the system."""
    async with Runtime(clock=lambda: now[0]) as runtime:
        yield runtime


@pytest.fixture
async def system(rt: Runtime) -> Pid:
    """The default system (3 agents, state in memory, no workload); its root's pid."""
    return await start_system(rt, workload=False)
