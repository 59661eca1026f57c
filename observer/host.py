"""Host figures of the app's own OS process from psutil, and a probe of the event loop's lag."""

from __future__ import annotations

import psutil  # type: ignore[import-untyped]

from observer.snapshot import HostStats


class HostSampler:
    """Samples CPU, memory, threads and open file descriptors of the current OS process."""

    def __init__(self) -> None:
        """Start sampling; the first CPU figure covers the time since this call."""
        self._process = psutil.Process()
        self._process.cpu_percent(None)

    def __call__(self) -> HostStats:
        """Take one sample."""
        process = self._process
        with process.oneshot():
            try:
                open_fds: int | None = process.num_fds()
            except AttributeError:  # not on this platform (Windows)
                open_fds = None
            return HostStats(
                cpu_percent=process.cpu_percent(None),
                rss_bytes=process.memory_info().rss,
                threads=process.num_threads(),
                open_fds=open_fds,
            )


class LagProbe:
    """Measures how late a periodic callback runs: the event loop's lag.

    Call `tick(now)` from the periodic callback; it returns how much later than
    `interval` after the previous call this call came (never negative).
    """

    def __init__(self, interval: float) -> None:
        """Create a probe for a callback due every `interval` seconds."""
        self.interval = interval
        self._last: float | None = None

    def tick(self, now: float) -> float:
        """Record a call at `now` (seconds, any monotonic clock); return its lag in seconds."""
        last, self._last = self._last, now
        if last is None:
            return 0.0
        return max(0.0, now - last - self.interval)

    def reset(self, interval: float) -> None:
        """Start over with a new interval (after the refresh rate changed or a pause)."""
        self.interval = interval
        self._last = None
