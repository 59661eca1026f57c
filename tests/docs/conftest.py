"""Fixtures of the docs tests: a directory of the test's own, and a private socket directory."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh directory (short, so that socket paths under it stay within the 108-byte limit); yields it.

    Its ``run`` subdirectory, mode 0700, is the examples' `$XDG_RUNTIME_DIR`.
    """
    directory = Path(tempfile.mkdtemp(prefix="obsdoc", dir="/tmp"))
    (directory / "run").mkdir(mode=0o700)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
