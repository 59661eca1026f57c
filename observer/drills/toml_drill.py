"""Drill files: a user's drill in TOML, checked field by field, run like a built-in drill.

```toml
[drill]
name = "router-restarts-alone"
description = "kill the signal router; nothing else moves"

[[step]]
name = "churn subscribers"
churn = { pattern = "demo.**", subscribers = 500 }
expect_monitor_baseline = true            # rt.monitor_count() at the step's end equals its start

[[step]]
name = "kill the signal router"
kill = "system/services/signal_router"    # a path: root name, then child ids
reason = "kill"                           # optional exit reason (default "kill")
expect_exit_reason = "killed"             # optional: the killed process's exit reason
expect_restarted = ["system/services/signal_router"]
expect_unchanged = ["system/services/rate_limiter", "system/state_supervisor"]
expect_stopped = []                       # child ids its supervisor stopped, in order
expect_started = ["signal_router"]        # child ids its supervisor started, in order

[[step]]
name = "flood the limiter"
flood = { limiter = "agent_actions", key = "drill", checks = 20 }
expect_allowed = 4
```

A step has at most one action (`kill`, `flood` or `churn`) and any expectations.
Sizes are bounded: a flood makes at most 100,000 checks, a churn at most 10,000
subscribers.
`expect_monitor_baseline` needs a system at rest: right after killing the signal
router or the agent registry, the agents rejoin the new one on a short timer, so
put such a step before the kills (as examples/router-restarts-alone.toml does).
"""

from __future__ import annotations

import os
import reprlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from observer.runtime import ObserverError, Pid
from observer.runtime.rate_limiter import RateLimiter
from observer.runtime.signal_router import SignalRouter

from . import probes
from .builtin import Drill
from .context import DrillContext

_STEP_FIELDS: Mapping[str, type] = MappingProxyType({
    "name": str,
    "kill": str,
    "reason": str,
    "flood": dict,
    "churn": dict,
    "expect_exit_reason": str,
    "expect_restarted": list,
    "expect_unchanged": list,
    "expect_stopped": list,
    "expect_started": list,
    "expect_allowed": int,
    "expect_monitor_baseline": bool,
})
_ACTIONS = ("kill", "flood", "churn")
_LIMITS: Mapping[str, int] = MappingProxyType({
    "checks": 100_000,  # rate-limit checks in one flood: each is a call to the limiter (~10 s at most)
    "subscribers": 10_000,  # processes in one churn: the size of tree the app is built to show
})
"""Upper bounds of a drill's sizes, so that a typo cannot grow the runtime until it runs out of memory."""


class DrillFileError(ObserverError):
    """A drill file is malformed; the message names the file, the field and the value."""


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step of a drill file, validated."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)


def load_drill_file(path: str | os.PathLike[str]) -> Drill:
    """Parse and validate a drill file.

    Raises:
        DrillFileError: the file is missing, not TOML, or a field is missing or wrong.
    """
    where = os.fspath(path)
    try:
        with open(where, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise DrillFileError(f"{where}: no such drill file") from None
    except tomllib.TOMLDecodeError as error:
        raise DrillFileError(f"{where}: not valid TOML: {error}") from None
    except OSError as error:
        raise DrillFileError(f"{where}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise DrillFileError(f"{where}: not UTF-8 text (byte {error.start}): a drill file is TOML") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise DrillFileError(f"{where}: nested too deeply to be a drill file (arrays or tables in each other)") \
            from None
    return parse_drill(document, where)


def parse_drill(document: dict[str, Any], where: str = "<drill>") -> Drill:
    """A Drill from an already parsed TOML document."""
    unknown = sorted(set(document) - {"drill", "step"})
    if unknown:
        raise DrillFileError(f"{where}: unknown table {_show(unknown[0])} (expected [drill] and [[step]])")
    header = document.get("drill")
    if not isinstance(header, dict):
        raise DrillFileError(f"{where}: missing [drill] table with a name (and an optional description)")
    unknown = sorted(set(header) - {"name", "description"})
    if unknown:
        raise DrillFileError(f"{where}: [drill] unknown field {_show(unknown[0])} (known: name, description)")
    name = header.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DrillFileError(f"{where}: [drill] name must be a non-empty string, got {_show(name)}")
    description = header.get("description", "")
    if not isinstance(description, str):
        raise DrillFileError(f"{where}: [drill] description must be a string, got {_show(description)}")
    raw_steps = document.get("step")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise DrillFileError(f"{where}: a drill needs at least one [[step]]")
    steps = [_parse_step(raw, f"{where}: step {index}") for index, raw in enumerate(raw_steps, start=1)]

    async def run(ctx: DrillContext) -> None:
        for step in steps:
            await _run_step(ctx, step)

    return Drill(name, description, run)


def _parse_step(raw: Any, where: str) -> StepSpec:
    if not isinstance(raw, dict):
        raise DrillFileError(f"{where}: a step must be a table, got {_show(raw)}")
    types = _STEP_FIELDS
    for key, value in raw.items():
        expected = types.get(key)
        if expected is None:
            raise DrillFileError(f"{where}: unknown field {_show(key)} (known: {', '.join(types)})")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise DrillFileError(f"{where}: {key} must be a {expected.__name__}, got {_show(value)}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise DrillFileError(f"{where}: {key} must be a list of strings, got {_show(value)}")
    actions = [action for action in _ACTIONS if action in raw]
    if len(actions) > 1:
        raise DrillFileError(f"{where}: a step has at most one action, got {', '.join(actions)}")
    if "flood" in raw:
        _check_table(raw["flood"], {"limiter": str, "key": str, "checks": int}, f"{where}: flood")
    if "churn" in raw:
        _check_table(raw["churn"], {"pattern": str, "subscribers": int}, f"{where}: churn")
    for needs, action in (("reason", "kill"), ("expect_exit_reason", "kill"), ("expect_allowed", "flood")):
        if needs in raw and action not in raw:
            raise DrillFileError(f"{where}: {needs} needs a {action} action in the same step")
    name = raw.get("name") or (f"{actions[0]} {raw[actions[0]]}" if actions else "check")
    return StepSpec(str(name), dict(raw))


def _check_table(table: dict[str, Any], fields: dict[str, type], where: str) -> None:
    for key in table:
        if key not in fields:
            raise DrillFileError(f"{where}: unknown field {_show(key)} (known: {', '.join(fields)})")
    for key, expected in fields.items():
        if key not in table:
            raise DrillFileError(f"{where}: missing field {key!r} (needs: {', '.join(fields)})")
        value = table[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise DrillFileError(f"{where}: {key} must be a {expected.__name__}, got {_show(value)}")
        if isinstance(value, int) and value <= 0:
            raise DrillFileError(f"{where}: {key} must be > 0, got {_show(value)}")
        limit = _LIMITS.get(key)
        if isinstance(value, int) and limit is not None and value > limit:
            raise DrillFileError(f"{where}: {key} must be at most {limit:,}, got {value:,}")


def _show(value: Any) -> str:
    """`value` as a message quotes it: its repr, cut short and never deep (a file may nest a value 400 levels)."""
    shown = reprlib.Repr()  # Python 3.11's Repr takes no keyword arguments
    shown.maxlevel, shown.maxstring, shown.maxother, shown.maxlist, shown.maxdict = 3, 60, 60, 6, 4
    return shown.repr(value)


async def _run_step(ctx: DrillContext, spec: StepSpec) -> None:
    fields = spec.fields
    async with ctx.step(spec.name) as step:
        watched = [*fields.get("expect_restarted", []), *fields.get("expect_unchanged", [])]
        before = await ctx.pids(watched)
        baseline = ctx.rt.monitor_count()
        stopped: list[str] = []
        started: list[str] = []
        if "kill" in fields:
            kill = await ctx.kill(fields["kill"], fields.get("reason", "kill"))
            if kill.supervisor is not None:  # what the killed process's own supervisor did, in order
                stopped, started = kill.stopped(kill.supervisor), kill.started(kill.supervisor)
            step.happened.append(f"{kill.pid!r} exited with {kill.reason!r}")
            if "expect_exit_reason" in fields:
                ctx.expect_equal(step, "exit reason", fields["expect_exit_reason"], str(kill.reason))
        if "flood" in fields:
            flood = fields["flood"]
            allowed = 0
            for _ in range(flood["checks"]):
                decision = await RateLimiter.check(ctx.rt, "rate_limiter", flood["limiter"], flood["key"])
                allowed += decision.allowed
            step.happened.append(f"{allowed} of {flood['checks']} checks allowed")
            if "expect_allowed" in fields:
                ctx.expect_equal(step, "allowed checks", fields["expect_allowed"], allowed)
        if "churn" in fields:
            churn = fields["churn"]
            subscribers = await ctx.start_probes(probes.subscriber, [(churn["pattern"],)] * churn["subscribers"])
            await ctx.kill_all(subscribers)
            await SignalRouter.subscriptions(ctx.rt, "signal_router")
            step.happened.append(f"{len(subscribers)} subscribers of {churn['pattern']!r} subscribed and died")
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
            ctx.expect_equal(step, "rt.monitor_count() back at its baseline", baseline, ctx.rt.monitor_count())


def _pids(before: Pid, after: Pid) -> str:
    return f"{before!r} -> {after!r}"
