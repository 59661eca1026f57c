"""Servers, a fake clock and waits shared by the Supervisor, DynamicSupervisor and Registry tests.

Every worker writes what happens to it into a shared `Journal`, so a test can
check the exact order in which a supervisor starts and stops its children:
`("init", name)` when `init` runs, `("refused", name)` when a start was made
to fail, and `("terminate", name, reason)` when `terminate` runs. Reasons are
written as labels (`reason_label`) so that crashes compare by their type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from observer.runtime import (
    IGNORE,
    Caller,
    Child,
    ChildSpec,
    Down,
    DynamicSupervisor,
    Exit,
    ExitMessage,
    Pid,
    Process,
    Runtime,
    Server,
    Supervisor,
)

GUARD = 5.0
"""Seconds a test waits for a message that must come; only a bug makes a wait this long."""

Journal = list[tuple[Any, ...]]


class Boom(Exception):
    """The crash of a test worker: an abnormal exit reason."""


class StartRefused(Exception):
    """Raised by a worker's `init` when its `StartFaults` say so: a start error."""


def reason_label(reason: Any) -> Any:
    """A reason as the journal writes it: exit reasons as they are, exceptions by their type name."""
    return type(reason).__name__ if isinstance(reason, BaseException) else reason


class FakeClock:
    """A clock for `Runtime(clock=...)` that moves only when a test advances it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class StartFaults:
    """How many more starts of each named worker fail (`float("inf")`: every one)."""

    refusals: dict[Hashable, float] = field(default_factory=dict)

    def refuse(self, name: Hashable, times: float = 1) -> None:
        self.refusals[name] = times

    def take_refusal(self, name: Hashable) -> bool:
        """True (and one refusal used up) if this start of `name` must fail."""
        left = self.refusals.get(name, 0)
        if left <= 0:
            return False
        self.refusals[name] = left - 1
        return True


class Worker(Server):
    """A worker that traps exits and journals its init and terminate.

    Requests (call or cast): "ping" answers its name; ("exit", reason) ends it
    with `reason`; "crash" ends it with `Boom`; "unlink_supervisor" removes its
    link to the supervisor that started it.
    """

    trap_exits = True

    name: Hashable
    journal: Journal

    async def init(self, name: Hashable, journal: Journal, faults: StartFaults | None = None) -> None:
        if faults is not None and faults.take_refusal(name):
            journal.append(("refused", name))
            raise StartRefused(name)
        self.name = name
        self.journal = journal
        journal.append(("init", name))

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return self._obey(request)

    async def handle_cast(self, request: Any) -> None:
        self._obey(request)

    def _obey(self, request: Any) -> Any:
        match request:
            case "ping":
                return self.name
            case ("exit", reason):
                raise Exit(reason)
            case "crash":
                raise Boom(self.name)
            case "unlink_supervisor":
                info = self.runtime.process_info(self.pid)
                assert info is not None and info.parent is not None
                self.unlink(info.parent)
                return None
        raise ValueError(f"unknown request {request!r}")

    async def terminate(self, reason: Any) -> None:
        self.journal.append(("terminate", self.name, reason_label(reason)))


class PlainWorker(Worker):
    """A `Worker` that does not trap exits: any exit signal but "normal" ends it at once, without terminate."""

    trap_exits = False


class Lingering(Worker):
    """A `Worker` whose terminate tells `observer` ("terminating", name), then waits for `release` to be set."""

    observer: Pid
    release: asyncio.Event

    async def init(  # type: ignore[override]
        self, name: Hashable, journal: Journal, observer: Pid, release: asyncio.Event
    ) -> None:
        await super().init(name, journal)
        self.observer = observer
        self.release = release

    async def terminate(self, reason: Any) -> None:
        await super().terminate(reason)
        self.runtime.send(self.observer, ("terminating", self.name))
        await self.release.wait()


def worker(
    name: Hashable,
    journal: Journal,
    *,
    restart: Any = "permanent",
    shutdown: Any = None,
    faults: StartFaults | None = None,
    significant: bool = False,
    cls: type[Worker] = Worker,
) -> ChildSpec:
    """The spec of a journaling worker whose child id is its name."""
    return cls.child_spec(
        name, journal, faults, id=name, restart=restart, shutdown=shutdown, significant=significant
    )


def workers(names: Iterable[Hashable], journal: Journal, **options: Any) -> list[ChildSpec]:
    return [worker(name, journal, **options) for name in names]


async def down_of(me: Process, pid: Pid) -> Down:
    """The `Down` about `pid` (other messages stay queued)."""
    message = await me.receive(match=lambda m: type(m) is Down and m.pid is pid, timeout=GUARD)
    assert isinstance(message, Down)
    return message


async def exit_message_of(me: Process, pid: Pid) -> ExitMessage:
    """The `ExitMessage` from `pid` (other messages stay queued)."""
    message = await me.receive(match=lambda m: type(m) is ExitMessage and m.pid is pid, timeout=GUARD)
    assert isinstance(message, ExitMessage)
    return message


def assert_no_message(me: Process) -> None:
    """Nothing is queued for `me`."""
    info = me.runtime.process_info(me.pid)
    assert info is not None
    assert info.mailbox_size == 0


async def end_child(rt: Runtime, me: Process, pid: Pid, how: Any) -> Any:
    """Make a worker end and wait until it has; return the reason it ended with.

    `how`: "kill" (an untrappable exit signal from `me`), "crash" (it raises
    `Boom`), or any other exit reason, which the worker exits with by itself.
    """
    ref = me.monitor(pid)
    if how == "kill":
        rt.exit(pid, "kill")
    elif how == "crash":
        rt.cast(pid, "crash")
    else:
        rt.cast(pid, ("exit", how))
    down = await me.receive(match=lambda m: type(m) is Down and m.ref is ref, timeout=GUARD)
    return down.reason


def pid_of(children: list[Child], child_id: Hashable) -> Any:
    """The `pid` field of the child with `child_id` (a Pid, None or "restarting")."""
    [pid] = [child.pid for child in children if child.id == child_id]
    return pid


def running_pid(children: list[Child], child_id: Hashable) -> Pid:
    pid = pid_of(children, child_id)
    assert isinstance(pid, Pid), f"child {child_id!r} is not running: {pid!r}"
    return pid


def ids_of(children: list[Child]) -> list[Hashable]:
    return [child.id for child in children]


async def pids_by_id(rt: Runtime, sup: Pid | str) -> dict[Hashable, Any]:
    """Each child's pid field, by id, in start order."""
    return {child.id: child.pid for child in await Supervisor.which_children(rt, sup)}


def inits(journal: Journal) -> list[Hashable]:
    return [entry[1] for entry in journal if entry[0] == "init"]


def terminates(journal: Journal) -> list[Hashable]:
    return [entry[1] for entry in journal if entry[0] == "terminate"]


class Ignoring(Server):
    """A server whose `init` returns IGNORE: its `start_link` returns None."""

    async def init(self, journal: Journal, name: Hashable) -> Any:
        journal.append(("ignored", name))
        return IGNORE


async def settle(rt: Runtime, sup: Pid | str) -> None:
    """Return once `sup` has handled every exit queued before now.

    A child's exit is queued in its supervisor's mailbox the moment it dies,
    so a call made after its `Down` arrived is answered only after the
    supervisor has dealt with that exit (restarts included).
    """
    info = rt.process_info(sup if isinstance(sup, Pid) else rt.whereis(sup))  # type: ignore[arg-type]
    assert info is not None
    await (DynamicSupervisor if info.kind == "dynamic_supervisor" else Supervisor).count_children(rt, sup)
