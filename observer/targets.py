"""Loading a user's tree factory from a `package.module:factory` target, with one-line errors."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, cast

from observer.runtime import ObserverError, Pid, Runtime

Factory = Callable[[Runtime], Awaitable[Pid]]
"""`async def factory(rt) -> Pid`: starts a tree in `rt` and returns its root."""


class TargetError(ObserverError):
    """An `--app` target cannot be used; the message says why in one line."""


def well_formed(target: str) -> bool:
    """True when `target` looks like `package.module:factory` (the factory may be a dotted path)."""
    module, colon, attribute = target.partition(":")
    return bool(colon) and all(part.isidentifier() for part in (*module.split("."), *attribute.split(".")))


def load_factory(target: str) -> Factory:
    """Import `package.module:factory` and check it is an async function taking the runtime.

    Raises:
        TargetError: the target is malformed, the module does not import, the
            attribute is missing, or it is not an async callable.
    """
    if not well_formed(target):
        raise TargetError(f"--app expects package.module:factory, got {target!r}")
    module_name, _, attribute = target.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: a module in the working directory imports
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise TargetError(f"--app {target}: cannot import {module_name!r}: {_one_line(error)}") from None
    except SyntaxError as error:
        raise TargetError(f"--app {target}: {module_name!r} has a syntax error at line {error.lineno}") from None
    except Exception as error:  # the module's own code failed while importing
        raise TargetError(
            f"--app {target}: importing {module_name!r} raised {type(error).__name__}: {_one_line(error)}"
        ) from error
    factory: Any = module
    for part in attribute.split("."):
        if not hasattr(factory, part):
            raise TargetError(f"--app {target}: module {module_name!r} has no attribute {attribute!r}")
        factory = getattr(factory, part)
    if not callable(factory) or not inspect.iscoroutinefunction(factory):
        raise TargetError(f"--app {target}: {attribute!r} must be `async def {attribute}(rt) -> Pid`, got {factory!r}")
    return cast(Factory, factory)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
