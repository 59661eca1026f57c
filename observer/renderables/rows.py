"""KeyValueRows: a key column of a fixed width and values that wrap under themselves, as lines of segments.

What ``Table.grid(padding=(0, 1))`` with a fixed-width key column draws, without measuring every
cell of every column first: the process panel is drawn every second (its uptime), and a table
of twenty rows costs milliseconds where these lines cost a tenth of that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text


@dataclass(frozen=True, slots=True)
class KeyValueRows:
    """Rows of ``key value``: keys cut to `key_width` cells in `key_style`, one space, then the value wrapped to the
    rest of the width (its own `no_wrap` and `overflow` hold), its further lines under its first.

    Attributes:
        rows: (key, value) in order; an empty key continues the row above it.
        key_width: Cells of the key column.
        key_style: The keys' style.
        justify: "right" puts the values flush right in a column as wide as the widest of them (figures).
    """

    rows: tuple[tuple[str, Text], ...]
    key_width: int
    key_style: Style
    justify: Literal["left", "right"] = "left"

    @classmethod
    def of(cls, rows: Sequence[tuple[str, Text | str]], *, key_width: int | None = None, key_style: Style,
           justify: Literal["left", "right"] = "left") -> KeyValueRows:
        """Rows from (key, value) pairs; a str value is plain text (never markup).

        Args:
            rows: (key, value) in order.
            key_width: Cells of the key column (None: as wide as the widest key).
            key_style: The keys' style.
            justify: How the values sit in their column.
        """
        values = tuple((key, value if isinstance(value, Text) else Text(value)) for key, value in rows)
        width = max((len(key) for key, _ in values), default=0) if key_width is None else key_width
        return cls(values, width, key_style, justify)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        value_width = max(1, options.max_width - self.key_width - 1)
        if self.justify == "right":
            value_width = min(value_width, max((value.cell_len for _, value in self.rows), default=1))
        blank = " " * self.key_width
        gap = Segment(" ", self.key_style)
        new_line = Segment.line()
        for key, value in self.rows:
            head = Segment(key[: self.key_width].ljust(self.key_width), self.key_style)
            # A table's column cuts a line that may not wrap with …, unless the text says otherwise.
            lines = value.wrap(console, value_width, justify=self.justify if self.justify == "right" else None,
                               overflow=value.overflow or "ellipsis")
            for index, line in enumerate(lines):
                yield head if index == 0 else Segment(blank, self.key_style)
                yield gap
                if line.style:  # `Text.render` leaves a text's own style out (printing it makes it a span)
                    line.stylize_before(line.style)
                yield from line.render(console)
                yield new_line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((Measurement.get(console, options, value).maximum for _, value in self.rows), default=0)
        return Measurement(self.key_width + 2, min(options.max_width, self.key_width + 1 + widest))
