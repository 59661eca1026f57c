"""SupervisionTree: the live supervision tree, updated in place by diffing snapshots."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import var
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from observer.renderables.labels import PID, node_label
from observer.runtime import Pid
from observer.snapshot import GROUP_KIND, NodeSnapshot, Snapshot

FLASH_SECONDS = 1.5
"""How long a restarted node stays highlighted, on the runtime clock."""
GROUP = Style(color="cyan", bold=True)
SUSPENDED = Style(color="yellow", bold=True)
REMEMBERED = 4_096
"""Removed nodes whose pids the tree keeps by path at most (to flash a child whose supervisor restarted)."""


@dataclass(slots=True)
class NodeData:
    """What a tree node carries: its process as of the latest snapshot, and how it is drawn.

    Attributes:
        path: Slots from the root down to this node (its identity across snapshots).
        node: The process as of the latest snapshot that listed it.
        width: Cells of its label (kept so that measuring a line is free).
        flash_until: Until when (runtime clock) it is highlighted as just restarted.
        vanished: It left the tree while the cursor was on it (or below it).
    """

    path: tuple[str, ...]
    node: NodeSnapshot
    width: int = 0
    flash_until: float = 0.0
    vanished: bool = False


class SupervisionTree(Tree[NodeData]):
    """The supervision tree of the latest snapshot.

    Each snapshot is applied as one batch of in-place changes: nodes are added,
    removed and relabelled, never cleared and rebuilt, so the cursor stays on
    its process. Subtrees whose snapshot is the same object as last time are
    skipped. Supervisors with too many children arrive folded (only a count);
    opening one asks for its children (`Opened`), closing it folds it again.
    Processes in the snapshot's `affected` (touched by a drill running live)
    are drawn highlighted.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "toggle_node", "Open/close"),
        Binding("right", "open_node", "Open", show=False),
        Binding("left", "close_node", "Close", show=False),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | enter, space | Open or close the supervisor under the cursor. |
    | right | Open it (on an open one: go to its first child). |
    | left | Close it (on a closed one, or a worker: go up to its supervisor). |
    """

    DEFAULT_CSS = """
    SupervisionTree {
        scrollbar-size-vertical: 1;
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True)
    """The latest snapshot; setting it updates the tree."""
    filter_text: var[str] = var("")
    """Show only processes whose id, name or pid contains this (and their supervisors)."""

    class Opened(Message):
        """A folded supervisor was opened or an opened one closed: the next snapshot must list it differently."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create an empty tree (its root appears with the first snapshot)."""
        super().__init__(Text("starting…"), None, name=name, id=id, classes=classes, disabled=disabled)
        self.guide_depth = 3
        self.auto_expand = False
        self._opened: frozenset[tuple[str, ...]] = frozenset()
        self._flashing: set[TreeNode[NodeData]] = set()
        self._shown: set[int] | None = None  # ids of the snapshot nodes the filter lets through
        self._now = 0.0
        self._affected: frozenset[Pid] = frozenset()  # the pids drawn as touched by a drill
        self._suspended: frozenset[Pid] = frozenset()  # the pids drawn as suspended by the app
        self._gone: dict[tuple[str, ...], Pid] = {}  # paths of removed nodes and their pids (see `_remove`)

    # -- public ---------------------------------------------------------------------------

    @property
    def opened(self) -> frozenset[tuple[str, ...]]:
        """Paths of the big supervisors opened by the user (their children are to be listed)."""
        return self._opened

    @property
    def selected(self) -> NodeData | None:
        """The data of the node under the cursor, if any."""
        node = self.cursor_node
        return None if node is None else node.data

    @property
    def selected_parent(self) -> NodeSnapshot | None:
        """The supervisor of the node under the cursor, as of the latest snapshot."""
        node = self.cursor_node
        parent = None if node is None else node.parent
        return None if parent is None or parent.data is None else parent.data.node

    def mark_suspended(self, pids: frozenset[Pid]) -> None:
        """Draw these processes as suspended (the app suspended them), and no others."""
        changed = pids ^ self._suspended
        self._suspended = pids
        if changed:
            self._relabel_pids(changed)

    def move_to_pid(self, pid: Pid) -> bool:
        """Put the cursor on the node of `pid` (opening its supervisors); return whether the tree shows it."""
        for node in self._tree_nodes.values():
            data = node.data
            if data is not None and data.node.pid is pid:
                parent = node.parent
                while parent is not None:
                    parent.expand()
                    parent = parent.parent
                self.move_cursor(node)
                return True
        return False

    def show_starting(self, failed: str | None = None) -> None:
        """While no tree is shown yet: say that it is starting, or, with `failed`, why it did not start."""
        if self.root.data is not None:
            return
        if failed is None:
            self.root.set_label(Text("starting…"))
        else:
            self.root.set_label(Text(f"did not start: {failed} (R tries again)", style="bold red"))

    def apply(self, snapshot: Snapshot, *, force: bool = False) -> None:
        """Bring the tree in line with `snapshot` in one batch of in-place changes.

        Args:
            snapshot: The snapshot to show.
            force: Visit every node even where the snapshot is unchanged (the filter changed).
        """
        self._now = snapshot.taken_at
        root = snapshot.root
        self._expire_flashes()
        newly_affected = snapshot.affected ^ self._affected
        self._affected = snapshot.affected
        if root is None:
            return
        text = self.filter_text.strip().lower()
        self._shown = _matching(root, text) if text else None
        data = self.root.data
        if data is None or data.path != (root.slot,):
            self.root.data = NodeData((root.slot,), root)
            self._relabel(self.root)
            self.root.allow_expand = _expandable(root)
            if not self.root.is_expanded:
                self.root.expand()
            self._sync_children(self.root, root, force=True)
            if self.cursor_line < 0:
                self.cursor_line = 0
            return
        self._sync(self.root, root, force)
        if newly_affected:
            self._relabel_pids(newly_affected)

    def get_label_width(self, node: TreeNode[NodeData]) -> int:
        """The cells of a node's label, from the width kept when it was labelled (no rendering)."""
        data = node.data
        if data is not None and data.width:
            width = data.width
        else:
            label = node.label
            width = label.cell_len if isinstance(label, Text) else len(label)
        return width + (2 if node.allow_expand else 0)

    # -- watchers and handlers --------------------------------------------------------------

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is not None:
            self.apply(snapshot)

    def watch_filter_text(self) -> None:
        if self.snapshot is not None:
            self.apply(self.snapshot, force=True)

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        data = event.node.data
        if data is not None and data.node.folded and data.path not in self._opened:
            self._opened = self._opened | {data.path}
            self.post_message(self.Opened())

    def _on_tree_node_collapsed(self, event: Tree.NodeCollapsed[NodeData]) -> None:
        data = event.node.data
        if data is not None and data.path in self._opened:
            self._opened = self._opened - {data.path}
            self.post_message(self.Opened())

    def _on_tree_node_highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        self._drop_vanished(event.node)

    # -- the diff ------------------------------------------------------------------------------

    def _sync(self, tree_node: TreeNode[NodeData], snap: NodeSnapshot, force: bool) -> None:
        """Update one node and its subtree to `snap`, skipping what has not changed."""
        data = tree_node.data
        assert data is not None
        old = data.node
        if old is snap and not force and not data.vanished:
            return
        data.node = snap
        if data.vanished:
            data.vanished = False
        elif _was_restarted(old, snap):
            data.flash_until = self._now + FLASH_SECONDS
            self._flashing.add(tree_node)
        self._relabel(tree_node)
        if _expandable(snap) or tree_node.children:
            tree_node.allow_expand = _expandable(snap)
            self._sync_children(tree_node, snap, force)

    def _sync_children(self, tree_node: TreeNode[NodeData], snap: NodeSnapshot, force: bool) -> None:
        """Match the children of `tree_node` to those of `snap`: relabel, add and remove in place."""
        children = tree_node.children
        if snap.folded:
            data = tree_node.data
            if tree_node.is_expanded and data is not None and data.path not in self._opened:
                cursor = self.cursor_node
                if cursor is not None and cursor is not tree_node and _is_ancestor_or_self(tree_node, cursor):
                    # It grew past fold_over with the cursor inside: folding it would move the cursor onto it
                    # (the next k would kill the supervisor). It stays open, as if the user had opened it, and
                    # keeps its children until the next snapshot lists them.
                    self._opened = self._opened | {data.path}
                    self.post_message(self.Opened())
                    return
                tree_node._expanded = False  # folded by the snapshot, not by the user: no NodeCollapsed to answer
            for child in list(children):
                self._remove(child, keep_selected=True, remember=False)
            return
        shown = self._shown
        wanted = snap.children if shown is None else tuple(c for c in snap.children if id(c) in shown)
        if self._sync_in_place(list(children), wanted, force):
            return
        wanted_slots = {child.slot for child in wanted}
        existing_slots = {child.slot for child in snap.children} if shown is not None else wanted_slots
        for child in list(children):
            child_data = child.data
            if child_data is not None and child_data.node.slot not in wanted_slots and not child_data.vanished:
                # A child that still exists but is filtered out goes; one that has gone may stay, marked.
                self._remove(child, keep_selected=child_data.node.slot not in existing_slots)
        # Every remaining child is matched by slot, vanished ones included: a vanished node whose process is
        # back (the cursor on it) is reused in place, and new nodes go before it, so the cursor stays on it.
        by_slot: dict[str, TreeNode[NodeData]] | None = None
        position = 0
        for child_snap in wanted:
            current = None
            while position < len(children):
                candidate = children[position]
                if candidate.data is not None and candidate.data.node.slot == child_snap.slot:
                    current = candidate
                    break
                if not _is_vanished(candidate) or candidate.data is None or candidate.data.node.slot in wanted_slots:
                    break
                position += 1  # a vanished node whose process is not back stays where it is
            if current is not None:
                self._sync(current, child_snap, force)
                position += 1
                continue
            if by_slot is None:
                by_slot = {c.data.node.slot: c for c in children if c.data is not None}
            moved = by_slot.pop(child_snap.slot, None)
            if moved is not None and moved.id in self._tree_nodes:
                moved.remove()  # out of place (rare): it is added again where it belongs
            self._add(tree_node, child_snap, position if position < len(children) else None)
            position += 1

    def _sync_in_place(self, current: list[TreeNode[NodeData]], wanted: tuple[NodeSnapshot, ...], force: bool) -> bool:
        """The common case, children only changed (restarts): sync them one to one; False if that is not the case."""
        if len(current) != len(wanted):
            return False
        todo: list[tuple[TreeNode[NodeData], NodeSnapshot]] = []
        for node, snap in zip(current, wanted, strict=True):
            data = node.data
            if data is None or data.vanished:
                return False
            old = data.node
            if old is snap and not force:
                continue  # the same object: the same slot, nothing to do (most of a big pool)
            if old.slot != snap.slot:
                return False
            todo.append((node, snap))
        sync = self._sync
        for node, snap in todo:
            sync(node, snap, force)
        return True

    def _add(self, parent: TreeNode[NodeData], snap: NodeSnapshot, before: int | None) -> None:
        parent_data = parent.data
        path = (*(() if parent_data is None else parent_data.path), snap.slot)
        data = NodeData(path, snap)
        gone = self._gone.pop(path, None)
        if gone is not None and snap.pid is not None and snap.pid is not gone:
            data.flash_until = self._now + FLASH_SECONDS  # back with another pid: its supervisor was restarted
        label = _label(snap, flashing=data.flash_until > self._now,
                       affected=snap.pid is not None and snap.pid in self._affected,
                       suspended=snap.pid is not None and snap.pid in self._suspended)
        data.width = label.cell_len
        node = parent.add(label, data, before=before, expand=_expandable(snap) and not snap.folded,
                          allow_expand=_expandable(snap))
        if data.flash_until:
            self._flashing.add(node)
        if snap.children:
            self._sync_children(node, snap, force=True)

    def _remove(self, node: TreeNode[NodeData], *, keep_selected: bool, remember: bool = True) -> None:
        """Remove a node; with `keep_selected`, one with the cursor on or below it stays, marked vanished.

        With `remember`, the pids of the node and its subtree are kept by path, so that a node added
        back at the same path with another pid (its supervisor restarted) flashes.
        """
        cursor = self.cursor_node
        if not keep_selected or cursor is None or not _is_ancestor_or_self(node, cursor):
            self._flashing.discard(node)
            if remember:
                self._remember(node)
            node.remove()
            return
        data = node.data
        assert data is not None
        data.vanished = True
        self._relabel(node)
        for child in list(node.children):
            self._remove(child, keep_selected=True)

    def _remember(self, node: TreeNode[NodeData]) -> None:
        gone = self._gone
        stack = [node]
        while stack and len(gone) < REMEMBERED:
            current = stack.pop()
            data = current.data
            if data is not None and data.node.pid is not None:
                gone[data.path] = data.node.pid
            stack.extend(current.children)
        if len(gone) >= REMEMBERED:
            gone.clear()  # a burst this big is not a restart to flash: start over

    def _drop_vanished(self, cursor: TreeNode[NodeData]) -> None:
        """The cursor moved: remove the vanished nodes it no longer needs."""
        vanished = [node for node in self._vanished_nodes(self.root) if not _is_ancestor_or_self(node, cursor)]
        for node in vanished:
            if node.tree is self and node.parent is not None and node.id in self._tree_nodes:
                self._flashing.discard(node)
                node.remove()

    def _vanished_nodes(self, node: TreeNode[NodeData]) -> list[TreeNode[NodeData]]:
        found: list[TreeNode[NodeData]] = []
        for child in node.children:
            if child.data is not None and child.data.vanished:
                found.append(child)
            elif child.children:
                found.extend(self._vanished_nodes(child))
        return found

    def _relabel(self, node: TreeNode[NodeData]) -> None:
        data = node.data
        assert data is not None
        pid = data.node.pid
        label = _label(data.node, flashing=data.flash_until > self._now, vanished=data.vanished,
                       affected=pid is not None and pid in self._affected,
                       suspended=pid is not None and pid in self._suspended)
        data.width = label.cell_len
        node.set_label(label)

    def _relabel_pids(self, pids: frozenset[Pid]) -> None:
        """Relabel the nodes of `pids` (they became or stopped being affected by a drill)."""
        for node in list(self._tree_nodes.values()):
            data = node.data
            if data is not None and data.node.pid is not None and data.node.pid in pids:
                self._relabel(node)

    def _expire_flashes(self) -> None:
        if not self._flashing:
            return
        done = [node for node in self._flashing if node.data is None or node.data.flash_until <= self._now]
        for node in done:
            self._flashing.discard(node)
            if node.data is not None and node.id in self._tree_nodes:
                self._relabel(node)


    # -- actions -------------------------------------------------------------------------------

    def action_open_node(self) -> None:
        """Open the node under the cursor; on an open one, go to its first child."""
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if node.is_expanded:
            if node.children:
                self.move_cursor(node.children[0])
        else:
            node.expand()

    def action_close_node(self) -> None:
        """Close the node under the cursor; on a closed one (or a worker), go up to its supervisor."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)


def _expandable(node: NodeSnapshot) -> bool:
    """Whether a node has children to show: a supervisor, or the "outside the tree" group."""
    return node.is_supervisor or node.kind == GROUP_KIND


def _label(node: NodeSnapshot, *, flashing: bool = False, vanished: bool = False, affected: bool = False,
           suspended: bool = False) -> Text:
    """A process's label (marked when the app suspended it), or the "outside the tree" group's."""
    if node.kind != GROUP_KIND:
        if vanished and node.status != "running":
            node = replace(node, status="running")  # "vanished" is its one status: not "stopped vanished"
        label = node_label(node, flashing=flashing, vanished=vanished, affected=affected)
        if suspended and not vanished:
            label.append(" ⏸ suspended", SUSPENDED)
        return label
    count = len(node.children)
    return Text.assemble(("◇ outside the tree", GROUP), (f" · {count:,} process{'es' if count != 1 else ''} no "
                                                         "supervisor of this tree holds", PID))


def _was_restarted(old: NodeSnapshot, new: NodeSnapshot) -> bool:
    return new.restarts > old.restarts or (old.pid is not None and new.pid is not None and old.pid is not new.pid)


def _is_vanished(node: TreeNode[NodeData]) -> bool:
    return node.data is not None and node.data.vanished


def _is_ancestor_or_self(node: TreeNode[NodeData], other: TreeNode[NodeData]) -> bool:
    current: TreeNode[NodeData] | None = other
    while current is not None:
        if current is node:
            return True
        current = current.parent
    return False


def _matching(root: NodeSnapshot, text: str) -> set[int]:
    """Ids of the snapshot nodes to show for a filter: matches and their supervisors."""
    shown: set[int] = set()

    def visit(node: NodeSnapshot) -> bool:
        keep = text in node.label.lower() or (node.name is not None and text in node.name.lower()) or (
            node.pid is not None and text in repr(node.pid))
        for child in node.children:
            keep = visit(child) or keep
        if keep:
            shown.add(id(node))
        return keep

    visit(root)
    shown.add(id(root))
    return shown
