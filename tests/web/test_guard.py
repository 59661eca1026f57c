"""Which browsers may reach `observer web`: origin, loopback host names, the token (in-process `WebServer`)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from observer.web.guard import is_loopback, token_cookie
from observer.web.server import WebServer

TOKEN = "a-token-of-twenty-chars"
APP = [sys.executable, "-c", "raise SystemExit"]  # never started: no test here opens the websocket for long


@asynccontextmanager
async def served(token: str | None = None) -> AsyncIterator[str]:
    """A `WebServer` on a free loopback port; yields ``http://127.0.0.1:PORT``."""
    server = WebServer(APP, host="127.0.0.1", port=0, token=token)
    async with server.running():
        host, port = server.addresses[0]
        yield f"http://{host}:{port}"


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("LOCALHOST.", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.0.2.7", False), ("example.org", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_without_a_token_the_page_is_served_by_loopback_names_only() -> None:
    async with served() as url, aiohttp.ClientSession() as http:
        port = url.rsplit(":", 1)[1]
        for name in ("127.0.0.1", "localhost"):
            async with http.get(url, headers={"Host": f"{name}:{port}"}) as response:
                assert response.status == 200
                # the page's own addresses use the name the browser used, so its websocket is same-origin
                assert f'data-session-websocket-url="ws://{name}:{port}/ws"' in await response.text()
        async with http.get(url, headers={"Host": f"rebound.example:{port}"}) as response:
            assert response.status == 403
            assert "loopback" in await response.text()


async def test_a_request_from_another_site_is_refused() -> None:
    async with served() as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/ws", headers={"Origin": "http://evil.example"}) as response:
            assert response.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{url.replace('http', 'ws')}/ws", origin="http://evil.example")
        assert refused.value.status == 403
        async with http.get(f"{url}/", headers={"Origin": url}) as response:
            assert response.status == 200  # its own origin


async def test_with_a_token_every_request_needs_it_and_the_page_keeps_it_in_a_cookie() -> None:
    async with served(TOKEN) as url, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for query in ("", "?token=", "?token=not-the-token"):
            async with http.get(f"{url}/{query}") as response:
                assert response.status == 401
                assert "?token=TOKEN" in await response.text()
        async with http.get(f"{url}/static/js/textual.js") as response:
            assert response.status == 401
        async with http.get(f"{url}/?token={TOKEN}") as response:
            assert response.status == 200
            cookie = response.cookies[token_cookie(int(url.rsplit(":", 1)[1]))]
            assert cookie.value == TOKEN and cookie["httponly"] and cookie["samesite"] == "Strict"
        async with http.get(f"{url}/static/js/textual.js") as response:  # the page's script: the cookie
            assert response.status == 200


async def test_with_a_token_any_host_name_may_be_used() -> None:
    async with served(TOKEN) as url, aiohttp.ClientSession() as http:
        port = url.rsplit(":", 1)[1]
        async with http.get(f"{url}/?token={TOKEN}", headers={"Host": f"observer.example:{port}"}) as response:
            assert response.status == 200
