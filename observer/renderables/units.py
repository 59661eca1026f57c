"""Formatting of times, sizes, pids and exit reasons as short text."""

from __future__ import annotations

from typing import Any

from observer.journal import MISSING, DetachedReason
from observer.runtime import Pid


def duration(seconds: float) -> str:
    """A short duration: ``850 µs``, ``3.2 ms``, ``1.25 s``, ``2 min 5 s``."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def clock(seconds: float) -> str:
    """Elapsed time as ``HH:MM:SS``."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def offset(seconds: float) -> str:
    """A time since start as ``+MM:SS.mmm`` (hours added when needed)."""
    seconds = max(0.0, seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    head = f"+{hours}:{minutes:02d}" if hours else f"+{minutes:02d}"
    return f"{head}:{secs:06.3f}"


def size(n_bytes: int) -> str:
    """A memory size in KiB, MiB or GiB."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.2f} GiB"


def pid(value: Pid | None) -> str:
    """A pid as Erlang shows it, or ``-`` for none."""
    return "-" if value is None else repr(value)


def reason(value: Any) -> str:
    """An exit reason in a few words: ``killed``, ``shutdown: timeout``, ``RuntimeError: boom``, ``-``."""
    if value is MISSING:
        return "-"
    if isinstance(value, DetachedReason):
        return f"{value.name}: {value.message}" if value.message else value.name
    if isinstance(value, BaseException):
        message = str(value)
        return f"{type(value).__name__}: {message}" if message else type(value).__name__
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "shutdown":
        return f"shutdown: {value[1]}"
    if isinstance(value, str):
        return value
    return repr(value)
