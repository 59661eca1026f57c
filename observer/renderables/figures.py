"""The header line, the host figures and the process detail as rich text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.style import Style
from rich.table import Table
from rich.text import Text

from observer.journal import MISSING
from observer.snapshot import ProcessDetail, Snapshot

from . import units
from .labels import node_label, status_mark

KEY = Style(color="bright_black")
VALUE = Style(bold=True)
WARN = Style(color="yellow", bold=True)
BAD = Style(color="red", bold=True)


def header_line(snapshot: Snapshot | None, *, refresh_interval: float, paused: bool, read_only: bool,
                title: str = "observer") -> Text:
    """``observer  42 processes  3 restarts  17 monitors  up 00:01:02  every 0.25 s``.

    Args:
        snapshot: The latest snapshot (None before the first one).
        refresh_interval: Seconds between snapshots.
        paused: Whether refreshing is paused.
        read_only: Whether destructive keys are disabled.
        title: What is being observed.
    """
    text = Text(no_wrap=True, end="")
    text.append(f" {title} ", Style(bold=True, reverse=True))
    if snapshot is None:
        text.append("  starting…")
    else:
        for value, what in (
            (snapshot.process_count, "processes"),
            (snapshot.restarts, "restarts"),
            (snapshot.monitor_count, "monitors"),
        ):
            text.append("  ")
            text.append(f"{value:,}", VALUE)
            text.append(f" {what}", KEY)
        text.append("  up ", KEY)
        text.append(units.clock(snapshot.uptime), VALUE)
        if snapshot.root is not None and not snapshot.root_alive:
            text.append("  ")
            text.append(f" root exited ({units.reason(snapshot.root_exit)}): press R to restart ", BAD + Style(
                reverse=True))
    text.append("  every ", KEY)
    text.append(f"{refresh_interval:g} s", VALUE)
    if paused:
        text.append("  ")
        text.append(" PAUSED ", WARN + Style(reverse=True))
    if read_only:
        text.append("  ")
        text.append(" READ-ONLY ", Style(bold=True, reverse=True, color="cyan"))
    return text


def host_figures(snapshot: Snapshot | None) -> Table:
    """CPU, RSS, threads, open fds and event-loop lag as a two-column table."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style=KEY)
    table.add_column(justify="right")
    host = None if snapshot is None else snapshot.host
    if host is None:
        table.add_row("host", "not sampled")
    else:
        table.add_row("cpu", f"{host.cpu_percent:.0f} %")
        table.add_row("rss", units.size(host.rss_bytes))
        table.add_row("threads", str(host.threads))
        table.add_row("open fds", "-" if host.open_fds is None else str(host.open_fds))
    if snapshot is not None:
        lag = snapshot.loop_lag
        table.add_row("loop lag", Text(units.duration(lag), _lag_style(lag)))
    return table


def host_key(snapshot: Snapshot | None) -> Any:
    """What `host_figures` shows of `snapshot`: equal keys draw the same figures."""
    if snapshot is None:
        return None
    return snapshot.host, units.duration(snapshot.loop_lag), _lag_style(snapshot.loop_lag)


def _lag_style(lag: float) -> Style:
    return BAD if lag > 0.1 else WARN if lag > 0.02 else VALUE


def process_detail_key(detail: ProcessDetail | None) -> Any:
    """What `process_detail` shows of `detail`: equal keys draw the same table (uptime as it is shown)."""
    if detail is None:
        return None
    return replace(detail, uptime=None), None if detail.uptime is None else units.clock(detail.uptime)


def process_detail(detail: ProcessDetail | None) -> Table | Text:
    """Everything about the selected process as a two-column table."""
    if detail is None:
        return Text("select a process in the tree", style=KEY)
    node = detail.node
    table = Table.grid(padding=(0, 1))
    table.add_column(style=KEY, no_wrap=True)
    table.add_column()
    title = node_label(node, vanished=detail.vanished)
    table.add_row("process", title)
    kind = node.kind.replace("_", " ")
    if node.strategy is not None:
        kind += f", {node.strategy}"
    table.add_row("kind", kind)
    mark, style = status_mark("running" if detail.alive else node.status)
    if detail.vanished:
        status = Text(f"vanished: exited ({units.reason(detail.last_exit)}), not restarted", BAD)
    elif not detail.alive:
        status = Text(f"{mark} {detail.status}", style)
    else:
        status = Text(f"{mark} {'idle (waiting in receive)' if detail.status == 'waiting' else 'running'}", style)
    table.add_row("status", status)
    table.add_row("uptime", "-" if detail.uptime is None else units.clock(detail.uptime))
    restart = node.restart or "root"
    table.add_row("restarts", f"{node.restarts} ({restart})")
    if not detail.vanished:
        last = "-" if detail.last_exit is MISSING else units.reason(detail.last_exit)
        table.add_row("last exit", Text(last, BAD if detail.last_exit not in (MISSING, "shutdown", "normal") else ""))
    table.add_row("parent", detail.parent_label or "-")
    links = ", ".join(label for _, label in detail.links)
    if detail.link_count > len(detail.links):
        links += f", … {detail.link_count - len(detail.links):,} more"
    table.add_row("links", f"{detail.link_count}: {links}" if detail.link_count else "0")
    table.add_row("monitors", str(detail.monitors))
    table.add_row("monitored by", str(detail.monitored_by))
    table.add_row("mailbox", Text(f"{detail.mailbox_size:,}", WARN if detail.mailbox_size > 100 else ""))
    table.add_row("trap exits", "yes" if detail.trap_exits else "no")
    return table
