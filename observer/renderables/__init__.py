"""Pure rich renderables for the observer app: labels, bars, history lines, log entries (no textual imports)."""
