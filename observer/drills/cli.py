"""`observer drill`'s entry point under its first name; the command itself is `observer.commands.drill`."""

from observer.commands.drill import main

__all__ = ["main"]
