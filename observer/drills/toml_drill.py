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
within_ms = 1000                          # its supervisor restarted it within 1 s of the signal
expect_restarted = ["system/services/signal_router"]
expect_unchanged = ["system/services/rate_limiter", "system/state_supervisor"]
expect_stopped = []                       # child ids its supervisor stopped, in order
expect_started = ["signal_router"]        # child ids its supervisor started, in order

[[step]]
name = "flood the limiter"
flood = { limiter = "agent_actions", key = "drill", checks = 20 }
expect_allowed = 4

[[step]]
name = "an agent answers"
call = { dest = "agent_1", request = ["state"], expect_reply = {}, timeout_ms = 1000 }  # ("state",) in Python
expect_state = { dest = "agent_1", subset = { agent_id = "agent_1" } }   # a subset of rt.get_state's dict
```

A step has at most one action (`kill`, `flood`, `churn`, `call`, `suspend`,
`resume`) and any of: a background `load`, `pause_ms`, a `wait_for`, `repeat`
and expectations. In a step they happen in this order: the load starts, the
action, the pause, the wait, then the expectations (`expect_errors_at_most`
waits for the load to end, `expect_root_exit` for the root to exit).
`repeat = N` runs the step N times (reported as "name (2/N)"), stopping at the
first round that fails. Every number is bounded (`_LIMITS`), and a request or a
reply is any TOML value (`values` says how replies are compared).
`expect_monitor_baseline` needs a system at rest: right after killing the signal
router or the agent registry, the agents rejoin the new one on a short timer, so
put such a step before the kills (as examples/router-restarts-alone.toml does).
"""

from __future__ import annotations

import math
import os
import reprlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from observer.runtime import ObserverError

from .builtin import Drill
from .context import DrillContext
from .http import NotLoopback, loopback_url
from .load import MAX_CALLS, MAX_RATE

ANY_VALUE = object
"""The type of a request or a reply: any TOML value."""

_LIMITS: Mapping[str, int] = MappingProxyType({
    "checks": 100_000,  # rate-limit checks in one flood: each is a call to the limiter (~10 s at most)
    "subscribers": 10_000,  # processes in one churn: the size of tree the app is built to show
    "timeout_ms": 600_000,  # any wait: ten minutes
    "within_ms": 600_000,
    "pause_ms": 600_000,
    "during_ms": 600_000,
    "repeat": 1_000,
    "rate": MAX_RATE,
    "expect_errors_at_most": MAX_CALLS,
    "status": 599,
})
"""Upper bounds of a drill's sizes, so that a typo cannot grow the runtime or the run without end."""

_ACTIONS = ("kill", "flood", "churn", "call", "suspend", "resume")

_TABLES: Mapping[str, Mapping[str, tuple[type | tuple[type, ...], bool]]] = MappingProxyType({
    # table field -> {its field: (type, required)}
    "flood": MappingProxyType({"limiter": (str, True), "key": (str, True), "checks": (int, True)}),
    "churn": MappingProxyType({"pattern": (str, True), "subscribers": (int, True)}),
    "call": MappingProxyType({"dest": (str, True), "request": (ANY_VALUE, True), "expect_reply": (ANY_VALUE, False),
                              "timeout_ms": (int, False)}),
    "load": MappingProxyType({"call": (str, True), "request": (ANY_VALUE, True), "rate": ((int, float), True),
                              "during_ms": (int, True), "timeout_ms": (int, False), "reply": (ANY_VALUE, False)}),
    "expect_state": MappingProxyType({"dest": (str, True), "subset": (dict, True), "timeout_ms": (int, False)}),
    "wait_for call": MappingProxyType({"call": (str, True), "request": (ANY_VALUE, True),
                                       "reply": (ANY_VALUE, False), "timeout_ms": (int, False)}),
    "wait_for http": MappingProxyType({"http": (str, True), "status": (int, False), "timeout_ms": (int, False)}),
})
"""The fields of each table-valued step field (`wait_for` has two forms)."""

_STEP_FIELDS: Mapping[str, type | tuple[type, ...]] = MappingProxyType({
    "name": str,
    "kill": str,
    "reason": str,
    "flood": dict,
    "churn": dict,
    "call": dict,
    "suspend": str,
    "resume": str,
    "load": dict,
    "pause_ms": int,
    "wait_for": dict,
    "repeat": int,
    "timeout_ms": int,
    "within_ms": int,
    "expect_exit_reason": str,
    "expect_restarted": list,
    "expect_unchanged": list,
    "expect_stopped": list,
    "expect_started": list,
    "expect_allowed": int,
    "expect_monitor_baseline": bool,
    "expect_state": dict,
    "expect_errors_at_most": int,
    "expect_root_exit": (bool, str),
})
_NEEDS: tuple[tuple[str, str], ...] = (
    ("reason", "kill"), ("expect_exit_reason", "kill"), ("within_ms", "kill"), ("expect_allowed", "flood"),
)
"""(field, the action it needs in the same step)."""
_AT_LEAST_ZERO = frozenset({"expect_errors_at_most", "expect_allowed"})
"""Integer fields that may be 0 (every other count or duration must be > 0)."""


class DrillFileError(ObserverError):
    """A drill file is malformed; the message names the file, the field and the value."""


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step of a drill file, validated."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def repeat(self) -> int:
        """How many times the step runs."""
        return int(self.fields.get("repeat", 1))


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
    steps: list[StepSpec] = []
    for index, raw in enumerate(raw_steps, start=1):
        steps.append(_parse_step(raw, f"{where}: step {index}", loaded=any("load" in s.fields for s in steps)))

    async def run(ctx: DrillContext) -> None:
        from .steps import run_step  # the runner of steps needs the context's whole API; parsing does not

        for step in steps:
            await run_step(ctx, step)

    return Drill(name, description, run)


def _parse_step(raw: Any, where: str, *, loaded: bool) -> StepSpec:
    if not isinstance(raw, dict):
        raise DrillFileError(f"{where}: a step must be a table, got {_show(raw)}")
    for key, value in raw.items():
        expected = _STEP_FIELDS.get(key)
        if expected is None:
            raise DrillFileError(f"{where}: unknown field {_show(key)} (known: {', '.join(_STEP_FIELDS)})")
        _check_type(key, value, expected, where)
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise DrillFileError(f"{where}: {key} must be a list of strings, got {_show(value)}")
        if isinstance(value, str) and key in ("kill", "suspend", "resume") and not value.strip():
            raise DrillFileError(f"{where}: {key} must name a process, got {_show(value)}")
        if isinstance(value, int) and not isinstance(value, bool):
            _check_bounds(key, value, where)
    actions = [action for action in _ACTIONS if action in raw]
    if len(actions) > 1:
        raise DrillFileError(f"{where}: a step has at most one action, got {', '.join(actions)}")
    for table in ("flood", "churn", "call", "load", "expect_state"):
        if table in raw:
            _check_table(raw[table], _TABLES[table], f"{where}: {table}")
    if "wait_for" in raw:
        _check_wait_for(raw["wait_for"], f"{where}: wait_for")
    if "load" in raw:
        _check_load(raw["load"], f"{where}: load")
    for needs, action in _NEEDS:
        if needs in raw and action not in raw:
            raise DrillFileError(f"{where}: {needs} needs a {action} action in the same step")
    if "expect_errors_at_most" in raw and "load" not in raw and not loaded:
        raise DrillFileError(f"{where}: expect_errors_at_most needs a load in this step or an earlier one")
    return StepSpec(str(raw.get("name") or _default_name(raw, actions)), dict(raw))


def _default_name(raw: dict[str, Any], actions: list[str]) -> str:
    if actions:
        return f"{actions[0]} {raw[actions[0]]}"
    if "wait_for" in raw:
        wait = raw["wait_for"]
        return f"wait_for {wait['http']}" if "http" in wait else f"wait_for call {wait['call']}"
    if "load" in raw:
        return f"load {raw['load']['call']}"
    if "pause_ms" in raw:
        return f"pause {raw['pause_ms']} ms"
    return "check"


def _check_type(key: str, value: Any, expected: type | tuple[type, ...], where: str) -> None:
    if expected is ANY_VALUE:
        return
    kinds = expected if isinstance(expected, tuple) else (expected,)
    ok = any(isinstance(value, kind) and (kind is bool or not isinstance(value, bool)) for kind in kinds)
    if not ok:
        if key == "expect_root_exit":
            raise DrillFileError(f"{where}: {key} must be true, false or an exit reason (a string), "
                                 f"got {_show(value)}")
        names = " or ".join(kind.__name__ for kind in kinds)
        raise DrillFileError(f"{where}: {key} must be a {names}, got {_show(value)}")


def _check_bounds(key: str, value: float, where: str) -> None:
    if not math.isfinite(value):
        raise DrillFileError(f"{where}: {key} must be a finite number, got {_show(value)}")
    if key == "rate" and value <= 0:  # the one number that may be a fraction (a call every 2 s is 0.5)
        raise DrillFileError(f"{where}: {key} must be > 0, got {_show(value)}")
    least = 100 if key == "status" else 0 if key in _AT_LEAST_ZERO else 1
    if key != "rate" and value < least:
        bound = "> 0" if least == 1 else f">= {least}"
        raise DrillFileError(f"{where}: {key} must be {bound}, got {_show(value)}")
    limit = _LIMITS.get(key)
    if limit is not None and value > limit:
        raise DrillFileError(f"{where}: {key} must be at most {limit:,}, got {value:,}")


def _check_table(
    table: dict[str, Any], fields: Mapping[str, tuple[type | tuple[type, ...], bool]], where: str
) -> None:
    for key in table:
        if key not in fields:
            raise DrillFileError(f"{where}: unknown field {_show(key)} (known: {', '.join(fields)})")
    for key, (expected, required) in fields.items():
        if key not in table:
            if required:
                needs = ", ".join(name for name, (_, needed) in fields.items() if needed)
                raise DrillFileError(f"{where}: missing field {key!r} (needs: {needs})")
            continue
        value = table[key]
        _check_type(key, value, expected, where)
        if isinstance(value, str) and expected is str and not value.strip():
            raise DrillFileError(f"{where}: {key} must not be empty")
        if isinstance(value, int | float) and not isinstance(value, bool):
            _check_bounds(key, value, where)


def _check_wait_for(table: dict[str, Any], where: str) -> None:
    forms = [form for form in ("call", "http") if form in table]
    if len(forms) != 1:
        raise DrillFileError(f"{where}: give exactly one of call or http, got "
                             f"{', '.join(forms) or 'neither'}")
    _check_table(table, _TABLES[f"wait_for {forms[0]}"], where)
    if "http" in table:
        try:
            loopback_url(table["http"])
        except NotLoopback as error:
            raise DrillFileError(f"{where}: http {error}") from None


def _check_load(table: dict[str, Any], where: str) -> None:
    calls = table["rate"] * table["during_ms"] / 1000
    if calls > MAX_CALLS:
        raise DrillFileError(f"{where}: rate x during_ms makes {calls:,.0f} calls, at most {MAX_CALLS:,}")


def _show(value: Any) -> str:
    """`value` as a message quotes it: its repr, cut short and never deep (a file may nest a value 400 levels)."""
    shown = reprlib.Repr()  # Python 3.11's Repr takes no keyword arguments
    shown.maxlevel, shown.maxstring, shown.maxother, shown.maxlist, shown.maxdict = 3, 60, 60, 6, 4
    return shown.repr(value)
