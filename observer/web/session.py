"""`Session`: one browser tab's app process, started like textual-serve starts it and always stopped.

textual-serve's `AppService` starts the app through ``/bin/sh -c COMMAND`` and, when the tab
closes, sends the app a ``quit`` packet and waits for its output to end — for ever, if the app
does not quit. Measured here (Textual 8.2.8, textual-serve 1.1.3): a tab closed while the app
is still starting (a one-shot ``chromium --headless --screenshot`` does exactly that) sends
``quit`` together with the browser's first resize; the app begins to shut down, the screen's
message pump then processes refresh callbacks one after another without ever giving the
event loop back, so the shutdown never finishes, the process stays at ~100 % CPU, and SIGTERM
does nothing (Textual's handler needs that event loop). So a session:

- starts the app directly (no shell in between, so signals reach it) in a process group of its
  own (so that whatever it started goes with it);
- on stop, sends ``quit``, gives the app `quit_grace` seconds, then SIGTERM to the group, then
  SIGKILL after `term_grace` seconds; whatever is left of the group gets SIGKILL too;
- closes the tab's websocket when the app exits by itself (``q``, a crash), so the page says
  "Session ended" instead of showing a dead screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from asyncio.subprocess import PIPE, Process
from collections.abc import Awaitable, Callable, Sequence

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

QUIT_GRACE = 5.0
"""Seconds an app has to quit after the ``quit`` packet (an embedded tree stops every process in order)."""
TERM_GRACE = 2.0
"""Seconds an app has to exit after SIGTERM before SIGKILL."""


class Session(AppService):
    """The app process behind one browser tab (one websocket)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        download_manager: DownloadManager,
        quit_grace: float = QUIT_GRACE,
        term_grace: float = TERM_GRACE,
    ) -> None:
        """Prepare the session; `start` starts the app.

        Args:
            argv: The app's command line (the program first).
            write_bytes: Sends the app's output to the tab.
            write_str: Sends a text message (open a URL, a download) to the tab.
            close: Closes the tab's websocket.
            download_manager: The server's downloads (files the app delivers to the browser).
            quit_grace: Seconds the app has to quit after ``quit``.
            term_grace: Seconds the app has to exit after SIGTERM.
        """
        super().__init__(shlex.join(argv), write_bytes=write_bytes, write_str=write_str, close=close,
                         download_manager=download_manager)
        self.argv = tuple(argv)
        self.quit_grace = quit_grace
        self.term_grace = term_grace
        self.signals_sent: list[str] = []  # "SIGTERM", "SIGKILL": how the last stop had to end the app

    @property
    def process(self) -> Process | None:
        """The app's process, once started."""
        return self._process

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        """Start the app in a process group of its own, its stdin and stdout the packet pipes."""
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=environment, start_new_session=True
        )
        assert process.stdin is not None  # stdin=PIPE
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        """Relay the app's output to the tab until it ends, then close the tab's websocket."""
        await super().run()
        await self.remote_close()

    async def stop(self) -> None:
        """Ask the app to quit, make sure its process group is gone, and wait for its output to end.

        Safe to call more than once (textual-serve's handler does).
        """
        process = self._process
        if process is not None and process.returncode is None:
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
            await self.send_meta({"type": "quit"})  # False when the app's stdin is gone: it is exiting
            await self._end(process)
        if process is not None:
            _signal_group(process, signal.SIGKILL)  # anything the app started and left behind
        task, self._task = self._task, None
        if task is not None:
            await task  # the relay ends at the end of the app's output, which the exit closed

    async def _end(self, process: Process) -> None:
        """Wait `quit_grace` for the app to exit, then SIGTERM its group, then SIGKILL it."""
        if await _exited(process, self.quit_grace):
            return
        self.signals_sent.append("SIGTERM")
        _signal_group(process, signal.SIGTERM)
        if await _exited(process, self.term_grace):
            return
        self.signals_sent.append("SIGKILL")
        _signal_group(process, signal.SIGKILL)
        await process.wait()


async def _exited(process: Process, seconds: float) -> bool:
    """Whether `process` exits within `seconds`."""
    try:
        await asyncio.wait_for(process.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _signal_group(process: Process, number: signal.Signals) -> None:
    """Send `number` to the process group `process` leads; nothing when the group is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)
