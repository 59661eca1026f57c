"""Regenerate the README's screenshots: ``python -m observer.screenshots [--out DIR]``.

Each screen is the real app, headless, on the default system (without its
workload, so that nothing moves on its own) with a hand-driven clock and fixed
host figures: the same command gives the same pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from observer.app import ObserverApp
from observer.journal import Cascade
from observer.runtime import Pid, Runtime, RuntimeEvent
from observer.runtime.rate_limiter import RateLimiter
from observer.snapshot import HostStats, Snapshot
from observer.widgets.supervision_tree import SupervisionTree

SIZE = (160, 48)
HOST = HostStats(cpu_percent=3.0, rss_bytes=52 * 1024 * 1024, threads=2, open_fds=11)
START = 1000.0
ROUNDS = 400
"""How many rounds a wait gives the app; only a bug needs this many."""


class HandClock:
    """A clock that moves only when told to: set to a time, or stepping a little on every reading.

    Stepping is on while a cascade runs, so that its duration is the (fixed)
    number of clock readings the runtime makes, times the step.
    """

    def __init__(self, now: float, step: float = 0.0) -> None:
        """Start at `now`, moving `step` seconds per reading."""
        self.now = now
        self.step = step

    def __call__(self) -> float:
        """The current time; then move by the step."""
        now = self.now
        self.now += self.step
        return now


@dataclass(frozen=True)
class Shot:
    """One screenshot: its file, what to do before it, and the app's options."""

    name: str
    prepare: Callable[[ObserverApp, Pilot[Any], HandClock], Awaitable[None]]
    read_only: bool = False
    size: tuple[int, int] = SIZE


async def default_system(rt: Runtime) -> Pid:
    """The default system without its workload, and a few rate-limit checks so that the buckets show."""
    from observer.system import start_system
    from observer.system.workload import AGENT_ACTIONS

    root = await start_system(rt, agents=3, workload=False)
    if isinstance(rt.clock, HandClock):  # a minute later, so that the windows are open when the shot is taken
        rt.clock.now = START + 62.1
    for agent, hits in (("agent_1", 6), ("agent_2", 3), ("agent_3", 1)):
        for _ in range(hits):
            await RateLimiter.check(rt, "rate_limiter", AGENT_ACTIONS, agent)
    return root


async def until(app: ObserverApp, pilot: Pilot[Any], condition: Callable[[Snapshot], bool]) -> None:
    """Let the app run, a snapshot a round, until `condition` holds."""
    for _ in range(ROUNDS):
        await pilot.pause()
        snapshot = app.tick()
        if snapshot is not None and condition(snapshot):
            await pilot.pause()
            return
    raise RuntimeError("the app never reached the state of the screenshot")


async def cursor_to(pilot: Pilot[Any], label: str) -> None:
    """Move the cursor down to the process labelled `label`."""
    app = pilot.app
    assert isinstance(app, ObserverApp)
    for _ in range(ROUNDS):
        data = app.query_one(SupervisionTree).selected
        if data is not None and data.node.label == label:
            return
        await pilot.press("down")
    raise RuntimeError(f"no process labelled {label!r} in the tree")


async def overview(app: ObserverApp, pilot: Pilot[Any], clock: HandClock) -> None:
    """The tree a minute in, with signal_router selected."""
    clock.now = START + 62.5
    app.tick()
    await cursor_to(pilot, "signal_router")


async def cascade(app: ObserverApp, pilot: Pilot[Any], clock: HandClock) -> None:
    """state_supervisor killed: system (rest_for_one) restarts it and every later sibling, in order."""
    rt = app.runtime
    assert rt is not None
    clock.now = START + 62.5
    app.tick()
    await cursor_to(pilot, "state_supervisor")
    ended = asyncio.get_running_loop().create_future()

    def on_event(event: RuntimeEvent) -> None:
        if event.kind == "restart_ended" and event.name == "state_supervisor" and not ended.done():
            ended.set_result(None)

    unsubscribe = rt.subscribe(on_event)
    clock.step = 0.00002
    await pilot.press("k")
    await asyncio.wait_for(ended, 10)
    unsubscribe()
    clock.step = 0.0
    clock.now = START + 63.0
    await until(app, pilot, lambda snapshot: any(isinstance(entry, Cascade) for entry in snapshot.log))


async def help_screen(app: ObserverApp, pilot: Pilot[Any], clock: HandClock) -> None:
    """The help over the main screen."""
    await pilot.press("question_mark")


async def processes(app: ObserverApp, pilot: Pilot[Any], clock: HandClock) -> None:
    """The process list, sorted by reductions/s, after the rate limiter handled a few checks in a second."""
    rt = app.runtime
    assert rt is not None
    clock.now = START + 62.5
    await cursor_to(pilot, "rate_limiter")
    await pilot.press("l")
    await until(app, pilot, lambda snapshot: bool(snapshot.processes))
    await _checks(rt, 8)
    clock.now = START + 63.5
    await until(app, pilot, lambda snapshot: True)


async def debug(app: ObserverApp, pilot: Pilot[Any], clock: HandClock) -> None:
    """rate_limiter traced with T, a few checks later: its state, stack and counters, and the trace pane."""
    rt = app.runtime
    assert rt is not None
    clock.now = START + 62.5
    await cursor_to(pilot, "rate_limiter")
    await pilot.press("T")
    await until(app, pilot, lambda snapshot: True)
    await _checks(rt, 3)
    clock.now = START + 63.0
    await until(app, pilot, lambda snapshot: True)


async def _checks(rt: Runtime, count: int) -> None:
    """`count` rate-limit checks of agent_1, as the workload would make them."""
    from observer.system.workload import AGENT_ACTIONS

    for _ in range(count):
        await RateLimiter.check(rt, "rate_limiter", AGENT_ACTIONS, "agent_1")


SCREENS = (
    Shot("main", overview),
    Shot("cascade", cascade),
    Shot("processes", processes),
    Shot("debug", debug),
    Shot("help", help_screen),
    Shot("read-only", overview, read_only=True),
    Shot("small", overview, size=(80, 24)),
)


async def capture(screen: Shot, out: Path) -> Path:
    """Run the app headless, bring it to `screen`'s state and save the SVG."""
    clock = HandClock(START)
    app = ObserverApp(factory=default_system, read_only=screen.read_only, clock=clock, host_stats=lambda: HOST,
                      title="system", ticking=False)
    path = out / f"{screen.name}.svg"
    async with app.run_test(size=screen.size) as pilot:
        await until(app, pilot, lambda snapshot: snapshot.root_alive)
        await screen.prepare(app, pilot, clock)
        await pilot.pause()
        path.write_text(app.export_screenshot(title=f"observer — {screen.name}"), encoding="utf-8")
        await pilot.press("q")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Write every screenshot; prints one path a line."""
    parser = argparse.ArgumentParser(prog="python -m observer.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="directory (default: screenshots)")
    parser.add_argument("--only", nargs="+", choices=[screen.name for screen in SCREENS], help="these screens only")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from observer.commands.logs import open_log, routed_to

    with routed_to(open_log(None)):  # the cascade's supervisor reports are not for the terminal
        for screen in SCREENS:
            if args.only is None or screen.name in args.only:
                print(asyncio.run(capture(screen, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
