"""A tree the app's attach tests serve from a subprocess (`observer run --app tests.app.served:factory`).

```
shop  one_for_one
  echo       Server that answers every call with its request
  crasher    Server whose call "crash" raises RuntimeError("boom") in `explode`
  worker     Server that answers every call with its request
```
"""

from __future__ import annotations

from typing import Any

from observer.runtime import Caller, Pid, Runtime, Server, Supervisor


class Echo(Server):
    """Answers every call with its request."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


def explode() -> None:
    """The frame a crash's traceback must name."""
    raise RuntimeError("boom")


class Crasher(Server):
    """Crashes on the call "crash" (its caller gets a CallExit); answers anything else."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        if request == "crash":
            explode()
        return request


async def factory(rt: Runtime) -> Pid:
    """The tree of the module docstring."""
    root = await Supervisor.start_link(rt, [
        Echo.child_spec(id="echo", name="echo"),
        Crasher.child_spec(id="crasher", name="crasher"),
        Echo.child_spec(id="worker", name="worker"),
    ], name="shop", max_restarts=100)
    assert root is not None
    return root
