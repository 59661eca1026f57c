"""`register(rt, registry)`: add a runtime's collector to a prometheus_client registry, on the runtime's loop."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

from observer.runtime import Runtime

from .errors import MetricsError, require_prometheus
from .probe import INTERVAL, THRESHOLD, LoopProbe

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from .collector import RuntimeCollector

READ_DEADLINE = 2.0
"""Seconds a scrape waits for the runtime's loop before it answers with only the loop's lag and stalls."""


def register(
    rt: Runtime,
    registry: CollectorRegistry | None = None,
    *,
    stall_threshold: float = THRESHOLD,
    read_deadline: float = READ_DEADLINE,
) -> RuntimeCollector:
    """Add `rt`'s metrics to `registry`; call it on the runtime's loop (inside ``async with Runtime()``).

    It starts a heartbeat on the loop (one callback every 50 ms) that measures the loop's lag and
    counts its stalls; `collector.close()` unregisters the collector and stops the heartbeat.

    Args:
        rt: The running runtime.
        registry: Where to add them; default prometheus_client's global ``REGISTRY``.
        stall_threshold: Seconds the loop may not run before that counts as a stall
            (as ``observer.remote.serve``'s, default 0.25).
        read_deadline: Seconds a scrape from another thread waits for the loop; past it the scrape
            answers with the loop's lag (how long it has been blocked) and stalls only.

    Returns:
        The registered collector.

    Raises:
        MetricsUnavailable: prometheus_client is not installed.
        MetricsError: Not called on a running event loop, bad arguments, or the registry already
            has observer metrics.
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
    target = REGISTRY if registry is None else registry
    probe = LoopProbe(loop, interval=INTERVAL, threshold=float(stall_threshold))
    collector = RuntimeCollector(rt, probe, target, read_deadline=float(read_deadline))
    try:
        target.register(collector)
    except ValueError as error:  # prometheus_client: a name is already taken in that registry
        raise MetricsError(f"this registry already has observer metrics ({error}); register once per registry") \
            from None
    probe.start()
    return collector


def _check_seconds(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value > 0):
        raise MetricsError(f"{field} is a positive number of seconds, got {value!r}")
