"""Running one validated step of a drill file: its load, its action, its pause and wait, then its expectations."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TypeAlias

from observer.runtime import Pid

from . import values
from .context import WAIT_TIMEOUT, DrillContext
from .errors import DrillError
from .load import ANY_REPLY, Load
from .report import StepReport
from .toml_drill import StepSpec

if TYPE_CHECKING:  # attached drills import observer.remote; a drill in this process need not
    from .remote_context import RemoteDrillContext

Context: TypeAlias = "DrillContext | RemoteDrillContext"
"""A context in this process or attached to a service: steps use only what both offer."""


async def run_step(ctx: Context, spec: StepSpec) -> None:
    """Run `spec` (`repeat` times, each round a step of the report, until a round fails)."""
    rounds = spec.repeat
    for round_number in range(1, rounds + 1):
        name = spec.name if rounds == 1 else f"{spec.name} ({round_number}/{rounds})"
        async with ctx.step(name) as step:
            await _run_round(ctx, spec.fields, step)
        if not step.passed:
            if round_number < rounds:
                step.happened.append(f"stopped repeating: round {round_number} of {rounds} failed")
            return


async def _run_round(ctx: Context, fields: dict[str, Any], step: StepReport) -> None:
    watched = [*fields.get("expect_restarted", []), *fields.get("expect_unchanged", [])]
    before = await ctx.pids(watched)
    baseline = await ctx.monitor_total() if fields.get("expect_monitor_baseline") else 0
    waits = fields.get("timeout_ms", WAIT_TIMEOUT * 1000) / 1000
    load = _start_load(ctx, fields["load"], step) if "load" in fields else None
    stopped: list[str] = []
    started: list[str] = []
    if "kill" in fields:
        kill = await ctx.kill(fields["kill"], fields.get("reason", "kill"))
        if kill.supervisor is not None:  # what the killed process's own supervisor did, in order
            stopped, started = kill.stopped(kill.supervisor), kill.started(kill.supervisor)
        step.happened.append(f"{kill.pid!r} exited with {kill.reason!r}")
        if "expect_exit_reason" in fields:
            ctx.expect_equal(step, "exit reason", fields["expect_exit_reason"], str(kill.reason))
        if "within_ms" in fields:
            limit = fields["within_ms"]
            took = kill.restart_seconds
            shown = "not restarted before the runtime settled" if took is None else f"{took * 1000:.1f} ms"
            ctx.expect(step, f"restarted within {limit} ms", took is not None and took * 1000 <= limit,
                       f"<= {limit} ms", shown)
    if "flood" in fields:
        flood = fields["flood"]
        allowed = await ctx.flood(flood["limiter"], flood["key"], flood["checks"])
        step.happened.append(f"{allowed} of {flood['checks']} checks allowed")
        if "expect_allowed" in fields:
            ctx.expect_equal(step, "allowed checks", fields["expect_allowed"], allowed)
    if "churn" in fields:
        churn = fields["churn"]
        count = await ctx.churn(churn["pattern"], churn["subscribers"])
        step.happened.append(f"{count} subscribers of {churn['pattern']!r} subscribed and died")
    if "call" in fields:
        await _call(ctx, fields["call"], step)
    if "suspend" in fields:
        pid = await ctx.suspend(fields["suspend"])
        step.happened.append(f"suspended {fields['suspend']} ({pid!r})")
    if "resume" in fields:
        pid = await ctx.resume(fields["resume"])
        step.happened.append(f"resumed {fields['resume']} ({pid!r})")
    if "pause_ms" in fields:
        await ctx.pause(fields["pause_ms"] / 1000)
        step.happened.append(f"paused {fields['pause_ms']} ms")
    if "wait_for" in fields:
        await _wait_for(ctx, fields["wait_for"], step)
    after = await ctx.pids(watched)
    for path in fields.get("expect_restarted", []):
        ctx.expect(step, f"{path} restarted", before[path] is not after[path], "a new pid",
                   _pids(before[path], after[path]))
    for path in fields.get("expect_unchanged", []):
        ctx.expect(step, f"{path} unchanged", before[path] is after[path], "the same pid",
                   _pids(before[path], after[path]))
    if "expect_stopped" in fields:
        ctx.expect_equal(step, "stopped, in order", fields["expect_stopped"], stopped)
    if "expect_started" in fields:
        ctx.expect_equal(step, "started, in order", fields["expect_started"], started)
    if fields.get("expect_monitor_baseline"):
        ctx.expect_equal(step, "rt.monitor_count() back at its baseline", baseline, await ctx.monitor_total())
    if "expect_state" in fields:
        table = fields["expect_state"]
        state = await ctx.get_state(table["dest"], timeout=table.get("timeout_ms", WAIT_TIMEOUT * 1000) / 1000)
        ctx.expect(step, f"state of {table['dest']} includes", values.subset(table["subset"], state),
                   table["subset"], values.comparable(state))
    if "expect_errors_at_most" in fields:
        await _load_errors(ctx, load or ctx.last_load, fields["expect_errors_at_most"], step)
    if "expect_root_exit" in fields:
        await _root_exit(ctx, fields["expect_root_exit"], waits, step)


def _start_load(ctx: Context, table: dict[str, Any], step: StepReport) -> Load:
    load = ctx.start_load(
        table["call"], table["request"], rate=table["rate"], seconds=table["during_ms"] / 1000,
        timeout=table.get("timeout_ms", 1000) / 1000, reply=table.get("reply", ANY_REPLY),
    )
    step.happened.append(f"load started: {load.result.spec.calls} calls to {table['call']!r} "
                         f"at {table['rate']:g}/s for {table['during_ms']} ms")
    return load


async def _call(ctx: Context, table: dict[str, Any], step: StepReport) -> None:
    dest, request = table["dest"], table["request"]
    reply = await ctx.call(dest, request, timeout=table.get("timeout_ms", WAIT_TIMEOUT * 1000) / 1000)
    step.happened.append(f"call {dest} {request!r} -> {reply!r}")
    if "expect_reply" in table:
        expected = table["expect_reply"]
        ctx.expect(step, f"reply of {dest}", values.equal(expected, reply), expected, values.comparable(reply))


async def _wait_for(ctx: Context, table: dict[str, Any], step: StepReport) -> None:
    timeout = table.get("timeout_ms", WAIT_TIMEOUT * 1000) / 1000
    began = time.perf_counter()
    if "http" in table:
        status = await ctx.wait_for_http(table["http"], table.get("status", 200), timeout=timeout)
        seen = f"{table['http']} answered {status}"
    else:
        reply = await ctx.wait_for_reply(table["call"], table["request"], table.get("reply", ANY_REPLY),
                                         timeout=timeout)
        seen = f"{table['call']} answered {reply!r}"
    step.happened.append(f"{seen} after {(time.perf_counter() - began) * 1000:.1f} ms")


async def _load_errors(ctx: Context, load: Load | None, most: int, step: StepReport) -> None:
    if load is None:
        raise DrillError("expect_errors_at_most: no load has been started")
    result = await ctx.wait_load(load)
    step.happened.append(result.summary())
    kinds = ", ".join(f"{kind} x{count}" for kind, count in result.errors.most_common())
    ctx.expect(step, f"load errors on {result.spec.dest}", result.error_count <= most, f"at most {most}",
               f"{result.error_count}" + (f" ({kinds})" if kinds else ""))


async def _root_exit(ctx: Context, expected: bool | str, timeout: float, step: StepReport) -> None:
    if expected is False:
        alive = await ctx.root_running()
        ctx.expect(step, f"the root {ctx.root!r} still runs", alive, "running", "running" if alive else "exited")
        return
    reason = await ctx.wait_root_exit(timeout=timeout)
    step.happened.append(f"the root {ctx.root!r} exited with {reason!r}")
    if isinstance(expected, str):
        ctx.expect_equal(step, "root exit reason", expected, str(reason))


def _pids(before: Pid, after: Pid) -> str:
    return f"{before!r} -> {after!r}"
