"""Host figures of the serving OS process from the standard library (the endpoint has no psutil)."""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

from observer.snapshot import HostStats

_PROC = Path("/proc/self")


class HostSampler:
    """Samples CPU, memory, threads and open descriptors of this process (Linux /proc where it exists)."""

    def __init__(self) -> None:
        """Start sampling; the first CPU figure covers the time since this call."""
        self._cpu = time.process_time()
        self._wall = time.monotonic()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def __call__(self) -> HostStats:
        """Take one sample."""
        cpu, wall = time.process_time(), time.monotonic()
        elapsed = wall - self._wall
        percent = 0.0 if elapsed <= 0 else (cpu - self._cpu) / elapsed * 100
        self._cpu, self._wall = cpu, wall
        return HostStats(cpu_percent=percent, rss_bytes=self._rss(), threads=_threads(), open_fds=_open_fds())

    def _rss(self) -> int:
        try:
            return int((_PROC / "statm").read_text().split()[1]) * self._page
        except (OSError, IndexError, ValueError):  # no /proc: the peak, which is what getrusage has
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _threads() -> int:
    try:
        for line in (_PROC / "status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass  # no /proc: the Python threads are what is known
    return threading.active_count()


def _open_fds() -> int | None:
    try:
        return len(os.listdir(_PROC / "fd")) - 1  # less the one listdir itself opened
    except OSError:
        return None
