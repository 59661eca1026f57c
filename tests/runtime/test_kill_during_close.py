"""A kill reaches a process that is closing its owned resources after another exit, and bounds the close."""

from __future__ import annotations

import asyncio

from observer.runtime import Down, Runtime, Server, Supervisor


class Hangs:
    def __init__(self) -> None:
        self.closing = asyncio.get_running_loop().create_future()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        self.closing.set_result(None)
        await asyncio.Event().wait()  # a close that never finishes


class Owner(Server):
    trap_exits = True

    async def init(self, hangs: Hangs) -> None:
        await self.enter_async_context(hangs)


async def test_a_kill_cuts_off_a_hanging_close_that_began_with_a_stop() -> None:
    async with Runtime(shutdown_timeout=0.5) as rt:
        hangs = Hangs()
        pid = await Owner.start_link(rt, hangs)
        assert pid is not None
        async with rt.attached() as me:
            me.monitor(pid)
            rt.cast(pid, "no handle_cast: a crash")  # terminate, then the close hangs (no deadline: fine)
            await hangs.closing
            rt.exit(pid, "kill")  # must cut the close off within 1 s; _drain drops it today
            down = await me.receive(lambda m: type(m) is Down, timeout=3)  # TimeoutError today
            assert down.reason == "killed"


async def test_a_supervisor_shutdown_timeout_ends_a_child_whose_close_hangs() -> None:
    async with Runtime(shutdown_timeout=0.5) as rt:
        sup = await Supervisor.start_link(rt, [Owner.child_spec(Hangs(), id="owner", shutdown=0.1)])
        # OTP: "shutdown", then "kill" after 0.1 s; the kill's 1 s bound applies: done in ~1.1 s.
        await asyncio.wait_for(Supervisor.terminate_child(rt, sup, "owner"), 3)  # TimeoutError today
