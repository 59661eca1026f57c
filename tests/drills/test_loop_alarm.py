"""Tests for `observer.loop_alarm.LoopAlarm`: SIGALRM ends a block that holds the event loop.

The alarm only arms in a main thread with no real-time timer pending, and
pytest-timeout keeps one pending during a test, so the armed cases run in a
subprocess of their own.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from observer.loop_alarm import LoopAlarm

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer (POSIX)")


def script(body: str) -> list[str]:
    """What a Python subprocess running `body` prints, one item a line."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


def test_a_blocking_call_is_interrupted_and_everything_restored() -> None:
    assert script("""
        import signal, time
        from observer.loop_alarm import LoopAlarm, LoopBlocked

        def mine(signum, frame): pass
        signal.signal(signal.SIGALRM, mine)
        started = time.monotonic()
        try:
            with LoopAlarm(0.1) as alarm:
                print("armed", alarm.armed)
                time.sleep(60)
        except LoopBlocked as blocked:
            print("interrupted:", blocked)
        print("fired", alarm.fired, "armed", alarm.armed)
        print("quick", time.monotonic() - started < 10)
        print("restored", signal.getsignal(signal.SIGALRM) is mine, signal.getitimer(signal.ITIMER_REAL))
    """) == [
        "armed True",
        "interrupted: the event loop was held for over 0.1 s",
        "fired True armed False",
        "quick True",
        "restored True (0.0, 0.0)",
    ]


def test_a_block_that_ends_in_time_is_left_alone() -> None:
    assert script("""
        import signal
        from observer.loop_alarm import LoopAlarm

        with LoopAlarm(30) as alarm:
            total = sum(range(1000))
        print(alarm.fired, signal.getitimer(signal.ITIMER_REAL), signal.getsignal(signal.SIGALRM) is signal.SIG_DFL)
    """) == ["False (0.0, 0.0) True"]


def test_an_idle_loop_past_the_deadline_is_stopped_once() -> None:
    assert script("""
        import asyncio, signal
        from observer.loop_alarm import LoopAlarm, LoopBlocked

        async def waits():
            with LoopAlarm(0.1):
                await asyncio.sleep(60)

        try:
            asyncio.run(waits())
        except LoopBlocked as blocked:
            print("stopped:", blocked)
        print(signal.getitimer(signal.ITIMER_REAL))
    """) == ["stopped: the block outlived its 0.1 s with the event loop idle", "(0.0, 0.0)"]


def test_someone_elses_pending_timer_is_not_taken() -> None:
    before = signal.setitimer(signal.ITIMER_REAL, 100)  # pytest-timeout's, if it runs with signals
    try:
        with LoopAlarm(0.1) as alarm:
            assert not alarm.armed
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
    finally:
        signal.setitimer(signal.ITIMER_REAL, *before)


def test_outside_the_main_thread_it_does_not_arm() -> None:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(lambda: LoopAlarm(0.1).__enter__().armed).result() is False
