"""observer.metrics on a runtime that observer.remote.serve publishes: the loop's lag and stalls are the
endpoint's (its watchdog's), not a second probe's; in-process, and under ``observer run --metrics``."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from observer.metrics import MetricsError, register
from observer.metrics.loop import EndpointFigures, ProbeFigures
from observer.remote import connect, serve
from observer.runtime import Runtime, Supervisor
from tests.subprocesses import observer_command

from .helpers import GUARD, idle_spec, parse, value
from .test_http import scrape, start_service, stop_service

QUIET = 30.0
"""A stall threshold no test reaches: a probe with it would count no stall at all."""


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with Runtime() as runtime:
        yield runtime


async def test_a_served_runtime_exports_the_endpoints_stalls_not_a_probes(xdg: Path, rt: Runtime) -> None:
    registry = CollectorRegistry()
    await Supervisor.start_link(rt, [idle_spec("a")], name="system")
    deadline = 0.5
    async with serve(rt, stall_threshold=0.1) as endpoint:
        # QUIET would make a probe of the metrics' own count nothing: only the endpoint's watchdog counts.
        collector = register(rt, registry, stall_threshold=QUIET, read_deadline=deadline)
        try:
            assert isinstance(collector.figures, EndpointFigures) and collector.figures.endpoint is endpoint
            before = endpoint.stalls_total  # 0 unless the machine paused this test
            with ThreadPoolExecutor(max_workers=1) as pool:
                # The loop is blocked right here until the scrape in the pool has answered: it can only
                # answer by giving up on the loop at its deadline, with the endpoint's figures.
                blocked = parse(pool.submit(generate_latest, registry).result(timeout=GUARD))
            assert "observer_processes" not in blocked
            assert value(blocked, "observer_stalls_total") == before + 1  # the ongoing stall, as the endpoint saw
            assert deadline / 2 <= value(blocked, "observer_loop_lag_seconds") < GUARD
            after = parse(await asyncio.to_thread(generate_latest, registry))
            assert value(after, "observer_stalls_total") == endpoint.stalls_total == before + 1  # counted once
            assert value(after, "observer_processes", kind="supervisor") == 1.0
            async with connect(os.getpid()) as conn:
                assert len(await conn.stalls()) == endpoint.stalls_total  # what attached clients see
            assert value(parse(generate_latest(registry)), "observer_stalls_total") == before + 1  # on the loop
        finally:
            collector.close()
    assert endpoint_not_found(rt)


def endpoint_not_found(rt: Runtime) -> bool:
    """Whether register() on `rt` now starts a probe of its own (no endpoint serves it any more)."""
    registry = CollectorRegistry()
    collector = register(rt, registry)
    try:
        return isinstance(collector.figures, ProbeFigures) and collector.figures.probe.beating
    finally:
        collector.close()


async def test_in_a_context_that_did_not_serve_it_the_endpoint_is_given_or_a_probe_runs(xdg: Path, rt: Runtime) -> None:
    async with serve(rt) as endpoint:
        elsewhere = contextvars.Context()  # as in a thread or a task started before serve()
        probed = elsewhere.run(register, rt, CollectorRegistry())
        given_registry = CollectorRegistry()
        given = elsewhere.run(register, rt, given_registry, endpoint=endpoint)
        try:
            assert isinstance(probed.figures, ProbeFigures) and probed.figures.probe.beating
            assert isinstance(given.figures, EndpointFigures) and given.figures.endpoint is endpoint
            assert value(parse(generate_latest(given_registry)), "observer_stalls_total") == endpoint.stalls_total
        finally:
            probed.close()
            given.close()
    with pytest.raises(MetricsError, match=r"^endpoint is what observer\.remote\.serve\(rt\) yielded, got 'x'$"):
        register(rt, CollectorRegistry(), endpoint="x")  # type: ignore[arg-type]


async def test_observer_run_exports_the_stalls_its_endpoint_records(xdg: Path) -> None:
    process, url = await start_service(observer_command(
        "run", "--app", "tests.remote.trees:factory", "--metrics", "127.0.0.1:0", "--stall-threshold", "0.2",
    ))
    try:
        before = value(await scrape(url), "observer_stalls_total")
        assert process.stdout is not None
        process.send_signal(signal.SIGUSR1)  # the tree's hog blocks the loop for 0.6 s, saying so
        async with asyncio.timeout(GUARD):
            while (await process.stdout.readline()).decode().strip() != "unblocked":
                pass
        samples = await scrape(url)
        async with connect(process.pid) as conn:
            stalls = await conn.stalls()
        assert value(samples, "observer_stalls_total") == len(stalls) == before + 1
        assert any(" in hog_the_loop" in line for line in stalls[-1].stack)
    finally:
        status = await stop_service(process)
    assert status == 0
