"""HTTP for drills: a loopback-only URL check and one minimal HTTP/1.1 GET that returns the status code.

A drill waits for a service's health endpoint (`wait_for = { http = ..., status = 200 }`).
It talks to this machine only: a drill is a fault injected into a service under
test, never a probe of other hosts, so any host that is not loopback is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_STATUS_LINE = 8192
"""Bytes read for the status line; a longer first line is not HTTP."""


class NotLoopback(ValueError):
    """A URL a drill may not fetch; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class LoopbackURL:
    """A checked `http://` URL on this machine."""

    url: str
    host: str
    port: int
    target: str  # the request target: path and query

    def __str__(self) -> str:
        return self.url


def loopback_url(url: str) -> LoopbackURL:
    """Check that `url` is `http://` on a loopback host (127.0.0.0/8, ::1 or localhost).

    Raises:
        NotLoopback: another scheme, no host, a host that is not loopback, a bad port.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise NotLoopback(f"{url!r} is not a URL ({error})") from None
    if parts.scheme != "http":
        raise NotLoopback(f"{url!r}: only http:// URLs (a drill checks a local service, without TLS)")
    host = parts.hostname
    if not host:
        raise NotLoopback(f"{url!r} has no host")
    if not _is_loopback(host):
        raise NotLoopback(f"{url!r}: {host} is not a loopback host (127.0.0.1, ::1 or localhost): "
                          "drills only reach services on this machine")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return LoopbackURL(url, host, 80 if port is None else port, target)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def get_status(url: LoopbackURL) -> int:
    """GET `url` and return the response's status code (the body is not read).

    Raises:
        OSError: the connection failed (e.g. ConnectionRefusedError) or broke.
        ValueError: the answer is not an HTTP response.
    """
    reader, writer = await asyncio.open_connection(url.host, url.port, limit=MAX_STATUS_LINE)
    try:
        host = f"[{url.host}]" if ":" in url.host else url.host
        writer.write(
            f"GET {url.target} HTTP/1.1\r\nHost: {host}:{url.port}\r\nUser-Agent: observer-drill\r\n"
            "Connection: close\r\n\r\n".encode("ascii", "backslashreplace")
        )
        await writer.drain()
        try:
            line = await reader.readline()
        except (asyncio.LimitOverrunError, ValueError):
            raise ValueError(f"a first line over {MAX_STATUS_LINE} bytes is not an HTTP status line") from None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass  # the service closed first: the status line is all we wanted
    return _status(line)


def _status(line: bytes) -> int:
    if not line:
        raise ValueError("the service closed the connection without answering")
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not (parts[1].isdigit() and len(parts[1]) == 3):
        raise ValueError(f"not an HTTP response: {line[:80]!r}")
    return int(parts[1])
