"""`observer ps [--json]`: the runtimes on this machine that this user may attach to."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from observer.remote import Unreachable, connect
from observer.remote.discovery import Found, endpoints, socket_dir

from .parsing import OneLineParser

PROG = "observer ps"
HELLO_TIMEOUT = 2.0
"""Seconds each endpoint has to answer (a blocked service still answers at once)."""
PROGRAM_WIDTH = 48


def main(argv: list[str]) -> int:
    """Run `observer ps` with `argv` (the arguments after `ps`).

    Returns:
        0 (also when there is nothing to list); 1 when the socket directory cannot be trusted.

    Raises:
        SystemExit: With status 0 after ``--help``, 2 after a usage error.
    """
    parser = OneLineParser(
        prog=PROG,
        description="List the runtimes on this machine that you may attach to (stale sockets of dead "
        f"processes are removed). They listen in {socket_dir()}.",
    )
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list of objects (os_pid, path, argv, processes, control, ...)")
    args = parser.parse_args(argv)
    try:
        found = endpoints()
    except Unreachable as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    rows = asyncio.run(_hellos(found))
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(_table(rows))
    else:
        print(f"{PROG}: no runtimes to attach to (none listens in {socket_dir()})", file=sys.stderr)
    return 0


async def _hellos(found: list[Found]) -> list[dict[str, Any]]:
    rows = []
    for endpoint in found:
        row: dict[str, Any] = {"os_pid": endpoint.os_pid, "path": str(endpoint.path)}
        try:
            async with connect(endpoint.path, timeout=HELLO_TIMEOUT) as conn:
                info = conn.info
        except Unreachable as error:
            row.update(argv=[], processes=None, control=None, error=str(error))
        else:
            row.update(
                argv=info["argv"], program=program(info["argv"]), processes=info["processes"],
                control=info["control"], uptime=info.get("uptime"), loop_blocked=info["loop_blocked"],
                python=info["python"], tcp=info.get("tcp"),
            )
        rows.append(row)
    return rows


def program(argv: list[str]) -> str:
    """A service's command line in short: ``observer run --app shop:tree``, ``server.py --port 8080``."""
    if not argv:
        return "?"
    first = Path(argv[0])
    name = first.parent.name if first.name == "__main__.py" else first.name  # `python -m package`
    return " ".join([name, *argv[1:]])


def duration(seconds: float | None) -> str:
    """``42s``, ``3m12s``, ``2h05m``, ``3d04h``."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86_400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86_400}d{whole % 86_400 // 3600:02d}h"


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [("OS PID", "PROGRAM", "UPTIME", "PROCESSES", "CONTROL", "LOOP")]
    for row in rows:
        if "error" in row:
            lines.append((str(row["os_pid"]), _cut(f"unreachable: {row['error']}"), "-", "-", "-", "-"))
            continue
        blocked = row["loop_blocked"]
        lines.append((
            str(row["os_pid"]), _cut(row["program"]), duration(row["uptime"]), str(row["processes"]),
            "control" if row["control"] else "read-only", f"blocked {blocked:.1f} s" if blocked else "ok",
        ))
    widths = [max(len(line[column]) for line in lines) for column in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def _cut(text: str) -> str:
    return text if len(text) <= PROGRAM_WIDTH else text[: PROGRAM_WIDTH - 1] + "…"
