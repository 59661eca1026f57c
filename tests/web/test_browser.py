"""`observer web` in headless Chromium: the page shows the tree, `k` kills a node and the page shows the restart,
and a closed tab leaves no observer process behind.

Set ``OBSERVER_UPDATE_SCREENSHOTS=1`` to write the README's ``screenshots/web.png`` (otherwise the
screenshot goes to the test's temporary directory: a test run leaves the checkout as it was).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import psutil

from tests.subprocesses import DEADLINE, ROOT, observer_command

from .browser import FLAGS, Chromium, Tab, end_group
from .conftest import children_of, serving, wait_for_children, wait_until_gone

WIDTH, HEIGHT = 1400, 900
"""The page's size in CSS pixels: 16 px text makes the terminal 150 columns by 47 rows, the app's full layout."""
QUIT_GRACE, TERM_GRACE = 5.0, 2.0  # observer.web.session's: the longest a closed tab's app may take
SCREENSHOT = ROOT / "screenshots" / "web.png"


def screenshot_path(tmp_path: Path) -> Path:
    return SCREENSHOT if os.environ.get("OBSERVER_UPDATE_SCREENSHOTS") == "1" else tmp_path / "web.png"


async def kill_state_supervisor(tab: Tab) -> str:
    """Move from the root to state_supervisor, press k, and wait for the page to show the restart.

    Each key waits for the page to show what the one before did (the process panel's ``kind`` line
    names the selected supervisor's strategy), so no key lands on a tree that is not there yet.
    """
    await tab.wait_for_text("state_supervisor", "agent_3", "supervisor, rest_for_one", timeout=DEADLINE)  # root
    mark = await tab.received()
    await tab.press("ArrowDown")
    await tab.wait_for_text("supervisor, one_for_one", since=mark, timeout=DEADLINE)  # state_supervisor
    mark = await tab.received()
    await tab.press("k")
    # the event log: the key's note, then the cascade's entry ("... state_supervisor <0.2.0> died (killed),
    # restarted in 2.4 ms"; attached, the reason reads ('killed'))
    return await tab.wait_for_text("k: exit kill sent to state_supervisor <0.2.0>", "state_supervisor <0.2.0> died",
                                   "killed", "restarted in", since=mark, timeout=DEADLINE)


async def test_the_page_shows_the_tree_a_kill_and_the_restart(chromium: str, tmp_path: Path) -> None:
    async with serving() as served, Chromium(chromium, tmp_path / "profile") as browser:
        tab = await browser.open(served.url, width=WIDTH, height=HEIGHT)
        await kill_state_supervisor(tab)
        apps = await wait_for_children(served.process.pid, count=1, timeout=DEADLINE)
        assert any("observer" in " ".join(app.cmdline()) for app in apps)
        path = screenshot_path(tmp_path)
        await tab.screenshot(path)
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 20_000
        await tab.close()
        # the tab's app quits when asked; well within the graces after which it would be killed
        assert await wait_until_gone(apps, timeout=QUIT_GRACE) < QUIT_GRACE
        assert await children_of(served.process.pid) == []
        assert await served.stop() == 0


async def test_attached_every_tab_drives_the_one_service_and_closing_it_leaves_the_service(
    chromium: str, tmp_path: Path, xdg: Path
) -> None:
    service = await asyncio.create_subprocess_exec(
        *observer_command("run", "--app", "observer.system:start_system", "--control"), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert service.stdout is not None
        async with asyncio.timeout(DEADLINE):
            assert "listening on" in (await service.stdout.readline()).decode()
        async with serving("--attach", str(service.pid)) as served, \
                Chromium(chromium, tmp_path / "profile") as browser:
            tab = await browser.open(served.url, width=WIDTH, height=HEIGHT)
            await kill_state_supervisor(tab)
            apps = await wait_for_children(served.process.pid, count=1, timeout=DEADLINE)
            assert any(f"attach {service.pid}" in " ".join(app.cmdline()) for app in apps)
            await tab.close()
            assert await wait_until_gone(apps, timeout=QUIT_GRACE) < QUIT_GRACE
            assert service.returncode is None  # the service runs on: only the tab's app ended
            assert await served.stop() == 0
    finally:
        if service.returncode is None:
            service.terminate()
        async with asyncio.timeout(DEADLINE):
            assert await service.wait() == 0


async def test_a_one_shot_screenshot_leaves_no_process_behind(chromium: str, tmp_path: Path) -> None:
    """The reported case: ``chromium --headless --screenshot`` closes the tab while the app is still starting."""
    async with serving() as served:
        shot = tmp_path / "one-shot.png"
        taken = await asyncio.create_subprocess_exec(
            chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={shot}", "--virtual-time-budget=3000", served.url,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
        )
        apps: dict[int, psutil.Process] = {}  # every app process the tab started, seen while chromium ran
        try:
            async with asyncio.timeout(DEADLINE):
                while taken.returncode is None:
                    apps.update((app.pid, app) for app in await children_of(served.process.pid))
                    await asyncio.sleep(0.02)
            assert taken.returncode == 0
        finally:
            if taken.returncode is None:
                end_group(taken, signal.SIGKILL)  # the wrapper script and the browser it started
                await taken.wait()
        assert shot.exists()
        assert apps, "the one-shot page never started an app"
        # whether the app quit or had to be killed, nothing is left once the graces are over
        await wait_until_gone(list(apps.values()), timeout=QUIT_GRACE + TERM_GRACE + DEADLINE)
        assert await children_of(served.process.pid) == []
        assert await served.stop() == 0


async def test_stopping_the_server_with_a_tab_open_stops_its_app(chromium: str, tmp_path: Path) -> None:
    async with serving() as served, Chromium(chromium, tmp_path / "profile") as browser:
        tab = await browser.open(served.url, width=WIDTH, height=HEIGHT)
        await tab.wait_for_text("state_supervisor", timeout=DEADLINE)
        apps = await wait_for_children(served.process.pid, count=1, timeout=DEADLINE)
        assert await served.stop() == 0
        assert await wait_until_gone(apps, timeout=0.5) < 0.5  # ended before the server exited
        await tab.wait_until("document.body.classList.contains('-closed')", timeout=DEADLINE)  # "Session ended."
