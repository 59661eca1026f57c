"""Pilot tests of drills run live in the app with `d`: the picker, the run, the highlight, the log, refusals."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import OptionList

from observer.app import ObserverApp
from observer.drills import builtin
from observer.drills.builtin import BUILTIN_DRILLS, Drill, one_for_one_isolation
from observer.drills.context import DrillContext
from observer.journal import Cascade, DrillStepNote, DrillVerdict, LogNote
from observer.renderables.cascade import log_entry
from observer.runtime import Pid, Runtime
from observer.snapshot import Snapshot
from observer.system import start_system
from observer.widgets.drill_picker import DrillPicker
from observer.widgets.event_log import EventLog

from .helpers import fixed_clock, lines, make_app, node_named, started, until

NAMES = [drill.name for drill in BUILTIN_DRILLS]


async def quiet_system(rt: Runtime) -> Pid:
    """The default system (root registered as "system") without its workload, so that every count is exact."""
    return await start_system(rt, workload=False)


def drill_app(**options: Any) -> ObserverApp:
    return make_app(quiet_system, **options)


async def run_from_picker(app: ObserverApp, pilot: Pilot[Any], name: str) -> None:
    """Open the picker with d, move to `name` and press enter (the drill has started when it returns)."""
    await pilot.press("d")
    assert isinstance(app.screen, DrillPicker)
    options = app.screen.query_one(OptionList)
    await pilot.press(*["down"] * (NAMES.index(name) - (options.highlighted or 0)), "enter")
    await pilot.pause()
    assert not isinstance(app.screen, DrillPicker)


def text_of(app: ObserverApp, snapshot: Snapshot) -> str:
    """The event log as a person reads it, newest first."""
    console = Console(width=150, file=io.StringIO(), record=True, color_system=None)
    started_at = app.query_one(EventLog).started_at
    for entry in reversed(snapshot.log):
        console.print(log_entry(entry, started_at=started_at))
    return console.export_text()


def notifications(app: ObserverApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def gated(name: str, gate: asyncio.Event, then: Any = one_for_one_isolation) -> Drill:
    """A drill that waits for `gate` before it runs `then`: it stays running for as long as a test needs."""

    async def run(ctx: DrillContext) -> None:
        await gate.wait()
        await then(ctx)

    return Drill(name, "waits for the test, then runs", run)


def serve(monkeypatch: pytest.MonkeyPatch, drill: Drill) -> None:
    """Make the app's picker run `drill` when its name is chosen."""
    real = builtin.find_drill
    monkeypatch.setattr(builtin, "find_drill", lambda name: drill if name == drill.name else real(name))


async def test_d_opens_the_picker_with_every_builtin_drill_and_escape_closes_it() -> None:
    app = drill_app()
    async with app.run_test(size=(160, 48)) as pilot:
        before = await started(app, pilot)
        await pilot.press("d")
        assert isinstance(app.screen, DrillPicker)
        options = app.screen.query_one(OptionList)
        assert [options.get_option_at_index(index).id for index in range(options.option_count)] == NAMES
        prompt = str(options.get_option_at_index(1).prompt)
        assert "one-for-one-isolation" in prompt and "kill one service: only it restarts" in prompt
        await pilot.press("escape")
        assert not isinstance(app.screen, DrillPicker)
        after = await until(app, pilot, lambda s: True)
        assert app.drill_running is None and await app.wait_drill() is None
        assert after.generation == before.generation


async def test_one_for_one_isolation_runs_live_with_its_steps_in_the_log_and_a_pass() -> None:
    app = drill_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        limiter, router = rt.whereis("rate_limiter"), rt.whereis("signal_router")
        await run_from_picker(app, pilot, "one-for-one-isolation")
        report = await app.wait_drill()
        assert report is not None and report.passed, report.render(verbose=True) if report else None
        assert app.drill_running is None
        snapshot = app.snapshot
        assert snapshot is not None

        new_limiter = rt.whereis("rate_limiter")
        assert new_limiter not in (None, limiter), "the drill ran on the app's own runtime"
        assert rt.whereis("signal_router") is router
        assert new_limiter in snapshot.affected and limiter in snapshot.affected
        label = node_named(app, "rate_limiter").label.plain  # type: ignore[union-attr]
        assert "◆ drill" in label and repr(new_limiter) in label
        assert "◆" not in node_named(app, "signal_router").label.plain  # type: ignore[union-attr]

        log = snapshot.log
        assert isinstance(log[-1], DrillVerdict) and log[-1].passed and log[-1].drill == "one-for-one-isolation"
        [step] = [entry for entry in log if isinstance(entry, DrillStepNote)]
        assert step.step == "kill rate_limiter" and step.passed
        assert [(check.description, check.passed) for check in step.checks] == [
            ("only rate_limiter has a new pid", True), ("services stopped no sibling", True),
            ("services started only rate_limiter", True),
        ]
        [cascade] = [entry for entry in log if isinstance(entry, Cascade)]
        assert (cascade.supervisor_label, cascade.child, cascade.pid) == ("services", "rate_limiter", limiter)
        assert any(isinstance(entry, LogNote) and entry.text.startswith("drill one-for-one-isolation: running")
                   for entry in log)

        shown = text_of(app, snapshot)
        assert "drill one-for-one-isolation: PASS in " in shown and " ms" in shown
        assert "◆ one-for-one-isolation · kill rate_limiter ✓" in shown
        assert "✓ only rate_limiter has a new pid" in shown
        assert f"{limiter!r} exited with 'killed'; restarted as {new_limiter!r}" in shown
        assert any(message.startswith("one-for-one-isolation: PASS in ") for message in notifications(app))
        assert app.query_one(EventLog).snapshot is snapshot


async def test_the_highlight_lasts_a_few_seconds_after_the_drill_then_goes() -> None:
    now = [1000.0]
    app = drill_app(clock=lambda: now[0])
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await run_from_picker(app, pilot, "one-for-one-isolation")
        assert await app.wait_drill() is not None
        assert "◆ drill" in node_named(app, "rate_limiter").label.plain  # type: ignore[union-attr]
        now[0] += 4.0
        assert app.tick() is not None and app.snapshot is not None and app.snapshot.affected
        now[0] += 1.5
        snapshot = await until(app, pilot, lambda s: not s.affected)
        assert not [line for line in lines(app) if "◆" in line]
        assert snapshot.root is not None and snapshot.root_alive


async def test_read_only_greys_d_and_refuses_it() -> None:
    app = drill_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        assert app.check_action("drills", ()) is None
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, DrillPicker)
        assert app.drill_running is None
        assert "read-only: the drills key is disabled" in notifications(app)


async def test_a_second_d_while_a_drill_runs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = asyncio.Event()
    serve(monkeypatch, gated("one-for-one-isolation", gate))
    app = drill_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await run_from_picker(app, pilot, "one-for-one-isolation")
        assert app.drill_running == "one-for-one-isolation"
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, DrillPicker)
        assert any(message.startswith("a drill is already running: one-for-one-isolation")
                   for message in notifications(app))
        gate.set()
        report = await app.wait_drill()
        assert report is not None and report.passed
        await pilot.press("d")
        assert isinstance(app.screen, DrillPicker), "d works again once the drill has ended"


async def test_a_user_tree_gets_a_picker_that_explains_the_drills_need_the_default_system() -> None:
    app = make_app()  # the demo tree, as with --app
    async with app.run_test(size=(160, 48)) as pilot:
        before = await started(app, pilot)
        await pilot.press("d")
        picker = app.screen
        assert isinstance(picker, DrillPicker)
        said = " ".join(str(label.render()) for label in picker.query(".unavailable"))
        assert "need the default system" in said and "'system'" in said and "--file" in said
        options = picker.query_one(OptionList)
        assert all(options.get_option_at_index(index).disabled for index in range(options.option_count))
        await pilot.press("enter")
        assert app.screen is picker and app.drill_running is None, "enter runs nothing"
        await pilot.press("escape")
        after = await until(app, pilot, lambda s: True)
        assert after.generation == before.generation and await app.wait_drill() is None


async def test_intensity_escalation_restarts_half_the_tree_and_the_tree_keeps_up() -> None:
    app = drill_app()
    async with app.run_test(size=(160, 48)) as pilot:
        first = await started(app, pilot)
        shape = [line.split(" <")[0] for line in lines(app)]
        await run_from_picker(app, pilot, "intensity-escalation")
        report = await app.wait_drill()
        assert report is not None and report.passed, report.render(verbose=True) if report else None
        snapshot = await until(app, pilot, lambda s: all(line.startswith(("● ", "  ")) for line in lines(app)))
        assert snapshot.root is not None and first.root is not None
        assert snapshot.root.pid is first.root.pid, "the root itself lived"
        now = {child.label: child.pid for child in snapshot.root.children}
        before = {child.label: child.pid for child in first.root.children}
        assert [label for label in before if now[label] is not before[label]] == ["services", "agent_supervisor"]
        assert [line.split(" <")[0] for line in lines(app)] == shape, "every process back, in its place"
        assert all("◆ drill" in node_named(app, label).label.plain  # type: ignore[union-attr]
                   for label in ("services", "rate_limiter", "signal_router", "agent_supervisor"))
        gave_up = [entry for entry in snapshot.log if isinstance(entry, Cascade) and entry.outcome == "gave_up"]
        assert [cascade.supervisor_label for cascade in gave_up] == ["services"]


async def test_a_drill_that_raises_is_a_fail_in_the_log_and_the_app_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(ctx: DrillContext) -> None:
        async with ctx.step("a step that passes") as step:
            ctx.expect_equal(step, "one is one", 1, 1)
        raise RuntimeError("the drill itself is broken")

    serve(monkeypatch, Drill("rest-for-one-cascade", "raises after one step", broken))
    app = drill_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await run_from_picker(app, pilot, "rest-for-one-cascade")
        assert await app.wait_drill() is None
        snapshot = app.snapshot
        assert snapshot is not None and app.is_running
        verdict = snapshot.log[-1]
        assert isinstance(verdict, DrillVerdict) and not verdict.passed
        assert verdict.error == "RuntimeError: the drill itself is broken"
        assert "drill rest-for-one-cascade: FAIL in " in text_of(app, snapshot)
        assert any("FAIL" in message and "the drill itself is broken" in message for message in notifications(app))
        assert app.drill_running is None
        await pilot.press("d")
        assert isinstance(app.screen, DrillPicker)


async def test_a_broken_expectation_is_a_fail_that_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    async def wrong(ctx: DrillContext) -> None:
        async with ctx.step("count the root's children") as step:
            children = await ctx.children(ctx.root)
            ctx.expect_equal(step, "root children", 5, len(children))
        async with ctx.step("kill a path that is not there"):
            await ctx.kill(f"{ctx.root}/services/no_such_service")

    serve(monkeypatch, Drill("rest-for-one-cascade", "expects the wrong thing", wrong))
    app = drill_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await run_from_picker(app, pilot, "rest-for-one-cascade")
        report = await app.wait_drill()
        assert report is not None and not report.passed
        snapshot = app.snapshot
        assert snapshot is not None
        verdict = snapshot.log[-1]
        assert isinstance(verdict, DrillVerdict) and (verdict.steps, verdict.failed_steps) == (2, 2)
        shown = text_of(app, snapshot)
        assert "drill rest-for-one-cascade: FAIL in " in shown and "2 of 2 steps failed" in shown
        assert "✗ root children: expected 5, got 4" in shown
        assert "✗ DrillError: 'system/services/no_such_service': system/services has no running child" in shown


async def test_the_root_dying_during_a_drill_is_a_fail_and_shift_r_restarts_the_system() -> None:
    app = drill_app(clock=fixed_clock)  # a clock that stands still: every restart falls in one intensity window
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        for _ in range(3):  # the root (3 restarts in 5 s) restarts services three times
            await run_from_picker(app, pilot, "intensity-escalation")
            report = await app.wait_drill()
            assert report is not None and report.passed
        await run_from_picker(app, pilot, "intensity-escalation")
        report = await app.wait_drill()
        assert report is not None and not report.passed
        snapshot = await until(app, pilot, lambda s: not s.root_alive)
        assert snapshot.root_exit == "shutdown"
        verdict, note = snapshot.log[-2:]
        assert isinstance(verdict, DrillVerdict) and not verdict.passed
        assert (verdict.steps, verdict.failed_steps) == (2, 1)
        assert isinstance(note, LogNote) and "press R" in note.text
        assert "✗ DrillError: 'system/state_supervisor': no process is registered as 'system'" in text_of(app, snapshot)
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, DrillPicker)
        assert "d: the tree is down: press R to restart it first" in notifications(app)
        await pilot.press("R")
        await until(app, pilot, lambda s: s.root_alive)
        await run_from_picker(app, pilot, "one-for-one-isolation")
        report = await app.wait_drill()
        assert report is not None and report.passed


async def test_q_during_a_drill_stops_it_and_quits(monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, gated("one-for-one-isolation", asyncio.Event()))  # a drill that never goes on
    app = drill_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        await run_from_picker(app, pilot, "one-for-one-isolation")
        assert app.drill_running == "one-for-one-isolation"
        await asyncio.wait_for(pilot.press("q"), 5.0)
        assert app.runtime is None and rt.processes() == []
        assert await app.wait_drill() is None


ROUTER_DRILL = """
[drill]
name = "router-restarts-alone"
description = "kill the router: only it restarts"

[[step]]
name = "kill the router"
kill = "demo/services/router"
expect_restarted = ["demo/services/router"]
expect_unchanged = ["demo/store", "demo/services/cache"]
"""

PYTHON_DRILLS = '''
from observer.drills import DrillContext


async def drill_store_comes_back(ctx: DrillContext) -> None:
    """kill the store: its supervisor restarts it"""
    async with ctx.step("kill the store") as step:
        outcome = await ctx.kill(f"{ctx.root}/store")
        ctx.expect_equal(step, "store restarted", True, outcome.restart_seconds is not None)


async def drill_broken(ctx: DrillContext) -> None:
    """raises after one step"""
    async with ctx.step("a step that passes") as step:
        ctx.expect_equal(step, "one is one", 1, 1)
    raise RuntimeError("the drill itself is broken")
'''


def option_ids(picker: DrillPicker) -> list[str | None]:
    options = picker.query_one(OptionList)
    return [options.get_option_at_index(index).id for index in range(options.option_count)]


async def test_d_lists_a_drill_files_drills_first_and_runs_one_live_on_the_users_tree(tmp_path: Path) -> None:
    from observer.drills import load_drills

    drill_file = tmp_path / "router.toml"
    drill_file.write_text(ROUTER_DRILL)
    app = make_app(drills=load_drills(drill_file), drills_from=str(drill_file))  # the demo tree, as with --app
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        router, cache = rt.whereis("router"), rt.whereis("cache")
        await pilot.press("d")
        picker = app.screen
        assert isinstance(picker, DrillPicker)
        assert option_ids(picker) == ["file:0", *NAMES], "the file's drills first, then the built-in ones"
        options = picker.query_one(OptionList)
        assert not options.get_option_at_index(0).disabled, "the user's drill runs on the user's tree"
        assert all(options.get_option_at_index(index).disabled for index in range(1, options.option_count))
        said = " ".join(str(label.render()) for label in picker.query(".hint, .unavailable"))
        assert f"Your drills, from {drill_file}" in said and "need the default system" in said
        await pilot.press("enter")
        report = await app.wait_drill()
        assert report is not None and report.passed, report.render(verbose=True) if report else None
        assert rt.whereis("router") not in (None, router) and rt.whereis("cache") is cache
        snapshot = await until(app, pilot, lambda s: isinstance(s.log[-1], DrillVerdict))
        verdict = snapshot.log[-1]
        assert isinstance(verdict, DrillVerdict) and verdict.passed and verdict.drill == "router-restarts-alone"
        assert router in snapshot.affected
        assert "◆ drill" in node_named(app, "router").label.plain  # type: ignore[union-attr]
        assert "drill router-restarts-alone: PASS in " in text_of(app, snapshot)


async def unnamed_root(rt: Runtime) -> Pid:
    """A root supervisor without a registered name, over one worker registered as "store"."""
    from observer.runtime import Supervisor

    from .trees import Worker

    return await Supervisor.start_link(rt, [Worker.child_spec(id="store", name="store")])


async def test_a_python_drill_file_runs_on_a_root_without_a_name_and_a_drill_that_raises_fails(
    tmp_path: Path
) -> None:
    from observer.drills import load_drills

    drill_file = tmp_path / "my_drills.py"
    drill_file.write_text(PYTHON_DRILLS)
    app = make_app(unnamed_root, drills=load_drills(drill_file))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        store = rt.whereis("store")
        await pilot.press("d")
        assert isinstance(app.screen, DrillPicker) and option_ids(app.screen)[:2] == ["file:0", "file:1"]
        await pilot.press("enter")
        report = await app.wait_drill()
        assert report is not None and report.passed, report.render(verbose=True) if report else None
        assert rt.whereis("store") not in (None, store)
        assert rt.whereis("root") is app.root_pid, "paths start with `root`, as observer drill --app names it"

        await pilot.press("d", "down", "enter")
        report = await app.wait_drill()
        assert report is not None and not report.passed, "what the drill raises is a failed step, not a crash"
        snapshot = await until(app, pilot, lambda s: isinstance(s.log[-1], DrillVerdict))
        verdict = snapshot.log[-1]
        assert isinstance(verdict, DrillVerdict) and verdict.drill == "broken" and not verdict.passed
        assert "the drill itself is broken" in text_of(app, snapshot) and app.is_running


async def test_without_a_drill_file_the_picker_is_the_built_in_drills_only() -> None:
    app = drill_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("d")
        assert isinstance(app.screen, DrillPicker) and option_ids(app.screen) == NAMES
