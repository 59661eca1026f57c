"""Running drills: headless (a fresh runtime and system per drill) or live on a running app's runtime."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from observer.runtime import Pid, Runtime
from observer.targets import Factory

from .builtin import Drill
from .context import DrillContext
from .report import DrillReport, StepReport

logger = logging.getLogger("observer.drills")


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


async def run_headless(drill: Drill, factory: Factory | None = None) -> DrillReport:
    """Run `drill` in a fresh runtime on a fresh system from `factory` (the default system if None)."""
    async with Runtime() as rt:
        try:
            root = await (factory or default_system)(rt)
        except Exception as error:  # the user's tree did not start: the drill fails and says why
            logger.error("the tree factory of drill %r failed", drill.name, exc_info=error)
            return _not_started(drill, f"{type(error).__name__}: {error}")
        if not isinstance(root, Pid) or not rt.is_alive(root):
            return _not_started(drill, f"the factory returned {root!r}, not the pid of a live process")
        info = rt.process_info(root)
        name = info.name if info is not None and info.name else None
        if name is None:
            name = "root"
            rt.register(name, root)
        return await run_drill(drill, rt, root=name)


def _not_started(drill: Drill, error: str) -> DrillReport:
    return DrillReport(drill.name, drill.description, steps=[StepReport("start the tree", error=error)])


async def run_all(drills: Sequence[Drill], factory: Factory | None = None) -> list[DrillReport]:
    """Run each drill headless, one after the other."""
    return [await run_headless(drill, factory) for drill in drills]
