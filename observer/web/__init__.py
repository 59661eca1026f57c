"""The app in a browser: `observer web` serves it through textual-serve, one app process per tab.

Needs the ``[web]`` extra (textual-serve, which brings aiohttp). `observer.web.server.WebServer`
serves; `observer.web.session.Session` is one tab's app process; `observer.web.guard` decides
which browsers may connect.
"""
