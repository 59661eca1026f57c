"""Fixtures of the runtime tests: a running `Runtime` per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from observer.runtime import Runtime

from .helpers import GUARD


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    """A running runtime; teardown leaves it, which stops whatever the test left behind.

    Leaving is bounded by `GUARD`: a runtime that cannot shut down fails the test
    instead of hanging the suite.
    """
    runtime = Runtime()
    await runtime.__aenter__()
    try:
        yield runtime
    finally:
        await asyncio.wait_for(runtime.__aexit__(None, None, None), GUARD)
