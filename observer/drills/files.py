"""A user's drill file of either kind: `.py` (drill functions) or TOML (anything else)."""

from __future__ import annotations

import os

from .builtin import Drill
from .py_drill import load_python_drills
from .toml_drill import load_drill_file


def load_drills(path: str | os.PathLike[str]) -> list[Drill]:
    """The drills in the file at `path`: a Python file's `drill_*` functions, or a TOML file's one drill.

    Raises:
        DrillFileError: the file is missing or malformed (one line naming it).
    """
    if os.fspath(path).endswith(".py"):
        return load_python_drills(path)
    return [load_drill_file(path)]
