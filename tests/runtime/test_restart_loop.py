"""A restart loop never starves the event loop (DESIGN.md section 3, item 7).

Ported from OTP's supervisor_SUITE `hanging_restart_loop` and
`hanging_restart_loop_simple`: a child whose restart always fails keeps its
supervisor retrying, and the supervisor keeps answering calls between attempts;
`terminate_child` ends the loop. Here the start fails before its first await
(another process holds the child's name), the case where a retry taken straight
from the supervisor's mailbox would be made back to back and freeze the loop.

The runtime clock is a `FakeClock` that never moves, so the intensity window
never slides: a supervisor that made its attempts back to back would reach
`max_restarts` and exit before any other task ran, which is how these tests
fail without the fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest

from observer.runtime import (
    AlreadyPresent,
    Child,
    ChildCounts,
    ChildRestarting,
    ChildSpec,
    Down,
    DynamicSupervisor,
    Pid,
    Process,
    Runtime,
    Server,
    Supervisor,
    current_runtime,
)

from .supervision_helpers import GUARD, FakeClock

MAX_RESTARTS = 100_000
"""Far more attempts than any of these tests lets happen before it ends the loop."""

TURNS = 200
"""Loop turns a test watches the restart loop for."""


class Idle(Server):
    """A server that does nothing: the child, and the foreign process that holds its name."""


@dataclass
class Attempts:
    """Counts the starts of the child named "w"; every one after the first fails with AlreadyStarted."""

    made: int = 0
    seen_per_turn: list[int] = field(default_factory=list)

    def spec(self) -> ChildSpec:
        async def start() -> Pid | None:
            self.made += 1
            return await Idle.start_link(current_runtime(), name="w")

        return ChildSpec("w", start)


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with Runtime(clock=FakeClock()) as runtime:
        yield runtime


@pytest.fixture(autouse=True)
def quiet_reports() -> Iterator[None]:
    """One start_error report per attempt: keep pytest from capturing tens of thousands of records."""
    reports = logging.getLogger("observer")
    level = reports.level
    reports.setLevel(logging.CRITICAL)
    yield
    reports.setLevel(level)


async def hang(rt: Runtime, attempts: Attempts) -> Pid:
    """Kill the child "w" and give its name to a foreign process, so every restart fails; return the holder.

    A process's name is released in the same step as its death, so the holder
    takes it before the supervisor has handled the exit.
    """
    holder = await Idle.start_link(rt)
    assert holder is not None
    child = rt.whereis("w")
    assert child is not None and attempts.made == 1
    rt.exit(child, "kill")
    rt.register("w", holder)
    return holder


async def ping(proc: Process, attempts: Attempts) -> None:
    """Another process: note how many attempts were made at each of its turns of the loop."""
    while True:
        attempts.seen_per_turn.append(attempts.made)
        await asyncio.sleep(0)


async def watch_the_loop(rt: Runtime, attempts: Attempts) -> None:
    """Let TURNS loop turns pass while a ping process runs; each turn sees at most one more attempt."""
    pinger = rt.spawn(ping, attempts)
    for _ in range(TURNS):
        await asyncio.sleep(0)
    rt.exit(pinger, "kill")
    seen = attempts.seen_per_turn
    assert len(seen) >= TURNS - 1  # the ping process had (almost) every turn: nothing froze the loop
    steps = [later - earlier for earlier, later in zip(seen, seen[1:], strict=False)]
    assert max(steps) <= 1  # at most one attempt per turn of the loop: the retries never ran back to back
    assert seen[-1] > seen[0]  # and the supervisor kept trying all along


@pytest.mark.parametrize(("max_restarts", "max_seconds"), [(MAX_RESTARTS, 0.5), (10 * MAX_RESTARTS, 3600.0)])
async def test_a_hanging_restart_loop_lets_other_tasks_run(rt: Runtime, max_restarts: int, max_seconds: float) -> None:
    """A 10 ms sleep returns in the middle of a restart loop, which goes on; the supervisor is still there."""
    attempts = Attempts()
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [attempts.spec()], max_restarts=max_restarts, max_seconds=max_seconds)
        await hang(rt, attempts)

        before = attempts.made
        await asyncio.sleep(0.01)

        assert rt.is_alive(sup)
        assert before < attempts.made < max_restarts
        await watch_the_loop(rt, attempts)


async def test_a_supervisor_in_a_hanging_restart_loop_answers_calls(rt: Runtime) -> None:
    """OTP hanging_restart_loop: which_children says "restarting", and the admin calls fail as OTP's do."""
    attempts = Attempts()
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [attempts.spec()], max_restarts=MAX_RESTARTS)
        await hang(rt, attempts)

        assert await Supervisor.which_children(rt, sup) == [Child("w", "restarting", "worker", "permanent")]
        assert await Supervisor.count_children(rt, sup) == ChildCounts(specs=1, active=0, supervisors=0, workers=1)
        with pytest.raises(AlreadyPresent):  # {error, already_present}
            await Supervisor.start_child(rt, sup, attempts.spec())
        with pytest.raises(AlreadyPresent):  # whatever the spec: the id is what is present
            await Supervisor.start_child(rt, sup, Idle.child_spec(id="w"))
        with pytest.raises(ChildRestarting):  # {error, restarting}
            await Supervisor.restart_child(rt, sup, "w")
        with pytest.raises(ChildRestarting):
            await Supervisor.delete_child(rt, sup, "w")
        assert await Supervisor.which_children(rt, sup) == [Child("w", "restarting", "worker", "permanent")]
        await watch_the_loop(rt, attempts)  # the calls did not stop the loop


async def test_terminate_child_ends_a_hanging_restart_loop(rt: Runtime) -> None:
    attempts = Attempts()
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [attempts.spec()], max_restarts=MAX_RESTARTS)
        holder = await hang(rt, attempts)
        assert await Supervisor.which_children(rt, sup) == [Child("w", "restarting", "worker", "permanent")]

        await Supervisor.terminate_child(rt, sup, "w")

        # A retry still on its way is dropped: once a call made after terminate_child is answered, none is left.
        assert await Supervisor.which_children(rt, sup) == [Child("w", None, "worker", "permanent")]
        made = attempts.made
        for _ in range(TURNS):
            await asyncio.sleep(0)
        assert attempts.made == made
        assert await Supervisor.which_children(rt, sup) == [Child("w", None, "worker", "permanent")]

        await rt.stop(holder)  # the name is free again: the kept spec starts on request
        restarted = await Supervisor.restart_child(rt, sup, "w")
        assert isinstance(restarted, Pid) and rt.whereis("w") is restarted
        assert attempts.made == made + 1


async def test_a_supervisor_in_a_hanging_restart_loop_can_be_stopped(rt: Runtime) -> None:
    """OTP-9549: stopping the supervisor does not wait for the restart loop."""
    attempts = Attempts()
    async with rt.attached(trap_exits=True):
        sup = await Supervisor.start_link(rt, [attempts.spec()], max_restarts=MAX_RESTARTS)
        await hang(rt, attempts)
        assert await Supervisor.which_children(rt, sup) == [Child("w", "restarting", "worker", "permanent")]

        await rt.stop(sup, "shutdown")

        assert not rt.is_alive(sup)
        assert attempts.made < MAX_RESTARTS


async def test_the_loop_ends_at_the_restart_intensity(rt: Runtime) -> None:
    """Each attempt counts: with the clock standing still, max_restarts attempts and the supervisor gives up."""
    attempts = Attempts()
    async with rt.attached(trap_exits=True) as me:
        sup = await Supervisor.start_link(rt, [attempts.spec()], max_restarts=50)
        ref = me.monitor(sup)
        await hang(rt, attempts)

        down = await me.receive(lambda message: type(message) is Down and message.ref is ref, timeout=GUARD)

        assert down.reason == "shutdown"
        assert attempts.made == 1 + 50  # the first start, then one attempt per restart allowed


# -- DynamicSupervisor: OTP's hanging_restart_loop_simple ------------------------------------------


async def start_dynamic(rt: Runtime, attempts: Attempts) -> tuple[Pid, Pid]:
    """A dynamic supervisor and its child "w", running; returns both pids."""
    sup = await DynamicSupervisor.start_link(rt, max_restarts=MAX_RESTARTS)
    child = await DynamicSupervisor.start_child(rt, sup, attempts.spec())
    assert isinstance(child, Pid)
    return sup, child


async def test_a_dynamic_supervisor_in_a_hanging_restart_loop_lets_other_tasks_run(rt: Runtime) -> None:
    attempts = Attempts()
    async with rt.attached(trap_exits=True):
        sup, _ = await start_dynamic(rt, attempts)
        await hang(rt, attempts)

        before = attempts.made
        await asyncio.sleep(0.01)

        assert rt.is_alive(sup)
        assert before < attempts.made < MAX_RESTARTS
        assert await DynamicSupervisor.which_children(rt, sup) == [Child("w", "restarting", "worker", "permanent")]
        counts = await DynamicSupervisor.count_children(rt, sup)
        assert counts == ChildCounts(specs=1, active=0, supervisors=0, workers=1)
        await watch_the_loop(rt, attempts)


async def test_terminate_child_by_its_last_pid_ends_a_dynamic_hanging_restart_loop(rt: Runtime) -> None:
    attempts = Attempts()
    async with rt.attached(trap_exits=True):
        sup, child = await start_dynamic(rt, attempts)
        await hang(rt, attempts)
        assert await DynamicSupervisor.which_children(rt, sup) == [Child("w", "restarting", "worker", "permanent")]

        await DynamicSupervisor.terminate_child(rt, sup, child)

        assert await DynamicSupervisor.which_children(rt, sup) == []
        made = attempts.made
        for _ in range(TURNS):
            await asyncio.sleep(0)
        assert attempts.made == made
        assert await DynamicSupervisor.count_children(rt, sup) == ChildCounts(0, 0, 0, 0)


async def test_a_dynamic_supervisor_in_a_hanging_restart_loop_can_be_stopped(rt: Runtime) -> None:
    attempts = Attempts()
    async with rt.attached(trap_exits=True):
        sup, _ = await start_dynamic(rt, attempts)
        await hang(rt, attempts)
        assert await DynamicSupervisor.which_children(rt, sup) == [Child("w", "restarting", "worker", "permanent")]

        await rt.stop(sup, "shutdown")

        assert not rt.is_alive(sup)
        assert attempts.made < MAX_RESTARTS
