"""Attach: publish a runtime from its own OS process (`serve`) and observe or drive it from another (`connect`).

No textual imports anywhere below here, and only the standard library besides observer itself.
"""

from .client import Connection, connect
from .endpoint import Endpoint, endpoint_of, serve
from .errors import Blocked, EndpointError, ReadOnly, RemoteError, Unreachable
from .failures import StartFailure
from .stall import Stall
from .values import RemoteRepr

__all__ = [
    "Blocked",
    "Connection",
    "Endpoint",
    "EndpointError",
    "ReadOnly",
    "RemoteError",
    "RemoteRepr",
    "Stall",
    "StartFailure",
    "Unreachable",
    "connect",
    "endpoint_of",
    "serve",
]
