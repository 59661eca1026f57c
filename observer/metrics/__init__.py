"""Prometheus metrics of a runtime: `register(rt)` adds them to a registry, `serve(rt, address)` serves them over HTTP.

Needs the optional `[metrics]` extra (prometheus_client); it is imported only when one of these
is called, so `import observer.metrics` works without it and a missing package is one clear line.

Every figure is read at scrape time from what the runtime already keeps (a prometheus_client
custom collector), so nothing is counted twice on the runtime's hot paths; the loop's lag and
stalls come from the attach endpoint's watchdog when the runtime is served
(`observer.remote.serve`), else from a heartbeat of the metrics' own (`observer.metrics.loop`). The families:
`observer_processes{kind}`, `observer_restarts_total{supervisor,child}`,
`observer_restart_intensity_used{supervisor}`, `observer_monitors`, `observer_mailbox_depth_max`,
`observer_mailbox_depth_sum`, `observer_rate_limit_checks_total{limiter,result}`,
`observer_loop_lag_seconds` and `observer_stalls_total`.
"""

from __future__ import annotations

from .errors import INSTALL_HINT, MetricsError, MetricsUnavailable
from .exporter import MetricsEndpoint, serve
from .registration import READ_DEADLINE, register

__all__ = [
    "INSTALL_HINT",
    "METRIC_NAMES",
    "MetricsEndpoint",
    "MetricsError",
    "MetricsUnavailable",
    "READ_DEADLINE",
    "register",
    "serve",
]

METRIC_NAMES = (
    "observer_processes",
    "observer_restarts_total",
    "observer_restart_intensity_used",
    "observer_monitors",
    "observer_mailbox_depth_max",
    "observer_mailbox_depth_sum",
    "observer_rate_limit_checks_total",
    "observer_loop_lag_seconds",
    "observer_stalls_total",
)
"""The names of the exported series (counters with their `_total`), in the order a scrape lists them."""
