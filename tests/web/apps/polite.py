"""A one-line Textual app, which quits when textual-serve asks (its web driver handles ``quit``)."""

from textual.app import App, ComposeResult
from textual.widgets import Static


class Polite(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("polite app")


if __name__ == "__main__":
    Polite().run()
