"""The attach wire format: newline-delimited JSON, versioned in `hello`; the only module that knows its field names.

Every line is one JSON object. A request is ``{"id": ID, "op": OP, ...}``; its answer is
``{"id": ID, "ok": VALUE}`` or ``{"id": ID, "error": {"kind": KIND, "message": TEXT}}``. The first
request of a connection must be ``hello`` with the client's `VERSION` (and the token over TCP); an
endpoint that speaks another version answers with the ``"version"`` error and closes. That envelope
and ``hello`` stay the same in every version, so a mismatch is always reported, never misread.

Exit reasons, messages and states cross the wire as their `repr`, capped at `REPR_CAP` characters,
never as pickles. A call's request and reply and a server's `get_state` cross as JSON when they are
JSON values (`observer.remote.values`), else as their capped repr in ``{"repr": TEXT}``. A call's
error crosses as its own kind (``call_timeout``, ``call_exit``, ``not_a_server``, ``noproc``), so
that the client raises the same exception. These ops came after version 1 without a new version:
an endpoint that does not know one answers ``unknown_op``, never misreads it. Pids cross as their
integer id and are rebuilt on the client as one `Pid` object per id per connection (`PidTable`),
so they print as in the service (``<0.42.0>``) and `is` holds.

Snapshots are sent as deltas (`SnapshotEncoder` in the endpoint, `SnapshotDecoder` in the client):
the client names the snapshot it holds (``since``), and the endpoint leaves out every part that is
the same object as in the snapshot it sent last, refers to unchanged tree nodes and log entries by
their position in that snapshot, and the client reuses its own objects for them — so the app's
widgets can skip unchanged parts by identity, exactly as in-process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from observer.journal import Cascade, CascadeStep, DrillCheck, DrillStepNote, DrillVerdict, LogEntry, LogNote
from observer.runtime import (
    CallExit,
    CallTimeout,
    Inspection,
    InvalidArgument,
    NotAServer,
    ObserverError,
    Pid,
    ProcessInfo,
    TraceEvent,
)
from observer.snapshot import BucketView, HostStats, MonitorCount, NodeSnapshot, ProcessSample, Snapshot

from .failures import StartFailure
from .stall import Stall
from .values import NotJSON, RemoteRepr, json_form

VERSION: Final = 1
"""The wire version, sent and checked in `hello`."""
MAX_REQUEST_LINE: Final = 1 << 20
"""The longest line an endpoint reads (1 MiB); a longer one closes the connection."""
MAX_RESPONSE_LINE: Final = 1 << 28
"""The longest line a client reads (a full snapshot of a very large tree fits many times)."""
REPR_CAP: Final = 2_000
"""Characters kept of a reason's, message's or state's repr."""
CALL_TIMEOUT_CAP: Final = 300.0
"""The longest timeout, in seconds, of a call or a get_state over the wire."""

HELLO: Final = "hello"
SNAPSHOT: Final = "snapshot"
STALLS: Final = "stalls"
INSPECT: Final = "inspect"
KILL: Final = "kill"
TERMINATE: Final = "terminate"
RESTART: Final = "restart"
SUSPEND: Final = "suspend"
RESUME: Final = "resume"
TRACE: Final = "trace"
CALL: Final = "call"
GET_STATE: Final = "get_state"
START_FAILURES: Final = "start_failures"
READ_OPS: Final = frozenset({HELLO, SNAPSHOT, STALLS, INSPECT, GET_STATE, START_FAILURES})
CONTROL_OPS: Final = frozenset({KILL, TERMINATE, RESTART, SUSPEND, RESUME, TRACE, CALL})
OPS: Final = READ_OPS | CONTROL_OPS

# Error kinds. The first group closes the connection (the peer cannot go on); the others answer one request.
E_VERSION: Final = "version"
E_BAD_TOKEN: Final = "bad_token"
E_REFUSED: Final = "refused"
E_HELLO_FIRST: Final = "hello_first"
E_BAD_REQUEST: Final = "bad_request"
E_UNKNOWN_OP: Final = "unknown_op"
E_TOO_LONG: Final = "too_long"
E_READ_ONLY: Final = "read_only"
E_BLOCKED: Final = "blocked"
E_NOPROC: Final = "noproc"
E_CALL_TIMEOUT: Final = "call_timeout"
E_CALL_EXIT: Final = "call_exit"
E_NOT_A_SERVER: Final = "not_a_server"
E_ERROR: Final = "error"
E_INTERNAL: Final = "internal"
CLOSING_ERRORS: Final = frozenset({E_VERSION, E_BAD_TOKEN, E_REFUSED, E_HELLO_FIRST, E_BAD_REQUEST, E_UNKNOWN_OP,
                                   E_TOO_LONG})

T = TypeVar("T")

_PID_TEXT = re.compile(r"<0\.(\d{1,18})\.0>")


class WireError(ValueError):
    """A line or a value that does not follow this format; the message says what is wrong."""


# -- lines ---------------------------------------------------------------------------------------


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as one line of compact JSON (UTF-8, newline-terminated)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line into a message.

    Raises:
        WireError: It is not UTF-8 JSON, or not an object.
    """
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise WireError(f"not JSON ({type(error).__name__})") from None
    if not isinstance(message, dict):
        raise WireError(f"a message is a JSON object, got {type(message).__name__}")
    return message


def request(request_id: int, op: str, **fields: Any) -> dict[str, Any]:
    """A request message."""
    return {"id": request_id, "op": op, **fields}


def ok(request_id: Any, value: Any) -> dict[str, Any]:
    """A successful answer."""
    return {"id": request_id, "ok": value}


def error(request_id: Any, kind: str, message: str, **details: Any) -> dict[str, Any]:
    """An error answer: `kind` is one of the `E_*` kinds, `message` one line for a person."""
    return {"id": request_id, "error": {"kind": kind, "message": message, **details}}


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed request: its id (echoed back), its op and its other fields."""

    id: int | str
    op: str
    fields: Mapping[str, Any]


def parse_request(message: Mapping[str, Any]) -> Request:
    """Check a request's envelope.

    Raises:
        WireError: No usable ``id`` (an int or a str) or ``op`` (a str).
    """
    request_id, op = message.get("id"), message.get("op")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        raise WireError("a request needs an \"id\" (an integer or a string)")
    if not isinstance(op, str):
        raise WireError("a request needs an \"op\" (a string)")
    return Request(request_id, op, message)


def request_id_of(message: Mapping[str, Any]) -> int | str | None:
    """The id of a message if it has a usable one (to echo in an error), else None."""
    value = message.get("id")
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def capped_repr(value: Any, cap: int = REPR_CAP) -> str:
    """`repr(value)`, cut to `cap` characters with a marker saying so."""
    text = repr(value)
    if len(text) <= cap:
        return text
    marker = f"… [{len(text) - cap:,} more characters]"
    return text[: max(0, cap - len(marker))] + marker


def reason_text(reason: Any) -> str | None:
    """An exit reason on the wire: its capped repr (None stays None: no reason known)."""
    return None if reason is None else capped_repr(reason)


def field(fields: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """A request field of the expected type.

    Raises:
        WireError: It is missing (without a default) or of another type.
    """
    if name not in fields:
        if default is ...:
            raise WireError(f"{name!r} is missing")
        return default
    value = fields[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):  # JSON true is no number
        raise WireError(f"{name!r} has the wrong type")
    return value


# -- pids and targets --------------------------------------------------------------------------------


class PidTable:
    """The client's pids: one `Pid` object per id per connection, so that `is` holds between snapshots."""

    def __init__(self) -> None:
        """Start with no pids."""
        self._pids: dict[int, Pid] = {}

    def __call__(self, pid_id: Any) -> Pid | None:
        """The `Pid` for an id from the wire (None stays None).

        Raises:
            WireError: The id is not an integer.
        """
        if pid_id is None:
            return None
        if not isinstance(pid_id, int) or isinstance(pid_id, bool):
            raise WireError(f"a pid is an integer id, got {pid_id!r}")
        pid = self._pids.get(pid_id)
        if pid is None:
            pid = self._pids[pid_id] = Pid(pid_id)
        return pid


def pid_id(pid: Pid | None) -> int | None:
    """A pid on the wire."""
    return None if pid is None else pid.id


def target_to_wire(target: Pid | str) -> dict[str, Any]:
    """A process named by a client: a `Pid`, its text (``"<0.42.0>"``), a registered name or a path.

    A path is slots from the root, joined by ``/`` (``"system/services/rate_limiter"``); a text with
    a ``/`` is tried as a registered name first.
    """
    if isinstance(target, Pid):
        return {"pid": target.id}
    if not isinstance(target, str) or not target:
        raise TypeError(f"a target is a Pid, its text, a registered name or a path, got {target!r}")
    match = _PID_TEXT.fullmatch(target)
    if match is not None:
        return {"pid": int(match.group(1))}
    return {"name": target}


@dataclass(frozen=True, slots=True)
class Target:
    """A target as the endpoint receives it: exactly one of a pid id or a name (or path)."""

    pid: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        return f"<0.{self.pid}.0>" if self.pid is not None else str(self.name)


def target_from_wire(value: Any) -> Target:
    """Parse a request's ``target``.

    Raises:
        WireError: It is not ``{"pid": int}`` or ``{"name": non-empty str}``.
    """
    if isinstance(value, dict):
        pid_value, name = value.get("pid"), value.get("name")
        if isinstance(pid_value, int) and not isinstance(pid_value, bool) and name is None:
            return Target(pid=pid_value)
        if isinstance(name, str) and name and pid_value is None and len(name) <= REPR_CAP:
            return Target(name=name)
    raise WireError('a target is {"pid": ID} or {"name": NAME}')


# -- hello, stalls, inspections, traces -------------------------------------------------------------------


def hello_request(token: str | None) -> dict[str, Any]:
    """The fields of a client's hello (its version, and the token when it has one)."""
    fields: dict[str, Any] = {"version": VERSION}
    if token is not None:
        fields["token"] = token
    return fields


def hello_reply(
    *,
    os_pid: int,
    argv: Sequence[str],
    python: str,
    executable: str,
    control: bool,
    processes: int,
    loop_blocked: float,
    uptime: float,
    started_at: float,
    stall_threshold: float,
    path: str | None,
    tcp: tuple[str, int] | None,
) -> dict[str, Any]:
    """The endpoint's hello: who it is and how it is doing (see `observer.remote.Connection.hello`)."""
    return {
        "version": VERSION,
        "os_pid": os_pid,
        "argv": list(argv),
        "python": python,
        "executable": executable,
        "control": control,
        "processes": processes,
        "loop_blocked": loop_blocked,
        "uptime": uptime,
        "started_at": started_at,
        "stall_threshold": stall_threshold,
        "path": path,
        "tcp": None if tcp is None else f"{tcp[0]}:{tcp[1]}",
    }


def check_hello(reply: Any) -> dict[str, Any]:
    """Check an endpoint's hello reply.

    Raises:
        WireError: It is not a hello of this version (the message says which version it is).
    """
    if not isinstance(reply, dict):
        raise WireError("the hello reply is not an object")
    version = reply.get("version")
    if version != VERSION:
        raise WireError(f"the endpoint speaks wire version {version!r}, this client {VERSION}: "
                        "use the same observer version on both sides")
    for name in ("os_pid", "argv", "python", "control", "processes", "loop_blocked"):
        if name not in reply:
            raise WireError(f"the hello reply has no {name!r}")
    return reply


@dataclass(frozen=True, slots=True)
class StallRecord:
    """A stall as the endpoint keeps it: `observer.remote.Stall` with the pid as its id."""

    began: float
    seconds: float
    stack: tuple[str, ...]
    pid: int | None
    task: str | None
    ongoing: bool = False


def stall_to_wire(stall: StallRecord) -> dict[str, Any]:
    """A stall on the wire."""
    return {"began": stall.began, "seconds": stall.seconds, "stack": list(stall.stack), "pid": stall.pid,
            "task": stall.task, "ongoing": stall.ongoing}


def stall_from_wire(value: Mapping[str, Any], pids: PidTable) -> Stall:
    """A `Stall` rebuilt with this connection's pids."""
    return Stall(float(value["began"]), float(value["seconds"]), tuple(str(line) for line in value["stack"]),
                 pids(value["pid"]), value.get("task"), bool(value.get("ongoing", False)))


_INFO_PIDS = ("links", "monitors", "monitored_by")


def inspection_to_wire(inspection: Inspection) -> dict[str, Any]:
    """An `Inspection` on the wire (its state, stack and awaiting are text already)."""
    info = inspection.info
    return {
        "info": {
            "pid": info.pid.id, "name": info.name, "kind": info.kind, "status": info.status,
            "mailbox_size": info.mailbox_size, "links": [pid.id for pid in info.links],
            "monitors": [pid.id for pid in info.monitors], "monitored_by": [pid.id for pid in info.monitored_by],
            "trap_exits": info.trap_exits, "parent": pid_id(info.parent), "started_at": info.started_at,
            "restarts": info.restarts, "messages_in": info.messages_in, "reductions": info.reductions,
        },
        "state": inspection.state,
        "stack": list(inspection.stack),
        "awaiting": inspection.awaiting,
    }


def inspection_from_wire(value: Mapping[str, Any], pids: PidTable) -> Inspection:
    """An `Inspection` rebuilt with this connection's pids."""
    raw = value["info"]
    pid = pids(raw["pid"])
    assert pid is not None
    links, monitors, monitored_by = (tuple(_pids(raw[name], pids)) for name in _INFO_PIDS)
    info = ProcessInfo(
        pid=pid, name=raw["name"], kind=raw["kind"], status=raw["status"], mailbox_size=int(raw["mailbox_size"]),
        links=links, monitors=monitors, monitored_by=monitored_by, trap_exits=bool(raw["trap_exits"]),
        parent=pids(raw["parent"]), started_at=float(raw["started_at"]), restarts=int(raw["restarts"]),
        messages_in=int(raw.get("messages_in", 0)), reductions=int(raw.get("reductions", 0)),
    )
    return Inspection(info, value["state"], tuple(str(line) for line in value["stack"]), value["awaiting"])


def trace_event_to_wire(event: TraceEvent) -> dict[str, Any]:
    """A traced message on the wire (the message as its capped repr; call it where the event happens)."""
    return {"at": event.at, "pid": event.pid.id, "kind": event.kind, "message": capped_repr(event.message)}


def trace_event_from_wire(value: Mapping[str, Any], pids: PidTable) -> TraceEvent:
    """A `TraceEvent` whose message is the repr the service sent."""
    pid = pids(value["pid"])
    assert pid is not None
    return TraceEvent(float(value["at"]), pid, value["kind"], str(value["message"]))


def trace_started(request_id: Any, traced: int, limit: int) -> dict[str, Any]:
    """The line that says a trace has begun (its events follow, then the answer)."""
    return {"id": request_id, "tracing": {"pid": traced, "limit": limit}}


def trace_event(request_id: Any, event: Mapping[str, Any]) -> dict[str, Any]:
    """One event line of a trace."""
    return {"id": request_id, "event": event}


def trace_ended(events: int, why: str) -> dict[str, Any]:
    """A trace's answer: how many events it sent and why it ended (``limit``, ``exited`` or ``closed``)."""
    return {"events": events, "end": why}


# -- calls, states and start failures ------------------------------------------------------------


def value_to_wire(value: Any) -> dict[str, Any]:
    """A reply or a state on the wire: ``{"json": VALUE}``, or ``{"repr": TEXT}`` when it has no JSON form.

    Call it on the runtime's loop, where the value is not changing under it.
    """
    try:
        return {"json": json_form(value)}
    except NotJSON:
        return {"repr": safe_repr(value)}


def value_from_wire(value: Any) -> Any:
    """A reply or a state as the client gets it: the JSON value, or a `RemoteRepr`.

    Raises:
        WireError: It is neither form.
    """
    if isinstance(value, dict) and len(value) == 1:
        if "json" in value:
            return value["json"]
        if isinstance(value.get("repr"), str):
            return RemoteRepr(value["repr"])
    raise WireError('a value is {"json": VALUE} or {"repr": TEXT}')


def safe_repr(value: Any) -> str:
    """`capped_repr`, or a line saying that the value's repr raised (an observer shows it as text)."""
    try:
        return capped_repr(value)
    # A broken __repr__ is the service's bug, shown as what it is; the endpoint goes on.
    except Exception as error:  # noqa: BLE001
        return f"<{type(value).__qualname__}: repr raised {type(error).__name__}>"


def call_to_wire(target: Pid | str, request: Any, timeout: float) -> dict[str, Any]:
    """A call's fields, as a client sends them.

    Raises:
        InvalidArgument: The request has no JSON form or is too long for one line, or the timeout is
            not a number of seconds in (0, `CALL_TIMEOUT_CAP`].
    """
    try:
        form = json_form(request)
    except NotJSON as problem:
        raise InvalidArgument(f"a call's request crosses the wire as JSON: {problem} (send lists, dicts with "
                              "str keys, strings, numbers, booleans or None)") from None
    if len(json.dumps(form, ensure_ascii=False)) > MAX_REQUEST_LINE // 2:
        raise InvalidArgument(f"a call's request is at most {MAX_REQUEST_LINE // 2:,} characters of JSON")
    return {"target": target_to_wire(target), "request": form, "timeout": _client_timeout(timeout)}


def state_request_to_wire(target: Pid | str, timeout: float) -> dict[str, Any]:
    """A get_state's fields, as a client sends them.

    Raises:
        InvalidArgument: The timeout is not a number of seconds in (0, `CALL_TIMEOUT_CAP`].
    """
    return {"target": target_to_wire(target), "timeout": _client_timeout(timeout)}


def _client_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= CALL_TIMEOUT_CAP:
        raise InvalidArgument(f"a call's timeout over the wire is a number of seconds in (0, {CALL_TIMEOUT_CAP:g}], "
                              f"got {timeout!r}")
    return float(timeout)


def call_from_wire(fields: Mapping[str, Any]) -> tuple[Target, Any, float]:
    """A call's target, request (a JSON value, as TOML drill values are: lists stay lists) and timeout.

    Raises:
        WireError: A field is missing or malformed.
    """
    if "request" not in fields:
        raise WireError("'request' is missing")
    return target_from_wire(fields.get("target")), fields["request"], _timeout(fields)


def state_request_from_wire(fields: Mapping[str, Any]) -> tuple[Target, float]:
    """A get_state's target and timeout.

    Raises:
        WireError: A field is missing or malformed.
    """
    return target_from_wire(fields.get("target")), _timeout(fields)


def _timeout(fields: Mapping[str, Any]) -> float:
    timeout = float(field(fields, "timeout", (int, float), 5.0))
    if not 0 < timeout <= CALL_TIMEOUT_CAP:
        raise WireError(f"'timeout' is a number of seconds in (0, {CALL_TIMEOUT_CAP:g}]")
    return timeout


def call_error_to_wire(error: CallTimeout | CallExit | NotAServer) -> tuple[str, str, dict[str, Any]]:
    """A call's error as the endpoint answers it: (kind, message, details); call it on the runtime's loop."""
    message = str(error)[:REPR_CAP]
    if isinstance(error, CallTimeout):
        return E_CALL_TIMEOUT, message, {"timeout": error.timeout}
    if isinstance(error, CallExit):
        return E_CALL_EXIT, message, {"reason": safe_repr(error.reason)}
    return E_NOT_A_SERVER, message, {}


def call_error_from_wire(failure: Mapping[str, Any], target: Any, request: Any, op: str) -> ObserverError | None:
    """The exception an endpoint's call error stands for, with the service's message; None for another kind.

    `CallExit.reason` is the repr of the reason, as the service printed it.
    """
    kind, message = failure.get("kind"), str(failure.get("message", ""))
    error: ObserverError
    if kind == E_CALL_TIMEOUT:
        timeout = failure.get("timeout")
        error = CallTimeout(target, request, float(timeout) if isinstance(timeout, int | float) else 0.0)
    elif kind == E_CALL_EXIT:
        error = CallExit(target, str(failure.get("reason", "")))
    elif kind == E_NOT_A_SERVER:
        error = NotAServer(target, op)
    else:
        return None
    error.args = (message,)  # the service's words
    return error


def start_failure_to_wire(failure: StartFailure) -> dict[str, Any]:
    """A start failure on the wire."""
    return {"seq": failure.seq, "at": failure.at, "supervisor": failure.supervisor.id,
            "supervisor_name": failure.supervisor_name, "child": failure.child, "reason": failure.reason,
            "count": failure.count}


def start_failure_from_wire(value: Mapping[str, Any], pids: PidTable) -> StartFailure:
    """A `StartFailure` rebuilt with this connection's pids.

    Raises:
        WireError: It is malformed.
    """
    try:
        supervisor = pids(value["supervisor"])
        assert supervisor is not None
        name = value["supervisor_name"]
        return StartFailure(int(value["seq"]), float(value["at"]), supervisor, None if name is None else str(name),
                            str(value["child"]), str(value["reason"]), int(value["count"]))
    except (KeyError, TypeError, ValueError, AssertionError) as problem:
        raise WireError(f"a malformed start failure ({type(problem).__name__})") from None


def _pids(values: Sequence[Any], pids: PidTable) -> list[Pid]:
    found = [pids(value) for value in values]
    return [pid for pid in found if pid is not None]


# -- snapshots ---------------------------------------------------------------------------------------------

# A tree node is an array, in this order (`_node` and `SnapshotDecoder._node` are the two ends):
# 0 slot, 1 label (null: same as the slot), 2 child id (true: same as the label), 3 pid, 4 kind, 5 strategy,
# 6 restart, 7 status, 8 restarts, 9 name, 10 previous pid, 11 children, 12 child count, 13 folded (0/1),
# 14 child restarts. A leaf (no children, none counted, not folded) stops after item 10.
# Children are null when the node's children are those of the same node in the previous snapshot;
# otherwise a list whose items are either a node array, or an integer: the position of an unchanged
# child among the previous node's children.
# A log is a list whose items are either an entry object or ``[start, count]``: that run of entries of
# the previous snapshot's log, unchanged. The process table is the same with rows as arrays of 9 items
# (pid, name, kind, status, mailbox, messages in, reductions, restarts, sampled at) for the runs' 2.


def _child_id_to_wire(child_id: Hashable, label: str) -> Any:
    if isinstance(child_id, str) and child_id == label:
        return True
    if child_id is None or (isinstance(child_id, str | int | float) and not isinstance(child_id, bool)):
        return child_id
    return {"repr": capped_repr(child_id)}


def _child_id_from_wire(value: Any, label: str) -> Hashable:
    if value is True:
        return label
    if isinstance(value, dict):
        return str(value["repr"])
    if isinstance(value, list | bool):
        raise WireError("a child id is a string, a number, null or {\"repr\": text}")
    return value  # type: ignore[no-any-return]


def _steps_to_wire(steps: tuple[CascadeStep, ...]) -> list[dict[str, Any]]:
    return [{"id": step.id, "pid": step.pid.id, "at": step.at, "reason": reason_text(step.reason),
             "inner": _steps_to_wire(step.inner)} for step in steps]


def _entry_to_wire(entry: LogEntry) -> dict[str, Any]:
    if isinstance(entry, Cascade):
        return {
            "type": "cascade", "supervisor": entry.supervisor.id, "supervisor_label": entry.supervisor_label,
            "strategy": entry.strategy, "child": entry.child, "pid": entry.pid.id,
            "reason": reason_text(entry.reason), "began_at": entry.began_at, "ended_at": entry.ended_at,
            "stopped": _steps_to_wire(entry.stopped), "started": _steps_to_wire(entry.started),
            "outcome": entry.outcome, "repeats": entry.repeats, "children": entry.children,
            "traceback": entry.traceback,
        }
    if isinstance(entry, LogNote):
        return {"type": "note", "at": entry.at, "text": entry.text, "level": entry.level}
    if isinstance(entry, DrillStepNote):
        return {
            "type": "drill_step", "at": entry.at, "drill": entry.drill, "step": entry.step, "seconds": entry.seconds,
            "happened": list(entry.happened), "error": entry.error,
            "checks": [{"description": check.description, "passed": check.passed, "expected": check.expected,
                        "actual": check.actual} for check in entry.checks],
        }
    return {"type": "drill_verdict", "at": entry.at, "drill": entry.drill, "passed": entry.passed,
            "seconds": entry.seconds, "steps": entry.steps, "failed_steps": entry.failed_steps, "error": entry.error}


def _steps_from_wire(values: Sequence[Mapping[str, Any]], pids: PidTable) -> tuple[CascadeStep, ...]:
    steps = []
    for value in values:
        pid = pids(value["pid"])
        assert pid is not None
        steps.append(CascadeStep(str(value["id"]), pid, float(value["at"]), value["reason"],
                                 _steps_from_wire(value["inner"], pids)))
    return tuple(steps)


def _entry_from_wire(value: Mapping[str, Any], pids: PidTable) -> LogEntry:
    kind = value["type"]
    if kind == "cascade":
        supervisor, pid = pids(value["supervisor"]), pids(value["pid"])
        assert supervisor is not None and pid is not None
        return Cascade(
            supervisor, value["supervisor_label"], value["strategy"], str(value["child"]), pid, value["reason"],
            float(value["began_at"]), value["ended_at"], _steps_from_wire(value["stopped"], pids),
            _steps_from_wire(value["started"], pids), value["outcome"], int(value["repeats"]),
            int(value["children"]), value.get("traceback"),
        )
    if kind == "note":
        return LogNote(float(value["at"]), str(value["text"]), value["level"])
    if kind == "drill_step":
        checks = tuple(DrillCheck(str(check["description"]), bool(check["passed"]), str(check["expected"]),
                                  str(check["actual"])) for check in value["checks"])
        return DrillStepNote(float(value["at"]), str(value["drill"]), str(value["step"]), float(value["seconds"]),
                             tuple(str(line) for line in value["happened"]), checks, value["error"])
    if kind == "drill_verdict":
        return DrillVerdict(float(value["at"]), str(value["drill"]), bool(value["passed"]), float(value["seconds"]),
                            int(value["steps"]), int(value["failed_steps"]), value["error"])
    raise WireError(f"unknown log entry type {kind!r}")


def _host_to_wire(host: HostStats | None) -> dict[str, Any] | None:
    if host is None:
        return None
    return {"cpu_percent": host.cpu_percent, "rss_bytes": host.rss_bytes, "threads": host.threads,
            "open_fds": host.open_fds}


def _host_from_wire(value: Mapping[str, Any] | None) -> HostStats | None:
    if value is None:
        return None
    return HostStats(float(value["cpu_percent"]), int(value["rss_bytes"]), int(value["threads"]), value["open_fds"])


class SnapshotEncoder:
    """One connection's side of the snapshot deltas in the endpoint: remembers what it sent last."""

    def __init__(self) -> None:
        """Start with nothing sent."""
        self._seq = 0
        self._root: NodeSnapshot | None = None
        self._log: tuple[LogEntry, ...] = ()
        self._monitors: tuple[MonitorCount, ...] | None = None
        self._buckets: tuple[BucketView, ...] | None = None
        self._processes: tuple[ProcessSample, ...] | None = None

    def encode(self, snapshot: Snapshot, since: int | None) -> dict[str, Any]:
        """`snapshot` as a delta from the one sent last, or whole when the client holds another.

        Args:
            snapshot: The service's snapshot (its parts shared with the previous one where unchanged).
            since: The ``seq`` of the snapshot the client holds (None: it holds none).
        """
        fresh = since is None or since != self._seq or self._seq == 0
        if fresh:
            self._root, self._log, self._monitors, self._buckets, self._processes = None, (), None, None, None
        self._seq += 1
        out: dict[str, Any] = {
            "seq": self._seq, "fresh": fresh, "taken_at": snapshot.taken_at, "uptime": snapshot.uptime,
            "generation": snapshot.generation, "root_alive": snapshot.root_alive,
            "root_exit": reason_text(snapshot.root_exit), "process_count": snapshot.process_count,
            "monitor_count": snapshot.monitor_count, "restarts": snapshot.restarts,
            "bucket_total": snapshot.bucket_total, "host": _host_to_wire(snapshot.host), "loop_lag": snapshot.loop_lag,
        }
        if fresh or snapshot.root is not self._root:
            out["root"] = None if snapshot.root is None else _node(snapshot.root, self._root)
            self._root = snapshot.root
        if fresh or snapshot.log is not self._log:
            out["log"] = _log(snapshot.log, self._log)
            self._log = snapshot.log
        if fresh or snapshot.monitors is not self._monitors:
            out["monitors"] = [[m.pid.id, m.label, m.held, m.watched_by] for m in snapshot.monitors]
            self._monitors = snapshot.monitors
        if fresh or snapshot.buckets is not self._buckets:
            out["buckets"] = [[b.limiter_id, b.key, b.count, b.limit, b.denied, b.left_ms] for b in snapshot.buckets]
            self._buckets = snapshot.buckets
        if fresh or snapshot.processes is not self._processes:
            out["processes"] = _runs(snapshot.processes, self._processes or (), _row_to_wire)
            self._processes = snapshot.processes
        return out


def _node(node: NodeSnapshot, previous: NodeSnapshot | None) -> list[Any]:
    """A node that is not the same object as `previous` (the node of the same slot sent last)."""
    children: list[Any] | None
    if previous is not None and node.children is previous.children:
        children = None
    else:
        old = () if previous is None else previous.children
        children = []
        positions: dict[int, int] | None = None
        by_slot: dict[str, NodeSnapshot] | None = None
        old_count = len(old)
        for position, child in enumerate(node.children):
            if position < old_count and old[position] is child:
                children.append(position)
                continue
            if positions is None:
                positions = {id(item): index for index, item in enumerate(old)}  # `old` holds them: ids are theirs
            index = positions.get(id(child))
            if index is not None:
                children.append(index)
                continue
            if by_slot is None:
                by_slot = {item.slot: item for item in old}
            children.append(_node(child, by_slot.get(child.slot)))
    item = [
        node.slot, None if node.label == node.slot else node.label, _child_id_to_wire(node.child_id, node.label),
        pid_id(node.pid), node.kind, node.strategy, node.restart, node.status, node.restarts, node.name,
        pid_id(node.previous_pid),
    ]
    if node.children or node.child_count or node.folded or node.child_restarts:
        item += [children, node.child_count, 1 if node.folded else 0, node.child_restarts]
    return item


def _runs(items: Sequence[T], previous: Sequence[T], to_wire: Callable[[T], Any]) -> list[Any]:
    """`items` as new items (`to_wire`) and ``[start, count]`` runs of the same objects in `previous`."""
    positions = {id(item): index for index, item in enumerate(previous)}  # `previous` holds them: ids are theirs
    out: list[Any] = []
    last: list[int] | None = None  # the run being extended, if the latest item was one
    for item in items:
        index = positions.get(id(item))
        if index is None:
            out.append(to_wire(item))
            last = None
        elif last is not None and last[0] + last[1] == index:
            last[1] += 1
        else:
            last = [index, 1]
            out.append(last)
    return out


def _log(log: tuple[LogEntry, ...], previous: tuple[LogEntry, ...]) -> list[Any]:
    return _runs(log, previous, _entry_to_wire)


def _row_to_wire(row: ProcessSample) -> list[Any]:
    return [row.pid.id, row.name, row.kind, row.status, row.mailbox, row.messages_in, row.reductions, row.restarts,
            row.sampled_at, row.awaiting]


class SnapshotDecoder:
    """One connection's side of the snapshot deltas in the client: rebuilds `Snapshot`s, reusing its parts."""

    def __init__(self, pids: PidTable) -> None:
        """Start with no snapshot.

        Args:
            pids: The connection's pid table.
        """
        self._pids = pids
        self._seq: int | None = None
        self._previous: Snapshot | None = None

    @property
    def since(self) -> int | None:
        """The ``seq`` of the snapshot held (to send with the next request)."""
        return self._seq

    def forget(self) -> None:
        """Hold no snapshot: the next one is sent whole."""
        self._seq, self._previous = None, None

    def decode(self, value: Mapping[str, Any]) -> Snapshot:
        """Rebuild a snapshot from a delta.

        Raises:
            WireError: The delta refers to a snapshot this decoder does not hold, or is malformed.
        """
        try:
            snapshot = self._decode(value)
        except (KeyError, IndexError, TypeError, ValueError, AssertionError) as problem:
            self.forget()
            if isinstance(problem, WireError):
                raise
            raise WireError(f"a malformed snapshot ({type(problem).__name__}: {problem})") from None
        self._seq, self._previous = int(value["seq"]), snapshot
        return snapshot

    def _decode(self, value: Mapping[str, Any]) -> Snapshot:
        pids = self._pids
        previous = None if value["fresh"] else self._previous
        if previous is None and not value["fresh"]:
            raise WireError("a snapshot delta against a snapshot this client does not hold")
        old_root = None if previous is None else previous.root
        root = (None if value["root"] is None else self._node(value["root"], old_root)) if "root" in value else old_root
        log = self._log(value["log"], () if previous is None else previous.log) if "log" in value else (
            () if previous is None else previous.log)
        if "monitors" in value:
            monitors: tuple[MonitorCount, ...] = tuple(
                MonitorCount(_pid(pids, item[0]), str(item[1]), int(item[2]), int(item[3]))
                for item in value["monitors"]
            )
        else:
            monitors = () if previous is None else previous.monitors
        if "buckets" in value:
            buckets: tuple[BucketView, ...] = tuple(
                BucketView(str(item[0]), str(item[1]), int(item[2]), int(item[3]), int(item[4]), item[5])
                for item in value["buckets"]
            )
        else:
            buckets = () if previous is None else previous.buckets
        old_rows = () if previous is None else previous.processes
        rows = self._rows(value["processes"], old_rows) if "processes" in value else old_rows
        return Snapshot(
            taken_at=float(value["taken_at"]), uptime=float(value["uptime"]), generation=int(value["generation"]),
            root=root, root_alive=bool(value["root_alive"]), root_exit=value["root_exit"],
            process_count=int(value["process_count"]), monitor_count=int(value["monitor_count"]),
            restarts=int(value["restarts"]), monitors=monitors, buckets=buckets,
            bucket_total=int(value["bucket_total"]), log=log, host=_host_from_wire(value["host"]),
            loop_lag=float(value["loop_lag"]), processes=rows,
        )

    def _node(self, item: Sequence[Any], previous: NodeSnapshot | None) -> NodeSnapshot:
        pids = self._pids
        slot = str(item[0])
        label = slot if item[1] is None else str(item[1])
        if len(item) == 11:  # a leaf
            return NodeSnapshot(slot, label, _child_id_from_wire(item[2], label), pids(item[3]), str(item[4]),
                                item[5], item[6], str(item[7]), int(item[8]), item[9], pids(item[10]))
        raw_children = item[11]
        children: tuple[NodeSnapshot, ...]
        if raw_children is None:
            if previous is None:
                raise WireError("a node refers to children this client does not hold")
            children = previous.children
        else:
            old = () if previous is None else previous.children
            by_slot: dict[str, NodeSnapshot] | None = None
            built = []
            for child in raw_children:
                if isinstance(child, int):
                    if not 0 <= child < len(old):
                        raise WireError("a node refers to a child this client does not hold")
                    built.append(old[child])
                    continue
                if by_slot is None:
                    by_slot = {node.slot: node for node in old}
                built.append(self._node(child, by_slot.get(child[0])))
            children = tuple(built)
        return NodeSnapshot(
            slot, label, _child_id_from_wire(item[2], label), pids(item[3]), str(item[4]), item[5], item[6],
            str(item[7]), int(item[8]), item[9], pids(item[10]), children, int(item[12]), bool(item[13]),
            int(item[14]),
        )

    def _log(self, items: Sequence[Any], previous: tuple[LogEntry, ...]) -> tuple[LogEntry, ...]:
        pids = self._pids
        return _from_runs(items, previous, lambda item: isinstance(item, list),
                          lambda item: _entry_from_wire(item, pids))

    def _rows(self, items: Sequence[Any], previous: tuple[ProcessSample, ...]) -> tuple[ProcessSample, ...]:
        pids = self._pids

        def row(item: Sequence[Any]) -> ProcessSample:
            return ProcessSample(_pid(pids, item[0]), item[1], str(item[2]), str(item[3]), int(item[4]), int(item[5]),
                                 int(item[6]), int(item[7]), float(item[8]), None if item[9] is None else str(item[9]))

        return _from_runs(items, previous, lambda item: len(item) == 2, row)


def _from_runs(items: Sequence[Any], previous: tuple[T, ...], is_run: Callable[[Any], bool],
               from_wire: Callable[[Any], T]) -> tuple[T, ...]:
    """The other end of `_runs`: new items rebuilt, runs taken (as the same objects) from `previous`."""
    built: list[T] = []
    for item in items:
        if is_run(item):
            start, count = int(item[0]), int(item[1])
            if start < 0 or count < 0 or start + count > len(previous):
                raise WireError("a run outside the previous snapshot's items")
            built.extend(previous[start:start + count])
        else:
            built.append(from_wire(item))
    return tuple(built)


def _pid(pids: Callable[[Any], Pid | None], value: Any) -> Pid:
    pid = pids(value)
    if pid is None:
        raise WireError("a pid is missing")
    return pid
