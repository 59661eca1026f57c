"""Tests for serving metrics over HTTP: `observer.metrics.serve` in-process and in a real service process.

Every scrape goes over loopback HTTP (urllib) and is parsed with prometheus_client's parser.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from observer.metrics import MetricsEndpoint, MetricsError, serve
from observer.runtime import Runtime, Supervisor
from tests.subprocesses import ROOT, observer_command

from . import service
from .helpers import GUARD, Samples, idle_spec, parse, value

QUIET = 30.0
"""A stall threshold no healthy test reaches, so that `observer_stalls_total` is exactly 0."""
STARTUP = 60.0
"""Seconds a service process may take to start and print its URL (imports on a busy machine)."""


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with Runtime() as runtime:
        yield runtime


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=GUARD) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text: str = response.read().decode()
        return text


async def scrape(url: str) -> Samples:
    return parse(await asyncio.to_thread(fetch, url))


def refused(url: str) -> bool:
    try:
        fetch(url)
    except urllib.error.URLError as error:
        return isinstance(error.reason, ConnectionRefusedError)
    return False


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other socket listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


# -- in-process ------------------------------------------------------------------------------


async def test_serve_answers_scrapes_over_http_and_leaves_nothing_behind(rt: Runtime) -> None:
    registry = CollectorRegistry()
    await Supervisor.start_link(rt, [idle_spec("a"), idle_spec("b")], name="system")
    async with serve(rt, ("127.0.0.1", 0), registry=registry, stall_threshold=QUIET) as endpoint:
        assert isinstance(endpoint, MetricsEndpoint)
        host, port = endpoint.address
        assert host == "127.0.0.1" and port > 0  # port 0 asked for any free one: this is the one
        assert endpoint.url == f"http://127.0.0.1:{port}/metrics"
        samples = await scrape(endpoint.url)
        assert value(samples, "observer_processes", kind="server") == 2.0
        assert value(samples, "observer_restarts_total", supervisor="system", child="b") == 0.0
        assert value(samples, "observer_stalls_total") == 0.0
    assert await asyncio.to_thread(refused, endpoint.url)
    assert b"observer_" not in generate_latest(registry)  # the collector was unregistered


async def test_a_taken_port_is_one_clear_error_and_nothing_is_left_registered(rt: Runtime, taken_port: int) -> None:
    registry = CollectorRegistry()
    with pytest.raises(MetricsError) as caught:
        async with serve(rt, ("127.0.0.1", taken_port), registry=registry):
            pytest.fail("served on a taken port")
    assert str(caught.value) == f"cannot serve metrics on 127.0.0.1:{taken_port}: Address already in use"
    assert b"observer_" not in generate_latest(registry)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (("127.0.0.1", 70_000), "a port in 0..65535, got ('127.0.0.1', 70000)"),
        (("", 9464), "got ('', 9464)"),
        ("127.0.0.1:9464", "got '127.0.0.1:9464'"),
    ],
)
async def test_a_bad_address_is_one_clear_error(rt: Runtime, address: object, message: str) -> None:
    with pytest.raises(MetricsError, match=re.escape(message)):
        serve(rt, address)  # type: ignore[arg-type]


async def test_a_host_that_cannot_be_bound_is_one_clear_error(rt: Runtime) -> None:
    with pytest.raises(MetricsError, match=r"^cannot serve metrics on 192\.0\.2\.1:0: ") as caught:
        async with serve(rt, ("192.0.2.1", 0), registry=CollectorRegistry()):  # TEST-NET-1: not ours
            pytest.fail("served on an address that is not this machine's")
    assert "\n" not in str(caught.value)


# -- a real service process ------------------------------------------------------------------


async def start_service(argv: list[str]) -> tuple[asyncio.subprocess.Process, str]:
    """Start a service process (its command line `argv`); returns it and the metrics URL it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(STARTUP):
            while line := (await process.stdout.readline()).decode():
                found = re.search(r"http://\S+/metrics", line)
                if found:
                    return process, found.group(0)
    except BaseException:
        process.kill()
        await process.wait()
        raise
    await process.wait()
    assert process.stderr is not None
    pytest.fail(f"the service exited ({process.returncode}) without a metrics URL: {await process.stderr.read()!r}")


async def stop_service(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, then its exit status (it must stop within GUARD)."""
    process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(GUARD):
            return await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise


def check_service_figures(samples: Samples) -> None:
    """The exact figures of `tests.metrics.service.build`'s tree."""
    assert value(samples, "observer_restarts_total", supervisor="system", child="cache") == service.RESTARTS
    assert value(samples, "observer_restarts_total", supervisor="system", child="limits") == 0
    assert value(samples, "observer_rate_limit_checks_total", limiter="api", result="allowed") == service.LIMIT
    assert value(samples, "observer_rate_limit_checks_total", limiter="api", result="denied") == (
        service.CHECKS - service.LIMIT
    )
    assert value(samples, "observer_processes", kind="supervisor") == 1
    assert value(samples, "observer_processes", kind="server") == 2  # cache and the rate limiter
    assert value(samples, "observer_monitors") == 0
    assert value(samples, "observer_mailbox_depth_sum") == 0
    assert value(samples, "observer_stalls_total") >= 0
    assert value(samples, "observer_loop_lag_seconds") >= 0


async def test_a_service_process_serving_metrics_is_scraped_over_loopback() -> None:
    process, url = await start_service([sys.executable, "-m", "tests.metrics.service", "127.0.0.1:0"])
    try:
        samples = await scrape(url)
        check_service_figures(samples)
        assert "python_gc_objects_collected_total" in samples  # the default registry's own collectors too
    finally:
        status = await stop_service(process)
    assert status == 0
    assert await asyncio.to_thread(refused, url)


@pytest.fixture(scope="module")
def run_metrics() -> None:
    """Skip unless `observer run` has the --metrics option."""
    result = subprocess.run(
        observer_command("run", "--help"), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0 or "--metrics" not in result.stdout:
        pytest.skip("`observer run` has no --metrics option yet (observer/commands/run.py)")


@pytest.mark.usefixtures("run_metrics")
async def test_observer_run_with_metrics_is_scraped_over_loopback() -> None:
    process, url = await start_service(
        observer_command("run", "--app", "tests.metrics.service:build", "--metrics", "127.0.0.1:0")
    )
    try:
        check_service_figures(await scrape(url))
    finally:
        status = await stop_service(process)
    assert status == 0
    assert await asyncio.to_thread(refused, url)


@pytest.mark.usefixtures("run_metrics")
def test_observer_run_with_a_taken_metrics_port_is_one_line_and_exit_1(taken_port: int) -> None:
    result = subprocess.run(
        observer_command("run", "--app", "tests.metrics.service:build", "--metrics", f"127.0.0.1:{taken_port}"),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=STARTUP,
    )
    assert result.returncode == 1
    # Before it, only the supervisor's reports of the factory's own restarts (the runtime log goes to stderr).
    assert result.stderr.strip().splitlines()[-1] == (
        f"observer run: error: cannot serve metrics on 127.0.0.1:{taken_port}: Address already in use"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("run_metrics")
@pytest.mark.parametrize("bad", ["9464", "127.0.0.1:", "127.0.0.1:99999", ":9464", "host:port"])
def test_observer_run_with_a_bad_metrics_value_is_one_line_and_exit_2(bad: str) -> None:
    result = subprocess.run(
        observer_command("run", "--app", "tests.metrics.service:build", "--metrics", bad),
        cwd=ROOT, capture_output=True, text=True, timeout=STARTUP,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    last = result.stderr.strip()
    assert last.startswith("observer run: error: argument --metrics: expected HOST:PORT"), result.stderr
