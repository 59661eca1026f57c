"""Running drills: headless (a fresh runtime and system per drill) or live on a running app's runtime."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from observer.runtime import Pid, Runtime
from observer.targets import Factory

from .builtin import Drill
from .context import DrillContext
from .loop_alarm import LoopAlarm, LoopBlocked
from .report import DrillReport, StepReport

logger = logging.getLogger("observer.drills")

START_TIMEOUT = 10.0
"""Seconds a headless drill gives the tree's factory to return its root."""
ALARM_GRACE = 1.0
"""Seconds past the start timeout before the loop alarm fires: the timeout had its chance and the loop is held."""


async def default_system(rt: Runtime) -> Pid:
    """The embedded default system, without the workload so every count is exact."""
    from observer.system import start_system

    return await start_system(rt, workload=False)


async def run_drill(
    drill: Drill,
    rt: Runtime,
    *,
    root: str = "system",
    live: bool = False,
    on_affected: Callable[[Sequence[Pid]], None] | None = None,
) -> DrillReport:
    """Run `drill` against the system already running in `rt` (registered as `root`)."""
    report = DrillReport(drill.name, drill.description)
    started = time.perf_counter()
    async with rt.attached(trap_exits=True) as me:
        ctx = DrillContext(rt, me, report, root=root, live=live, on_affected=on_affected)
        try:
            await drill.run(ctx)
        finally:
            ctx.close()
    report.seconds = time.perf_counter() - started
    return report


async def run_headless(
    drill: Drill, factory: Factory | None = None, *, start_timeout: float = START_TIMEOUT
) -> DrillReport:
    """Run `drill` in a fresh runtime on a fresh system from `factory` (the default system if None).

    Args:
        drill: The drill.
        factory: Starts the tree; None starts the default system without its workload.
        start_timeout: Seconds the factory has to return the root; past them the drill fails
            without running. In the main thread this holds even when the factory blocks the
            event loop (a `LoopAlarm` interrupts it).

    Returns:
        The drill's report; a tree that did not start is one failed step, "start the tree".
    """
    async with Runtime() as rt:
        root = await _start_tree(rt, factory or default_system, start_timeout)
        if isinstance(root, _StartFailed):
            return _not_started(drill, root.reason)
        if not isinstance(root, Pid) or not rt.is_alive(root):
            return _not_started(drill, f"the factory returned {root!r}, not the pid of a live process")
        info = rt.process_info(root)
        name = info.name if info is not None and info.name else None
        if name is None:
            name = "root"
            rt.register(name, root)
        return await run_drill(drill, rt, root=name)


@dataclass(frozen=True, slots=True)
class _StartFailed:
    """The tree did not start; `reason` says why in one line."""

    reason: str


async def _start_tree(rt: Runtime, factory: Factory, start_timeout: float) -> object:
    """What `factory(rt)` returned within `start_timeout` seconds (whatever it is), or why it did not."""
    deadline = asyncio.timeout(start_timeout)
    alarm = LoopAlarm(start_timeout + ALARM_GRACE)
    blocked = _StartFailed(
        f"the factory held the event loop for over {start_timeout:g} s (a blocking call in async code?)"
    )
    try:
        with alarm:
            async with deadline:
                root: object = await factory(rt)
    except LoopBlocked:  # raised into the factory's own blocking call
        logger.error("the tree factory held the event loop for over %g s", start_timeout)
        return blocked
    except Exception as error:  # the user's tree did not start: the drill fails and says why
        logger.error("the tree factory failed", exc_info=error)
        if alarm.fired:  # raised into a process the factory started, whose start then failed
            return blocked
        if deadline.expired():
            return _StartFailed(f"the factory did not return the root within {start_timeout:g} s")
        return _StartFailed(f"{type(error).__name__}: {error}")
    return blocked if alarm.fired else root


def _not_started(drill: Drill, error: str) -> DrillReport:
    return DrillReport(drill.name, drill.description, steps=[StepReport("start the tree", error=error)])


async def run_all(
    drills: Sequence[Drill], factory: Factory | None = None, *, start_timeout: float = START_TIMEOUT
) -> list[DrillReport]:
    """Run each drill headless, one after the other (`run_headless` says what `start_timeout` is)."""
    return [await run_headless(drill, factory, start_timeout=start_timeout) for drill in drills]
