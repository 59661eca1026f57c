"""Tree labels: one line of rich text per process, coloured by status."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from observer.snapshot import NodeSnapshot

from . import units

RUNNING = Style(color="green")
RESTARTING = Style(color="yellow", bold=True)
STOPPED = Style(color="bright_black")
EXITED = Style(color="red", bold=True)
FLASH = Style(color="black", bgcolor="yellow", bold=True)
VANISHED = Style(color="bright_black", strike=True)
DRILL_COLOUR = "dodger_blue2"
"""The live drill's colour, in the tree and the log: a blue far from the reds of exits and kills."""
AFFECTED = Style(color="bright_white", bgcolor=DRILL_COLOUR, bold=True)
AFFECTED_MARK = "◆"
PID = Style(color="bright_black")
STRATEGY = Style(color="cyan")
RESTARTS = Style(color="yellow")
SUPERVISOR = Style(bold=True)

_MARKS = (
    ("running", "●", RUNNING),
    ("restarting", "◐", RESTARTING),
    ("stopped", "○", STOPPED),
    ("exited", "✖", EXITED),
)


def status_mark(status: str) -> tuple[str, Style]:
    """The one-character mark and style of a status."""
    for name, mark, style in _MARKS:
        if name == status:
            return mark, style
    return "?", STOPPED


def strategy_label(kind: str | None, strategy: str | None) -> str | None:
    """What a supervisor's strategy is called: ``dynamic`` for a DynamicSupervisor (whose strategy is one_for_one).

    The tree, the detail panel and the event log all say it this way (the app's journal asks for it
    too), so that one supervisor is never ``dynamic`` in one place and ``one_for_one`` in another.
    """
    return "dynamic" if kind == "dynamic_supervisor" else strategy


def kind_label(node: NodeSnapshot) -> str:
    """What kind of process a node is, in words that do not flip while it restarts.

    A child that is not running only has its spec type ("worker" or "supervisor"); a running one
    has its implementation ("server" or "process"). A worker child is therefore always called a
    worker, its implementation added when known: ``worker (server)`` → ``worker`` → ``worker (server)``.
    """
    kind = node.kind
    if kind == "dynamic_supervisor":
        return "dynamic supervisor"
    if kind == "supervisor" or node.restart is None:  # a supervisor, or the root (nobody's worker)
        return kind.replace("_", " ")
    return "worker" if kind == "worker" else f"worker ({kind})"


def node_label(node: NodeSnapshot, *, flashing: bool = False, vanished: bool = False, affected: bool = False) -> Text:
    """The tree label of one process.

    Args:
        node: The process as of the latest snapshot.
        flashing: It was just restarted (drawn highlighted for a moment).
        vanished: It left the tree while selected (drawn struck through until the cursor moves).
        affected: A drill running live touched it (drawn in the drill's colour, marked ``◆ drill``,
            over the flash).

    Returns:
        ``● services <0.9.0> one_for_one ↻1`` and the like, on one line.
    """
    mark, mark_style = status_mark("exited" if vanished else node.status)
    text = Text(no_wrap=True, end="")
    text.append(mark, mark_style)
    text.append(" ")
    text.append(node.label, SUPERVISOR if node.is_supervisor else None)
    if node.name is not None and node.name != node.label:
        text.append(f" ({node.name})")
    text.append(" ")
    text.append(units.pid(node.pid), PID)
    strategy = strategy_label(node.kind, node.strategy)
    if strategy is not None:
        text.append(" ")
        text.append(strategy, STRATEGY)
    if node.restart not in (None, "permanent"):
        text.append(f" {node.restart}", PID)
    if node.restarts:
        text.append(f" ↻{node.restarts}", RESTARTS)
    if node.folded:
        text.append(f" · {node.child_count:,} children, folded", PID)
        if node.child_restarts:
            text.append(f" · ↻{node.child_restarts:,} below", RESTARTS)
    if node.status != "running":
        text.append(f" {node.status}", mark_style)
    if vanished:
        text.stylize(VANISHED)
        text.append(" vanished", EXITED)
    elif affected:
        text.append(f" {AFFECTED_MARK} drill")
        text.stylize(AFFECTED)
    elif flashing:
        text.stylize(FLASH)
    return text
