"""`RuntimeCollector`: a prometheus_client collector that reads a runtime when it is scraped.

A scrape usually runs in the HTTP server's thread. It never touches the runtime from there: it
schedules one small synchronous read (`read_runtime`) onto the runtime's loop and waits for it
with a deadline. If the loop is blocked past the deadline, the scrape still answers, with what
it knows without the loop: how long the loop has been blocked and the stalls so far (from a
probe of the metrics' own, or from the attach endpoint's watchdog: `observer.metrics.loop`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from observer.runtime import Runtime

from .loop import LoopFigures
from .reading import Reading, read_in_steps, read_runtime

_HELP = MappingProxyType({
    "observer_processes": "Live processes by kind.",
    "observer_restarts": "Restarts of each child by its supervisor (since that supervisor started).",
    "observer_restart_intensity_used": "Restarts in the supervisor's window / its max_restarts (1 = at the limit).",
    "observer_monitors": "Active monitors in the runtime.",
    "observer_mailbox_depth_max": "Messages queued in the longest mailbox.",
    "observer_mailbox_depth_sum": "Messages queued in all mailboxes.",
    "observer_rate_limit_checks": "Rate-limit checks by limiter and result (allowed or denied).",
    "observer_loop_lag_seconds": (
        "How late the runtime's event loop runs a callback; while it is blocked, for how long."
    ),
    "observer_stalls": "Times the runtime's event loop did not run for the stall threshold or longer.",
})


@dataclass(frozen=True, slots=True)
class _Scrape:
    """What one scrape learned: the runtime's reading (None if the loop did not answer) and `loop`.

    `loop` is (loop lag in seconds, stalls so far), None once the runtime's loop is closed.
    """

    reading: Reading | None
    loop: tuple[float, int] | None


class RuntimeCollector(Collector):
    """Exports one runtime's processes, restarts, monitors, mailboxes, rate limits, loop lag and stalls.

    Made by `observer.metrics.register`, which gives it the loop's figures (a probe it starts on
    the runtime's loop, or the endpoint that serves the runtime) and adds it to a registry;
    `close()` takes it out again.
    """

    def __init__(self, rt: Runtime, figures: LoopFigures, registry: CollectorRegistry, *,
                 read_deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Create a collector (it reads nothing until it is scraped).

        Args:
            rt: The runtime to export.
            figures: Where the loop's lag and stalls come from (a started probe, or the endpoint).
            registry: The registry it is (about to be) registered in; `close()` unregisters it there.
            read_deadline: Seconds a scrape from another thread waits for the loop.
            clock: A monotonic clock (measures how late the read ran).
        """
        self._rt = rt
        self.figures = figures
        self.registry = registry
        self._read_deadline = read_deadline
        self._clock = clock

    def describe(self) -> Iterator[Metric]:
        """The families without samples (so registering reads nothing and duplicate names are caught)."""
        yield from _families(None, None)

    def collect(self) -> Iterator[Metric]:
        """Read the runtime (on its loop) and yield every family."""
        scrape = self._scrape()
        yield from _families(scrape.reading, scrape.loop)

    def close(self) -> None:
        """Unregister from the registry and stop the probe's heartbeat, if it has one (idempotent)."""
        with contextlib.suppress(KeyError):  # already unregistered
            self.registry.unregister(self)
        self.figures.close()

    # -- reading -----------------------------------------------------------------------------

    def _scrape(self) -> _Scrape:
        figures = self.figures
        if figures.loop.is_closed():  # the runtime's loop has ended: there is nothing left to measure
            return _Scrape(None, None)
        if figures.on_loop_thread():  # a scrape handled on the runtime's own loop: waiting would deadlock
            return _Scrape(read_runtime(self._rt), figures.running(None))
        answer = self._read_on_loop()
        if answer is not None:
            reading, lag, stalls = answer
            return _Scrape(reading, (lag, stalls))
        return _Scrape(None, figures.blocked())

    def _read_on_loop(self) -> tuple[Reading, float, int] | None:
        """Read the runtime on its loop, a step per loop turn; None if it was not done within the deadline."""
        future: concurrent.futures.Future[tuple[Reading, float, int]] = concurrent.futures.Future()
        figures, rt, clock = self.figures, self._rt, self._clock
        loop = figures.loop
        scheduled = clock()

        def first() -> None:  # on the runtime's loop, like every step
            if not future.set_running_or_notify_cancel():
                return  # the scrape gave up waiting before the loop ran this
            lag, stalls = figures.running(clock() - scheduled)
            steps = read_in_steps(rt)

            def step() -> None:
                if abandoned.is_set():
                    steps.close()
                    future.set_exception(TimeoutError("the scrape stopped waiting"))
                    return
                try:
                    next(steps)
                except StopIteration as done:
                    future.set_result((done.value, lag, stalls))
                except BaseException as error:  # noqa: BLE001 - not hidden: raised in the scrape's thread
                    future.set_exception(error)
                else:
                    loop.call_soon(step)  # the next chunk after whatever else is ready

            step()

        abandoned = threading.Event()
        try:
            loop.call_soon_threadsafe(first)
        except RuntimeError:  # the runtime's loop is closed
            return None
        try:
            return future.result(timeout=self._read_deadline)
        except concurrent.futures.TimeoutError:
            abandoned.set()  # a read under way stops at its next step
            future.cancel()  # one that has not begun never does
            return None


def _families(reading: Reading | None, loop: tuple[float, int] | None) -> Iterator[Metric]:
    """Every family, with samples from `reading` and `loop` (lag seconds, stalls) where given.

    `describe` gives neither; a scrape while the loop is blocked gives only `loop`.
    """
    processes = GaugeMetricFamily("observer_processes", _HELP["observer_processes"], labels=["kind"])
    restarts = CounterMetricFamily("observer_restarts", _HELP["observer_restarts"], labels=["supervisor", "child"])
    intensity = GaugeMetricFamily(
        "observer_restart_intensity_used", _HELP["observer_restart_intensity_used"], labels=["supervisor"]
    )
    checks = CounterMetricFamily(
        "observer_rate_limit_checks", _HELP["observer_rate_limit_checks"], labels=["limiter", "result"]
    )
    singles = [
        GaugeMetricFamily(name, _HELP[name])
        for name in ("observer_monitors", "observer_mailbox_depth_max", "observer_mailbox_depth_sum")
    ]
    if reading is not None:
        for kind, count in reading.processes:
            processes.add_metric([kind], count)
        for supervisor in reading.supervisors:
            for child, count in supervisor.restarts:
                restarts.add_metric([supervisor.label, child], count)
            if supervisor.intensity_used is not None:
                intensity.add_metric([supervisor.label], supervisor.intensity_used)
        for limiter in reading.limiters:
            checks.add_metric([limiter.label, "allowed"], limiter.allowed)
            checks.add_metric([limiter.label, "denied"], limiter.denied)
        for family, value in zip(
            singles, (reading.monitors, reading.mailbox_depth_max, reading.mailbox_depth_sum), strict=True
        ):
            family.add_metric([], value)
    yield processes
    yield restarts
    yield intensity
    yield from singles
    yield checks
    lag = GaugeMetricFamily("observer_loop_lag_seconds", _HELP["observer_loop_lag_seconds"])
    stalls_family = CounterMetricFamily("observer_stalls", _HELP["observer_stalls"])
    if loop is not None:
        lag.add_metric([], loop[0])
        stalls_family.add_metric([], loop[1])
    yield lag
    yield stalls_family
