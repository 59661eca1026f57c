"""Trees that the attach tests serve from a subprocess (`observer run --app tests.remote.trees:factory`).

```
app  one_for_one
  echo       Server that answers every call with its request
  hog        Server whose cast ("block", seconds) holds the event loop (time.sleep)
  pool       Supervisor one_for_one -> worker_1 .. worker_3
  scratch    Server, transient
```

SIGUSR1 makes `hog` block the loop for 0.6 s, SIGUSR2 for 1.0 s. `hog` prints ``blocking`` on
stdout just before it blocks and ``unblocked`` just after, so a test can wait for those lines
instead of guessing when the block happens.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

from observer.runtime import Caller, Pid, Runtime, Server, Supervisor

SHORT_BLOCK = 0.6
LONG_BLOCK = 1.0


class Echo(Server):
    """Answers every call with its request."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


def hog_the_loop(seconds: float) -> None:
    """Block the event loop's thread (the function a stall's stack must name)."""
    print("blocking", flush=True)
    time.sleep(seconds)
    print("unblocked", flush=True)


class Hog(Server):
    """Blocks the loop when asked by a cast."""

    async def handle_cast(self, request: Any) -> None:
        match request:
            case ("block", float() | int() as seconds):
                hog_the_loop(float(seconds))


async def tree(rt: Runtime) -> Pid:
    """The tree of the module docstring (for tests that serve it in their own process)."""
    pool = Supervisor.child_spec(
        "pool", [Echo.child_spec(id=f"worker_{number}", name=f"worker_{number}") for number in (1, 2, 3)],
        name="pool",
    )
    root = await Supervisor.start_link(rt, [
        Echo.child_spec(id="echo", name="echo"),
        Hog.child_spec(id="hog", name="hog"),
        pool,
        Echo.child_spec(id="scratch", name="scratch", restart="transient"),
    ], name="app", max_restarts=100)
    assert root is not None
    return root


async def factory(rt: Runtime) -> Pid:
    """The tree, with the signal handlers that make `hog` block."""
    root = await tree(rt)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, rt.cast, "hog", ("block", SHORT_BLOCK))
    loop.add_signal_handler(signal.SIGUSR2, rt.cast, "hog", ("block", LONG_BLOCK))
    return root


async def failing(rt: Runtime) -> Pid:
    """A factory whose tree does not start."""
    raise RuntimeError("no database")
