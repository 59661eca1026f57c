"""observer: OTP-grade supervision for asyncio (`observer.runtime`) and a terminal app that watches it."""

from __future__ import annotations

_DISTRIBUTIONS = ("aio-observer", "observer")
"""The installed distribution's names, newest first (it was published as `observer` before)."""


def __getattr__(name: str) -> str:
    """`observer.__version__`, read from the installed distribution only when asked for.

    Looked up lazily so that `import observer.runtime` does not pay for `importlib.metadata`.

    Raises:
        AttributeError: `name` is not `__version__`.
    """
    if name != "__version__":
        raise AttributeError(f"module 'observer' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    for distribution in _DISTRIBUTIONS:
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return "0+unknown"  # running from a source tree that was never installed
