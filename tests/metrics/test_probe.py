"""Tests for observer.metrics.probe: stalls counted once, and a counter of stalls that never goes back."""

from __future__ import annotations

import asyncio

from observer.metrics.probe import LoopProbe

from .helpers import GUARD


class FakeClock:
    """A monotonic clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def probe_at(clock: FakeClock) -> LoopProbe:
    return LoopProbe(asyncio.new_event_loop(), interval=0.05, threshold=0.25, clock=clock)


def test_a_beat_late_by_the_threshold_ends_one_stall_and_a_punctual_one_none() -> None:
    clock = FakeClock()
    probe = probe_at(clock)
    try:
        for now in (0.05, 0.10, 0.15):
            clock.now = now
            assert probe.seen().stalls == 0
        clock.now = 0.15 + 0.05 + 0.2499  # just under the threshold late
        assert probe.seen().stalls == 0
        clock.now += 0.05 + 0.25  # exactly the threshold late
        state = probe.seen()
        assert state.stalls == 1
        assert state.lag == 0.25
    finally:
        probe.loop.close()


def test_stalls_plus_the_ongoing_one_never_go_back_while_the_loop_blocks_and_resumes() -> None:
    clock = FakeClock()
    probe = probe_at(clock)
    try:
        probe.seen()
        totals = []
        for step in range(1, 40):  # the loop is blocked from 0.0; an outside reader looks every 10 ms
            clock.now = step * 0.01
            state = probe.state()
            totals.append(state.stalls + probe.ongoing_stall(state))
        assert probe.blocked_for(probe.state()) == 0.39
        probe.seen()  # the loop runs again
        state = probe.state()
        totals.append(state.stalls + probe.ongoing_stall(state))
        assert totals == sorted(totals)
        assert totals[0] == 0 and totals[-1] == 1
    finally:
        probe.loop.close()


async def test_the_probe_beats_on_the_loop_until_closed() -> None:
    probe = LoopProbe(asyncio.get_running_loop(), interval=0.001, threshold=30.0)
    assert not probe.beating
    probe.start()
    assert probe.beating
    first = probe.state().last_seen
    async with asyncio.timeout(GUARD):
        while probe.state().last_seen == first:  # until a beat has run and re-armed itself
            await asyncio.sleep(0)
    assert probe.beating
    probe.close()
    assert not probe.beating
    probe.close()  # idempotent
