"""Python drill files: `async def drill_<name>(ctx)` functions, for what a TOML drill file cannot say.

```python
# drills.py — run with: observer drill --file drills.py --app myservice:build
from observer.drills import DrillContext


async def drill_cache_survives_a_kill(ctx: DrillContext) -> None:
    '''kill the cache: it comes back warm within 50 ms'''
    async with ctx.step("kill the cache") as step:
        await ctx.call("cache", ("put", "k", 1))
        kill = await ctx.kill("web/cache")
        ctx.check("restarted within 50 ms", (kill.restart_seconds or 1.0) < 0.05, "< 50 ms", kill.restart_seconds)
        await ctx.wait_for_reply("cache", ("get", "k"), ["hit", 1], timeout=1.0)
```

Every function whose name starts with `drill_` is a drill, in the order the
file defines them: its name is the rest of the function's name with `-` for
`_` (`cache-survives-a-kill`), its description the first line of its
docstring. `@drill(name=..., description=...)` names one otherwise. A drill
that raises fails with the exception's message and the line it came from (not
a traceback); an `assert` or a runtime error inside `ctx.step(...)` fails only
that step. `DrillContext` lists what a drill can do (kill, call, suspend,
resume, wait_for_reply, wait_for_http, start_load, pause, wait_root_exit) and
check (`check`, `check_equal`, `expect`).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .builtin import Drill, DrillBody
from .toml_drill import DrillFileError

PREFIX = "drill_"
_NAME = "__drill_name__"
_DESCRIPTION = "__drill_description__"

F = TypeVar("F", bound=Callable[..., Any])


def drill(name: str | None = None, description: str | None = None) -> Callable[[F], F]:
    """Mark `async def fn(ctx)` as a drill of a Python drill file, whatever its name.

    Args:
        name: The drill's name (default: the function's name, `_` as `-`, without `drill_`).
        description: One line (default: the first line of its docstring).
    """

    def mark(fn: F) -> F:
        setattr(fn, _NAME, name or _name_of(fn.__name__))
        setattr(fn, _DESCRIPTION, description)
        return fn

    return mark


def load_python_drills(path: str | os.PathLike[str]) -> list[Drill]:
    """Import a Python drill file and return its drills, in the order it defines them.

    The file's directory goes first on `sys.path` while it imports, so it can import its neighbours.

    Raises:
        DrillFileError: the file is missing, does not import, or has no drill or a malformed one.
    """
    where = os.fspath(path)
    file = Path(where)
    if not file.is_file():
        raise DrillFileError(f"{where}: no such drill file" if not file.exists() else f"{where}: not a file")
    module_name = f"observer_drill_file_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise DrillFileError(f"{where}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up by name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise DrillFileError(f"{where}: syntax error at line {error.lineno}: {error.msg}") from None
    except Exception as error:  # the file's own code failed while importing: one line, and the drill is not run
        raise DrillFileError(f"{where}: importing it raised {type(error).__name__}: {_one_line(error)}") \
            from error
    except SystemExit as exit:
        raise DrillFileError(f"{where}: importing it raised SystemExit({exit.code!r})") from None
    drills = [_drill_of(where, attribute, value) for attribute, value in vars(module).items()
              if callable(value) and (attribute.startswith(PREFIX) or hasattr(value, _NAME))
              and getattr(value, "__module__", None) == module_name]
    if not drills:
        raise DrillFileError(f"{where}: no drills in it: define `async def {PREFIX}<name>(ctx)` functions")
    names = [found.name for found in drills]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DrillFileError(f"{where}: two drills are named {twice[0]!r}")
    return drills


def _drill_of(where: str, attribute: str, fn: Callable[..., Any]) -> Drill:
    if not inspect.iscoroutinefunction(fn):
        raise DrillFileError(f"{where}: {attribute} must be `async def {attribute}(ctx)`, got {fn!r}")
    try:
        inspect.signature(fn).bind(None)
    except TypeError:
        raise DrillFileError(f"{where}: {attribute} must take one argument, the drill context: "
                             f"`async def {attribute}(ctx)`") from None
    name = getattr(fn, _NAME, None) or _name_of(attribute)
    description = getattr(fn, _DESCRIPTION, None)
    if description is None:
        doc = inspect.getdoc(fn) or ""
        description = doc.strip().splitlines()[0] if doc.strip() else ""
    body: DrillBody = fn
    return Drill(name, description, body)


def _name_of(function_name: str) -> str:
    return function_name.removeprefix(PREFIX).replace("_", "-")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
