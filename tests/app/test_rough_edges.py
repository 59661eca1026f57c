"""The rough edges a newcomer hit: signals, small terminals, flashes, pausing, screenshots, leaving with a dialog."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from observer.journal import Cascade
from observer.runtime import Pid, Runtime, Supervisor
from observer.widgets.buckets_panel import BucketsPanel
from observer.widgets.monitors_panel import MonitorsPanel
from observer.widgets.reason_prompt import ReasonPrompt
from observer.widgets.status_header import StatusHeader
from observer.widgets.supervision_tree import SupervisionTree

from .helpers import lines, make_app, node_named, select, started, until
from .trees import Worker


def cascaded(snapshot: Any) -> bool:
    return any(isinstance(entry, Cascade) and entry.outcome == "restarted" for entry in snapshot.log)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
async def test_sigterm_and_sighup_quit_as_q_does(number: int) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        rt = app.runtime
        assert rt is not None
        root = app.root_pid
        exits: list[str] = []
        rt.subscribe(lambda event: exits.append(event.name or "") if event.other is root else None)
        os.kill(os.getpid(), number)
        for _ in range(400):
            await pilot.pause()
            if app.runtime is None:
                break
        assert app.runtime is None and rt.processes() == []
    assert exits == ["scratch", "watcher", "agents", "services", "store"], "in order, as q stops them"
    assert app.return_code in (0, None)


async def test_a_restarted_supervisors_children_flash_too() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await select(app, pilot, "services")
        await pilot.press("k")
        await until(app, pilot, cascaded)
        tree = app.query_one(SupervisionTree)
        for name in ("services", "rate_limiter", "router", "cache"):
            data = node_named(app, name).data
            assert data is not None and data.flash_until > tree._now, f"{name} flashes"


async def test_a_kill_while_paused_is_pending_until_resume_catches_up() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        before = await started(app, pilot)
        store = await select(app, pilot, "store")
        old = store.data.node.pid  # type: ignore[union-attr]
        await pilot.press("p")
        assert app.paused and app.check_action("unpause", ()) is True and app.check_action("pause", ()) is False
        await pilot.press("k")
        for _ in range(20):
            await pilot.pause()
        header = app.query_one(StatusHeader)
        assert header.pending == 1
        content = header.content
        assert isinstance(content, Text) and "1 action not drawn yet: p resumes" in content.plain
        assert app.snapshot is before or app.snapshot.generation == before.generation  # type: ignore[union-attr]
        await pilot.press("p")
        assert not app.paused and header.pending == 0
        after = await until(app, pilot, cascaded)
        assert after.root is not None and store.data.node.pid is not old  # type: ignore[union-attr]


async def test_the_palettes_screenshot_goes_to_a_directory_it_creates_and_says_where(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        written = app.deliver_screenshot()
        assert written is not None
        path = Path(written)
        assert path.parent == tmp_path / "state" / "observer" / "screenshots" and path.read_text().startswith("<svg")
        await pilot.pause()
        assert any(str(path) in notification.message for notification in app._notifications), [
            notification.message for notification in app._notifications]


async def test_leaving_run_test_with_a_dialog_open_is_clean() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await select(app, pilot, "router")
        rt = app.runtime
        assert rt is not None
        await pilot.press("K")
        assert isinstance(app.screen, ReasonPrompt)
        app.tick()
    assert app.runtime is None and rt.processes() == []


async def test_at_80_by_24_the_tree_has_the_room_and_quit_and_help_show() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await until(app, pilot, lambda s: True)
        tree = app.query_one(SupervisionTree)
        assert tree.size.height >= 12, "the tree gets most of the screen (it had 6 rows)"
        assert len(lines(app)) == 12 and tree.max_scroll_y == 0, "the whole demo tree fits, no scrollbar"
        keys = [key.key for key in app.query_one(Footer).query(FooterKey) if key.region.right <= 80]
        assert "q" in keys and "question_mark" in keys


async def bare(rt: Runtime) -> Pid:
    """A tree with no rate limiter and no monitors."""
    return await Supervisor.start_link(rt, [Worker.child_spec(id="only", name="only")], name="bare")


async def test_panels_with_nothing_to_show_are_hidden() -> None:
    app = make_app(bare)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await until(app, pilot, lambda s: True)
        assert not app.query_one(BucketsPanel).display and not app.query_one(MonitorsPanel).display
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await until(app, pilot, lambda s: True)
        assert app.query_one(BucketsPanel).display and app.query_one(MonitorsPanel).display


async def test_after_the_root_exits_a_leftover_node_shows_one_status() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        cache = await select(app, pilot, "cache")
        await pilot.press("t")
        await until(app, pilot, lambda s: cache.data is not None and cache.data.node.status == "stopped")
        rt = app.runtime
        assert rt is not None and app.root_pid is not None
        rt.exit(app.root_pid, "kill")
        await until(app, pilot, lambda s: not s.root_alive and cache.data is not None and cache.data.vanished)
        label = cache.label.plain  # type: ignore[union-attr]
        assert label.endswith(" vanished") and "stopped" not in label, label
