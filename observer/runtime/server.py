"""Server: a GenServer-like process with init, calls, casts, info messages and terminate."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, AsyncExitStack
from typing import Any, ClassVar, Final, TypeVar, final

from .errors import AlreadyRegistered, AlreadyStarted, CallExit, StartError
from .process import OPEN, Call, Caller, Cast, Exit, ExitMessage, Pid, Process, Ref, StopRequest, SystemMessage
from .runtime import Runtime, current_runtime
from .spec import ChildSpec, Restart, Shutdown
from .tracing import trace_handled

T = TypeVar("T")


@final
class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


IGNORE: Final = _Sentinel("IGNORE")
"""Return it from `init` to not start: `start_link` then returns None."""

NO_REPLY: Final = _Sentinel("NO_REPLY")
"""Return it from `handle_call` to answer later with `caller.reply(value)`."""


class Server:
    """A GenServer: subclass it and override the callbacks you need.

    ```python
    class Counter(Server):
        async def init(self, start: int) -> None: self.n = start
        async def handle_call(self, request, caller): return self.n
    ```

    Set the class attribute `trap_exits = True` to receive exit signals of
    linked processes as `ExitMessage` in `handle_info`; an exit signal from
    the parent still stops the server (after `terminate(reason)`).
    """

    trap_exits: ClassVar[bool] = False
    kind: ClassVar[str] = "server"

    pid: Pid
    runtime: Runtime
    _process: Process

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a subclass that would replace the server's own machinery by defining one of its names."""
        super().__init_subclass__(**kwargs)
        clashes = sorted(_MACHINERY.intersection(vars(cls)))
        if clashes:
            raise TypeError(
                f"{cls.__qualname__} defines {', '.join(clashes)}, which Server uses for its own loop; "
                "rename it (a Server subclass keeps its state in other attributes)"
            )

    # -- starting --------------------------------------------------------------

    @classmethod
    async def start_link(cls, rt: Runtime, *args: Any, name: str | None = None) -> Pid | None:
        """Start the server, linked to the current process (its parent), and wait for `init`.

        Returns:
            The server's pid, or None if `init` returned `IGNORE`.

        Raises:
            StartError: `init` raised (the exception is `reason`) or the server died during init.
            AlreadyStarted: `name` is taken (`pid` is its holder).
        """
        parent = rt._current()
        parent_pid = None if parent is None else parent.pid
        server = cls()
        assert rt._loop is not None
        ack: asyncio.Future[Pid | None] = rt._loop.create_future()
        try:
            pid = rt._spawn(
                server._serve, (args, ack), link=parent_pid, trap_exits=cls.trap_exits, name=name,
                kind=cls.kind, parent=parent_pid, server=server, eager=True,
                calls={ack},  # so that dying during init fails `ack` with CallExit
            )
        except AlreadyRegistered as exc:
            raise AlreadyStarted(exc.pid, f"a process named {name!r}") from None
        try:
            return await ack  # already done when init ran eagerly, inside `_spawn`
        except CallExit as exc:
            raise StartError(exc.reason) from None
        except asyncio.CancelledError:
            rt.exit(pid, "kill")  # the caller gave up on the start: so does the child (as proc_lib does)
            raise
        finally:
            proc = rt._procs.get(pid)
            if proc is not None and proc._calls is not None:
                proc._calls.discard(ack)
                if not proc._calls:
                    proc._calls = None

    @classmethod
    def child_spec(
        cls,
        *args: Any,
        id: Hashable = None,
        restart: Restart = "permanent",
        shutdown: Shutdown | None = None,
        name: str | None = None,
        significant: bool = False,
    ) -> ChildSpec:
        """A spec that starts this server with `start_link(rt, *args, name=name)`; `id` defaults to the class name."""

        async def start() -> Pid | None:
            return await cls.start_link(current_runtime(), *args, name=name)

        return ChildSpec(
            id=cls.__name__ if id is None else id,
            start=start,
            restart=restart,
            shutdown=shutdown,
            type="supervisor" if cls.kind in ("supervisor", "dynamic_supervisor") else "worker",
            significant=significant,
        )

    # -- callbacks ---------------------------------------------------------------

    async def init(self, *args: Any) -> Any:
        """Set up state; return `IGNORE` to not start. Raising makes `start_link` raise `StartError`."""
        return None

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        """Answer a call; the return value is the reply (or `NO_REPLY`)."""
        raise NotImplementedError(f"{type(self).__name__} got a call but has no handle_call: {request!r}")

    async def handle_cast(self, request: Any) -> None:
        """Handle a cast."""
        raise NotImplementedError(f"{type(self).__name__} got a cast but has no handle_cast: {request!r}")

    async def handle_info(self, message: Any) -> None:
        """Handle any other message (`Down`, `ExitMessage` when trapping, plain sends). Ignored by default."""

    async def terminate(self, reason: Any) -> None:
        """Clean up before exiting with `reason` (not run when the server is killed)."""

    # -- inside callbacks: this server's own links and monitors -------------------

    def link(self, pid: Pid) -> None:
        """Link this server to `pid` (see `Process.link`)."""
        self._process.link(pid)

    def unlink(self, pid: Pid) -> None:
        """Remove this server's link to `pid`."""
        self._process.unlink(pid)

    def monitor(self, pid: Pid) -> Ref:
        """Monitor `pid`; its `Down` arrives in `handle_info`."""
        return self._process.monitor(pid)

    def demonitor(self, ref: Ref, flush: bool = False) -> bool:
        """Remove the monitor `ref` (with `flush=True`, also a queued `Down` for it)."""
        return self._process.demonitor(ref, flush)

    # -- owned resources and status ------------------------------------------------

    async def enter_async_context(self, cm: AbstractAsyncContextManager[T]) -> T:
        """Enter `cm` and tie it to this server: it is exited when the server ends, for any reason.

        Owned contexts are exited newest first after `terminate` (and on `"kill"`, where `terminate`
        does not run, within 1 s), before the exit reaches links and monitors: a supervisor that
        restarts this server finds its port or file free again.

        Returns:
            What `cm.__aenter__` returned.
        """
        return await self._exit_stack().enter_async_context(cm)

    def enter_context(self, cm: AbstractContextManager[T]) -> T:
        """Enter the plain context manager `cm` and tie it to this server (see `enter_async_context`)."""
        return self._exit_stack().enter_context(cm)

    def _exit_stack(self) -> AsyncExitStack:
        proc = self._process
        if proc._exit_stack is None:
            proc._exit_stack = AsyncExitStack()
        return proc._exit_stack

    def format_status(self) -> object:
        """What `Runtime.inspect` and `get_state` show of this server's state (OTP `format_status`).

        The default is the instance's public attributes, with the values of those whose names
        contain `password`, `secret`, `token` or `key` replaced by `"***"`. Override it to show
        less, or something more readable; keep it cheap and side-effect free.
        """
        return {
            name: REDACTED if _is_secret(name) else value
            for name, value in vars(self).items()
            if not name.startswith("_") and name not in _RUNTIME_ATTRIBUTES
        }

    # -- the loop ------------------------------------------------------------------

    async def _serve(self, proc: Process, args: tuple[Any, ...], ack: asyncio.Future[Pid | None]) -> None:
        self.pid = proc.pid
        self.runtime = proc.runtime
        self._process = proc
        try:
            result = await self.init(*args)
        except BaseException as exc:
            # Init failed: the parent hears it from start_link, not as a signal. Killed (dead, or closing
            # what init took): `_die` fails the start with the kill's reason, and the link stays.
            if not proc._dead and proc._closing is OPEN:
                self._unlink_parent(proc)
                if not ack.done():  # done: the caller gave up waiting (and is killing us)
                    ack.set_exception(StartError(exc.reason if isinstance(exc, Exit) else exc))
            raise
        if result is IGNORE:
            self._unlink_parent(proc)
            if not ack.done():
                ack.set_result(None)
            return
        if not ack.done():
            ack.set_result(proc.pid)
        del args, ack, result  # an idle server keeps nothing of its start
        # The receive loop is inlined here (no `_loop` or `Mailbox.get` coroutine): an idle server is
        # two suspended coroutines, `Runtime._run` and this one, waiting on one bare future.
        mailbox = proc._mailbox
        queued = mailbox._messages  # taken directly while there are any: no coroutine per message
        parent = proc._parent
        loop = proc.runtime._loop
        assert loop is not None
        try:
            while True:
                if queued:
                    message = queued.popleft()
                else:
                    waiter = loop.create_future()
                    mailbox._waiter = waiter  # Invariant of Mailbox: set only while its owner waits
                    try:
                        await waiter
                    finally:
                        mailbox._waiter = None
                    continue
                proc._reductions += 1
                kind = type(message)
                if kind is Call:
                    caller = message.caller
                    if proc._tracers is not None:
                        trace_handled(proc, "call", message.request)
                        caller._traced = proc  # its reply is traced whenever it comes (after NO_REPLY too)
                    reply = await self.handle_call(message.request, caller)
                    if reply is not NO_REPLY:
                        if proc._tracers is not None and caller._traced is None:  # traced since it took the call
                            trace_handled(proc, "reply", reply)
                        caller.reply(reply)
                elif kind is Cast:
                    if proc._tracers is not None:
                        trace_handled(proc, "cast", message.request)
                    await self.handle_cast(message.request)
                elif kind is StopRequest:
                    raise Exit(message.reason)
                elif kind is ExitMessage and message.pid is parent:  # a root's parent is the runtime (None)
                    raise Exit(message.reason)
                elif kind is SystemMessage:
                    proc._reductions -= 1  # system requests are not the server's own work
                    if self._system(message):
                        await self._suspended(proc, parent)
                else:
                    if proc._tracers is not None:
                        trace_handled(proc, "info", message)
                    await self.handle_info(message)
        except Exit as exc:
            # Dead or closing already: killed by a signal it caused itself, so no terminate.
            if not proc._dead and proc._closing is OPEN:
                await self.terminate(exc.reason)
            raise
        except asyncio.CancelledError:
            raise  # killed: terminate does not run
        except Exception as exc:
            await self.terminate(exc)
            raise

    def _system(self, message: SystemMessage) -> bool:
        """Answer a system request; True when it asks the server to suspend."""
        reply = message.reply
        if message.op == "get_state":
            try:
                state = self.format_status()
            # A broken format_status is the caller's error to see, not a crash of the server.
            except Exception as exc:  # noqa: BLE001
                if not reply.done():
                    reply.set_exception(exc)
                return False
            if not reply.done():
                reply.set_result(state)
            return False
        if not reply.done():
            reply.set_result(None)
        return message.op == "suspend"

    async def _suspended(self, proc: Process, parent: Pid | None) -> None:
        """OTP's `sys:suspend`: handle only system requests, stop requests and the parent's exit.

        Calls, casts and other messages stay queued, in order, until `resume`; exit signals that
        are not trapped still act on the server (they cancel its task).
        """

        def wanted(message: Any) -> bool:
            kind = type(message)
            return kind is SystemMessage or kind is StopRequest or (kind is ExitMessage and message.pid is parent)

        while True:
            message = await proc._mailbox.get(wanted)
            if type(message) is SystemMessage:
                self._system(message)
                if message.op == "resume":
                    return
            else:  # a stop request, or the parent's exit signal
                raise Exit(message.reason)

    def _unlink_parent(self, proc: Process) -> None:
        if proc._parent is not None:
            proc.unlink(proc._parent)


_MACHINERY = frozenset({"_serve", "_system", "_suspended", "_unlink_parent", "_exit_stack", "_process"})
"""Names of Server's internals that a subclass must not define."""

REDACTED: Final = "***"
"""What `Server.format_status` shows in place of a secret's value."""
_SECRET_MARKERS = ("password", "secret", "token", "key")
_RUNTIME_ATTRIBUTES = frozenset({"pid", "runtime"})


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)
