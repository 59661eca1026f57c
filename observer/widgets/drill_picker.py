"""DrillPicker: a modal list of the user's drills (from --drills FILE) and the built-in ones; enter runs one."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

OWN_PREFIX = "file:"
"""The option id of the user's drill number N is ``file:N`` (a built-in drill's is its name)."""


class DrillPicker(ModalScreen[str | None]):
    """Each drill's name and description, the user's own first; dismisses with the chosen option's id, or None.

    A built-in drill's id is its name; the user's drill number N (in the order given) is
    ``file:N``, so that a drill file may name a drill as a built-in one is named. It fits 80
    columns: the descriptions wrap under themselves, the list scrolls when it is taller.

    Drills that cannot run here (`unavailable` says why the built-in ones cannot,
    `own_unavailable` why the user's cannot) are shown greyed, so that a person still sees what
    they would do, and enter does nothing on them.
    """

    BINDINGS = [Binding("escape", "cancel", "Close")]
    """
    | Key(s) | Description |
    | :- | :- |
    | escape | Close without running a drill. |
    """

    DEFAULT_CSS = """
    DrillPicker {
        align: center middle;
        & > Vertical {
            width: 110;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $accent;
            background: $surface;
            padding: 0 1;
            & > OptionList {
                height: auto;
                max-height: 60vh;
                margin: 1 0;
            }
            & > .unavailable {
                color: $warning;
                width: 100%;
            }
            & > .hint {
                color: $text-muted;
                width: 100%;
            }
        }
    }
    """

    def __init__(self, drills: Sequence[tuple[str, str]], *, unavailable: str | None = None,
                 own: Sequence[tuple[str, str]] = (), own_unavailable: str | None = None, source: str | None = None,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        """Create the picker.

        Args:
            drills: (name, description) of every built-in drill, in the order to list them.
            unavailable: Why the built-in drills cannot run here (shown instead of running one), or None.
            own: (name, description) of the user's drills, listed first.
            own_unavailable: Why the user's drills cannot run here, or None.
            source: Where the user's drills come from (their file), for their heading.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._drills = tuple(drills)
        self._unavailable = unavailable
        self._own = tuple(own)
        self._own_unavailable = own_unavailable
        self._source = source

    def compose(self) -> ComposeResult:
        width = max((len(drill_name) for drill_name, _ in (*self._own, *self._drills)), default=0)
        own_off, builtin_off = self._own_unavailable is not None, self._unavailable is not None
        options: list[Option | None] = [
            Option(_prompt(drill_name, description, width), id=f"{OWN_PREFIX}{index}", disabled=own_off)
            for index, (drill_name, description) in enumerate(self._own)
        ]
        if options:
            options.append(None)  # a line between the user's drills and the built-in ones
        options.extend(Option(_prompt(drill_name, description, width), id=drill_name, disabled=builtin_off)
                       for drill_name, description in self._drills)
        with Vertical():
            yield Label(Text("Run a drill on this system", style="bold"))
            if self._own:
                heading = f"Your drills, from {self._source}" if self._source else "Your drills"
                yield Label(heading if not own_off else f"{heading}: {self._own_unavailable}",
                            classes="unavailable" if own_off else "hint")
            if builtin_off:
                yield Label(self._unavailable or "", classes="unavailable")
            yield OptionList(*options)
            runnable = (self._own and not own_off) or (self._drills and not builtin_off)
            hint = "escape closes" if not runnable else (
                "enter runs the drill on this runtime (the processes it touches are highlighted, its steps go to "
                "the event log); escape closes")
            yield Label(hint, classes="hint")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without running a drill."""
        self.dismiss(None)


def _prompt(drill_name: str, description: str, width: int) -> Text:
    """``one-for-one-isolation   kill one service: only it restarts``, the names in one column."""
    return Text.assemble((drill_name.ljust(width), "bold"), "  ", (description, "dim"))
