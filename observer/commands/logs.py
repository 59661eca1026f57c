"""Where a command sends the runtime's log records: a `--log` file, or nowhere (never raw onto the terminal)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

ROUTED = ("observer", "asyncio")
"""The loggers a command routes: the runtime's crash reports, and asyncio's (e.g. a task's unretrieved error)."""
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def open_log(path: str | None) -> logging.Handler:
    """A handler that appends records to `path` (opened now), or drops them when `path` is None.

    Raises:
        OSError: `path` cannot be opened for appending.
    """
    if path is None:
        return logging.NullHandler()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


@contextmanager
def routed_to(handler: logging.Handler) -> Iterator[None]:
    """While inside, the routed loggers' records go to `handler` only (INFO and up; none unless it writes).

    On leaving, each logger's level, propagation and handlers are as they were, and `handler` is closed.
    """
    level = logging.CRITICAL + 1 if isinstance(handler, logging.NullHandler) else logging.INFO
    saved = [(logger, logger.level, logger.propagate) for logger in map(logging.getLogger, ROUTED)]
    for logger, _, _ in saved:
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # a handler of the root logger (or Python's last resort) would print raw lines
    try:
        yield
    finally:
        for logger, previous_level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(previous_level)
            logger.propagate = propagate
        handler.close()
