"""Rate-limiter bucket bars on a fixed scale: count out of limit, never auto-scaled."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from observer.snapshot import BucketView

from . import units

FULL = "█"
EMPTY = "░"
LOW = Style(color="green")
HIGH = Style(color="yellow")
AT_LIMIT = Style(color="red", bold=True)
EMPTY_STYLE = Style(color="bright_black")
DENIED = Style(color="red")


def filled_cells(count: int, limit: int, width: int) -> int:
    """How many of `width` cells `count` out of `limit` fills (at least one for any hit, all only at the limit)."""
    if limit <= 0 or count <= 0:
        return 0
    if count >= limit:
        return width
    return min(width - 1, max(1, round(count / limit * width)))


def bucket_bar(bucket: BucketView, *, width: int = 60) -> Text:
    """One bucket as a bar on the scale 0..limit: ``  alice  ██████░░░░  6/10  2 denied  0.4 s left``.

    Args:
        bucket: The window to draw.
        width: Cells for the whole line (the bar takes what the figures leave).
    """
    name_width = 14
    bar_width = max(8, width - name_width - 31)
    name = f"  {bucket.key}"
    if len(name) > name_width:
        name = name[: name_width - 1] + "…"
    filled = filled_cells(bucket.count, bucket.limit, bar_width)
    ratio = bucket.count / bucket.limit if bucket.limit else 0.0
    style = AT_LIMIT if ratio >= 1 else HIGH if ratio >= 0.7 else LOW
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(name.ljust(name_width))
    text.append(" ")
    text.append(FULL * filled, style)
    text.append(EMPTY * (bar_width - filled), EMPTY_STYLE)
    text.append(f" {bucket.count}/{bucket.limit}".ljust(9))
    text.append(f"{bucket.denied} denied".ljust(10), DENIED if bucket.denied else EMPTY_STYLE)
    if bucket.left_ms is None:
        text.append("window ?", EMPTY_STYLE)
    elif bucket.left_ms < 0:
        text.append("ended", EMPTY_STYLE)
    else:
        text.append(f"{bucket.left_ms / 1000:.1f} s left")
    return text


def limiter_heading(limiter_id: str, limit: int, window_seconds: float | None = None) -> Text:
    """The line above a limiter's buckets: ``agent_actions  limit 4 per 1.0 s, allowed/limit``.

    Args:
        limiter_id: The limiter.
        limit: Hits allowed per window (the bars' full scale).
        window_seconds: The window's length; None when unknown (then ``per window``).
    """
    window = "window" if window_seconds is None else window_length(window_seconds)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(limiter_id, Style(bold=True))
    text.append(f"  limit {limit} per {window}, allowed/limit", EMPTY_STYLE)
    return text


def window_length(seconds: float) -> str:
    """A window's length as a person writes it: ``1.0 s``, ``0.25 s``, ``60.0 s``, ``2 min 0 s``."""
    if seconds >= 120:
        return units.duration(seconds)
    text = f"{round(seconds, 3):g}"
    return f"{text if '.' in text else text + '.0'} s"
