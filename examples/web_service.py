"""A small web service to drill: a store, a cache in front of it, and an HTTP health listener.

```
web        Supervisor rest_for_one (max_restarts=10 in 5 s: drills kill it often)
  store    the "database": a dict behind calls, registered as "store"
  cache    answers ("get", k) from memory, writes ("put", k, v) through to the store,
           and reloads from the store when it (re)starts; registered as "cache"
  listener HTTP on 127.0.0.1:$WEB_SERVICE_PORT (default 8088): GET /health is 200
           while the cache answers, else 503; the socket is owned, so a kill frees it
```

Run its drills from the repository's root:

    observer drill --file examples/web-service.toml --app examples.web_service:build
    observer drill --file examples/web_service_drills.py --app examples.web_service:build

or serve it and drill it attached: `observer run --app examples.web_service:build --control`,
then `observer drill --file examples/web-service-attached.toml --attach PID`.
Standard library only.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from observer.runtime import Caller, ObserverError, Pid, Runtime, Server, Supervisor


def port() -> int:
    """The listener's port: $WEB_SERVICE_PORT, else 8088."""
    return int(os.environ.get("WEB_SERVICE_PORT", "8088"))


class Store(Server):
    """The service's database: a dict behind calls."""

    async def init(self) -> None:
        self.rows: dict[str, Any] = {}

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("get", name):
                return self.rows.get(name)
            case ("put", name, value):
                self.rows[name] = value
                return "ok"
            case "all":
                return dict(self.rows)
        raise ValueError(f"unknown store request {request!r}")


class Cache(Server):
    """Serves gets from memory (a hung store costs no read), writes through, reloads when it starts."""

    async def init(self) -> None:
        self.entries: dict[str, Any] = await self.runtime.call("store", "all")

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case "ping":
                return "pong"
            case ("get", name):
                return "miss" if name not in self.entries else ("hit", self.entries[name])
            case ("put", name, value):
                await self.runtime.call("store", ("put", name, value))
                self.entries[name] = value
                return "ok"
        raise ValueError(f"unknown cache request {request!r}")


class Listener(Server):
    """GET /health on 127.0.0.1:port: 200 while the cache answers within 100 ms, else 503."""

    async def init(self, port: int) -> None:
        server = await asyncio.start_server(self._health, "127.0.0.1", port)
        await self.enter_async_context(server)  # closed on every exit, a kill included: the port is free again

    async def _health(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()).strip():
                pass  # the request line and its headers
            try:
                healthy = await self.runtime.call("cache", "ping", timeout=0.1) == "pong"
            except ObserverError:
                healthy = False
            status = "200 OK" if healthy else "503 Service Unavailable"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        finally:
            writer.close()


async def build(rt: Runtime) -> Pid:
    """Start the service; its root is registered as "web"."""
    children = [
        Store.child_spec(id="store", name="store"),
        Cache.child_spec(id="cache", name="cache"),
        Listener.child_spec(port(), id="listener", name="listener"),
    ]
    return await Supervisor.start_link(rt, children, strategy="rest_for_one", max_restarts=10, name="web")
