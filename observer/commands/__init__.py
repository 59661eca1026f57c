"""The `observer` commands, one module each; `observer.cli` dispatches to them by their first argument."""
