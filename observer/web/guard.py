"""`access_guard`: the aiohttp middleware that decides which browsers may reach `observer web`.

A browser tab of `observer web` can kill processes, so every request passes three checks:

- **Origin.** A request that carries an ``Origin`` header (browsers send one on every websocket
  handshake) must come from the page's own origin: another site open in the same browser cannot
  open the websocket and type into the app (cross-site websocket hijacking).
- **Host, without a token.** Served on loopback without a token, the ``Host`` header must name a
  loopback address: a page whose DNS name is rebound to 127.0.0.1 (DNS rebinding) sends its own
  name and is refused.
- **Token, with one.** The token comes as ``?token=...`` on the URL a person opens, and from then
  on as a cookie that the page's own requests (scripts, the websocket) carry. It is compared in
  constant time.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

TOKEN_PARAMETER = "token"
"""The query parameter that carries the token on the URL a person opens."""


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine's loopback.

    Args:
        host: ``localhost``, ``127.0.0.1``, ``::1``, ``[::1]``, another name or address.
    """
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def token_cookie(port: int) -> str:
    """The name of the cookie that keeps the token: one per port, as cookies do not tell ports apart."""
    return f"observer_web_token_{port}"


def access_guard(token: str | None) -> Middleware:
    """The middleware that refuses requests from the wrong origin, host or without the token.

    Args:
        token: The token every request must carry (as ``?token=`` or the cookie); None to serve
            loopback names only, with no token.

    Returns:
        An aiohttp middleware (add it to the application's ``middlewares`` before it starts).
    """
    expected = None if token is None else token.encode()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            raise web.HTTPForbidden(text=f"observer web: requests from {origin} are refused (another site)\n")
        if expected is None:
            if not is_loopback(request.url.host or ""):
                raise web.HTTPForbidden(text="observer web: served on loopback only; open it by a loopback "
                                             "address (127.0.0.1, localhost, [::1])\n")
            return await handler(request)
        cookie = token_cookie(request.url.port or 80)  # the port the browser used
        from_query = _matches(request.query.get(TOKEN_PARAMETER), expected)
        if not from_query and not _matches(request.cookies.get(cookie), expected):
            raise web.HTTPUnauthorized(text=f"observer web: open the address with ?{TOKEN_PARAMETER}=TOKEN "
                                            "(the --token the server was started with)\n")
        response = await handler(request)
        if from_query and not response.prepared:  # the page's own requests carry it from now on
            response.set_cookie(cookie, token or "", httponly=True, samesite="Strict", path="/")
        return response

    return guard


def _matches(given: str | None, expected: bytes) -> bool:
    """Whether `given` is the token, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected)
