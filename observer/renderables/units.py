"""Formatting of times, sizes, counts, rates, pids and exit reasons as short text."""

from __future__ import annotations

from datetime import datetime
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


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 restart``, ``3 restarts``, ``1,024 processes`` (`many` when adding an s is wrong)."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def rate(per_second: float) -> str:
    """A rate in at most six characters: ``0``, ``0.4``, ``12``, ``950``, ``12.3k``, ``4.5M``."""
    if per_second <= 0:
        return "0"
    if per_second < 10:
        return f"{per_second:.1f}"
    if per_second < 1000:
        return f"{per_second:.0f}"
    if per_second < 999_950:
        return f"{per_second / 1000:.1f}k"
    return f"{per_second / 1e6:.1f}M"


def count(value: int) -> str:
    """A count in at most seven characters: ``12,345``, ``123.4k``, ``12.3M``."""
    if value < 1_000_000:
        return f"{value:,}" if value < 100_000 else f"{value / 1000:.1f}k"
    return f"{value / 1e6:.1f}M"


def wall(unix_seconds: float) -> str:
    """A wall-clock time of day, local, to the millisecond: ``14:03:07.123``."""
    moment = datetime.fromtimestamp(unix_seconds)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def shorten_left(text: str, width: int) -> str:
    """`text` cut from the left to `width` cells, marked with ``…``: ``…/runtime/server.py``."""
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1:] if width > 1 else "…"[:width]


def capped(text: str, cap: int) -> str:
    """`text` in at most `cap` characters: its start, then a line saying how much was left out."""
    if len(text) <= cap:
        return text
    marker = f"\n… [{len(text) - cap:,} more characters left out]"
    return text[: max(0, cap - len(marker))] + marker
