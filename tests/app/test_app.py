"""Pilot tests of ObserverApp: each key does what it says, on a small deterministic tree."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Input

from observer.journal import Cascade, LogNote
from observer.renderables.rows import KeyValueRows
from observer.runtime import DynamicSupervisor, Pid, Runtime, RuntimeEvent
from observer.widgets.filter_bar import FilterBar
from observer.widgets.help_screen import HelpScreen
from observer.widgets.process_panel import ProcessPanel
from observer.widgets.reason_prompt import ReasonPrompt
from observer.widgets.status_header import StatusHeader

from .helpers import GUARD, fixed_clock, lines, make_app, node_named, select, started, tree_of, until
from .trees import Worker, big_tree, demo_tree


def cascades(snapshot_log: tuple[object, ...]) -> list[Cascade]:
    return [entry for entry in snapshot_log if isinstance(entry, Cascade)]


async def test_the_tree_shows_every_supervisor_and_child_in_start_order() -> None:
    app = make_app(clock=fixed_clock)  # the limiter's 13 checks of carol cannot straddle two windows
    async with app.run_test(size=(160, 48)) as pilot:
        snapshot = await started(app, pilot)
        shown = [line.split(" <")[0] for line in lines(app)]
        assert shown == [
            "● demo", "  ● store", "  ● services", "    ● rate_limiter", "    ● router", "    ● cache",
            "  ● agents", "    ● agent_1", "    ● agent_2", "    ● agent_3", "  ● watcher", "  ● scratch",
        ]
        assert snapshot.process_count == 12
        assert snapshot.monitor_count == 2
        assert [(count.label, count.held, count.watched_by) for count in snapshot.monitors] == [
            ("watcher", 2, 0), ("store", 0, 1), ("router", 0, 1),
        ]
        assert [(bucket.key, bucket.count, bucket.denied) for bucket in snapshot.buckets] == [
            ("carol", 10, 3), ("bob", 10, 0), ("alice", 4, 0),
        ]
        assert tree_of(app).cursor_node is tree_of(app).root


async def test_k_kills_the_selected_process_and_the_log_shows_the_rest_for_one_cascade() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        store = await select(app, pilot, "store")
        assert store.data is not None
        old_pid = store.data.node.pid
        await pilot.press("k")
        snapshot = await until(app, pilot, lambda s: any(c.outcome == "restarted" for c in cascades(s.log)))
        [cascade] = cascades(snapshot.log)
        assert (cascade.supervisor_label, cascade.strategy, cascade.child, cascade.pid, cascade.reason) == (
            "demo", "rest_for_one", "store", old_pid, "killed",
        )
        assert [step.id for step in cascade.stopped] == ["scratch", "watcher", "agents", "services"]
        assert [step.id for step in cascade.started] == ["store", "services", "agents", "watcher"]
        assert [inner.id for inner in cascade.started[1].inner] == ["rate_limiter", "router", "cache"]
        note = snapshot.log[0]
        assert isinstance(note, LogNote) and note.text == f"k: exit kill sent to store {old_pid!r}"
        assert tree_of(app).cursor_node is store, "the cursor stays on the restarted process"
        assert store.data.node.pid is not old_pid and store.data.node.restarts == 1
        assert "scratch" not in " ".join(lines(app)), "the temporary child is not restarted"
        assert snapshot.restarts == 4


async def test_shift_k_kills_with_the_reason_typed_in_the_prompt() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await select(app, pilot, "router")
        await pilot.press("K")
        assert isinstance(app.screen, ReasonPrompt)
        field = app.screen.query_one(Input)
        assert field.value == "kill"
        field.value = "overload"
        await pilot.press("enter")
        snapshot = await until(app, pilot, lambda s: any(c.outcome == "restarted" for c in cascades(s.log)))
        [cascade] = cascades(snapshot.log)
        assert (cascade.supervisor_label, cascade.strategy, cascade.child, cascade.reason) == (
            "services", "one_for_one", "router", "overload",
        )


async def test_escape_in_the_prompt_kills_nothing() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        before = await started(app, pilot)
        await select(app, pilot, "router")
        await pilot.press("K", "escape")
        snapshot = await until(app, pilot, lambda s: True)
        assert not isinstance(app.screen, ReasonPrompt)
        assert snapshot.restarts == 0 and snapshot.generation == before.generation


async def test_t_terminates_a_child_and_r_restarts_it() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        cache = await select(app, pilot, "cache")
        assert cache.data is not None
        old_pid = cache.data.node.pid
        await pilot.press("t")
        await until(app, pilot, lambda s: cache.data is not None and cache.data.node.status == "stopped")
        assert cache.data.node.pid is None
        assert "○ cache" in cache.label.plain and "stopped" in cache.label.plain  # type: ignore[union-attr]
        await pilot.press("r")
        await until(app, pilot, lambda s: cache.data is not None and cache.data.node.status == "running")
        assert cache.data.node.pid not in (None, old_pid)
        assert tree_of(app).cursor_node is cache


async def test_t_on_a_dynamic_child_removes_it_and_the_selected_node_says_it_vanished() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        agent = await select(app, pilot, "agent_2")
        await pilot.press("t")
        await until(app, pilot, lambda s: agent.data is not None and agent.data.vanished)
        assert "vanished" in agent.label.plain  # type: ignore[union-attr]
        await pilot.press("down")
        await pilot.pause()
        assert "agent_2" not in " ".join(lines(app))


async def test_r_on_a_dynamic_child_explains_there_is_no_restart_child() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await select(app, pilot, "agent_1")
        await pilot.press("r")
        await pilot.pause()
        assert any("no restart_child" in notification.message for notification in app._notifications)


async def test_slash_filters_the_tree_and_escape_clears_it() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        everything = lines(app)
        await pilot.press("slash", *"agent_2")
        assert app.focused is app.query_one(FilterBar)
        await pilot.pause()
        assert [line.split(" <")[0] for line in lines(app)] == ["● demo", "  ● agents", "    ● agent_2"]
        await pilot.press("escape")
        await pilot.pause()
        assert lines(app) == everything
        assert tree_of(app).has_focus


async def test_read_only_greys_and_refuses_destructive_keys() -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        snapshot = await started(app, pilot)
        await select(app, pilot, "store")
        for action in ("kill", "kill_with_reason", "terminate", "restart", "drills"):
            assert app.check_action(action, ()) is None
        await pilot.press("k", "K", "t", "r")
        after = await until(app, pilot, lambda s: True)
        assert after.generation == snapshot.generation and after.restarts == 0
        assert not isinstance(app.screen, ReasonPrompt)
        assert any("read-only" in notification.message for notification in app._notifications)
        commands = [command.title for command in app.get_system_commands(app.screen)]
        assert not [title for title in commands if title.startswith(("kill ", "terminate ", "restart "))]


async def test_the_cursor_stays_on_its_process_while_the_tree_changes_around_it() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        watcher = await select(app, pilot, "watcher")
        tree = tree_of(app)
        line = tree.cursor_line
        rt = app.runtime
        assert rt is not None
        agents = rt.whereis("agents")
        assert agents is not None
        await DynamicSupervisor.start_child(rt, agents, Worker.child_spec(id="agent_4", name="agent_4"))
        router = rt.whereis("router")
        assert router is not None
        rt.exit(router, "kill")
        await until(app, pilot, lambda s: rt.whereis("router") not in (None, router) and "agent_4" in str(lines(app)))
        assert tree.cursor_node is watcher
        assert tree.cursor_line == line + 1, "a node was added above it"
        assert node_named(app, "router").data.node.restarts == 1  # type: ignore[union-attr]


async def test_the_root_dying_is_shown_and_shift_r_restarts_the_system() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        first = await started(app, pilot)
        assert app.check_action("restart_system", ()) is False
        await pilot.press("k")  # the cursor starts on the root
        snapshot = await until(app, pilot, lambda s: not s.root_alive and s.root_exit is not None)
        assert snapshot.root is not None and snapshot.root.status == "exited" and snapshot.root_exit == "killed"
        assert any(isinstance(e, LogNote) and "press R" in e.text for e in snapshot.log)
        assert app.check_action("restart_system", ()) is True
        await pilot.press("R")
        again = await until(app, pilot, lambda s: s.root_alive)
        assert again.root is not None and first.root is not None
        assert again.root.pid is not first.root.pid and again.root.label == "demo"
        await until(app, pilot, lambda s: len(lines(app)) == 12)


async def test_p_pauses_and_plus_minus_change_the_refresh_interval() -> None:
    app = make_app(refresh_interval=0.25)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("p")
        assert app.paused
        await pilot.press("plus")
        assert app.refresh_interval == 0.1
        await pilot.press("minus", "minus")
        assert app.refresh_interval == 0.5
        await pilot.press("p")
        assert not app.paused


async def test_question_mark_shows_help_with_every_key() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_the_palette_offers_kill_terminate_and_restart_for_each_registered_name() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        for name in ("store", "services", "router", "agent_3", "watcher"):
            assert {f"kill {name}", f"terminate {name}", f"restart {name}"} <= set(commands)
        rt = app.runtime
        assert rt is not None
        router = rt.whereis("router")
        commands["kill router"].callback()
        snapshot = await until(app, pilot, lambda s: any(c.outcome == "restarted" for c in cascades(s.log)))
        assert cascades(snapshot.log)[0].pid is router


async def test_a_big_supervisor_is_folded_until_opened() -> None:
    app = make_app(big_tree)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        pool = node_named(app, "pool")
        assert pool.data is not None and pool.data.node.folded and pool.data.node.child_count == 200
        assert "200 children, folded" in pool.label.plain  # type: ignore[union-attr]
        assert not pool.children
        await select(app, pilot, "pool")
        await pilot.press("space")
        await until(app, pilot, lambda s: len(pool.children) == 200)
        assert pool.is_expanded
        await pilot.press("space")
        await until(app, pilot, lambda s: not pool.children)


async def test_a_restart_storm_is_one_log_entry_and_the_app_stays_responsive() -> None:
    app = make_app(big_tree)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        pool = rt.whereis("pool")
        assert pool is not None
        server = rt.server_of(pool)
        assert isinstance(server, DynamicSupervisor)
        loop = asyncio.get_running_loop()
        restarted: list[asyncio.Future[None]] = []

        def on_event(event: RuntimeEvent) -> None:
            if event.kind == "restarted" and restarted and not restarted[-1].done():
                restarted[-1].set_result(None)

        rt.subscribe(on_event)
        for round_number in range(300):
            child = server.children()[0][0].pid
            assert isinstance(child, Pid)
            restarted.append(loop.create_future())
            rt.exit(child, "kill")
            await asyncio.wait_for(restarted[-1], GUARD)
            if round_number % 50 == 0:
                await pilot.press("p", "p")  # the app answers keys in the middle of the storm
        snapshot = await until(app, pilot, lambda s: s.restarts == 300)
        [cascade] = cascades(snapshot.log)
        assert cascade.repeats == 300 and cascade.supervisor_label == "pool" and cascade.reason == "killed"
        await pilot.press("p")
        assert app.paused


async def test_a_factory_that_fails_is_shown_and_the_app_keeps_running() -> None:
    async def broken(rt: object) -> Pid:
        raise RuntimeError("no database")

    app = make_app(broken)
    async with app.run_test(size=(160, 48)) as pilot:
        snapshot = await until(app, pilot, lambda s: any(isinstance(e, LogNote) for e in s.log))
        [note] = snapshot.log
        assert isinstance(note, LogNote)
        assert note.text == "the tree did not start: RuntimeError: no database (R tries again)"
        assert app.check_action("restart_system", ()) is True
        await pilot.press("d")
        assert app.is_running


async def test_q_stops_every_process_in_order_then_exits() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        root = app.root_pid
        exits: list[str] = []
        rt.subscribe(lambda event: exits.append(event.name or "") if event.other is root else None)
        await pilot.press("q")
        assert app.runtime is None
        assert rt.processes() == []
    assert exits == ["scratch", "watcher", "agents", "services", "store"], "youngest first, by the root"


@pytest.mark.parametrize("size", [(60, 20), (200, 60), (100, 30)])
async def test_resizing_keeps_the_tree(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        before = lines(app)
        await pilot.resize_terminal(*size)
        await until(app, pilot, lambda s: True)
        assert lines(app) == before


Repaint = tuple[str, bool, tuple[Region, ...]]
"""A widget's refresh as a spy records it: the widget's type, whether it lays the screen out, its regions."""


def spy_repaints(monkeypatch: pytest.MonkeyPatch) -> list[Repaint]:
    """Record every widget refresh from now on (a widget that refreshes nothing writes nothing to the terminal)."""
    seen: list[Repaint] = []
    real = Widget.refresh

    def refresh(self: Widget, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Widget:
        seen.append((type(self).__name__, layout, regions))
        return real(self, *regions, repaint=repaint, layout=layout, recompose=recompose)

    monkeypatch.setattr(Widget, "refresh", refresh)
    return seen


async def test_a_tick_that_changes_nothing_repaints_nothing_and_a_change_repaints_it(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(clock=fixed_clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await select(app, pilot, "store")
        app.tick()
        await pilot.pause()
        repaints = spy_repaints(monkeypatch)
        for _ in range(3):
            app.tick()
            await pilot.pause()
        assert repaints == [], "nothing changed: nothing is repainted, nothing written to the terminal"

        await pilot.press("k")  # store restarts: a restart in the header, a new pid in the panel, new monitors
        await until(app, pilot, lambda s: s.restarts >= 4 and s.root_alive and s.monitor_count == 2)
        drawn = {name for name, _, _ in repaints}
        assert {"StatusHeader", "ProcessPanel", "MonitorsPanel"} <= drawn
        header = app.query_one(StatusHeader).content
        assert isinstance(header, Text) and "4 restarts" in header.plain
        store = node_named(app, "store").data
        assert store is not None
        detail = app.query_one(ProcessPanel).content
        assert isinstance(detail, KeyValueRows)
        assert repr(store.node.pid) in dict(detail.rows)["process"].plain


async def quiet_tree(rt: Runtime) -> Pid:
    """Two idle workers and a watcher under a supervisor: no rate-limiter window counts down on its own."""
    from observer.runtime import Supervisor

    from .trees import Watcher

    return await Supervisor.start_link(rt, [Worker.child_spec(id="store", name="store"),
                                            Watcher.child_spec("store", id="watcher", name="watcher")], name="quiet")


async def test_an_idle_second_repaints_the_uptimes_only_and_lays_nothing_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clocks tick in the same frame, each repaint is the figure's own cells, no panel is measured again."""
    now = [1000.0]
    app = make_app(quiet_tree, clock=lambda: now[0])
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await select(app, pilot, "store")
        app.tick()
        await pilot.pause()
        panel = app.query_one(ProcessPanel)
        uptime_row = [index for index, line in enumerate(panel.lines) if line.text.startswith("uptime")]
        repaints = spy_repaints(monkeypatch)
        now[0] += 1.0
        app.tick()
        await pilot.pause()
        assert {name for name, _, _ in repaints} == {"StatusHeader", "ProcessPanel"}
        assert not any(layout for _, layout, _ in repaints), "no panel changed its height: nothing is laid out"
        for name, _, regions in repaints:
            [region] = regions  # one span: the changed digit of the clock
            assert region.height == 1 and region.width <= 2, (name, region)
            if name == "ProcessPanel":
                assert [region.y] == uptime_row
        assert "up 00:00:01" in app.query_one(StatusHeader).lines[0].text
        assert panel.lines[uptime_row[0]].text.split() == ["uptime", "00:00:01"]


async def test_after_the_root_is_restarted_the_cursor_is_on_the_new_process_it_was_on() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        first = await started(app, pilot)
        services = await select(app, pilot, "services")
        rt = app.runtime
        assert rt is not None and app.root_pid is not None
        rt.exit(app.root_pid, "kill")
        await until(app, pilot, lambda s: not s.root_alive)
        tree = tree_of(app)
        assert tree.cursor_node is services and services.data is not None and services.data.vanished
        await pilot.press("R")
        again = await until(app, pilot, lambda s: s.root_alive and len(lines(app)) == 12)
        assert again.root is not None and first.root is not None and again.root.pid is not first.root.pid
        cursor = tree.cursor_node
        assert cursor is not None and cursor.data is not None
        assert cursor.data.node.label == "services" and not cursor.data.vanished
        assert cursor.data.node.pid == rt.whereis("services")
        assert [line.split(" <")[0] for line in lines(app)][:3] == ["● demo", "  ● store", "  ● services"]


async def test_a_supervisor_growing_past_fold_over_stays_open_while_the_cursor_is_inside() -> None:
    app = make_app(fold_over=5)  # the root has 5 children, agents 3
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        agent = await select(app, pilot, "agent_1")
        rt = app.runtime
        assert rt is not None
        agents_pid = rt.whereis("agents")
        assert agents_pid is not None
        for number in (4, 5, 6):  # one more than fold_over
            await DynamicSupervisor.start_child(rt, agents_pid, Worker.child_spec(id=f"agent_{number}",
                                                                                  name=f"agent_{number}"))
        await until(app, pilot, lambda s: "agent_6" in str(lines(app)))
        tree = tree_of(app)
        assert tree.cursor_node is agent
        agents = node_named(app, "agents")
        assert agents.is_expanded and agents.data is not None and agents.data.path in tree.opened
        assert [child.data.node.label for child in agents.children if child.data is not None] == [
            "agent_1", "agent_2", "agent_3", "agent_4", "agent_5", "agent_6",
        ]
        assert agent.data is not None
        old = agent.data.node.pid
        assert old is not None
        await pilot.press("k")  # kills agent_1, not its supervisor
        await until(app, pilot, lambda s: not rt.is_alive(old))
        assert rt.whereis("agents") == agents_pid and rt.is_alive(agents_pid)


async def test_q_says_that_it_is_stopping_every_process_before_waiting_for_them() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        posted: list[tuple[str, bool]] = []
        notify = app.notify

        def spy(message: str, **options: Any) -> None:
            posted.append((message, app.runtime is not None))
            notify(message, **options)

        app.notify = spy  # type: ignore[method-assign]
        await pilot.press("q")
        assert app.runtime is None
    assert posted == [("stopping every process…", True)], "posted while the runtime was still up"


async def test_a_factory_that_fails_shows_it_in_the_tree_and_r_starts_it_again() -> None:
    attempts: list[int] = []

    async def flaky(rt: Runtime) -> Pid:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("no database")
        return await demo_tree(rt)

    app = make_app(flaky)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(app, pilot, lambda s: any(isinstance(e, LogNote) for e in s.log))
        assert lines(app) == ["did not start: RuntimeError: no database (R tries again)"]
        await pilot.press("R")
        await started(app, pilot)
        await until(app, pilot, lambda s: len(lines(app)) == 12)
        assert lines(app)[0].startswith("● demo")
