"""`observer tree TARGET [--json]`: print the supervision tree of a running service once, like `pstree`."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from observer.remote import Blocked, RemoteError, Unreachable, connect
from observer.snapshot import NodeSnapshot, Snapshot

from .parsing import OneLineParser, add_token_options, resolve_token, seconds

PROG = "observer tree"
MAX_OPENING_ROUNDS = 64
"""Snapshots taken at most to open folded supervisors level by level."""


def main(argv: list[str]) -> int:
    """Run `observer tree` with `argv` (the arguments after `tree`).

    Returns:
        0 after printing the tree; 1 when the service cannot be reached or answered with an error.

    Raises:
        SystemExit: With status 0 after ``--help``, 2 after a usage error.
    """
    parser = OneLineParser(
        prog=PROG,
        description="Print the supervision tree of a running service once. TARGET is its OS pid, its "
        "socket path, or HOST:PORT (TCP, with --token-file or $OBSERVER_TOKEN).",
    )
    parser.add_argument("target", metavar="TARGET", help="an OS pid, a socket path, or HOST:PORT")
    parser.add_argument("--json", action="store_true",
                        help='print nested JSON: {"id", "pid", "kind", "status", "restarts", "children", ...}')
    add_token_options(parser)
    parser.add_argument("--timeout", metavar="SECONDS", type=seconds, default=5.0,
                        help="how long to wait for the service (default 5)")
    args = parser.parse_args(argv)
    token = resolve_token(parser, args)
    try:
        snapshot = asyncio.run(_fetch(args.target, token, args.timeout))
    except (Unreachable, Blocked, RemoteError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(None if snapshot.root is None else as_json(snapshot.root), indent=2, ensure_ascii=False))
    elif snapshot.root is None:
        print(f"{PROG}: the service has no supervision tree yet", file=sys.stderr)
    else:
        print("\n".join(as_lines(snapshot.root)))
        if not snapshot.root_alive:
            print(f"(the root exited: {snapshot.root_exit or 'reason unknown'})")
    return 0


async def _fetch(target: str, token: str | None, timeout: float) -> Snapshot:
    """The whole tree: supervisors folded in a snapshot are opened, level by level."""
    async with connect(target, token=token, timeout=timeout) as conn:
        snapshot = await conn.snapshot()
        opened: frozenset[tuple[str, ...]] = frozenset()
        for _ in range(MAX_OPENING_ROUNDS):
            folded = frozenset(_folded(snapshot.root, ())) - opened
            if not folded:
                break
            opened |= folded
            snapshot = await conn.snapshot(opened=opened)
        return snapshot


def _folded(node: NodeSnapshot | None, above: tuple[str, ...]) -> list[tuple[str, ...]]:
    if node is None:
        return []
    path = (*above, node.slot)
    found = [path] if node.folded else []
    for child in node.children:
        found.extend(_folded(child, path))
    return found


def describe(node: NodeSnapshot) -> str:
    """One node as a line: ``pool <0.4.0> supervisor one_for_one`` and what is unusual about it."""
    parts = [node.label, repr(node.pid) if node.pid is not None else "-", node.kind]
    if node.strategy is not None:
        parts.append(node.strategy)
    if node.name is not None and node.name != node.label:
        parts.append(f"[{node.name}]")
    if node.restart not in (None, "permanent"):
        parts.append(f"({node.restart})")
    if node.status != "running":
        parts.append(node.status)
    if node.restarts:
        parts.append(f"restarts {node.restarts}")
    return " ".join(parts)


def as_lines(node: NodeSnapshot, prefix: str = "", last: bool = True, root: bool = True) -> list[str]:
    """The tree as `pstree`-like lines."""
    lines = [describe(node) if root else f"{prefix}{'└── ' if last else '├── '}{describe(node)}"]
    below = prefix if root else prefix + ("    " if last else "│   ")
    for index, child in enumerate(node.children):
        lines.extend(as_lines(child, below, index == len(node.children) - 1, root=False))
    return lines


def as_json(node: NodeSnapshot) -> dict[str, Any]:
    """The tree as nested objects."""
    return {
        "id": node.label, "pid": None if node.pid is None else repr(node.pid), "kind": node.kind,
        "status": node.status, "restarts": node.restarts, "name": node.name, "strategy": node.strategy,
        "restart": node.restart, "children": [as_json(child) for child in node.children],
    }
