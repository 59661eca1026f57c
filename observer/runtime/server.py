"""Server: a GenServer-like process with init, calls, casts, info messages and terminate."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any, ClassVar, Final, final

from .errors import AlreadyRegistered, AlreadyStarted, CallExit, StartError
from .process import Call, Caller, Cast, Exit, ExitMessage, Pid, Process, Ref, StopRequest
from .runtime import Runtime, current_runtime
from .spec import ChildSpec, Restart, Shutdown


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
                kind=cls.kind, parent=parent_pid, server=server,
            )
        except AlreadyRegistered as exc:
            raise AlreadyStarted(exc.pid, f"a process named {name!r}") from None
        proc = rt._procs[pid]
        proc._calls = {ack}  # so that dying during init fails `ack` with CallExit
        try:
            return await ack
        except CallExit as exc:
            raise StartError(exc.reason) from None
        except asyncio.CancelledError:
            rt.exit(pid, "kill")  # the caller gave up on the start: so does the child (as proc_lib does)
            raise
        finally:
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

    # -- the loop ----------------------------------------------------------------

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

    async def _serve(self, proc: Process, args: tuple[Any, ...], ack: asyncio.Future[Pid | None]) -> None:
        self.pid = proc.pid
        self.runtime = proc.runtime
        self._process = proc
        try:
            result = await self.init(*args)
        except BaseException as exc:
            if not proc._dead:  # init failed: the parent hears it from start_link, not as a signal
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
        await self._loop(proc)

    def _unlink_parent(self, proc: Process) -> None:
        if proc._parent is not None:
            proc.unlink(proc._parent)

    async def _loop(self, proc: Process) -> None:
        get = proc._mailbox.get
        queued = proc._mailbox._messages  # taken directly while there are any: no coroutine per message
        parent = proc._parent
        try:
            while True:
                message = queued.popleft() if queued else await get()
                kind = type(message)
                if kind is Call:
                    reply = await self.handle_call(message.request, message.caller)
                    if reply is not NO_REPLY:
                        message.caller.reply(reply)
                elif kind is Cast:
                    await self.handle_cast(message.request)
                elif kind is StopRequest:
                    raise Exit(message.reason)
                elif kind is ExitMessage and message.pid is parent:  # a root's parent is the runtime (None)
                    raise Exit(message.reason)
                else:
                    await self.handle_info(message)
        except Exit as exc:
            if not proc._dead:  # dead already: killed by a signal it caused itself, so no terminate
                await self.terminate(exc.reason)
            raise
        except asyncio.CancelledError:
            raise  # killed: terminate does not run
        except Exception as exc:
            await self.terminate(exc)
            raise
