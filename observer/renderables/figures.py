"""The header line, the host figures and the process detail (with state, stack and counters) as rich text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.style import Style
from rich.text import Text

from observer.journal import MISSING
from observer.runtime import Inspection
from observer.snapshot import ProcessDetail, Snapshot

from . import units
from .inspection import stack_lines, state_lines
from .labels import kind_label, node_label, status_mark, strategy_label
from .process_table import ProcessRow
from .rows import KeyValueRows

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


def host_figures(snapshot: Snapshot | None) -> KeyValueRows:
    """CPU, RSS, threads, open fds and event-loop lag in two columns, the figures flush right."""
    rows: list[tuple[str, Text | str]] = []
    host = None if snapshot is None else snapshot.host
    if host is None:
        rows.append(("host", "not sampled"))
    else:
        rows.append(("cpu", f"{host.cpu_percent:.0f} %"))
        rows.append(("rss", units.size(host.rss_bytes)))
        rows.append(("threads", str(host.threads)))
        rows.append(("open fds", "-" if host.open_fds is None else str(host.open_fds)))
    if snapshot is not None:
        lag = snapshot.loop_lag
        rows.append(("loop lag", Text(units.duration(lag), _lag_style(lag))))
    return KeyValueRows.of(rows, key_style=KEY, justify="right")


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
                   *, width: int = DETAIL_WIDTH) -> KeyValueRows | Text:
    """Everything about the selected process in two columns (a key, and its value wrapped under itself).

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
    rows: list[tuple[str, Text | str]] = [("process", node_label(node, vanished=detail.vanished))]
    kind = kind_label(node)
    strategy = strategy_label(node.kind, node.strategy)
    if strategy is not None and node.kind != "dynamic_supervisor":
        kind += f", {strategy}"
    rows.append(("kind", kind))
    mark, style = status_mark("running" if detail.alive else node.status)
    if detail.vanished:
        status = Text(f"vanished: exited ({units.reason(detail.last_exit)}), not restarted", BAD)
    elif not detail.alive:
        status = Text(f"{mark} {detail.status}", style)
    else:
        status = Text(f"{mark} {'idle (waiting in receive)' if detail.status == 'waiting' else 'running'}", style)
    rows.append(("status", status))
    rows.append(("uptime", "-" if detail.uptime is None else units.clock(detail.uptime)))
    rows.append(("restarts", f"{node.restarts} ({node.restart or 'root'})"))
    if not detail.vanished:
        last = "-" if detail.last_exit is MISSING else units.reason(detail.last_exit)
        rows.append(("last exit", Text(last, BAD if detail.last_exit not in (MISSING, "shutdown", "normal") else "")))
    rows.append(("parent", detail.parent_label or "-"))
    links = ", ".join(label for _, label in detail.links)
    if detail.link_count > len(detail.links):
        links += f", … {detail.link_count - len(detail.links):,} more"
    rows.append(("links", f"{detail.link_count}: {links}" if detail.link_count else "0"))
    rows.append(("monitors", str(detail.monitors)))
    rows.append(("monitored by", str(detail.monitored_by)))
    rows.append(("mailbox", Text(f"{detail.mailbox_size:,}", WARN if detail.mailbox_size > 100 else "")))
    rows.append(("trap exits", "yes" if detail.trap_exits else "no"))
    if inspection is not None and detail.alive:
        rows.extend(_inspection_rows(inspection, row, max(16, width - KEY_WIDTH - 1)))
    return KeyValueRows.of(rows, key_width=KEY_WIDTH, key_style=KEY)


def _inspection_rows(inspection: Inspection, row: ProcessRow | None, width: int) -> list[tuple[str, Text | str]]:
    """Counters with their rates, what it awaits, its state and its stack, innermost frame last."""
    info = inspection.info
    rows: list[tuple[str, Text | str]] = []
    for what, total, per_second in (
        ("messages in", info.messages_in, None if row is None else row.messages_per_s),
        ("reductions", info.reductions, None if row is None else row.reductions_per_s),
    ):
        figure = Text(f"{total:,}")
        if per_second is not None:
            figure.append(f"  {units.rate(per_second)}/s", KEY)
        rows.append((what, figure))
    rows.append(("awaiting", inspection.awaiting or Text("- (running)", KEY)))
    for key, lines in (("state", state_lines(inspection.state, width)),
                       ("stack", stack_lines(inspection.stack, width))):
        rows.extend((key if index == 0 else "", line) for index, line in enumerate(lines))
    return rows
