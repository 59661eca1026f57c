"""`WebServer`: textual-serve's `Server` with a guard in front and sessions that always end.

The app runs unchanged (STYLE.md): each websocket (browser tab) gets its own app process, run
by textual-serve's protocol through Textual's web driver. What this adds to textual-serve 1.1:

- the `access_guard` middleware (origin, loopback host or token);
- page addresses taken from the request (``Host``), so the page works whichever name the
  browser used (``localhost`` or ``127.0.0.1``) and behind a wildcard bind;
- a `Session` per tab instead of textual-serve's `AppService`, which stops its app for sure;
- `running()`: bind first (a taken port is an `OSError` before anything is printed), serve,
  and on the way out stop every session and close every tab, instead of `Server.serve`'s
  ``web.run_app`` (its own signal handling, a logo, and a traceback for a taken port).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

from aiohttp import web
from textual_serve.server import Server, to_int

from .guard import access_guard
from .session import QUIT_GRACE, TERM_GRACE, Session

HEARTBEAT = 15.0
"""Seconds between websocket pings (textual-serve's value): a vanished browser is noticed within two."""


class WebServer(Server):
    """Serves the app at ``argv`` to browsers, one process per tab."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        host: str,
        port: int,
        token: str | None = None,
        title: str | None = None,
        quit_grace: float = QUIT_GRACE,
        term_grace: float = TERM_GRACE,
    ) -> None:
        """Prepare the server; `running` serves.

        Args:
            argv: The app's command line, run once per tab (the program first).
            host: The address to listen on.
            port: The port to listen on (0: any free port; `addresses` says which).
            token: The token every request must carry; None to serve loopback names only.
            title: The page's title (the command line without it).
            quit_grace: Seconds a tab's app has to quit once the tab closed, before SIGTERM.
            term_grace: Seconds it has after SIGTERM, before SIGKILL.
        """
        super().__init__(shlex.join(argv), host=host, port=port, title=title)
        self.argv = tuple(argv)
        self.token = token
        self.quit_grace = quit_grace
        self.term_grace = term_grace
        self.sessions: set[Session] = set()  # the tabs' apps that run now
        self.addresses: list[tuple[str, int]] = []  # where it listens, once running

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WebServer]:
        """Listen and serve until the block is left; then stop every tab's app and close the tabs.

        Raises:
            OSError: The address cannot be listened on (taken, not this machine's, no such name).
        """
        app = await self._make_app()
        app.middlewares.append(access_guard(self.token))
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            self.addresses = [(str(address[0]), int(address[1])) for address in runner.addresses]
            yield self
        finally:
            await self.stop_sessions()
            await runner.cleanup()

    async def stop_sessions(self) -> None:
        """Stop every tab's app (each within its graces) and close its tab."""
        sessions = list(self.sessions)
        await asyncio.gather(*(session.stop() for session in sessions))
        await asyncio.gather(*(session.remote_close() for session in sessions))

    async def on_startup(self, app: web.Application) -> None:
        """Print nothing (textual-serve prints a logo here): `observer web` prints its own line."""

    async def handle_index(self, request: web.Request) -> Any:
        """The page, its addresses built from the name the browser used (``Host``)."""
        # textual-serve builds the page's URLs from `public_url`; its handler reads it before its
        # first await, so setting it here, with no await in between, serves this request only.
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: start its app, relay keys and resizes to it, and stop it when the tab closes.

        textual-serve's handler with a `Session` in place of its `AppService`.
        """
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        await websocket.prepare(request)
        session = Session(self.argv, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                          close=partial(_close, websocket), download_manager=self.download_manager,
                          quit_grace=self.quit_grace, term_grace=self.term_grace)
        self.sessions.add(session)
        try:
            await session.start(width, height)
            await self._process_messages(websocket, session)
        finally:
            await session.stop()
            self.sessions.discard(session)
            await websocket.close()
        return websocket


async def _close(websocket: web.WebSocketResponse) -> None:
    """Close a tab's websocket (textual-serve's close callback returns nothing)."""
    await websocket.close()
