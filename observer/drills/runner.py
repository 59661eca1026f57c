"""Running drills: headless (a fresh runtime and system per drill) or live on a running app's runtime."""

from __future__ import annotations

import asyncio
import logging
import os
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from observer.loop_alarm import DrillBlocked, LoopAlarm, LoopBlocked
from observer.runtime import Pid, Runtime
from observer.targets import Factory

from .builtin import Drill
from .context import DrillContext
from .errors import DrillError
from .report import DrillReport, StepReport
from .stepping import StepRecorder, describe

logger = logging.getLogger("observer.drills")

START_TIMEOUT = 10.0
"""Seconds a headless drill gives the tree's factory to return its root."""
DRILL_TIMEOUT = 120.0
"""Seconds a headless drill may run (its steps, waits and loads) before it fails at the step it was in."""
ALARM_GRACE = 1.0
"""Seconds past a timeout before the loop alarm fires: the timeout had its chance and the loop is held."""
UNNAMED_ROOT = "root"
"""The name a root without one is registered under, so that a drill file's paths can start with it."""
_NOT_USER_CODE = (str(Path(__file__).resolve().parents[1]), sysconfig.get_paths()["stdlib"])
"""Where the frames of an error are not the user's: observer itself and the standard library."""


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
    timeout: float | None = None,
    catch: bool = False,
) -> DrillReport:
    """Run `drill` against the system already running in `rt` (registered as `root`).

    Args:
        drill: The drill.
        rt: The runtime its system runs in.
        root: The root's registered name (paths start with it).
        live: It runs inside the app, next to the workload.
        on_affected: Told which processes each step touches.
        timeout: Seconds the drill may run; past them it stops and fails at the step it was in.
        catch: An exception the drill's own code raises is a failed drill (one line; its traceback
            goes to the `observer.drills` log) instead of going on up.

    Returns:
        The report; loads the drill started are stopped and servers it suspended are resumed.
    """
    report = DrillReport(drill.name, drill.description)
    started = time.perf_counter()
    async with rt.attached(trap_exits=True) as me:
        ctx = DrillContext(rt, me, report, root=root, live=live, on_affected=on_affected)
        await run_body(drill, ctx, timeout=timeout, catch=catch)
    report.seconds = time.perf_counter() - started
    return report


async def run_body(drill: Drill, ctx: StepRecorder, *, timeout: float | None, catch: bool) -> None:
    """Run `drill`'s body on `ctx` within `timeout`, then close the context and clean up after the drill.

    Args:
        drill: The drill.
        ctx: A `DrillContext`, or a `RemoteDrillContext` for a drill file run attached (drill files use
            only what both offer).
        timeout: Seconds it may run (None: no limit); past them the step it was in fails saying so.
        catch: An exception its code raises is a failed step (else it goes on up).
    """
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            await drill.run(cast(DrillContext, ctx))
    except TimeoutError:
        if not deadline.expired():
            if not catch:
                raise
            _raised(ctx, TimeoutError("a wait outside any step ran out"))
        else:
            _past_deadline(ctx, timeout)
    except Exception as error:
        if not catch:
            raise
        _raised(ctx, error)
    finally:
        ctx.close()
        await ctx.cleanup()


def _past_deadline(ctx: StepRecorder, timeout: float | None) -> None:
    """The drill ran out of time: the step it was in fails saying so (or a step of its own does)."""
    message = f"the drill did not finish within {timeout:g} s (its --timeout)"
    if ctx.interrupted is not None:
        ctx.interrupted.error = message
    else:
        ctx.report.steps.append(StepReport("deadline", error=message))


def _raised(ctx: StepRecorder, error: BaseException) -> None:
    """The drill's code raised `error`: a failed drill, in one line naming where (the traceback goes to the log)."""
    logger.error("drill %r raised", ctx.report.name, exc_info=error)
    where = _user_frame(error)
    if ctx.failed_with is error:  # a step recorded it already
        for step in reversed(ctx.report.steps):
            if step.error is not None:
                step.error += where
                break
        return
    ctx.report.steps.append(StepReport("the drill raised", error=describe(error) + where))


def _user_frame(error: BaseException) -> str:
    """` (at file.py:12 in fn)` for the innermost frame of `error` in the user's code, or ""."""
    found = ""
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        path = os.path.abspath(code.co_filename)
        if not path.startswith(_NOT_USER_CODE):
            found = f" (at {os.path.basename(path)}:{tb.tb_lineno} in {code.co_name})"
        tb = tb.tb_next
    return found


async def run_headless(
    drill: Drill,
    factory: Factory | None = None,
    *,
    start_timeout: float = START_TIMEOUT,
    timeout: float = DRILL_TIMEOUT,
) -> DrillReport:
    """Run `drill` in a fresh runtime on a fresh system from `factory` (the default system if None).

    Args:
        drill: The drill.
        factory: Starts the tree; None starts the default system without its workload.
        start_timeout: Seconds the factory has to return the root; past them the drill fails
            without running. In the main thread this holds even when the factory blocks the
            event loop (a `LoopAlarm` interrupts it).
        timeout: Seconds the drill may run once the tree is up (a `LoopAlarm` guards it too:
            code that holds the loop past it raises `DrillBlocked`).

    Returns:
        The drill's report; a tree that did not start is one failed step, "start the tree";
        a drill whose code raised is a failed step saying what and where.
    """
    async with Runtime() as rt:
        root = await _start_tree(rt, factory or default_system, start_timeout)
        if isinstance(root, _StartFailed):
            return _not_started(drill, root.reason)
        if not isinstance(root, Pid) or not rt.is_alive(root):
            return _not_started(drill, f"the factory returned {root!r}, not the pid of a live process")
        try:
            name = root_name(rt, root)
        except DrillError as error:
            return _not_started(drill, str(error))
        with LoopAlarm(timeout + ALARM_GRACE, DrillBlocked):
            return await run_drill(drill, rt, root=name, timeout=timeout, catch=True)


def root_name(rt: Runtime, root: Pid) -> str:
    """The root's registered name, which a drill file's paths start with; one without a name is registered
    as `UNNAMED_ROOT` now.

    Raises:
        DrillError: It has no name and `UNNAMED_ROOT` names another process.
    """
    info = rt.process_info(root)
    if info is not None and info.name:
        return info.name
    holder = rt.whereis(UNNAMED_ROOT)
    if holder is None:
        rt.register(UNNAMED_ROOT, root)
    elif holder is not root:
        raise DrillError(f"the root has no registered name and {UNNAMED_ROOT!r} is another process's: register "
                         "the root under a name of its own (drill paths start with it)")
    return UNNAMED_ROOT


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
    drills: Sequence[Drill],
    factory: Factory | None = None,
    *,
    start_timeout: float = START_TIMEOUT,
    timeout: float = DRILL_TIMEOUT,
) -> list[DrillReport]:
    """Run each drill headless, one after the other (`run_headless` says what the timeouts are)."""
    return [await run_headless(drill, factory, start_timeout=start_timeout, timeout=timeout) for drill in drills]
