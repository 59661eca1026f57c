"""Runtime: the process table, links, monitors, names, exit signals and observation events."""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Final

from .errors import (
    AlreadyRegistered,
    CallExit,
    CallingSelf,
    CallTimeout,
    InvalidArgument,
    NoProc,
    NotAServer,
    NotRunning,
)
from .introspection import Inspection, awaiting_of, stack_and_awaiting, state_text
from .mailbox import Mailbox
from .process import (
    KILL,
    KILLED,
    NOPROC,
    NORMAL,
    OPEN,
    SHUTDOWN,
    Call,
    Caller,
    Cast,
    Down,
    Exit,
    ExitMessage,
    Pid,
    Process,
    Ref,
    StopRequest,
    SystemMessage,
    SystemOp,
)
from .timeouts import CallTimeouts
from .tracing import TraceEvent, Tracer

if TYPE_CHECKING:
    from .server import Server

logger = logging.getLogger("observer.runtime")

ProcessBody = Callable[..., Awaitable[Any]]
Dest = Pid | str


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """What one process looks like at one instant (see `Runtime.process_info`)."""

    pid: Pid
    name: str | None
    kind: str  # "process" | "server" | "supervisor" | "dynamic_supervisor"
    status: str  # "waiting" (blocked in receive) | "running"
    mailbox_size: int
    links: tuple[Pid, ...]
    monitors: tuple[Pid, ...]  # processes this one monitors
    monitored_by: tuple[Pid, ...]  # processes that monitor this one
    trap_exits: bool
    parent: Pid | None
    started_at: float  # on the runtime clock
    restarts: int  # how often its supervisor has restarted this child
    messages_in: int = 0  # messages delivered to its mailbox since it started
    reductions: int = 0  # callbacks (servers) or receive rounds (processes) it has handled


@dataclass(frozen=True, slots=True)
class ProcessStats:
    """Totals over a runtime's live processes at one instant (see `Runtime.process_stats`)."""

    processes: int
    by_kind: Mapping[str, int]  # kind -> live processes of that kind
    mailbox_max: int  # the deepest mailbox
    mailbox_sum: int  # messages queued in all mailboxes


@dataclass(frozen=True, slots=True)
class RuntimeEvent:
    """An observation event, for observers only: nothing in the runtime waits on one.

    Kinds: "spawned", "exited" (`reason`), "linked" / "unlinked" (`other`),
    "monitored" / "demonitored" (`other` is the target), "registered" /
    "unregistered" (`name`), "restarted" (`other` is the supervisor,
    `reason` the restart count), and supervisor events (`other` is the
    supervisor, `name` the child id): "restart_began" (`pid` is the child
    that died, `reason` why), "child_stopped" (`reason`), "child_started",
    "restart_ended" — a cascade is everything between a began and its ended — and
    "start_failed" (`pid` is the supervisor too, `reason` why the child's start failed).
    """

    kind: str
    pid: Pid
    at: float
    other: Pid | None = None
    reason: Any = None
    name: str | None = None


# The runtime of the process whose task is running; set in each process's own task.
_current_runtime: ContextVar[Runtime] = ContextVar("observer_current_runtime")


def current_runtime() -> Runtime:
    """The runtime of the current process (for code that runs inside a process).

    Raises:
        NotRunning: the current task is not a process of any runtime.
    """
    try:
        return _current_runtime.get()
    except LookupError:
        raise NotRunning("no runtime: this code must run inside a process of a Runtime") from None


def _task_name(pid: Pid, name: str | None, server: Server | None, fn: Any) -> str:
    """`<0.12.0> cache`: what py-spy, aiomonitor and `asyncio.all_tasks()` show for a process's task."""
    if name is None and server is None:
        body = getattr(fn, "func", fn)  # a functools.partial: name what it wraps
        name = getattr(body, "__qualname__", None) or type(body).__name__
    label = name or type(server).__name__
    return f"<0.{pid.id}.0> {label}"


def _is_runtime_task(task: asyncio.Task[Any] | None) -> bool:
    """Whether `task` is one the runtime started (`Runtime._run`), not an attached task it does not own."""
    return task is not None and getattr(task.get_coro(), "cr_code", None) is _RUN_CODE


@functools.cache
def _receive_codes() -> frozenset[Any]:
    """Code objects that wait for a message when innermost: `Mailbox.get` and the server loop."""
    from .server import Server  # the server module imports this one

    return frozenset({Mailbox.get.__code__, Server._serve.__code__})


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _is_kill(reason: Any) -> bool:
    return isinstance(reason, str) and reason == KILL


def _is_normal(reason: Any) -> bool:
    return isinstance(reason, str) and reason == NORMAL


def _is_killed(reason: Any) -> bool:
    return isinstance(reason, str) and reason == KILLED


_PRUNE_FLOOR: Final = 256
"""Killed tasks remembered before the first prune of the finished ones."""

_SUPERVISOR_KINDS: Final = frozenset({"supervisor", "dynamic_supervisor"})

_EAGER_START: Final = sys.version_info >= (3, 12)
"""Whether tasks can run their first steps eagerly (`asyncio.Task(..., eager_start=True)`)."""

KILL_CLOSE_TIMEOUT: Final = 1.0
"""Seconds a killed process has to close the resources it owns before it is announced dead."""


class Runtime:
    """A set of processes on the running asyncio loop.

    Use it as `async with Runtime() as rt:`. Leaving the block shuts every
    process down (see `__aexit__`); no task it started outlives the block.

    Processes are asyncio tasks started and owned by the runtime (anyio's task
    groups cost ~40 µs and ~3.5 KiB per task here, more than the whole budget
    of a process start).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, shutdown_timeout: float = 10.0) -> None:
        """Create a runtime.

        Args:
            clock: seconds on a monotonic clock; drives restart-intensity and
                rate-limiter windows, so tests can pass a fake one.
            shutdown_timeout: how long leaving the block waits for each root
                process to stop before killing it.
        """
        self.clock = clock
        self.shutdown_timeout = shutdown_timeout
        # Invariant: a pid is a key of `_procs` exactly while its process is alive.
        self._procs: dict[Pid, Process] = {}
        # Invariant: every value of `_names` is a key of `_procs`, and that process's `_name`.
        self._names: dict[str, Pid] = {}
        # The task of every live process (attached ones included) -> its process.
        self._by_task: dict[asyncio.Task[Any], Process] = {}
        # Tasks the runtime started whose process was killed, some perhaps finished unwinding since
        # (pruned when the set has doubled: no done callback per kill). A live process's task is in
        # `_by_task`; one that exits by itself finishes in the step that announces its exit; so
        # these, and the tasks of live processes, are all that can be pending.
        self._unwinding: set[asyncio.Task[Any]] = set()
        self._prune_unwinding_at = _PRUNE_FLOOR
        # Tasks running below an eager start (`_spawn` on 3.12+), innermost last: a kill of one must
        # not cancel it (it is running); `_spawn` raises Exit in it when the start returns.
        self._eager_callers: list[asyncio.Task[Any]] = []
        self._pid_ids = itertools.count(1)
        self._ref_ids = itertools.count(1)
        # Invariant: equals the number of (ref -> target) entries over all `Process._monitors`.
        self._monitor_total = 0
        # Exit signals not yet applied: (target, sender, reason, via_link). Applied in
        # order by `_drain`, iteratively, so a cascade along a long chain of links
        # cannot overflow the stack.
        self._signals: deque[tuple[Process, Pid | None, Any, bool]] = deque()
        self._draining = False
        # (task, reason) when a process was killed by a signal it caused itself: its own
        # task is running, so instead of being cancelled it gets `Exit(reason)` raised.
        self._self_exit: tuple[asyncio.Task[Any], Any] | None = None
        self._subscribers: list[Callable[[RuntimeEvent], None]] = []
        # Bumped by every change of the process graph (spawn, exit, link, monitor, name,
        # restart): an observer whose last look saw the same generation can reuse it.
        self.generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._call_timeouts: CallTimeouts | None = None
        self._running = False

    # -- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        if self._running:
            raise NotRunning("this runtime is already running; a Runtime is entered once")
        self._loop = asyncio.get_running_loop()
        self._call_timeouts = CallTimeouts(self._loop)
        self._running = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop every process: roots newest first with `"shutdown"`, then kill what is left."""
        try:
            await self._shutdown()
        finally:
            self._running = False

    async def _shutdown(self) -> None:
        current = asyncio.current_task()
        signalled: set[Pid] = set()
        while roots := self._unsignalled_roots(signalled, current):
            for proc in roots:  # newest first; a root's children become roots when it is gone
                signalled.add(proc.pid)
                if proc._dead:
                    continue
                gone = self._exit_future(proc)
                self._exit_signal(proc, None, SHUTDOWN, via_link=False)
                self._drain()
                try:
                    await asyncio.wait_for(gone, self.shutdown_timeout)
                except TimeoutError:
                    logger.warning("%r did not stop within %ss of shutdown; killing it", proc, self.shutdown_timeout)
        for proc in reversed(list(self._procs.values())):
            if proc._task is not current:
                self._kill(proc, KILLED)
        self._drain()
        await self._await_tasks()
        assert self._call_timeouts is not None
        self._call_timeouts.cancel()

    def _unsignalled_roots(self, signalled: set[Pid], current: asyncio.Task[Any] | None) -> list[Process]:
        """Live processes without a live parent that have not had their shutdown signal, newest first."""
        procs = self._procs
        return [
            proc for proc in reversed(list(procs.values()))
            if proc.pid not in signalled and proc._task is not current
            and (proc._parent is None or proc._parent not in procs)
        ]

    def _prune_unwinding(self) -> None:
        """Forget killed tasks that have finished; the next prune waits for twice as many (O(1) per kill)."""
        self._unwinding = {task for task in self._unwinding if not task.done()}
        self._prune_unwinding_at = max(_PRUNE_FLOOR, 2 * len(self._unwinding))

    async def _await_tasks(self) -> None:
        """Wait for every task the runtime started to finish (killed ones unwind their `finally` blocks).

        A body that swallows its own cancellation would keep its task running
        after its process died; such stragglers are cancelled again after
        `shutdown_timeout` and left behind with a warning rather than hanging the exit.
        """
        tasks = {task for task in self._unwinding if not task.done()}
        self._unwinding.clear()
        for proc in self._procs.values():  # closing their owned resources (killed, or on their way out)
            if proc._task is not None and _is_runtime_task(proc._task):
                tasks.add(proc._task)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.shutdown_timeout)
        if pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=self.shutdown_timeout)
        if pending:
            logger.warning("%d task(s) of dead processes ignored cancellation and were left running", len(pending))

    # -- processes -------------------------------------------------------------

    def spawn(
        self,
        fn: ProcessBody,
        *args: Any,
        link: Pid | None = None,
        trap_exits: bool = False,
        name: str | None = None,
    ) -> Pid:
        """Start a process running `await fn(proc, *args)`.

        Returning ends it with `"normal"`, `raise Exit(reason)` with `reason`,
        any other exception with that exception. Its parent is the current
        process, if any. Application code starts processes through supervisors.

        Raises:
            InvalidArgument: `fn` is not an async function, `link` not a pid, `name` not a str.
            AlreadyRegistered: `name` is taken.
            NotRunning: outside `async with Runtime()`.
        """
        if not (inspect.iscoroutinefunction(fn) or (callable(fn) and inspect.iscoroutinefunction(type(fn).__call__))):
            raise InvalidArgument(f"spawn needs an async function `async def fn(proc, ...)`, got {fn!r}")
        if link is not None and not isinstance(link, Pid):
            raise InvalidArgument(f"link must be a Pid or None, got {link!r}")
        current = self._current()
        return self._spawn(
            fn, args, link=link, trap_exits=trap_exits, name=name, kind="process",
            parent=None if current is None else current.pid,
        )

    def _spawn(
        self,
        fn: ProcessBody,
        args: tuple[Any, ...],
        *,
        link: Pid | None,
        trap_exits: bool,
        name: str | None,
        kind: str,
        parent: Pid | None,
        server: Server | None = None,
        eager: bool = False,
        calls: set[asyncio.Future[Any]] | None = None,
    ) -> Pid:
        """Create the process, name and link it, then start its task.

        With `eager` (on Python 3.12+), the task's first steps run right here, up to its first real
        suspension: a `start_link` whose caller waits for `init` anyway saves two loop turns. So the
        process is named and linked before its task exists; `calls` are pending requests to it from
        the start (a start ack), failed with `CallExit` if it dies first.
        """
        if not self._running:
            raise NotRunning("the runtime is not running: use `async with Runtime() as rt:`")
        if name is not None:
            self._check_name_free(name)
        pid = Pid(next(self._pid_ids))
        proc = Process(self, pid, trap_exits=trap_exits, kind=kind, parent=parent, started_at=self.clock())
        proc._server = server
        proc._calls = calls
        self._procs[pid] = proc
        self.generation += 1
        if self._subscribers:
            self._emit("spawned", pid, other=parent)
        if name is not None:
            self._register(name, proc)
        if link is not None:
            self._link(proc, link)
        assert self._loop is not None
        body = self._run(proc, fn, args)
        loop = self._loop
        # A task factory someone installed (a tracer, a monitor) sees every task: then no eager start.
        if eager and _EAGER_START and loop.get_task_factory() is None and not proc._dead:
            self._start_eagerly(proc, body, _task_name(pid, name, server, fn))
        else:
            task = loop.create_task(body, name=_task_name(pid, name, server, fn))
            proc._task = task
            if proc._dead:  # killed before it had a task (linked to a dead pid): its first step returns
                self._note_unwinding(task)
            else:
                self._by_task[task] = proc
        return pid

    def _start_eagerly(self, proc: Process, body: Coroutine[Any, Any, None], name: str) -> None:
        """Run `proc`'s first steps now, inside the caller's step (3.12+), up to its first suspension.

        The caller is running meanwhile, so a kill of it during those steps is not a cancel: it is
        recorded, and the caller raises `Exit(reason)` in itself once the start has returned.
        """
        caller = asyncio.current_task()
        caller_proc = None if caller is None else self._by_task.get(caller)  # None: not a live process
        caller_closing = OPEN if caller_proc is None else caller_proc._closing
        if caller is not None:
            self._eager_callers.append(caller)
        try:
            asyncio.Task(  # type: ignore[call-arg]  # eager_start is new in 3.12; mypy checks against 3.11
                body, loop=self._loop, name=name, eager_start=True
            )
        finally:
            if caller is not None:
                self._eager_callers.pop()
        if caller_proc is not None:  # it was alive when the start began: did a signal end it meanwhile?
            if caller_proc._dead:
                raise Exit(caller_proc._exit_reason)
            if caller_proc._closing is not caller_closing:
                raise Exit(caller_proc._closing)

    async def _run(self, proc: Process, fn: ProcessBody, args: tuple[Any, ...]) -> None:
        """The whole life of a spawned process's task."""
        if proc._task is None:  # started eagerly: this first step runs inside `_spawn`
            task = asyncio.current_task()
            assert task is not None
            proc._task = task
            if proc._dead:
                return
            self._by_task[task] = proc
        if proc._dead:
            return  # killed before its first step
        proc._started = True
        _current_runtime.set(self)
        body = fn(proc, *args)
        del fn, args  # a long-lived body must not keep its spawn arguments (a server's start ack) alive
        try:
            await body
        except Exit as exc:
            reason = exc.reason
        except asyncio.CancelledError:
            if proc._dead or proc._closing is not OPEN:  # killed: the signal did the exit, or deferred it
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
                if proc._dead:
                    return
                reason = proc._closing
            else:
                if proc._exit_stack is not None:
                    proc._closing = KILLED
                    await self._close_owned(proc)
                self._die(proc, KILLED)  # the host cancelled us: die, and let the cancellation through
                self._drain()
                raise
        # A crash: the exception is the exit reason, carried on by links and monitors (not hidden).
        except Exception as exc:  # noqa: BLE001
            if not proc._dead:
                self._log_crash(proc, exc)
            reason = exc
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: exit, then let it through
            if not proc._dead:
                self._die(proc, exc)
                self._drain()
            task = asyncio.current_task()
            if task is not None:  # it stops the loop; marked retrieved so it is not logged again at collection
                task.add_done_callback(_retrieve)
            raise
        else:
            reason = NORMAL
        if proc._exit_stack is not None and not proc._dead:
            if proc._closing is OPEN:
                proc._closing = reason
            await self._close_owned(proc)
            reason = proc._closing
        if proc._kill_timer is not None:
            proc._kill_timer.cancel()
            proc._kill_timer = None
        if not proc._dead:
            self._die(proc, reason)
            self._drain()

    def _log_crash(self, proc: Process, exc: Exception) -> None:
        """Log a crash on `observer.runtime`; under a supervisor at DEBUG only, since its
        `observer.crash` report carries the same traceback."""
        parent = self._procs.get(proc._parent) if proc._parent is not None else None
        supervised = parent is not None and parent._kind in _SUPERVISOR_KINDS
        level = logging.DEBUG if supervised else logging.ERROR
        if logger.isEnabledFor(level):
            logger.log(level, "process %r crashed", proc, exc_info=exc)

    async def _close_owned(self, proc: Process) -> None:
        """Exit the contexts `proc` owns, newest first, in its own task on its way out, before `_die`.

        Meanwhile `_closing` holds the exit reason: exit signals pass it by. Once it is killed, its
        kill timer (`_arm_kill_timer`) announces it dead within `KILL_CLOSE_TIMEOUT` whether or not
        this finishes; a kill while closing cancels the close once (the contexts left still exit).
        """
        stack = proc._exit_stack
        assert stack is not None
        try:
            await stack.aclose()
        except asyncio.CancelledError:  # a kill cut a context's exit short: the process goes on dying
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except Exception as exc:  # a resource failed to close: logged, and the process exits all the same
            logger.error("%r: closing an owned resource failed", proc, exc_info=exc)
        finally:
            proc._exit_stack = None

    def _arm_kill_timer(self, proc: Process) -> None:
        """Make sure a killed owner is announced dead within `KILL_CLOSE_TIMEOUT` (once per process)."""
        if proc._kill_timer is None and self._loop is not None:
            proc._kill_timer = self._loop.call_later(KILL_CLOSE_TIMEOUT, self._kill_timed_out, proc)

    def _kill_timed_out(self, proc: Process) -> None:
        """A killed owner has not finished closing in time: cut its close short, then declare it dead.

        The cancel interrupts the context that hangs; the older ones still exit in the task's next
        step, which runs before `_declare_killed` (scheduled after it), so the Down usually still
        follows the close. A task that hangs again, or swallows the cancel, is declared dead anyway.
        """
        proc._kill_timer = None
        if proc._dead:
            return
        logger.warning("%r: owned resources not closed within %ss of its kill", proc, KILL_CLOSE_TIMEOUT)
        task = proc._task
        if task is not None and not task.done() and task not in self._eager_callers:
            task.cancel()
        assert self._loop is not None
        self._loop.call_soon(self._declare_killed, proc)

    def _declare_killed(self, proc: Process) -> None:
        if proc._dead:
            return
        self._die(proc, KILLED)
        self._drain()
        task = proc._task
        if task is not None and not task.done():
            task.cancel()
            self._note_unwinding(task)

    def attached(self, trap_exits: bool = False) -> _Attached:
        """Make the current task a process for an `async with` block; yields its `Process`.

        Leaving the block exits it with `"normal"` (or with the exception that
        escaped). If it is killed inside the block, the block raises `Exit(reason)`.
        """
        return _Attached(self, trap_exits)

    def is_alive(self, pid: Pid) -> bool:
        """True while `pid` is a live process."""
        return pid in self._procs

    def processes(self) -> list[Pid]:
        """Every live pid, oldest first."""
        return list(self._procs)

    def process_info(self, pid: Pid) -> ProcessInfo | None:
        """A frozen view of a live process, or None if `pid` is not alive."""
        proc = self._procs.get(pid)
        if proc is None:
            return None
        return ProcessInfo(
            pid=pid,
            name=proc._name,
            kind=proc._kind,
            status="waiting" if proc._mailbox.waiting else "running",
            mailbox_size=len(proc._mailbox),
            links=tuple(proc._links or ()),
            monitors=tuple(proc._monitors.values()) if proc._monitors else (),
            monitored_by=tuple(proc._monitored_by.values()) if proc._monitored_by else (),
            trap_exits=proc.trap_exits,
            parent=proc._parent if proc._parent in self._procs else None,
            started_at=proc._started_at,
            restarts=proc._restarts,
            messages_in=proc._mailbox.messages_in,
            reductions=proc._reductions,
        )

    def process_stats(self) -> ProcessStats:
        """Totals over every live process in one pass: counts by kind and mailbox depths (for metrics)."""
        by_kind: dict[str, int] = {}
        mailbox_max = mailbox_sum = 0
        for proc in self._procs.values():
            kind = proc._kind
            by_kind[kind] = by_kind.get(kind, 0) + 1
            depth = len(proc._mailbox._messages)
            mailbox_sum += depth
            if depth > mailbox_max:
                mailbox_max = depth
        return ProcessStats(len(self._procs), MappingProxyType(by_kind), mailbox_max, mailbox_sum)

    def monitor_count(self) -> int:
        """The number of active monitors in the whole runtime."""
        return self._monitor_total

    # -- names -----------------------------------------------------------------

    def register(self, name: str, pid: Pid) -> None:
        """Register `pid` under `name`.

        Raises:
            AlreadyRegistered: `name` is taken.
            NoProc: `pid` is not alive.
            InvalidArgument: `name` is not a non-empty str, or the process already has a name.
        """
        if not isinstance(pid, Pid):
            raise InvalidArgument(f"register() needs a Pid, got {pid!r}")
        proc = self._procs.get(pid)
        if proc is None:
            raise NoProc(pid, "only a live process can be registered")
        self._check_name_free(name)
        if proc._name is not None:
            raise InvalidArgument(f"{pid!r} is already registered as {proc._name!r}; unregister it first")
        self._register(name, proc)

    def unregister(self, name: str) -> None:
        """Remove `name` (no error if it is not registered)."""
        pid = self._names.pop(name, None)
        if pid is not None:
            self._procs[pid]._name = None
            self.generation += 1
            if self._subscribers:
                self._emit("unregistered", pid, name=name)

    def whereis(self, name: str) -> Pid | None:
        """The pid registered as `name`, or None."""
        return self._names.get(name)

    def _check_name_free(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"a name must be a non-empty str, got {name!r}")
        holder = self._names.get(name)
        if holder is not None:
            raise AlreadyRegistered(name, holder)

    def _register(self, name: str, proc: Process) -> None:
        self._names[name] = proc.pid
        proc._name = name
        self.generation += 1
        if self._subscribers:
            self._emit("registered", proc.pid, name=name)

    # -- messages --------------------------------------------------------------

    def send(self, dest: Dest, message: Any) -> None:
        """Queue `message` for `dest`; to a dead pid it is dropped.

        Raises:
            NoProc: `dest` is a name nobody has registered.
        """
        proc = self._procs.get(dest) if type(dest) is Pid else self._by_name(dest)
        if proc is not None:
            proc._mailbox.put(message)

    def cast(self, dest: Dest, request: Any) -> None:
        """Send `request` to a server's `handle_cast`; never raises, even for unknown names."""
        if type(dest) is Pid:
            proc = self._procs.get(dest)
        else:
            try:
                proc = self._procs.get(self._names.get(dest))  # type: ignore[arg-type]
            except TypeError:  # an unhashable destination names nothing
                return
        if proc is not None:
            proc._mailbox.put(Cast(request))

    async def call(self, dest: Dest, request: Any, timeout: float | None = 5.0) -> Any:
        """Send `request` to a server's `handle_call` and return its reply.

        Callable from any task, process or not.

        Raises:
            NoProc: `dest` is dead or unknown.
            CallTimeout: no reply within `timeout` seconds.
            CallExit: the server exited while the call was pending (at once, not at the timeout).
            CallingSelf: a server called itself.
        """
        proc = self._live(dest)
        caller = self._by_task.get(asyncio.current_task())  # type: ignore[arg-type]
        if caller is proc:
            raise CallingSelf(dest)
        future: asyncio.Future[Any] = self._loop.create_future()  # type: ignore[union-attr]
        if timeout is not None:
            if type(timeout) is not float or not timeout >= 0:
                self._check_timeout(timeout)
            self._call_timeouts.add(future, timeout, dest, request)  # type: ignore[union-attr]
        calls = proc._calls
        if calls is None:
            calls = proc._calls = set()
        calls.add(future)
        proc._mailbox.put(Call(request, Caller(future, None if caller is None else caller.pid)))
        try:
            return await future
        finally:
            calls.discard(future)

    async def stop(self, dest: Dest, reason: Any = NORMAL, timeout: float | None = None) -> None:
        """Stop a server with `reason` and wait until it is gone (its `terminate` runs).

        Raises:
            NoProc: `dest` is dead or unknown.
            InvalidArgument: `dest` is not a server.
            CallTimeout: it did not stop within `timeout`.
            CallExit: it exited with another reason than `reason`.
        """
        proc = self._live(dest)
        if proc._server is None:
            raise InvalidArgument(f"{dest!r} is a plain process, not a server; use exit() to stop it")
        if proc._task is asyncio.current_task():
            raise CallingSelf(dest)
        if timeout is not None:
            self._check_timeout(timeout)
        gone = self._exit_future(proc)
        proc._mailbox.put(StopRequest(reason))
        try:
            actual = await asyncio.wait_for(gone, timeout)
        except TimeoutError:
            raise CallTimeout(dest, "stop", timeout or 0.0) from None
        if actual is not reason and actual != reason:
            raise CallExit(dest, actual)

    def _by_name(self, name: Any) -> Process | None:
        if not isinstance(name, str):  # before the lookup: an unhashable name must not raise a bare TypeError
            raise InvalidArgument(f"a destination is a Pid or a registered name, got {name!r}")
        pid = self._names.get(name)
        if pid is None:
            raise NoProc(name, "no process is registered under that name")
        return self._procs[pid]

    def _live(self, dest: Dest) -> Process:
        proc = self._procs.get(dest) if type(dest) is Pid else self._by_name(dest)
        if proc is None:
            raise NoProc(dest, "it is not alive")
        return proc

    def _check_timeout(self, timeout: Any) -> None:
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout >= 0:
            raise InvalidArgument(f"a timeout is a number of seconds >= 0 (or None), got {timeout!r}")

    def _exit_future(self, proc: Process) -> asyncio.Future[Any]:
        assert self._loop is not None
        future: asyncio.Future[Any] = self._loop.create_future()
        if proc._exit_waiters is None:
            proc._exit_waiters = []
        proc._exit_waiters.append(future)
        return future

    def _current(self) -> Process | None:
        task = asyncio.current_task()
        return None if task is None else self._by_task.get(task)

    # -- exit signals ----------------------------------------------------------

    def exit(self, pid: Pid, reason: Any) -> None:
        """Send `pid` an exit signal from the current process (if any).

        `"kill"` cannot be trapped: the target dies with `"killed"`. `"normal"`
        is ignored by a process that does not trap exits. Any other reason
        kills a non-trapping target with that reason; a trapping one gets
        `ExitMessage(sender, reason)` instead. A dead pid is ignored.

        Raises:
            InvalidArgument: `pid` is not a Pid.
        """
        if not isinstance(pid, Pid):
            raise InvalidArgument(f"exit() needs a Pid, got {pid!r}")
        target = self._procs.get(pid)
        if target is None:
            return
        sender = self._current()
        self._exit_signal(target, None if sender is None else sender.pid, reason, via_link=False)
        self._drain()
        self._raise_if_current_died()

    def _exit_signal(self, target: Process, sender: Pid | None, reason: Any, *, via_link: bool) -> None:
        self._signals.append((target, sender, reason, via_link))

    def _drain(self) -> None:
        """Apply queued exit signals in order; deaths they cause queue more."""
        if self._draining:
            return
        self._draining = True
        try:
            signals = self._signals
            while signals:
                target, sender, reason, via_link = signals.popleft()
                if target._dead:
                    continue
                if target._closing is not OPEN:  # on its way out already: only a kill acts, by hurrying it
                    if not via_link and _is_kill(reason):
                        self._kill(target, KILLED)
                    continue
                if not via_link and _is_kill(reason):
                    self._kill(target, KILLED)
                elif target.trap_exits:
                    target._mailbox.put(ExitMessage(sender, reason))
                elif _is_normal(reason):
                    if sender is target.pid:
                        self._kill(target, NORMAL)
                else:
                    self._kill(target, reason)
        finally:
            self._draining = False

    def _kill(self, proc: Process, reason: Any) -> None:
        """End `proc` now with `reason` and stop its task.

        A process that owns resources (`Server.enter_context`) is not announced dead yet: its task is
        cancelled and closes them first (within 1 s), then dies with `reason` (see `_run`).
        """
        if proc._dead:
            return
        task = proc._task
        if proc._closing is not OPEN:  # on its way out already: only a kill acts, bounding it and cutting it short
            if _is_killed(reason) and not _is_killed(proc._closing):
                proc._closing = KILLED
                self._arm_kill_timer(proc)
                if task is not None and task is not asyncio.current_task() and task not in self._eager_callers:
                    task.cancel()
            return
        if proc._exit_stack is not None and task is not None and proc._started:
            proc._closing = reason
            if _is_killed(reason):  # even a body that swallows the cancel is dead within the bound
                self._arm_kill_timer(proc)
            self._stop_task(proc, task, reason)
            return
        self._die(proc, reason)
        if task is not None:
            self._stop_task(proc, task, reason)

    def _stop_task(self, proc: Process, task: asyncio.Task[Any], reason: Any) -> None:
        """Stop the task of a process that was just killed (its exit is done, or deferred to its close)."""
        if task is asyncio.current_task():
            self._self_exit = (task, reason)  # it raises Exit(reason) in itself when the signal returns
        elif task in self._eager_callers:
            pass  # running, below an eager start: `_spawn` raises Exit in it when the start returns
        elif proc._started:  # one that has not taken its first step returns from it (`_run`)
            task.cancel()
        self._note_unwinding(task)

    def _note_unwinding(self, task: asyncio.Task[Any]) -> None:
        """Remember a killed process's task until it has finished, so that shutdown waits for it."""
        if _is_runtime_task(task):
            unwinding = self._unwinding
            unwinding.add(task)
            if len(unwinding) >= self._prune_unwinding_at:
                self._prune_unwinding()

    def _raise_if_current_died(self) -> None:
        self_exit = self._self_exit
        if self_exit is not None:
            self._self_exit = None
            task, reason = self_exit
            if task is asyncio.current_task():
                raise Exit(reason)

    def _die(self, proc: Process, reason: Any) -> None:
        """Do everything that happens the moment `proc` exits with `reason`.

        Invariant: runs once per process. Its name is released before any
        `Down` or `ExitMessage` about it is queued; those are queued here, so
        their arrival order is the exit order.
        """
        proc._dead = True
        proc._exit_reason = reason
        pid = proc.pid
        del self._procs[pid]
        if proc._task is not None:
            self._by_task.pop(proc._task, None)
        if proc._name is not None:
            del self._names[proc._name]
        if proc._calls:
            for future in proc._calls:
                if not future.done():
                    future.set_exception(CallExit(pid, reason))
        if proc._exit_waiters:
            for future in proc._exit_waiters:
                if not future.done():
                    future.set_result(reason)
        if proc._monitors:
            for ref, target_pid in proc._monitors.items():
                # A monitor of itself is removed here, so it never counts as a watcher below.
                target = proc if target_pid is pid else self._procs.get(target_pid)
                if target is not None and target._monitored_by is not None:
                    del target._monitored_by[ref]
            self._monitor_total -= len(proc._monitors)
            proc._monitors = None
        if proc._monitored_by:
            procs = self._procs
            for ref, watcher_pid in proc._monitored_by.items():
                watcher = procs[watcher_pid]
                del watcher._monitors[ref]  # type: ignore[union-attr]
                watcher._mailbox.put(Down(ref, pid, reason))
            self._monitor_total -= len(proc._monitored_by)
            proc._monitored_by = None
        if proc._links:
            for other_pid in proc._links:
                other = self._procs[other_pid]
                other._links.discard(pid)  # type: ignore[union-attr]
                if other.trap_exits:  # delivered now, like the Downs: arrival order is exit order
                    other._mailbox.put(ExitMessage(pid, reason))
                elif not _is_normal(reason):  # the partner dies too: queued, so cascades stay iterative
                    self._signals.append((other, pid, reason, True))
            proc._links = None
        self.generation += 1
        if self._subscribers:
            self._emit("exited", pid, reason=reason)

    # -- links and monitors ----------------------------------------------------

    def _link(self, proc: Process, pid: Pid) -> None:
        if not isinstance(pid, Pid):
            raise InvalidArgument(f"link() needs a Pid, got {pid!r}")
        if pid is proc.pid or proc._dead:  # a dead process (code in a killed body's finally) links nothing
            return
        other = self._procs.get(pid)
        if other is None:
            self._exit_signal(proc, pid, NOPROC, via_link=True)
            self._drain()
            self._raise_if_current_died()
            return
        if proc._links is None:
            proc._links = set()
        if pid in proc._links:
            return
        proc._links.add(pid)
        if other._links is None:
            other._links = set()
        other._links.add(proc.pid)
        self.generation += 1
        if self._subscribers:
            self._emit("linked", proc.pid, other=pid)

    def _unlink(self, proc: Process, pid: Pid) -> None:
        if not isinstance(pid, Pid):
            raise InvalidArgument(f"unlink() needs a Pid, got {pid!r}")
        if proc._links is None or pid not in proc._links:
            return
        proc._links.discard(pid)
        other = self._procs.get(pid)
        if other is not None and other._links is not None:
            other._links.discard(proc.pid)
        self.generation += 1
        if self._subscribers:
            self._emit("unlinked", proc.pid, other=pid)

    def _monitor(self, proc: Process, pid: Pid) -> Ref:
        if not isinstance(pid, Pid):
            raise InvalidArgument(f"monitor() needs a Pid, got {pid!r}")
        ref = Ref(next(self._ref_ids))
        target = self._procs.get(pid)
        if target is None or proc._dead:  # a dead watcher holds no monitor: it only gets the "noproc"
            proc._mailbox.put(Down(ref, pid, NOPROC))
            return ref
        if proc._monitors is None:
            proc._monitors = {}
        proc._monitors[ref] = pid
        if target._monitored_by is None:
            target._monitored_by = {}
        target._monitored_by[ref] = proc.pid
        self._monitor_total += 1
        self.generation += 1
        if self._subscribers:
            self._emit("monitored", proc.pid, other=pid)
        return ref

    def _demonitor(self, proc: Process, ref: Ref, flush: bool) -> bool:
        if not isinstance(ref, Ref):
            raise InvalidArgument(f"demonitor() needs a Ref, got {ref!r}")
        target_pid = proc._monitors.pop(ref, None) if proc._monitors else None
        if target_pid is not None:
            self._monitor_total -= 1
            target = self._procs.get(target_pid)
            if target is not None and target._monitored_by is not None:
                target._monitored_by.pop(ref, None)
            self.generation += 1
            if self._subscribers:
                self._emit("demonitored", proc.pid, other=target_pid)
        elif flush:  # only a monitor that already fired can have its Down queued
            proc._mailbox.remove_first(lambda message: type(message) is Down and message.ref is ref)
        return target_pid is not None

    # -- introspection (OTP's sys and process_info) ------------------------------

    def inspect(self, pid: Pid) -> Inspection | None:
        """Look inside a live process: its info, a server's state, its stack and what it awaits.

        Synchronous, and read on the spot: a server's `format_status()` runs here, between its
        callbacks (it cannot be inside one while this code runs on the same loop).

        Returns:
            The `Inspection`, or None if `pid` is not alive.
        """
        info = self.process_info(pid) if isinstance(pid, Pid) else None
        if info is None:
            return None
        proc = self._procs[pid]
        state = None
        if proc._server is not None:
            try:
                state = state_text(proc._server.format_status())
            # An observer shows a broken format_status as text; the server itself is not touched.
            except Exception as exc:  # noqa: BLE001
                state = f"<format_status raised {type(exc).__name__}: {exc}>"
        stack, awaiting = stack_and_awaiting(proc, Runtime.call.__code__, _receive_codes())
        return Inspection(info, state, stack, awaiting)

    def awaiting(self, pid: Pid) -> str | None:
        """What `pid` awaits now: `Inspection.awaiting` alone, cheap enough for every row of a process list.

        Returns:
            ``"receive"``, ``"call <0.7.0>"``, ``"sleep"`` or the innermost awaited coroutine's name;
            None while it runs, before it started, or when it is not alive.
        """
        proc = self._procs.get(pid) if isinstance(pid, Pid) else None
        return None if proc is None else awaiting_of(proc, Runtime.call.__code__, _receive_codes())

    async def get_state(self, dest: Dest, timeout: float = 5.0) -> Any:
        """A server's `format_status()`, taken between its callbacks (OTP `sys:get_state`).

        Raises:
            NoProc: `dest` is dead or unknown.
            NotAServer: `dest` is a plain process.
            CallTimeout: the server did not get to it within `timeout` (it is stuck in a callback).
        """
        return await self._system(dest, "get_state", timeout)

    async def suspend(self, dest: Dest, timeout: float = 5.0) -> None:
        """Suspend a server (OTP `sys:suspend`): it handles nothing from its mailbox until resumed.

        Calls to it queue (and time out); exit signals still act on it; `stop`, `resume` and
        `get_state` are still answered.

        Raises:
            NoProc: `dest` is dead or unknown.
            NotAServer: `dest` is a plain process.
            CallTimeout: the server did not get to the request within `timeout`.
        """
        await self._system(dest, "suspend", timeout)

    async def resume(self, dest: Dest, timeout: float = 5.0) -> None:
        """Resume a suspended server (OTP `sys:resume`); resuming one that runs does nothing.

        Raises:
            NoProc: `dest` is dead or unknown.
            NotAServer: `dest` is a plain process.
            CallTimeout: the server did not get to the request within `timeout`.
        """
        await self._system(dest, "resume", timeout)

    async def _system(self, dest: Dest, op: SystemOp, timeout: float) -> Any:
        proc = self._live(dest)
        if proc._server is None:
            raise NotAServer(dest, op)
        if proc._task is asyncio.current_task():
            raise CallingSelf(dest)
        self._check_timeout(timeout)
        assert self._loop is not None and self._call_timeouts is not None
        future: asyncio.Future[Any] = self._loop.create_future()
        self._call_timeouts.add(future, float(timeout), dest, op)
        calls = proc._calls
        if calls is None:
            calls = proc._calls = set()
        calls.add(future)
        proc._mailbox.put(SystemMessage(op, future))
        try:
            return await future
        finally:
            calls.discard(future)

    def trace(self, dest: Dest, callback: Callable[[TraceEvent], object], *, limit: int = 100) -> Callable[[], None]:
        """Call `callback(TraceEvent)` for the next `limit` messages `dest` receives or handles.

        Events are `"in"` (delivered to its mailbox), `"call"`, `"cast"`, `"info"` (handled) and
        `"reply"`; the trace stops by itself after `limit` events (recon_trace's safety cap) or when
        the process exits. Callbacks run via the loop, in order, never inside the runtime's
        bookkeeping. An untraced process pays nothing for tracing.

        Returns:
            A function that stops the trace sooner (idempotent).

        Raises:
            NoProc: `dest` is dead or unknown.
            InvalidArgument: `limit` is not an int >= 1, or `callback` is not callable.
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidArgument(f"a trace limit is an int >= 1, got {limit!r}")
        if not callable(callback):
            raise InvalidArgument(f"trace() needs a callable, got {callback!r}")
        proc = self._live(dest)
        assert self._loop is not None
        tracer = Tracer(proc, callback, limit, self._loop, self.clock)
        tracer.start()
        return tracer.stop

    # -- observation -----------------------------------------------------------

    def subscribe(self, callback: Callable[[RuntimeEvent], None]) -> Callable[[], None]:
        """Call `callback(event)` for every observation event; returns the unsubscribe function.

        Callbacks run soon after the event (via the loop), in event order, and
        never inside the runtime's own bookkeeping: an observer that raises
        cannot break the runtime, and nothing in the runtime waits on one.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(
        self, kind: str, pid: Pid, *, other: Pid | None = None, reason: Any = None, name: str | None = None
    ) -> None:
        if not self._subscribers:
            return
        assert self._loop is not None
        event = RuntimeEvent(kind, pid, self.clock(), other, reason, name)
        for callback in self._subscribers:
            self._loop.call_soon(callback, event)

    def _note_restart(self, pid: Pid, supervisor: Pid, restarts: int) -> None:
        """Record that a supervisor restarted a child as `pid` (its `restarts`-th restart)."""
        proc = self._procs.get(pid)
        if proc is not None:
            proc._restarts = restarts
            self.generation += 1
            if self._subscribers:
                self._emit("restarted", pid, other=supervisor, reason=restarts)

    def server_of(self, pid: Pid) -> Server | None:
        """The Server object running as `pid`, or None.

        For observers on the runtime's own loop, read-only: e.g. the app reads a
        supervisor's `children()` without a call. Never use it to change a server.
        """
        proc = self._procs.get(pid)
        return None if proc is None else proc._server


class _Attached:
    """The context manager behind `Runtime.attached`."""

    __slots__ = ("_proc", "_rt", "_token", "_trap_exits")

    def __init__(self, rt: Runtime, trap_exits: bool) -> None:
        self._rt = rt
        self._trap_exits = trap_exits
        self._proc: Process | None = None
        self._token: Token[Runtime] | None = None

    async def __aenter__(self) -> Process:
        rt = self._rt
        if not rt._running:
            raise NotRunning("the runtime is not running: use `async with Runtime() as rt:`")
        task = asyncio.current_task()
        assert task is not None
        if task in rt._by_task:
            raise InvalidArgument(f"this task is already the process {rt._by_task[task].pid!r}")
        pid = Pid(next(rt._pid_ids))
        proc = Process(rt, pid, trap_exits=self._trap_exits, kind="process", parent=None, started_at=rt.clock())
        proc._task = task
        proc._started = True
        self._token = _current_runtime.set(rt)
        rt._procs[pid] = proc
        rt._by_task[task] = proc
        rt.generation += 1
        if rt._subscribers:
            rt._emit("spawned", pid)
        self._proc = proc
        return proc

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        rt = self._rt
        proc = self._proc
        assert proc is not None and self._token is not None
        _current_runtime.reset(self._token)  # the task is no longer a process
        if proc._dead:
            rt._self_exit = None
            if isinstance(exc, asyncio.CancelledError):
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
            if isinstance(exc, Exit):
                return  # the Exit goes on out of the block
            raise Exit(proc._exit_reason) from None
        if exc is None:
            reason: Any = NORMAL
        elif isinstance(exc, Exit):
            reason = exc.reason
        else:
            reason = exc
        rt._die(proc, reason)
        rt._drain()



_RUN_CODE = Runtime._run.__code__
