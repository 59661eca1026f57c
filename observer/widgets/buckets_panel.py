"""BucketsPanel: the rate limiter's windows as bars on a fixed scale."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import var
from textual.widgets import Static

from observer.renderables.bars import bucket_bar, limiter_heading
from observer.snapshot import BucketView, Snapshot


class BucketsPanel(Static):
    """Count out of limit, allowed and denied, and time left, for the fullest windows.

    The app sets `snapshot` every tick. Each limiter's heading gives its window's length when
    the snapshot's buckets carry it (`BucketView.window_ms`, milliseconds), else says "per window".
    """

    DEFAULT_CSS = """
    BucketsPanel {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
        height: auto;
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True)
    """The latest snapshot."""

    _shown: list[Text] | None = None  # the lines last drawn: equal ones are not drawn again

    def on_mount(self) -> None:
        self.border_title = "Rate limiter"

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        if not snapshot.buckets:
            self._show([Text("no rate limiter windows (none registered as rate_limiter, or no checks yet)",
                             style="bright_black")])
            return
        width = max(40, self.size.width - 4)
        lines: list[Text] = []
        for limiter_id in dict.fromkeys(bucket.limiter_id for bucket in snapshot.buckets):
            buckets = [bucket for bucket in snapshot.buckets if bucket.limiter_id == limiter_id]
            lines.append(limiter_heading(limiter_id, buckets[0].limit, _window_seconds(buckets[0])))
            lines.extend(bucket_bar(bucket, width=width) for bucket in buckets)
        more = snapshot.bucket_total - len(snapshot.buckets)
        if more > 0:
            lines.append(Text(f"… {more:,} more windows", style="bright_black"))
        self._show(lines)

    def _show(self, lines: list[Text]) -> None:
        if lines == self._shown:
            return
        self._shown = lines
        self.update(lines[0] if len(lines) == 1 else Group(*lines))


def _window_seconds(bucket: BucketView) -> float | None:
    """The window's length in seconds, from `BucketView.window_ms` where the snapshot fills it in."""
    window_ms = getattr(bucket, "window_ms", None)  # a field snapshots gain with issue 12; older ones lack it
    return None if window_ms is None else window_ms / 1000
