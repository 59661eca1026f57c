"""Helpers of the app tests: a deterministic app, condition-based waits, and reading the tree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets.tree import TreeNode

from observer.app import ObserverApp
from observer.snapshot import HostStats, Snapshot
from observer.targets import Factory
from observer.widgets.supervision_tree import NodeData, SupervisionTree

from .trees import demo_tree

FIXED_HOST = HostStats(cpu_percent=12.0, rss_bytes=48 * 1024 * 1024, threads=3, open_fds=17)
GUARD = 5.0
"""Seconds a test waits for a runtime event that must come; only a bug makes a wait this long."""
ROUNDS = 400
"""How many rounds a wait gives the runtime; only a bug needs this many."""


def fixed_clock() -> float:
    """A clock that never moves: uptime, durations, windows and lag are the same every run."""
    return 1000.0


def make_app(factory: Factory = demo_tree, **options: Any) -> ObserverApp:
    """An app without a timer (ticks are taken by `until`) and with fixed host figures."""
    options.setdefault("ticking", False)
    options.setdefault("host_stats", lambda: FIXED_HOST)
    return ObserverApp(factory=factory, **options)


async def until(app: ObserverApp, pilot: Pilot[Any], condition: Callable[[Snapshot], bool]) -> Snapshot:
    """Let the app and its runtime run, taking a snapshot each round, until `condition` holds for one."""
    for _ in range(ROUNDS):
        await pilot.pause()
        snapshot = app.tick()
        if snapshot is not None and condition(snapshot):
            await pilot.pause()
            return snapshot
    raise AssertionError("the condition never held")


async def started(app: ObserverApp, pilot: Pilot[Any]) -> Snapshot:
    """Wait until the tree has started and is shown."""
    return await until(app, pilot, lambda snapshot: snapshot.root is not None and snapshot.root_alive)


def tree_of(app: ObserverApp) -> SupervisionTree:
    """The app's supervision tree widget."""
    return app.query_one(SupervisionTree)


def lines(app: ObserverApp) -> list[str]:
    """The tree as it is drawn: one `"  " * depth + plain label` per visible line."""
    tree = tree_of(app)
    found: list[str] = []

    def visit(node: TreeNode[NodeData], depth: int) -> None:
        label = node.label
        found.append("  " * depth + (label if isinstance(label, str) else label.plain))
        if node.is_expanded:
            for child in node.children:
                visit(child, depth + 1)

    visit(tree.root, 0)
    return found


def node_named(app: ObserverApp, label: str) -> TreeNode[NodeData]:
    """The tree node whose process has this label."""
    tree = tree_of(app)
    stack = [tree.root]
    while stack:
        node = stack.pop()
        if node.data is not None and node.data.node.label == label:
            return node
        stack.extend(node.children)
    raise AssertionError(f"no node labelled {label!r} in {lines(app)}")


async def select(app: ObserverApp, pilot: Pilot[Any], label: str) -> TreeNode[NodeData]:
    """Put the cursor on the node labelled `label`."""
    node = node_named(app, label)
    tree = tree_of(app)
    await pilot.pause()
    tree.move_cursor(node)
    await pilot.pause()
    assert tree.cursor_node is node
    return node
