"""Tests for observer.metrics: what a scrape of a runtime exports, parsed with prometheus_client's parser.

Each test registers on a fresh `CollectorRegistry`, makes known things happen (restarts, checks,
queued messages, a blocked loop) and checks the exact figures. Scrapes run both on the runtime's
own loop (`generate_latest` in the test) and from another thread (`asyncio.to_thread`), as the
HTTP server's thread does.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

import observer.metrics
from observer.metrics import METRIC_NAMES, MetricsError, MetricsUnavailable, register
from observer.metrics.collector import RuntimeCollector
from observer.runtime import Down, DynamicSupervisor, Pid, Process, Runtime, Supervisor
from observer.runtime.rate_limiter import RateLimiter
from tests.metrics.helpers import GUARD, Idle, Samples, crash, crash_dynamic, idle_spec, parse, value

QUIET = 30.0
"""A stall threshold no healthy test reaches, so that `observer_stalls_total` is exactly 0."""


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with Runtime() as runtime:
        yield runtime


@pytest.fixture
async def me(rt: Runtime) -> AsyncIterator[Process]:
    async with rt.attached() as proc:
        yield proc


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def collector(rt: Runtime, registry: CollectorRegistry) -> AsyncIterator[RuntimeCollector]:
    collector = register(rt, registry, stall_threshold=QUIET)
    yield collector
    collector.close()


def scrape_here(registry: CollectorRegistry) -> Samples:
    """A scrape on the runtime's own loop (a service's web handler calling `generate_latest`)."""
    return parse(generate_latest(registry))


async def scrape_from_thread(registry: CollectorRegistry) -> Samples:
    """A scrape from another thread, as prometheus_client's HTTP server makes it."""
    return parse(await asyncio.to_thread(generate_latest, registry))


# -- what is exported ----------------------------------------------------------------------


async def test_every_family_is_exported_under_its_design_name(
    rt: Runtime, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    sup = await Supervisor.start_link(rt, [idle_spec("a")], name="system")
    assert sup is not None
    await RateLimiter.start_link(rt, limiters={"api": (1000, 5)})
    samples = await scrape_from_thread(registry)
    assert set(METRIC_NAMES) <= set(samples)
    text = generate_latest(registry).decode()
    assert "# TYPE observer_restarts_total counter" in text
    assert "# TYPE observer_rate_limit_checks_total counter" in text
    assert "# TYPE observer_stalls_total counter" in text
    assert "# TYPE observer_restart_intensity_used gauge" in text
    assert "# TYPE observer_loop_lag_seconds gauge" in text


async def test_processes_by_kind_count_every_live_process_and_every_kind(
    rt: Runtime, me: Process, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    await Supervisor.start_link(rt, [idle_spec("a"), idle_spec("b")], name="system")
    await DynamicSupervisor.start_link(rt, name="pool")
    await Idle.start_link(rt)
    for samples in (scrape_here(registry), await scrape_from_thread(registry)):
        assert samples["observer_processes"] == {
            frozenset({("kind", "process")}): 1.0,  # `me`
            frozenset({("kind", "server")}): 3.0,  # a, b and the lone Idle
            frozenset({("kind", "supervisor")}): 1.0,
            frozenset({("kind", "dynamic_supervisor")}): 1.0,
        }


async def test_restarts_are_exact_per_supervisor_and_child_and_nested_supervisors_get_a_path(
    rt: Runtime, me: Process, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    pool = Supervisor.child_spec("pool", [idle_spec("c")], max_restarts=10)
    sup = await Supervisor.start_link(rt, [idle_spec("a"), idle_spec("b"), pool], max_restarts=10, name="system")
    await crash(me, sup, "a", times=2)
    pool_pid = next(child.pid for child in await Supervisor.which_children(rt, sup) if child.id == "pool")
    assert isinstance(pool_pid, Pid)
    await crash(me, pool_pid, "c", times=3)
    samples = await scrape_from_thread(registry)
    assert samples["observer_restarts_total"] == {
        frozenset({("supervisor", "system"), ("child", "a")}): 2.0,
        frozenset({("supervisor", "system"), ("child", "b")}): 0.0,
        frozenset({("supervisor", "system"), ("child", "pool")}): 0.0,
        # An unnamed supervisor is labelled by its place in the tree: stable across its restarts.
        frozenset({("supervisor", "system/pool"), ("child", "c")}): 3.0,
    }
    await crash(me, sup, "pool", times=1)  # the nested supervisor restarts with fresh counts
    samples = scrape_here(registry)
    assert value(samples, "observer_restarts_total", supervisor="system", child="pool") == 1.0
    assert value(samples, "observer_restarts_total", supervisor="system/pool", child="c") == 0.0


async def test_dynamic_children_sharing_an_id_are_summed_and_an_unnamed_root_is_labelled_by_pid(
    rt: Runtime, me: Process, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    sup = await DynamicSupervisor.start_link(rt, max_restarts=10)
    workers = [await DynamicSupervisor.start_child(rt, sup, idle_spec("worker")) for _ in range(3)]
    other = await DynamicSupervisor.start_child(rt, sup, idle_spec("other"))
    assert isinstance(workers[0], Pid) and isinstance(workers[2], Pid) and isinstance(other, Pid)
    restarted = await crash_dynamic(me, sup, workers[0])
    await crash_dynamic(me, sup, restarted)
    await crash_dynamic(me, sup, workers[2])
    samples = scrape_here(registry)
    assert samples["observer_restarts_total"] == {
        frozenset({("supervisor", str(sup)), ("child", "worker")}): 3.0,
        frozenset({("supervisor", str(sup)), ("child", "other")}): 0.0,
    }


async def test_monitors_and_mailbox_depths_are_read_from_the_runtime(
    rt: Runtime, me: Process, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    deaf = [await Idle.start_link(rt) for _ in range(2)]
    suspended = [pid for pid in deaf if pid is not None]
    for pid in suspended:
        await rt.suspend(pid)  # it takes nothing from its mailbox until resumed
    for _ in range(3):
        rt.cast(suspended[0], "queued")
    for _ in range(2):
        rt.cast(suspended[1], "queued")
    me.monitor(suspended[0])
    me.monitor(suspended[1])
    samples = await scrape_from_thread(registry)
    assert value(samples, "observer_monitors") == rt.monitor_count() == 2
    assert value(samples, "observer_mailbox_depth_max") == 3
    assert value(samples, "observer_mailbox_depth_sum") == 5
    for pid in suspended:
        await rt.resume(pid)


async def test_rate_limit_checks_are_exact_per_limiter_and_result(
    rt: Runtime, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    limiter = await RateLimiter.start_link(rt, limiters={"api": (60_000, 2), ("login", 1): (60_000, 1)})
    assert limiter is not None
    for _ in range(5):
        await RateLimiter.check(rt, limiter, "api", "alice")
    await RateLimiter.check(rt, limiter, "api", "bob")
    await RateLimiter.check(rt, limiter, ("login", 1), "alice")
    samples = await scrape_from_thread(registry)
    assert samples["observer_rate_limit_checks_total"] == {
        frozenset({("limiter", "api"), ("result", "allowed")}): 3.0,
        frozenset({("limiter", "api"), ("result", "denied")}): 3.0,
        frozenset({("limiter", "('login', 1)"), ("result", "allowed")}): 1.0,  # a non-str id by its repr
        frozenset({("limiter", "('login', 1)"), ("result", "denied")}): 0.0,
    }


async def test_a_healthy_loop_has_a_small_lag_and_no_stalls(
    rt: Runtime, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    for samples in (scrape_here(registry), await scrape_from_thread(registry)):
        assert 0.0 <= value(samples, "observer_loop_lag_seconds") < GUARD
        assert value(samples, "observer_stalls_total") == 0.0


# -- restart intensity ---------------------------------------------------------------------


async def test_restart_intensity_is_the_share_of_max_restarts_used_in_the_window(
    rt: Runtime, me: Process, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    await Supervisor.start_link(rt, [idle_spec("a")], name="measured", max_restarts=4)
    await Supervisor.start_link(rt, [idle_spec("a")], name="quiet")
    old = next(child.pid for child in await Supervisor.which_children(rt, "measured"))
    assert isinstance(old, Pid)
    ref = me.monitor(old)
    rt.exit(old, "kill")
    await me.receive(lambda m: isinstance(m, Down) and m.ref is ref)
    await Supervisor.count_children(rt, "measured")  # answered once the restart is done
    samples = scrape_here(registry)
    assert samples["observer_restart_intensity_used"] == {
        frozenset({("supervisor", "measured")}): 0.25,
        frozenset({("supervisor", "quiet")}): 0.0,
    }


# -- a blocked loop ------------------------------------------------------------------------


async def test_a_scrape_while_the_loop_is_blocked_answers_with_how_long_and_counts_the_stall_once(
    rt: Runtime, registry: CollectorRegistry
) -> None:
    deadline = 0.5
    collector = register(rt, registry, stall_threshold=0.2, read_deadline=deadline)
    try:
        await Supervisor.start_link(rt, [idle_spec("a")], name="system")
        before = value(await scrape_from_thread(registry), "observer_stalls_total")  # 0 unless the machine paused us
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The loop is blocked right here, in this test, until the scrape in the pool has answered:
            # it can only answer by giving up on the loop at its deadline.
            blocked = parse(pool.submit(generate_latest, registry).result(timeout=GUARD))
        assert "observer_processes" not in blocked  # the runtime could not be read
        assert deadline <= value(blocked, "observer_loop_lag_seconds") < GUARD
        assert value(blocked, "observer_stalls_total") == before + 1  # the ongoing stall
        for after in (scrape_here(registry), await scrape_from_thread(registry)):
            assert value(after, "observer_stalls_total") == before + 1  # now ended, and still counted once
            assert value(after, "observer_processes", kind="supervisor") == 1.0
    finally:
        collector.close()


def test_a_scrape_after_the_runtime_loop_has_closed_answers_at_once_without_runtime_figures() -> None:
    registry = CollectorRegistry()

    async def serve_briefly() -> RuntimeCollector:
        async with Runtime() as rt:
            return register(rt, registry)

    collector = asyncio.run(serve_briefly())
    samples = parse(generate_latest(registry))
    assert not any(name.startswith("observer_") for name in samples)
    collector.close()


# -- registering ---------------------------------------------------------------------------


async def test_close_unregisters_the_collector(rt: Runtime, registry: CollectorRegistry) -> None:
    collector = register(rt, registry)
    assert "observer_monitors" in scrape_here(registry)
    collector.close()
    collector.close()  # idempotent
    assert "observer_monitors" not in scrape_here(registry)
    register(rt, registry).close()  # the names are free again


async def test_registering_twice_on_one_registry_is_one_clear_error_and_the_first_keeps_working(
    rt: Runtime, registry: CollectorRegistry, collector: RuntimeCollector
) -> None:
    with pytest.raises(MetricsError, match="already has observer metrics"):
        register(rt, registry)
    assert value(scrape_here(registry), "observer_monitors") == 0.0


def test_register_outside_the_runtime_loop_is_one_clear_error() -> None:
    with pytest.raises(MetricsError, match="runtime's event loop"):
        register(Runtime(), CollectorRegistry())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stall_threshold": 0}, "stall_threshold is a positive number of seconds, got 0"),
        ({"stall_threshold": float("nan")}, "stall_threshold is a positive number of seconds, got nan"),
        ({"read_deadline": "1"}, "read_deadline is a positive number of seconds, got '1'"),
        ({"read_deadline": True}, "read_deadline is a positive number of seconds, got True"),
    ],
)
async def test_bad_options_name_the_option_and_the_value(
    rt: Runtime, registry: CollectorRegistry, options: dict[str, object], message: str
) -> None:
    with pytest.raises(MetricsError) as caught:
        register(rt, registry, **options)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert "observer_monitors" not in scrape_here(registry)  # nothing was registered


async def test_register_needs_a_runtime(registry: CollectorRegistry) -> None:
    with pytest.raises(MetricsError, match=re.escape("needs an observer.runtime.Runtime, got 'rt'")):
        register("rt", registry)  # type: ignore[arg-type]


async def test_without_prometheus_client_register_says_how_to_install_it(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # what a missing package looks like to import
    with pytest.raises(MetricsUnavailable) as caught:
        register(rt)
    assert str(caught.value) == "observer.metrics needs prometheus_client: pip install 'aio-observer[metrics]'"
    assert isinstance(caught.value, ImportError)


def test_importing_observer_metrics_does_not_import_prometheus_client() -> None:
    code = "import sys, observer.metrics; print('prometheus_client' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
    assert observer.metrics.INSTALL_HINT == "pip install 'aio-observer[metrics]'"


# -- the README ----------------------------------------------------------------------------


def test_the_readme_metrics_example_prints_what_it_says() -> None:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index("\n## Metrics\n")
    section = text[start : text.index("\n## ", start + 1)]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        'observer_processes{kind="server"} 1.0',
        'observer_restarts_total{child="cache",supervisor="system"} 0.0',
    ]
    for name in METRIC_NAMES:
        assert f"| `{name}` |" in section  # every series is in the README's table
