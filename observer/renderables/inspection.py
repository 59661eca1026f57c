"""A process looked at from outside: its state text and its stack, cut to fit a panel."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

from . import units

FRAME = Style(color="bright_black")
INNERMOST = Style(bold=True)
MORE = Style(color="bright_black", italic=True)
STATE_LINES = 12
"""Lines of a server's state shown in the panel (the runtime caps the text at 2,000 characters)."""
STACK_FRAMES = 12
"""Frames shown, the innermost ones (the runtime keeps at most its own cap)."""


def frame_text(frame: str, width: int) -> str:
    """One ``file:line in function`` frame in `width` cells, the file's path shortened from the left.

    The line and the function are what a person reads first, so they are kept whole as long as
    they fit; the path gives way (``…/runtime/server.py:120 in Server._loop``).
    """
    if len(frame) <= width:
        return frame
    path, sep, where = frame.rpartition(":")
    if not sep:
        return units.shorten_left(frame, width)
    tail = sep + where
    if len(tail) + 8 > width:  # not even a few cells of the path fit: cut the whole frame
        return units.shorten_left(frame, width)
    return units.shorten_left(path, width - len(tail)) + tail


def stack_lines(stack: Sequence[str], width: int, *, frames: int = STACK_FRAMES) -> list[Text]:
    """A stack as lines, outermost first and the innermost last (as Python prints tracebacks).

    Args:
        stack: Frames, outermost first.
        width: Cells per line.
        frames: How many of the innermost frames to show; a first line says how many outer ones were left out.
    """
    if not stack:
        return [Text("-", FRAME)]
    shown = list(stack[-frames:]) if frames > 0 else []
    lines: list[Text] = []
    left_out = len(stack) - len(shown)
    if left_out:
        lines.append(Text(f"… {units.plural(left_out, 'outer frame')}", MORE))
    for index, frame in enumerate(shown):
        innermost = index == len(shown) - 1
        lines.append(Text(frame_text(frame, width), INNERMOST if innermost else FRAME, no_wrap=True, end=""))
    return lines


def state_lines(state: str | None, width: int, *, lines: int = STATE_LINES) -> list[Text]:
    """A server's state text (`format_status`, already redacted and capped) in at most `lines` lines.

    Long lines are cut with ``…`` rather than wrapped, so that the panel's height does not depend on
    the width; the last line says how many lines were left out.
    """
    if state is None:
        return [Text("- (not a server)", FRAME)]
    rows = state.splitlines() or [""]
    shown = rows[:lines]
    out = [Text(row if len(row) <= width else row[: max(0, width - 1)] + "…", no_wrap=True, end="") for row in shown]
    if len(rows) > len(shown):
        out.append(Text(f"… {units.plural(len(rows) - len(shown), 'more line')}", MORE))
    return out
