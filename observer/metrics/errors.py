"""The errors of `observer.metrics`, and the one place that checks prometheus_client is installed."""

from __future__ import annotations

INSTALL_HINT = "pip install 'aio-observer[metrics]'"
"""What a user runs to get the optional metrics dependency."""


class MetricsError(Exception):
    """Metrics cannot be served or registered as asked; the message is one line for the user."""


class MetricsUnavailable(MetricsError, ImportError):
    """prometheus_client is not installed (the optional `[metrics]` extra)."""


def require_prometheus() -> None:
    """Import prometheus_client, or say in one line how to install it.

    Raises:
        MetricsUnavailable: prometheus_client cannot be imported.
    """
    try:
        import prometheus_client  # noqa: F401 - imported to check it is there
    except ImportError as error:
        raise MetricsUnavailable(f"observer.metrics needs prometheus_client: {INSTALL_HINT}") from error
