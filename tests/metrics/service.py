"""A small service for the metrics tests that scrape a real process over loopback HTTP.

`build(rt)` is an ``observer run --app tests.metrics.service:build`` factory: a tree whose
figures the tests know exactly (the child "cache" restarted twice, the "api" limiter checked
three times against a limit of 2). Run as a script (``python -m tests.metrics.service HOST:PORT``)
it serves the same tree with `observer.metrics.serve` itself, prints the metrics URL on one line,
and stops in order on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from observer.metrics import serve
from observer.runtime import ChildSpec, Pid, Runtime, Supervisor, current_runtime
from observer.runtime.rate_limiter import RateLimiter

from .helpers import crash, idle_spec

RESTARTS = 2
"""How often `build` restarts the child "cache"."""
LIMIT = 2
CHECKS = 3
"""`build` checks the "api" limiter (limit `LIMIT`) this often: 2 allowed, 1 denied."""


async def _rate_limiter() -> Pid | None:
    return await RateLimiter.start_link(current_runtime(), limiters={"api": (3_600_000, LIMIT)})


async def build(rt: Runtime) -> Pid:
    """Start the tree, restart "cache" `RESTARTS` times and check "api" `CHECKS` times; return the root."""
    root = await Supervisor.start_link(
        rt, [idle_spec("cache"), ChildSpec("limits", _rate_limiter)], max_restarts=10, name="system"
    )
    async with rt.attached() as me:
        await crash(me, root, "cache", RESTARTS)
    for _ in range(CHECKS):
        await RateLimiter.check(rt, "rate_limiter", "api", "client")
    return root


async def _main(host: str, port: int) -> int:
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    async with Runtime() as rt:
        await build(rt)
        async with serve(rt, (host, port)) as endpoint:
            print(endpoint.url, flush=True)
            await stopping.wait()
    return 0


if __name__ == "__main__":
    where, _, port_text = sys.argv[1].rpartition(":")
    sys.exit(asyncio.run(_main(where, int(port_text))))
