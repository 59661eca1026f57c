"""Stand-in apps for the session tests, run as ``python tests/web/apps/NAME.py``."""
