"""The drills' own error: a drill could not do what it meant to."""

from __future__ import annotations

from observer.runtime import ObserverError


class DrillError(ObserverError):
    """A drill could not do what it meant to (e.g. a path that names no process, a wait that ran out)."""
