"""The observer app's widgets, one per module."""
