"""Fixtures every test directory shares: a private socket directory."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def xdg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh `$XDG_RUNTIME_DIR` (short, so socket paths stay under the 108-byte limit); yields it."""
    directory = Path(tempfile.mkdtemp(prefix="obs", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
