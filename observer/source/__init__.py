"""The app's one seam to a runtime: `Source`, hosted in this process (`InProcessSource`) or attached (`RemoteSource`).

No textual imports anywhere below here.
"""

from .base import Phase, Source, SourceState, Unsupported, View
from .in_process import InProcessSource, StartFailed

__all__ = ["InProcessSource", "Phase", "Source", "SourceState", "StartFailed", "Unsupported", "View"]
