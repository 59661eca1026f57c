"""`observer attach` driven headless against real `observer run` subprocesses (tests/remote's fixtures)."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot

import observer.commands.attach as attach_command
from observer.app import ObserverApp
from observer.commands.attach import attach_app
from observer.commands.attach import main as attach_main
from observer.journal import Cascade, LogNote
from observer.remote import connect
from observer.renderables.cascade import log_entry
from observer.runtime import CallExit
from observer.snapshot import NodeSnapshot, Snapshot
from observer.source.remote import RemoteSource
from observer.widgets.event_log import EventLog
from observer.widgets.process_list import ProcessList
from observer.widgets.process_panel import ProcessPanel
from observer.widgets.status_header import StatusHeader
from observer.widgets.traceback_screen import TracebackScreen
from tests.remote.conftest import TREE, running
from tests.subprocesses import DEADLINE, ROOT, observer_command

from .helpers import lines, select

ROUNDS = 200
SHOP = "tests.app.served:factory"
"""The served tree with a server that crashes on a call (tests/app/served.py)."""


async def fetched(app: ObserverApp, pilot: Pilot[Any], condition: Callable[[Snapshot], bool],
                  source: RemoteSource | None = None) -> Snapshot:
    """Tick, and wait for each fetch to arrive, until the snapshot shown satisfies `condition`."""
    source = source or _remote(app)
    async with asyncio.timeout(DEADLINE):
        for _ in range(ROUNDS):
            done = source.fetched()
            app.tick()
            await done.wait()
            await pilot.pause()
            snapshot = source.latest
            if snapshot is not None and condition(snapshot):
                await pilot.pause()
                return snapshot
    raise AssertionError("the condition never held")


async def connected(app: ObserverApp, pilot: Pilot[Any]) -> Snapshot:
    """Wait until the service's tree is shown."""
    return await fetched(app, pilot, lambda s: s.root is not None and s.root_alive and len(lines(app)) >= 8)


def _remote(app: ObserverApp) -> RemoteSource:
    source = app.source
    assert isinstance(source, RemoteSource)
    return source


def find(node: NodeSnapshot, label: str) -> NodeSnapshot:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.label == label:
            return current
        stack.extend(current.children)
    raise AssertionError(f"no {label!r}")


def header(app: ObserverApp) -> str:
    content = app.query_one(StatusHeader).content
    assert isinstance(content, Text)
    return content.plain


async def test_attach_shows_the_services_tree_and_k_restarts_a_worker_with_control(xdg: Path) -> None:
    async with running("--control") as service:
        app = attach_app([str(service.os_pid)], ticking=False)
        async with app.run_test(size=(160, 48)) as pilot:
            first = await connected(app, pilot)
            assert [line.split(" <")[0] for line in lines(app)][:3] == ["● app", "  ● echo", "  ● hog"]
            assert f"attached: pid {service.os_pid}" in header(app) and "READ-ONLY" not in header(app)
            assert app.check_action("kill", ()) is True
            assert first.root is not None
            old = find(first.root, "worker_2").pid
            await select(app, pilot, "worker_2")
            await pilot.press("k")
            after = await fetched(app, pilot, lambda s: s.root is not None and find(s.root, "worker_2").pid not in (
                None, old) and any(isinstance(entry, Cascade) for entry in s.log))
            assert after.root is not None and find(after.root, "worker_2").restarts == 1
            assert any(isinstance(entry, LogNote) and entry.text == f"k: exit kill sent to worker_2 {old!r}"
                       for entry in after.log), "the app's own note is merged into the service's log"
            await pilot.press("q")


async def test_attach_to_a_read_only_service_greys_and_refuses_control(xdg: Path) -> None:
    async with running() as service:
        app = attach_app([str(service.os_pid)], ticking=False)
        async with app.run_test(size=(160, 48)) as pilot:
            before = await connected(app, pilot)
            assert "READ-ONLY" in header(app)
            assert app.check_action("kill", ()) is None and app.check_action("drills", ()) is None
            await select(app, pilot, "echo")
            await pilot.press("k")
            after = await fetched(app, pilot, lambda s: True)
            assert after.restarts == before.restarts == 0
            assert any("does not allow control" in notification.message for notification in app._notifications)


async def test_a_blocked_service_shows_in_the_header_and_its_stall_in_the_log(xdg: Path) -> None:
    async with running() as service:
        app = attach_app([str(service.os_pid)], ticking=False)
        async with app.run_test(size=(160, 48)) as pilot:
            await connected(app, pilot)
            service.process.send_signal(signal.SIGUSR2)  # hog blocks the service's loop for 1.0 s
            await service.wait_for_line("blocking")
            source = _remote(app)
            async with asyncio.timeout(DEADLINE):
                while source.state.blocked == 0:
                    await fetched(app, pilot, lambda s: True)
            assert "loop blocked" in header(app)
            await service.wait_for_line("unblocked")
            after = await fetched(app, pilot, lambda s: any(
                isinstance(entry, LogNote) and "loop blocked" in entry.text for entry in s.log))
            assert source.state.blocked == 0 and "loop blocked" not in header(app)
            [stall] = [entry for entry in after.log if isinstance(entry, LogNote) and "loop blocked" in entry.text]
            assert "hog_the_loop" in stall.text, "the entry names the blocking function"


async def test_two_services_get_a_node_list_and_one_that_exits_is_shown_as_gone(xdg: Path) -> None:
    async with running() as first, running() as second:
        app = attach_app([str(first.os_pid), str(second.os_pid)], ticking=False)
        async with app.run_test(size=(160, 48)) as pilot:
            one, two = (source for source in app.sources if isinstance(source, RemoteSource))
            await fetched(app, pilot, lambda s: s.root is not None, one)
            await fetched(app, pilot, lambda s: s.root is not None, two)
            assert app.source is one
            await pilot.press("right_square_bracket")
            assert app.source is two
            assert f"attached: pid {second.os_pid}" in header_of_shown(app)
            assert await second.stop() == 0
            async with asyncio.timeout(DEADLINE):
                while two.state.phase != "gone":
                    await fetched(app, pilot, lambda s: True, two)
            await pilot.pause()
            assert "GONE" in header_of_shown(app)
            assert app.source is two and app.is_running, "a runtime that went away is a state, not an error"
            assert app.check_action("kill", ()) is None
            await pilot.press("left_square_bracket")
            assert app.source is one and "GONE" not in header_of_shown(app)
            await pilot.press("q")


def plain(renderable: Any, width: int = 150) -> str:
    """A renderable as the text a person reads."""
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def cascade_of(snapshot: Snapshot, child: str) -> Cascade | None:
    """The newest finished restart of `child` in the log."""
    return next((entry for entry in reversed(snapshot.log) if isinstance(entry, Cascade) and entry.child == child
                 and entry.outcome == "restarted"), None)


async def test_l_lists_the_services_processes_with_rates(xdg: Path) -> None:
    async with running("--control", app=SHOP) as service, connect(service.os_pid) as conn:
        app = attach_app([str(service.os_pid)], ticking=False)
        async with app.run_test(size=(160, 48)) as pilot:
            await fetched(app, pilot, lambda s: s.root is not None and s.root_alive and len(lines(app)) == 4)
            assert not _remote(app).latest.processes, "no table while the tree is shown"  # type: ignore[union-attr]
            await pilot.press("l")
            await fetched(app, pilot, lambda s: len(s.processes) == 4)
            listed = app.query_one(ProcessList)
            assert {row.name for row in listed.rows} == {"shop", "echo", "crasher", "worker"}
            for number in range(20):
                assert await conn.call("echo", number) == number
            await fetched(app, pilot, lambda s: any(row.name == "echo" and row.messages_per_s > 0
                                                    for row in listed.rows))
            [echo] = [row for row in listed.rows if row.name == "echo"]
            assert echo.reductions_per_s > 0 and echo.kind == "server"
            await pilot.press("l")
            after = await fetched(app, pilot, lambda s: not s.processes)
            assert after.root is not None, "back to the tree, the table is no longer fetched"


async def test_enter_on_an_attached_crash_opens_its_traceback(xdg: Path) -> None:
    async with running("--control", app=SHOP) as service, connect(service.os_pid) as conn:
        app = attach_app([str(service.os_pid)], ticking=False)
        async with app.run_test(size=(160, 48)) as pilot:
            await fetched(app, pilot, lambda s: s.root is not None and s.root_alive and len(lines(app)) == 4)
            with pytest.raises(CallExit):
                await conn.call("crasher", "crash")
            snapshot = await fetched(app, pilot, lambda s: cascade_of(s, "crasher") is not None)
            crash = cascade_of(snapshot, "crasher")
            assert crash is not None
            assert "shop one_for_one: crasher" in plain(log_entry(crash, started_at=0.0))
            assert "died (RuntimeError: boom)" in plain(log_entry(crash, started_at=0.0)), "as the embedded app says"
            app.query_one(EventLog).focus()
            await pilot.press("home", "enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, TracebackScreen)
            assert screen.traceback is not None and "in explode" in screen.traceback
            assert "crasher" in screen.heading and "crashed (RuntimeError: boom)" in screen.heading
            await pilot.press("escape")
            assert not isinstance(app.screen, TracebackScreen)


async def test_attached_exit_reasons_read_as_the_embedded_apps(xdg: Path) -> None:
    """A kill shows `died (killed)`, not the repr that crossed the wire (`died ('killed')`)."""
    async with running("--control", app=SHOP) as service:
        app = attach_app([str(service.os_pid)], ticking=False)
        async with app.run_test(size=(160, 48)) as pilot:
            before = await fetched(app, pilot, lambda s: s.root is not None and s.root_alive and len(lines(app)) == 4)
            assert before.root is not None
            old = find(before.root, "worker").pid
            await select(app, pilot, "worker")
            await pilot.press("k")
            snapshot = await fetched(app, pilot, lambda s: cascade_of(s, "worker") is not None)
            killed = cascade_of(snapshot, "worker")
            assert killed is not None and killed.reason == "killed" and killed.pid is old
            text = plain(log_entry(killed, started_at=0.0))
            assert "died (killed)" in text and "'killed'" not in text
            await fetched(app, pilot, lambda s: True)  # the restarted worker, still selected, in the panel
            panel = plain(app.query_one(ProcessPanel).content)
            assert "killed" in panel and "'killed'" not in panel


def header_of_shown(app: ObserverApp) -> str:
    view = app.query_one(f"#view-{app.sources.index(app.source)}")
    content = view.query_one(StatusHeader).content
    assert isinstance(content, Text)
    return content.plain


def test_attach_to_nothing_is_one_line_and_exit_1(xdg: Path, capsys: Any) -> None:
    assert attach_main(["999999999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("observer attach: ") and err.count("\n") == 1 and "Traceback" not in err


class _Unrun:
    """What the patched `attach_app` returns: an app whose `run` does nothing (no terminal in a test)."""

    def run(self) -> None:
        """Nothing to run."""


def test_attach_takes_the_token_as_tree_does(xdg: Path, monkeypatch: Any, capsys: Any) -> None:
    """--token-file, --token, then $OBSERVER_TOKEN: each gets past hello with a real TCP endpoint."""
    launched: list[dict[str, Any]] = []
    monkeypatch.setattr(attach_command, "attach_app", lambda targets, **options: launched.append(options) or _Unrun())
    monkeypatch.delenv("OBSERVER_TOKEN", raising=False)
    service = subprocess.Popen(observer_command("run", "--app", TREE, "--tcp", "127.0.0.1:0"), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert service.stdout is not None
        words = service.stdout.readline().split()  # printed once it listens (pytest's timeout guards a hang)
        where = words[words.index("tcp") + 1].rstrip(",")
        token_file = Path(words[words.index("in") + 1])
        token = token_file.read_text().strip()
        assert attach_main([where, "--token-file", str(token_file)]) == 0
        assert attach_main([where, "--token", token]) == 0
        monkeypatch.setenv("OBSERVER_TOKEN", token)
        assert attach_main([where]) == 0
        assert [options["token"] for options in launched] == [token] * 3
        monkeypatch.delenv("OBSERVER_TOKEN")
        capsys.readouterr()
        assert attach_main([where]) == 1
        [line] = capsys.readouterr().err.splitlines()
        assert line.startswith("observer attach: ") and "needs its token" in line
        with pytest.raises(SystemExit) as exited:
            attach_main([where, "--token-file", str(xdg / "missing")])
        assert exited.value.code == 2
        [line] = capsys.readouterr().err.splitlines()
        assert line == f"observer attach: error: --token-file {xdg / 'missing'}: No such file or directory " \
                       "(try observer attach --help)"
    finally:
        service.terminate()
        service.wait(timeout=DEADLINE)


WORKER_DRILL = """
[drill]
name = "worker-restarts-alone"
description = "kill the worker: only it restarts"

[[step]]
name = "kill the worker"
kill = "shop/worker"
expect_restarted = ["shop/worker"]
expect_unchanged = ["shop/echo", "shop/crasher"]
"""


async def test_d_runs_a_drill_files_drill_against_the_attached_service(xdg: Path, tmp_path: Path) -> None:
    from observer.drills import load_drills
    from observer.journal import DrillVerdict
    from observer.widgets.drill_picker import DrillPicker

    drill_file = tmp_path / "worker.toml"
    drill_file.write_text(WORKER_DRILL)
    async with running("--control", app=SHOP) as service:
        app = attach_app([str(service.os_pid)], ticking=False, drills=load_drills(drill_file))
        async with app.run_test(size=(160, 48)) as pilot:
            before = await fetched(app, pilot, lambda s: s.root is not None and s.root_alive and len(lines(app)) == 4)
            assert before.root is not None
            old = find(before.root, "worker").pid
            await pilot.press("d")
            picker = app.screen
            assert isinstance(picker, DrillPicker)
            await pilot.press("enter")
            report = await app.wait_drill()
            assert report is not None and report.passed, report.render(verbose=True) if report else None
            after = await fetched(app, pilot, lambda s: s.root is not None and find(s.root, "worker").pid not in (
                None, old))
            assert after.root is not None and find(after.root, "echo").pid is find(before.root, "echo").pid
            [verdict] = [entry for entry in after.log if isinstance(entry, DrillVerdict)]
            assert verdict.drill == "worker-restarts-alone" and verdict.passed, "the verdict in the log, as in-process"
            assert "drill worker-restarts-alone: PASS in " in plain(log_entry(verdict, started_at=0.0))


def test_attach_with_a_drill_file_that_cannot_be_loaded_is_one_line(tmp_path: Path, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        attach_main(["4242", "--drills", str(tmp_path / "missing.toml")])
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"observer attach: error: --drills {tmp_path / 'missing.toml'}: no such drill file " \
                   "(try observer attach --help)"
