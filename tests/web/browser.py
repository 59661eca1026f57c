"""Headless Chromium driven over its DevTools protocol (aiohttp's websocket client, no playwright).

`Chromium` starts Debian's ``chromium`` with the flags this machine needs (no sandbox as root, no
GPU, no background networking: the network is closed) and a fresh profile; `Tab` opens a page,
reads what its terminal was sent, presses keys, takes a screenshot and closes.

What the page's terminal draws is on a canvas (xterm.js's WebGL renderer), not in the DOM, so a
script installed before the page loads keeps every byte the page's websocket receives: the
terminal stream textual-serve relays from the app. `Tab.wait_for_text` searches it with the
escape sequences taken out (the text drawn, in the order it was drawn).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
"""What Chromium needs here (root, no GPU, a closed network); `Chromium` adds a DevTools port."""
START_TIMEOUT = 30.0
"""Seconds Chromium has to open its DevTools port."""
COMMAND_TIMEOUT = 20.0
"""Seconds one DevTools command has to answer."""
POLL = 0.05
"""Seconds between two looks at the page while waiting for something to appear."""

CAPTURE = r"""
(() => {
  const decoder = new TextDecoder();
  window.__observerStream = "";
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string") {
          window.__observerStream += decoder.decode(new Uint8Array(event.data), {stream: true});
        }
      });
    }
  };
  window.__observerText = (from) =>
    window.__observerStream.slice(from).replace(/\x1b\[[0-9;?<>=]*[ -\/]*[@-~]/g, "")
      .replace(/\x1b[\]P][^\x07\x1b]*(\x07|\x1b\\)/g, "");
})();
"""

KEYS = {
    "ArrowDown": {"key": "ArrowDown", "code": "ArrowDown", "windowsVirtualKeyCode": 40},
    "ArrowUp": {"key": "ArrowUp", "code": "ArrowUp", "windowsVirtualKeyCode": 38},
}


def end_group(process: subprocess.Popen[bytes] | asyncio.subprocess.Process, number: signal.Signals) -> None:
    """Signal the process group that `process` leads (started with ``start_new_session=True``)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, number)


def find_chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found is not None:
            return found
    return None


class Chromium:
    """``async with Chromium(executable, profile) as browser:`` a headless Chromium, ended on leaving."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.executable = executable
        self.profile = profile
        self._process: subprocess.Popen[bytes] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._last_id = 0

    async def __aenter__(self) -> Chromium:
        self.profile.mkdir(parents=True, exist_ok=True)
        (self.profile / "DevToolsActivePort").unlink(missing_ok=True)  # a previous run's port
        log = (self.profile / "chromium.log").open("wb")
        self._process = subprocess.Popen(
            [self.executable, *FLAGS, "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,  # /usr/bin/chromium is a shell script: the browser is its child, in this group
        )
        log.close()
        try:
            address = await self._devtools_address()
            self._http = aiohttp.ClientSession()
            self._socket = await self._http.ws_connect(address, max_msg_size=0)
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._socket is not None and not self._socket.closed:
                await self._socket.send_json({"id": self._next_id(), "method": "Browser.close"})
                await self._socket.close()
        finally:
            if self._http is not None:
                await self._http.close()
            if self._process is not None:
                if self._socket is None:
                    end_group(self._process, signal.SIGTERM)  # never reached over DevTools: asked by signal
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    end_group(self._process, signal.SIGKILL)
                    self._process.wait()

    async def _devtools_address(self) -> str:
        """The browser's DevTools websocket, read from the port file Chromium writes into its profile."""
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self._process.returncode}: "
                                   f"{(self.profile / 'chromium.log').read_text(errors='replace')[-2000:]}")
            lines = port_file.read_text().split("\n") if port_file.exists() else []
            if len(lines) >= 2 and lines[0].isdigit() and lines[1]:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            await asyncio.sleep(POLL)
        raise RuntimeError(f"chromium opened no DevTools port within {START_TIMEOUT:g} s")

    def _next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    async def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> Any:
        """Send one DevTools command and return its result (events that arrive meanwhile are dropped)."""
        assert self._socket is not None
        message: dict[str, Any] = {"id": self._next_id(), "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        await self._socket.send_json(message)
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"chromium did not answer {method} within {COMMAND_TIMEOUT:g} s")
            answer = json.loads(await self._socket.receive_str(timeout=left))
            if answer.get("id") == message["id"]:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    async def open(self, url: str, *, width: int, height: int) -> Tab:
        """Open `url` in a new tab of `width` x `height` CSS pixels, capturing its websocket's bytes."""
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        tab = Tab(self, target, session)
        await tab.send("Page.enable")
        await tab.send("Emulation.setDeviceMetricsOverride",
                       {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        await tab.send("Emulation.setFocusEmulationEnabled", {"enabled": True})  # a headless page has no focus
        await tab.send("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE})
        await tab.send("Page.navigate", {"url": url})
        return tab


class Tab:
    """One page of a `Chromium`."""

    def __init__(self, browser: Chromium, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """A DevTools command for this tab."""
        return await self.browser.send(method, params, session=self.session)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def received(self) -> int:
        """How many characters of terminal stream the page has received so far (a mark for `wait_for_text`)."""
        return int(await self.evaluate("window.__observerStream === undefined ? 0 : window.__observerStream.length"))

    async def text(self, since: int = 0) -> str:
        """The text the page's terminal was sent (escape sequences removed), from mark `since` on."""
        return str(await self.evaluate(f"window.__observerText === undefined ? '' : window.__observerText({since})"))

    async def wait_for_text(self, *needles: str, since: int = 0, timeout: float) -> str:
        """Wait until the terminal was sent every one of `needles` after mark `since`; the text so far.

        Raises:
            AssertionError: Not within `timeout` seconds (the message shows the end of what was sent).
        """
        deadline = time.monotonic() + timeout
        while True:
            text = await self.text(since)
            if all(needle in text for needle in needles):
                return text
            if time.monotonic() > deadline:
                missing = [needle for needle in needles if needle not in text]
                raw = str(await self.evaluate("String(window.__observerStream).slice(0, 600)"))
                page = await self.evaluate("document.body.className")
                raise AssertionError(f"the page (body class {page!r}) never showed {missing} within {timeout:g} s; "
                                     f"it was sent: {text[-3000:]!r}; the stream began {raw!r}")
            await asyncio.sleep(POLL)

    async def wait_until(self, expression: str, *, timeout: float) -> None:
        """Wait until a JavaScript expression is true in the page.

        Raises:
            AssertionError: Not within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while not await self.evaluate(expression):
            if time.monotonic() > deadline:
                raise AssertionError(f"{expression} was still false after {timeout:g} s")
            await asyncio.sleep(POLL)

    async def press(self, key: str) -> None:
        """Press and release `key` in the terminal: a character (``k``) or a name in `KEYS` (``ArrowDown``)."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")  # where xterm.js reads keys
        if key in KEYS:
            down: dict[str, Any] = {"type": "rawKeyDown", **KEYS[key]}
        else:
            down = {"type": "keyDown", "key": key, "text": key, "code": f"Key{key.upper()}",
                    "windowsVirtualKeyCode": ord(key.upper())}
        await self.send("Input.dispatchKeyEvent", down)
        await self.send("Input.dispatchKeyEvent", {**down, "type": "keyUp", "text": ""})

    async def screenshot(self, path: Path) -> None:
        """Save the page as a PNG at `path`."""
        data = (await self.send("Page.captureScreenshot", {"format": "png"}))["data"]
        path.write_bytes(base64.b64decode(data))

    async def close(self) -> None:
        """Close the tab (its websocket closes with it)."""
        await self.browser.send("Target.closeTarget", {"targetId": self.target})
