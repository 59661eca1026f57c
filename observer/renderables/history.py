"""History lines: a run of block characters for recent values, scaled from zero so that a rise shows."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

BLOCKS = " ▁▂▃▄▅▆▇█"
HIGHEST = 6
"""The block a series' maximum is drawn with (of 8)."""


def history_line(values: Sequence[int], width: int, *, style: Style | None = None) -> Text:
    """The last `width` values as block characters on a scale from 0 to their maximum.

    Scaling from zero (not from the minimum) keeps a flat count flat and makes a
    leak show as a steady rise; the maximum reaches three quarters of the cell
    height, so that a flat line reads as a line, not as a bar.

    Args:
        values: Oldest first.
        width: Cells; older values beyond it are dropped, fewer values are right-aligned.
        style: The style of the blocks.
    """
    shown = list(values)[-width:] if width > 0 else []
    top = max(shown, default=0)
    cells = []
    for value in shown:
        level = 0 if top <= 0 else round(value / top * HIGHEST)
        cells.append(BLOCKS[max(1 if value > 0 else 0, level)])
    return Text(" " * (width - len(shown)) + "".join(cells), style=style or Style(color="cyan"), no_wrap=True, end="")
