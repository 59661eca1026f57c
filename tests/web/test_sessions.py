"""A tab's app process ends when the tab closes, whatever the app does (in-process `WebServer`, raw websockets)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import psutil

from observer.web.server import WebServer
from observer.web.session import Session
from tests.subprocesses import DEADLINE, observer_command

from .conftest import wait_until_gone

APPS = Path(__file__).resolve().parent / "apps"
STUBBORN = [sys.executable, str(APPS / "stubborn.py")]
POLITE = [sys.executable, str(APPS / "polite.py")]
OBSERVER = observer_command()
QUIT_GRACE = 1.5
TERM_GRACE = 0.5


@asynccontextmanager
async def served(argv: list[str]) -> AsyncIterator[tuple[WebServer, str]]:
    """A `WebServer` for `argv` on a free loopback port, with short graces; yields it and its websocket URL."""
    server = WebServer(argv, host="127.0.0.1", port=0, quit_grace=QUIT_GRACE, term_grace=TERM_GRACE)
    async with server.running():
        host, port = server.addresses[0]
        yield server, f"ws://{host}:{port}/ws"


async def first_output(websocket: aiohttp.ClientWebSocketResponse) -> bytes:
    """The first bytes the tab's app draws (the app has started)."""
    async with asyncio.timeout(DEADLINE):
        while True:
            message = await websocket.receive()
            assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), message
            if message.type == aiohttp.WSMsgType.BINARY:
                return bytes(message.data)


async def started_session(server: WebServer) -> tuple[Session, list[psutil.Process]]:
    """The server's one session, once its app runs, with the app's process and everything it started."""
    async with asyncio.timeout(DEADLINE):
        while not server.sessions or next(iter(server.sessions)).process is None:
            await asyncio.sleep(0.01)
    session = next(iter(server.sessions))
    assert session.process is not None
    app = psutil.Process(session.process.pid)
    return session, [app, *app.children(recursive=True)]


async def test_an_app_that_ignores_quit_and_sigterm_is_killed_with_everything_it_started() -> None:
    async with served(STUBBORN) as (server, url), aiohttp.ClientSession() as http:
        websocket = await http.ws_connect(url)
        session, processes = await started_session(server)
        async with asyncio.timeout(DEADLINE):
            while len(processes) < 2:  # the app and its child
                processes = [processes[0], *processes[0].children(recursive=True)]
                await asyncio.sleep(0.01)
        await websocket.close()  # the tab closes
        took = await wait_until_gone(processes, timeout=QUIT_GRACE + TERM_GRACE + DEADLINE)
        assert session.signals_sent == ["SIGTERM", "SIGKILL"]
        assert QUIT_GRACE + TERM_GRACE - 0.2 < took < QUIT_GRACE + TERM_GRACE + 5.0
        assert not server.sessions


async def test_an_app_that_quits_is_sent_no_signal() -> None:
    async with served(POLITE) as (server, url), aiohttp.ClientSession() as http:
        websocket = await http.ws_connect(url)
        await first_output(websocket)
        session, processes = await started_session(server)
        await websocket.close()
        took = await wait_until_gone(processes, timeout=DEADLINE)
        assert session.signals_sent == []
        assert took < QUIT_GRACE


async def test_the_observer_app_closed_while_it_starts_leaves_nothing_behind() -> None:
    """The reported case: a one-shot screenshot closes the tab right after the browser's first resize."""
    async with served(OBSERVER) as (server, url), aiohttp.ClientSession() as http:
        websocket = await http.ws_connect(f"{url}?width=120&height=40")
        await first_output(websocket)
        session, processes = await started_session(server)
        await websocket.send_str(json.dumps(["resize", {"width": 142, "height": 34}]))
        await websocket.close()
        await wait_until_gone(processes, timeout=QUIT_GRACE + TERM_GRACE + DEADLINE)
        assert not server.sessions


async def test_an_app_that_exits_by_itself_closes_its_tab() -> None:
    async with served(POLITE) as (server, url), aiohttp.ClientSession() as http:
        websocket = await http.ws_connect(url)
        await first_output(websocket)
        _, processes = await started_session(server)
        await websocket.send_str(json.dumps(["stdin", "\x11"]))  # ctrl+q: Textual's quit
        closing = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        async with asyncio.timeout(DEADLINE):
            while (await websocket.receive()).type not in closing:
                pass  # the app's last frames
        await wait_until_gone(processes, timeout=DEADLINE)


async def test_stopping_the_server_stops_every_tab() -> None:
    async with aiohttp.ClientSession() as http:
        async with served(STUBBORN) as (server, url):
            tabs = [await http.ws_connect(url) for _ in range(2)]
            async with asyncio.timeout(DEADLINE):
                while len([s for s in server.sessions if s.process is not None]) < 2:
                    await asyncio.sleep(0.01)
            processes = [psutil.Process(s.process.pid) for s in server.sessions if s.process is not None]
        assert not server.sessions  # every session stopped before `running` returned
        assert await wait_until_gone(processes, timeout=0.5) < 0.5
        for tab in tabs:
            async with asyncio.timeout(DEADLINE):
                assert (await tab.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
