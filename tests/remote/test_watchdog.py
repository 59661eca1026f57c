"""The loop-stall watchdog, driven by hand: a fake clock, and a fake loop whose callbacks run when told."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from observer.remote.watchdog import Watchdog
from observer.remote.wire import StallRecord


class FakeLoop:
    """Stands in for the runtime's loop: `call_soon_threadsafe` queues, `run` runs what was queued."""

    def __init__(self) -> None:
        self.queued: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.closed = False

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        if self.closed:
            raise RuntimeError("Event loop is closed")
        self.queued.append((callback, args))

    def run(self) -> None:
        queued, self.queued = self.queued, []
        for callback, args in queued:
            callback(*args)


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def watchdog(loop: Any, clock: Clock, stalls: list[StallRecord] | None = None, **options: Any) -> Watchdog:
    found = [] if stalls is None else stalls
    return Watchdog(loop, threading.get_ident(), threshold=0.25, clock=clock, wall=lambda: 1_000.0 + clock.now,
                    on_stall=found.append, **options)


def test_a_loop_that_answers_has_no_stalls() -> None:
    loop, clock = FakeLoop(), Clock()
    dog = watchdog(loop, clock)
    dog.poll()
    assert len(loop.queued) == 1  # one ping
    dog.poll()
    assert len(loop.queued) == 1  # not another while it is unanswered
    clock.now += 0.01
    loop.run()
    assert dog.blocked_for() == 0.0
    dog.poll()
    assert abs(dog.lag - 0.01) < 1e-9 and dog.stalls() == [] and dog.count == 0
    assert len(loop.queued) == 1  # the next ping


def test_a_ping_unanswered_past_the_threshold_is_a_stall_with_its_stack() -> None:
    loop, clock = FakeLoop(), Clock()
    ended: list[StallRecord] = []
    dog = watchdog(loop, clock, ended)
    dog.poll()
    clock.now += 0.2
    dog.poll()
    assert dog.stalls() == [] and abs(dog.blocked_for() - 0.2) < 1e-9  # late, not yet a stall
    clock.now += 0.1
    dog.poll()
    (ongoing,) = dog.stalls()
    assert ongoing.ongoing and abs(ongoing.seconds - 0.3) < 1e-9 and ongoing.began == 1_100.0
    assert any(" in test_a_ping_unanswered_past_the_threshold_is_a_stall_with_its_stack" in line
               for line in ongoing.stack)
    assert ongoing.stack[0].endswith(" in Watchdog._capture")  # innermost first
    assert ended == []
    clock.now += 0.5
    loop.run()  # the loop is back: the pong at 100.8
    clock.now += 0.04
    dog.poll()
    (stall,) = dog.stalls()
    assert not stall.ongoing and abs(stall.seconds - 0.8) < 1e-9 and stall.stack == ongoing.stack
    assert ended == [stall] and dog.count == 1
    assert abs(dog.unseen_for() - 0.04) < 1e-9


def test_stalls_are_kept_bounded() -> None:
    loop, clock = FakeLoop(), Clock()
    dog = watchdog(loop, clock, keep=2)
    for seconds in (0.3, 0.4, 0.5):
        dog.poll()
        clock.now += seconds
        dog.poll()
        loop.run()
        dog.poll()
    assert [round(stall.seconds, 6) for stall in dog.stalls()] == [0.4, 0.5]
    assert dog.count == 3


def test_a_closed_loop_stops_the_pings() -> None:
    loop, clock = FakeLoop(), Clock()
    loop.closed = True
    dog = watchdog(loop, clock)
    dog.poll()
    clock.now += 1.0
    dog.poll()
    assert dog.blocked_for() == 0.0 and dog.stalls() == []


async def test_a_stall_inside_a_process_task_knows_its_pid() -> None:
    task = asyncio.current_task()
    assert task is not None
    task.set_name("<0.7.0> worker")  # how the runtime names a process's task
    clock = Clock()
    dog = watchdog(asyncio.get_running_loop(), clock)
    dog.poll()
    clock.now += 0.3
    dog.poll()  # the pong is queued on this very loop, which has not turned since: blocked
    (stall,) = dog.stalls()
    assert stall.pid == 7 and stall.task == "<0.7.0> worker"


def test_a_stall_is_counted_when_it_begins_and_blocked_for_is_the_unanswered_pings_age() -> None:
    loop, clock = FakeLoop(), Clock()
    dog = watchdog(loop, clock)
    dog.poll()
    assert dog.stalls_begun == 0 and dog.blocked_for() == 0.0
    clock.now += 0.3
    loop_answer_pending = dog.blocked_for()
    assert abs(loop_answer_pending - 0.3) < 1e-9  # read before the watchdog polls: the ping's age already
    dog.poll()
    assert (dog.stalls_begun, dog.count) == (1, 0)  # begun, not yet ended
    dog.poll()
    assert dog.stalls_begun == 1  # the same stall is not counted again
    clock.now += 0.2
    loop.run()  # answered: blocked_for is 0.0 even before the watchdog takes the answer in
    assert dog.blocked_for() == 0.0
    dog.poll()
    assert (dog.stalls_begun, dog.count) == (1, 1) and abs(dog.lag - 0.5) < 1e-9
