"""LinePanel: a widget that draws one Rich renderable and repaints only the cells that changed since the last.

A `Static` repaints its whole region on every update, and lays the screen out again unless told
not to: a panel whose only change is its uptime's last digit would write all of its lines to the
terminal every second, and measure them first. A `LinePanel` renders its renderable to lines once
per `draw`, compares them with the lines on the screen, and marks dirty only the span of each line
that differs (the screen is laid out again only when the number of lines changed): an idle app
writes a few bytes a second, and nothing at all when nothing it shows changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import RenderableType
from rich.segment import Segment
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


class LinePanel(Widget):
    """One renderable (`draw` it), rendered to lines by the panel itself (the Line API) and repainted by span.

    Subclasses draw their renderable with `draw`; `content` is the one drawn last. The lines are
    rendered again when the width or the styles change (everything is then repainted, as Textual
    does on a resize).
    """

    DEFAULT_CSS = """
    LinePanel {
        height: auto;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create an empty panel."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._renderable: RenderableType = ""
        self._lines: list[Strip] | None = None  # the renderable's lines at `_width` (None: to be rendered)
        self._width = 0

    @property
    def content(self) -> RenderableType:
        """The renderable drawn last."""
        return self._renderable

    @property
    def lines(self) -> list[Strip]:
        """The renderable's lines as the panel shows them, at its content width."""
        width = self.size.width
        return list(self._lines if self._lines is not None and self._width == width else self._render(width))

    def draw(self, renderable: RenderableType) -> None:
        """Show `renderable`: repaint the spans of the lines that differ from those shown, and only those.

        Args:
            renderable: What to show (a Rich renderable, rendered at the panel's content width).
        """
        self._renderable = renderable
        width = self.size.width
        shown = self._lines if self._width == width else None
        if not self.is_mounted or width <= 0 or shown is None:
            self._lines = None
            self.refresh(layout=self._sized_by_content)
            return
        lines = self._render(width)
        if len(lines) != len(shown):
            self.refresh(layout=self._sized_by_content)
            return
        regions = changed_regions(shown, lines)
        if regions:
            self.refresh(*regions)

    # -- the Line API ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Line `y` of the renderable (blank below it)."""
        width = self.size.width
        lines = self._lines if self._lines is not None and self._width == width else self._render(width)
        return lines[y] if 0 <= y < len(lines) else Strip.blank(width, self.rich_style)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """As many lines as the renderable has at `width`."""
        return len(self._lines if self._lines is not None and self._width == width else self._render(width))

    def notify_style_update(self) -> None:
        """The styles changed (a theme, a class): the lines are rendered again with them."""
        super().notify_style_update()
        self._lines = None

    @property
    def _sized_by_content(self) -> bool:
        """Whether the panel's height follows its lines (then a change in their number lays the screen out)."""
        height = self.styles.height
        return height is None or height.is_auto

    def _render(self, width: int) -> list[Strip]:
        if width <= 0:
            return []
        console = self.app.console
        base = self.rich_style
        rendered = console.render_lines(self._renderable, console.options.update(width=width, height=None),
                                        style=base, pad=True)
        self._lines = [Strip(line, width) for line in rendered]
        self._width = width
        return self._lines


def changed_regions(shown: Sequence[Strip], lines: Sequence[Strip]) -> list[Region]:
    """The span of each line of `lines` that differs from the same line of `shown` (as many lines in both).

    Returns:
        One region per line that differs, from its first to its last differing cell, in content coordinates.
    """
    regions = []
    for y, (old, new) in enumerate(zip(shown, lines, strict=True)):
        span = changed_span(list(old), list(new))
        if span is not None:
            regions.append(Region(span[0], y, span[1], 1))
    return regions


def changed_span(old: Sequence[Segment], new: Sequence[Segment]) -> tuple[int, int] | None:
    """``(x, width)`` of the cells from the first to the last that differ between two lines of segments.

    Returns:
        None when the lines are the same; to the end of the longer when their cell lengths differ.
    """
    if old == new:
        return None
    length = max(_length(old), _length(new))
    left = _common_cells(old, new, reverse=False)
    if _length(old) != _length(new):
        return left, length - left
    right = min(_common_cells(old[::-1], new[::-1], reverse=True), length - left - 1)
    return left, max(1, length - left - right)


def _length(segments: Sequence[Segment]) -> int:
    return sum(segment.cell_length for segment in segments if not segment.control)


def _common_cells(old: Sequence[Segment], new: Sequence[Segment], *, reverse: bool) -> int:
    """Cells the two lines have in common from their start (from their end, the segments given reversed)."""
    cells = 0
    for a, b in zip(old, new, strict=False):
        if a == b:
            cells += a.cell_length
            continue
        if a.style == b.style and not a.control and not b.control:
            text_a, text_b = (a.text[::-1], b.text[::-1]) if reverse else (a.text, b.text)
            same = 0
            for char_a, char_b in zip(text_a, text_b, strict=False):
                if char_a != char_b:
                    break
                same += 1
            cells += cell_len(text_a[:same])
        break
    return cells
