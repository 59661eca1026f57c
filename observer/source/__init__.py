"""The app's one seam to a runtime: `Source`, hosted in this process (`InProcessSource`) or attached (`RemoteSource`).

No textual imports anywhere below here.
"""

from .base import Phase, Source, SourceState, Unsupported, View
from .in_process import InProcessSource, StartFailed

__all__ = ["InProcessSource", "Phase", "RemoteSource", "Source", "SourceState", "StartFailed", "Unsupported", "View"]


def __getattr__(name: str) -> object:
    """`RemoteSource` loads `observer.remote` only when asked for."""
    if name == "RemoteSource":
        from .remote import RemoteSource

        return RemoteSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
