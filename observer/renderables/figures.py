"""The header line, the host figures and the process detail (with state, stack and counters) as rich text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.style import Style
from rich.table import Table
from rich.text import Text

from observer.journal import MISSING
from observer.runtime import Inspection
from observer.snapshot import ProcessDetail, Snapshot

from . import units
from .inspection import stack_lines, state_lines
from .labels import kind_label, node_label, status_mark, strategy_label
from .process_table import ProcessRow

KEY = Style(color="bright_black")
VALUE = Style(bold=True)
WARN = Style(color="yellow", bold=True)
BAD = Style(color="red", bold=True)
KEY_WIDTH = 12
"""Cells of the detail panel's key column (``monitored by``)."""
DETAIL_WIDTH = 60
"""Cells of the detail panel's content assumed before it has a size."""


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
        for value, word, many in (
            (snapshot.process_count, "process", "processes"),
            (snapshot.restarts, "restart", "restarts"),
            (snapshot.monitor_count, "monitor", "monitors"),
        ):
            text.append("  ")
            text.append(f"{value:,}", VALUE)
            text.append(f" {word if value == 1 else many}", KEY)
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


def process_detail_key(detail: ProcessDetail | None, inspection: Inspection | None = None,
                       row: ProcessRow | None = None, *, width: int = DETAIL_WIDTH) -> Any:
    """What `process_detail` shows of its arguments: equal keys draw the same table (uptime and rates as shown)."""
    if detail is None:
        return None
    rates = None if row is None else (units.rate(row.messages_per_s), units.rate(row.reductions_per_s))
    return (replace(detail, uptime=None), None if detail.uptime is None else units.clock(detail.uptime),
            inspection, rates, width)


def process_detail(detail: ProcessDetail | None, inspection: Inspection | None = None, row: ProcessRow | None = None,
                   *, width: int = DETAIL_WIDTH) -> Table | Text:
    """Everything about the selected process as a two-column table.

    Args:
        detail: The process as the tree knows it (None: nothing selected).
        inspection: What `Runtime.inspect` saw of it: counters, state, stack and what it awaits (None: not
            looked at, or not alive).
        row: Its line of the process list, for the message and reduction rates (None: unknown).
        width: Cells of the panel's content (state and stack lines are cut to fit it).
    """
    if detail is None:
        return Text("select a process in the tree", style=KEY)
    node = detail.node
    table = Table.grid(padding=(0, 1))
    table.add_column(style=KEY, no_wrap=True, width=KEY_WIDTH)
    table.add_column()
    title = node_label(node, vanished=detail.vanished)
    table.add_row("process", title)
    kind = kind_label(node)
    strategy = strategy_label(node.kind, node.strategy)
    if strategy is not None and node.kind != "dynamic_supervisor":
        kind += f", {strategy}"
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
    if inspection is not None and detail.alive:
        _inspection_rows(table, inspection, row, max(16, width - KEY_WIDTH - 1))
    return table


def _inspection_rows(table: Table, inspection: Inspection, row: ProcessRow | None, width: int) -> None:
    """Counters with their rates, what it awaits, its state and its stack, innermost frame last."""
    info = inspection.info
    for what, total, per_second in (
        ("messages in", info.messages_in, None if row is None else row.messages_per_s),
        ("reductions", info.reductions, None if row is None else row.reductions_per_s),
    ):
        figure = Text(f"{total:,}")
        if per_second is not None:
            figure.append(f"  {units.rate(per_second)}/s", KEY)
        table.add_row(what, figure)
    table.add_row("awaiting", inspection.awaiting or Text("- (running)", KEY))
    for key, lines in (("state", state_lines(inspection.state, width)),
                       ("stack", stack_lines(inspection.stack, width))):
        for index, line in enumerate(lines):
            table.add_row(key if index == 0 else "", line)
