"""Trace pane lines: one traced message (time, kind, capped repr), and what the trace is doing."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rich.style import Style
from rich.text import Text

from observer.runtime import TraceEvent

from . import units

TIME = Style(color="bright_black")
KIND_STYLES: Mapping[str, Style] = MappingProxyType({
    "in": Style(color="cyan"),
    "call": Style(color="yellow", bold=True),
    "cast": Style(color="green", bold=True),
    "info": Style(color="blue", bold=True),
    "reply": Style(color="bright_black", bold=True),
})
KIND_WIDTH = 5
MESSAGE_CAP = 300
"""Characters of a message's repr kept (the pane cuts it again to its width)."""
ACTIVE = Style(color="green", bold=True)
ENDED = Style(color="bright_black")
HINT = Style(color="bright_black", italic=True)



def _short_repr() -> reprlib.Repr:
    """A `reprlib.Repr` that cuts nested containers and long strings (set up here: 3.11 takes no arguments)."""
    short = reprlib.Repr()
    short.maxlevel = 4
    short.maxtuple = short.maxlist = short.maxdict = short.maxset = short.maxfrozenset = 8
    short.maxstring, short.maxother = 80, 120
    return short


def message_repr(message: Any, cap: int = MESSAGE_CAP) -> str:
    """A message as `repr` would show it, nested containers and long strings cut, at most `cap` characters."""
    text = _short_repr().repr(message)  # a __repr__ that raises shows as <Type instance at 0x…> (reprlib)
    return text if len(text) <= cap else text[: cap - 1] + "…"


def trace_line(event: TraceEvent, *, started_at: float) -> Text:
    """``+00:01.250 call  ('get', 'alice')``: when (since the trace began), which way, what."""
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(units.offset(event.at - started_at), TIME)
    text.append(" ")
    text.append(event.kind.ljust(KIND_WIDTH), KIND_STYLES.get(event.kind, Style()))
    text.append(" ")
    text.append(message_repr(event.message))
    return text


def trace_status(target: str, seen: int, limit: int, *, stopped: str | None = None) -> Text:
    """The pane's first line: whom it traces, how many of its next `limit` messages it saw, and how it ended.

    Args:
        target: The traced process, as a person knows it (``store <0.4.0>``).
        seen: Events received so far.
        limit: The trace's safety cap: it stops by itself after this many.
        stopped: Why it ended sooner (``stopped with T``, ``the process exited``), or None.
    """
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"trace {target}: ", Style(bold=True))
    if seen >= limit:
        text.append(f"stopped by itself after {units.plural(limit, 'message')} (its limit)", ENDED)
    elif stopped is not None:
        text.append(f"{stopped} after {units.plural(seen, 'message')}", ENDED)
    else:
        text.append(f"{seen:,} of the next {units.plural(limit, 'message')} in and handled", ACTIVE)
    return text


def trace_hint(*, active: bool) -> Text:
    """What a person can do about the trace; tracing is control, so the app offers it only when it may act."""
    if active:
        return Text("T again stops it · escape closes the pane · tracing is control: off in read-only mode", HINT)
    return Text("escape closes the pane · T traces the selected process again", HINT)
