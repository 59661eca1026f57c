"""`register(rt, registry)`: add a runtime's collector to a prometheus_client registry, on the runtime's loop."""

from __future__ import annotations

import asyncio
import math
import sys
from typing import TYPE_CHECKING, Any

from observer.runtime import Runtime

from .errors import MetricsError, require_prometheus
from .loop import EndpointFigures, LoopFigures, ProbeFigures
from .probe import INTERVAL, THRESHOLD, LoopProbe

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from observer.remote import Endpoint

    from .collector import RuntimeCollector

_REMOTE = "observer.remote"
"""The attach package: asked for the runtime's endpoint only if something imported it (it serves then)."""

READ_DEADLINE = 2.0
"""Seconds a scrape waits for the runtime's loop before it answers with only the loop's lag and stalls."""


def register(
    rt: Runtime,
    registry: CollectorRegistry | None = None,
    *,
    stall_threshold: float = THRESHOLD,
    read_deadline: float = READ_DEADLINE,
    endpoint: Endpoint | None = None,
) -> RuntimeCollector:
    """Add `rt`'s metrics to `registry`; call it on the runtime's loop (inside ``async with Runtime()``).

    The loop's lag and stalls come from the attach endpoint when `rt` is served
    (``observer.remote.serve(rt)`` entered before, in this task or the one that started it, as
    ``observer run --metrics`` does; or `endpoint` given): its watchdog already measures them, so
    ``observer_stalls_total`` counts the stalls attached clients see. Otherwise it starts a heartbeat
    on the loop (one callback every 50 ms) that measures the lag and counts the stalls.
    `collector.close()` unregisters the collector and stops that heartbeat.

    Args:
        rt: The running runtime.
        registry: Where to add them; default prometheus_client's global ``REGISTRY``.
        stall_threshold: Seconds the loop may not run before that counts as a stall
            (as ``observer.remote.serve``'s, default 0.25); with an endpoint, the endpoint's applies.
        read_deadline: Seconds a scrape from another thread waits for the loop; past it the scrape
            answers with the loop's lag (how long it has been blocked) and stalls only.
        endpoint: The endpoint that publishes `rt` (default: the one found as said above, if any).

    Returns:
        The registered collector.

    Raises:
        MetricsUnavailable: prometheus_client is not installed.
        MetricsError: Not called on a running event loop, bad arguments (an `endpoint` that is not
            an `observer.remote.Endpoint`), or the registry already has observer metrics.
    """
    require_prometheus()
    from prometheus_client.registry import REGISTRY

    from .collector import RuntimeCollector

    if not isinstance(rt, Runtime):
        raise MetricsError(f"register needs an observer.runtime.Runtime, got {rt!r}")
    _check_seconds("stall_threshold", stall_threshold)
    _check_seconds("read_deadline", read_deadline)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise MetricsError(
            "observer.metrics.register runs on the runtime's event loop (inside `async with Runtime()`)"
        ) from None
    if endpoint is not None:
        from observer.remote import Endpoint

        if not isinstance(endpoint, Endpoint):
            raise MetricsError(f"endpoint is what observer.remote.serve(rt) yielded, got {endpoint!r}")
    target = REGISTRY if registry is None else registry
    served = endpoint if endpoint is not None else _endpoint_of(rt)
    probe: LoopProbe | None = None
    figures: LoopFigures
    if served is not None:
        figures = EndpointFigures(served, loop)
    else:
        probe = LoopProbe(loop, interval=INTERVAL, threshold=float(stall_threshold))
        figures = ProbeFigures(probe)
    collector = RuntimeCollector(rt, figures, target, read_deadline=float(read_deadline))
    try:
        target.register(collector)
    except ValueError as error:  # prometheus_client: a name is already taken in that registry
        raise MetricsError(f"this registry already has observer metrics ({error}); register once per registry") \
            from None
    if probe is not None:
        probe.start()
    return collector


def _endpoint_of(rt: Runtime) -> Endpoint | None:
    """The endpoint serving `rt` in this context, without importing observer.remote when nothing serves."""
    remote = sys.modules.get(_REMOTE)
    if remote is None:
        return None
    found: Endpoint | None = remote.endpoint_of(rt)
    return found


def _check_seconds(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value > 0):
        raise MetricsError(f"{field} is a positive number of seconds, got {value!r}")
