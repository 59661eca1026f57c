"""`serve(rt, (host, port))`: the runtime's metrics over HTTP for Prometheus, while an ``async with`` block runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from observer.runtime import Runtime

from .errors import MetricsError, require_prometheus
from .registration import register

if TYPE_CHECKING:
    import threading
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.registry import CollectorRegistry

    from .collector import RuntimeCollector

JOIN_TIMEOUT = 5.0
"""Seconds leaving the block waits for the HTTP server's thread to end."""


class MetricsEndpoint:
    """Where the metrics are served (what `serve` yields).

    Attributes:
        address: The bound ``(host, port)`` (the real port when 0 was asked for).
        registry: The registry the endpoint serves (the runtime's collector is in it).
    """

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry) -> None:
        self.address = address
        self.registry = registry

    @property
    def url(self) -> str:
        """The URL Prometheus scrapes, ``http://host:port/metrics``."""
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"

    def __repr__(self) -> str:
        return f"<MetricsEndpoint {self.url}>"


def serve(
    rt: Runtime, address: tuple[str, int], *, registry: CollectorRegistry | None = None, **options: Any
) -> _Serving:
    """Serve `rt`'s metrics on ``http://host:port/metrics`` while the block runs.

    ``async with observer.metrics.serve(rt, ("127.0.0.1", 9464)) as endpoint:`` — enter it on the
    runtime's loop. The HTTP server runs in its own thread (prometheus_client's); a scrape reads
    the runtime by scheduling a small read onto the loop. Leaving the block stops the server and
    unregisters the collector.

    Args:
        rt: The running runtime.
        address: ``(host, port)``; port 0 picks a free one (see `MetricsEndpoint.address`).
        registry: The registry to add the runtime's collector to and serve; default
            prometheus_client's global ``REGISTRY`` (which also has the process and GC collectors).
        **options: Passed to `observer.metrics.register` (``stall_threshold``, ``read_deadline``,
            ``endpoint``); a runtime that ``observer.remote.serve`` publishes gets its loop's lag and
            stalls from that endpoint.

    Raises:
        MetricsUnavailable: On entering: prometheus_client is not installed.
        MetricsError: On entering: a bad address, a port that is taken or a host that cannot be bound.
    """
    if not (isinstance(address, tuple) and len(address) == 2 and isinstance(address[0], str) and address[0]
            and isinstance(address[1], int) and not isinstance(address[1], bool) and 0 <= address[1] <= 65535):
        raise MetricsError(f"the metrics address is a (host, port) pair with a port in 0..65535, got {address!r}")
    return _Serving(rt, address, registry, options)


class _Serving:
    """The context manager behind `serve`."""

    def __init__(self, rt: Runtime, address: tuple[str, int], registry: CollectorRegistry | None,
                 options: dict[str, Any]) -> None:
        self._rt = rt
        self._address = address
        self._registry = registry
        self._options = options
        self._collector: RuntimeCollector | None = None
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None  # noqa: TID251 - its type only: prometheus_client starts it

    async def __aenter__(self) -> MetricsEndpoint:
        if self._server is not None:
            raise MetricsError("this metrics serve() is already running; call serve() again for another endpoint")
        require_prometheus()
        from prometheus_client import start_http_server

        collector = register(self._rt, self._registry, **self._options)
        host, port = self._address
        try:
            server, thread = start_http_server(port, addr=host, registry=collector.registry)
        except OSError as error:  # taken port, a host that is not ours or does not resolve
            collector.close()
            raise MetricsError(f"cannot serve metrics on {_joined(host, port)}: {error.strerror or error}") from None
        self._collector, self._server, self._thread = collector, server, thread
        return MetricsEndpoint((host, server.server_port), collector.registry)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        server, thread, collector = self._server, self._thread, self._collector
        if server is None or thread is None or collector is None:
            return
        self._server = self._thread = self._collector = None
        try:
            # `shutdown` waits for the server's poll loop (up to 0.5 s): off the runtime's loop, which
            # meanwhile answers the reads of scrapes still in flight.
            await _off_loop(server.shutdown)
            server.server_close()
            await _off_loop(lambda: thread.join(JOIN_TIMEOUT))
        finally:
            collector.close()


async def _off_loop(fn: Callable[[], object]) -> None:
    """Run a blocking call in the default executor."""
    await asyncio.get_running_loop().run_in_executor(None, fn)


def _joined(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
